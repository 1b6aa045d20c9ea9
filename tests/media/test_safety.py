"""Crafted uploads must never make ffmpeg read another file or open a connection."""

from __future__ import annotations

import logging
import secrets
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from interview.media import probe, services
from interview.models import TakeStatus

from .conftest import reload


class ConnectionRecorder:
    """A tiny TCP server on a spare loopback port that records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[ConnectionRecorder]:
    recorder = ConnectionRecorder()
    yield recorder
    recorder.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    """A file outside the upload whose content must never show up anywhere."""
    content = "SECRET-" + secrets.token_hex(12)
    path = tmp_path / "secret.ts"
    path.write_text(content)
    return path, content


def _playlist(secret: Path, port: int) -> str:
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:2.0,\nfile://{secret}\n"
        f"#EXTINF:2.0,\nhttp://127.0.0.1:{port}/segment.ts\n"
        "#EXT-X-ENDLIST\n"
    )


def _everything_written(app, take) -> str:
    """The take's row and every stored file, as text."""
    stored = "".join(
        p.read_bytes().decode("latin-1") for p in Path(app.config["MEDIA_ROOT"]).rglob("*")
        if p.is_file()
    )  # fmt: skip
    return f"{take.failure_reason} {take.media_summary} {take.flags} {stored}"


def test_hls_playlist_posing_as_webm_reads_nothing(
    app, uploaded_take, listener, secret_file, tmp_path, caplog
):
    """An HLS playlist named answer.webm pointing at a local file and a URL: is it refused
    as not a video, with the file never read and the URL never fetched?"""
    secret, content = secret_file
    trap = tmp_path / "answer.webm"
    trap.write_text(_playlist(secret, listener.port))
    take = uploaded_take(trap)
    with caplog.at_level(logging.DEBUG):
        services.process(take.id)
    take = reload(take)
    assert (take.status, take.failure_reason) == (TakeStatus.FAILED, "not a video file")
    assert listener.connections == 0
    assert content not in _everything_written(app, take) + caplog.text


def test_concat_script_posing_as_mp4_reads_nothing(app, uploaded_take, secret_file, tmp_path):
    secret, content = secret_file
    trap = tmp_path / "answer.mp4"
    trap.write_text(
        f"ffconcat version 1.0\nfile '{secret}'\nfile 'subfile,,start,0,end,99,,:{secret}'\n"
    )
    take = uploaded_take(trap)
    services.process(take.id)
    take = reload(take)
    assert (take.status, take.failure_reason) == (TakeStatus.FAILED, "not a video file")
    assert content not in _everything_written(app, take)


def test_playlist_behind_matroska_magic_is_refused_by_the_forced_demuxer(
    app, uploaded_take, listener, secret_file, tmp_path
):
    """A file that passes the magic-byte sniff (EBML header) but is a playlist underneath:
    does ffprobe, pinned to the Matroska demuxer and the file protocol, refuse it?"""
    secret, content = secret_file
    trap = tmp_path / "polyglot.webm"
    trap.write_bytes(b"\x1a\x45\xdf\xa3" + _playlist(secret, listener.port).encode())
    assert probe.sniff(trap) == probe.MATROSKA
    with pytest.raises(probe.MediaRejected) as rejected:
        probe.ffprobe_json(trap, probe.MATROSKA)
    assert content not in rejected.value.detail
    take = uploaded_take(trap)
    services.process(take.id)
    assert reload(take).failure_reason == "not a video file"
    assert listener.connections == 0


def test_ffprobe_pinned_to_the_file_protocol_cannot_fetch_a_url(listener, tmp_path):
    """Even asked to read a playlist as HLS, is a URL refused by the protocol whitelist?
    (The control run, with http allowed, shows the recorder does see ffmpeg connect.)"""
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
        f"#EXTINF:2.0,\nhttp://127.0.0.1:{listener.port}/a.ts\n#EXT-X-ENDLIST\n"
    )
    pinned = ["ffprobe", "-v", "error", "-protocol_whitelist", "file", "-f", "hls"]
    subprocess.run([*pinned, f"file:{playlist}"], capture_output=True, timeout=20, check=False)
    assert listener.connections == 0
    subprocess.run(
        [*pinned[:3], "-rw_timeout", "2000000", "-protocol_whitelist", "file,http,tcp"]
        + ["-f", "hls", f"file:{playlist}"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert listener.connections >= 1  # allowed, ffprobe does reach out


def test_sniff_accepts_only_whitelisted_containers(clips):
    assert probe.sniff(clips["vp8_opus.webm"]) == probe.MATROSKA
    assert probe.sniff(clips["h264_opus.mkv"]) == probe.MATROSKA
    assert probe.sniff(clips["phone.mp4"]) == probe.MOV
    assert probe.sniff(clips["slow.mov"]) == probe.MOV
    for name in ("text.webm", "empty.webm"):
        with pytest.raises(probe.MediaRejected):
            probe.sniff(clips[name])
