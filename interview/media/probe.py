"""Is this upload a recording we accept? Magic bytes, then ffprobe locked to one demuxer.

Pure: no Flask, no database. ffprobe never sees a file whose first bytes are not a
whitelisted container, always runs with that container's demuxer forced, and may only open
the local file (``-protocol_whitelist file``): playlists, concat scripts, URLs and external
references inside a file are never followed.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

FFPROBE = "ffprobe"

NOT_A_VIDEO = "not a video file"
NO_AUDIO = "no audio track"
NO_VIDEO = "no video track"
TOO_LONG = "longer than the answer limit"

# Container → (ffmpeg demuxer to force, format names ffprobe may report for it).
MATROSKA = "matroska"
MOV = "mov"
_DEMUXERS = {
    MATROSKA: {"matroska,webm"},
    MOV: {"mov,mp4,m4a,3gp,3g2,mj2"},
}
# ISO BMFF / QuickTime top-level boxes that may open a file.
_MOV_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_EBML = b"\x1a\x45\xdf\xa3"


class MediaRejected(Exception):
    """The upload is not an answer we can accept; ``reason`` is shown to people."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class StreamInfo:
    index: int
    codec: str
    width: int | None = None
    height: int | None = None
    pix_fmt: str | None = None
    rotation: int = 0  # degrees, as the display matrix says
    channels: int | None = None
    sample_rate: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    container: str  # MATROSKA or MOV
    format_name: str
    duration: float | None  # None when the file does not say (MediaRecorder WebM)
    video: StreamInfo | None
    audio: StreamInfo | None
    size_bytes: int = 0
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def display_size(self) -> tuple[int, int] | None:
        """Width and height as shown, after the rotation a phone wrote into the file."""
        if self.video is None or not self.video.width or not self.video.height:
            return None
        if abs(self.video.rotation) % 180 == 90:
            return self.video.height, self.video.width
        return self.video.width, self.video.height


def sniff(path: str | Path) -> str:
    """Which whitelisted container do the first bytes announce? Raise MediaRejected if none."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_EBML):
        return MATROSKA
    if len(head) >= 8 and head[4:8] in _MOV_BOXES:
        return MOV
    raise MediaRejected(NOT_A_VIDEO, "unrecognised magic bytes")


def input_options(container: str) -> dict[str, str]:
    """ffmpeg/ffprobe input options that pin the demuxer and forbid every protocol but file."""
    options = {"f": container, "protocol_whitelist": "file"}
    if container == MOV:
        options["enable_drefs"] = "0"  # never open files named by data references
    return options


def local_url(path: str | Path) -> str:
    """The file as a ``file:`` URL, so no part of its name is read as a protocol."""
    return "file:" + str(Path(path).resolve())


def ffprobe_json(path: str | Path, container: str, timeout: float = 30.0) -> dict:
    """Run ffprobe with the demuxer forced; raise MediaRejected if it cannot read the file."""
    args = [FFPROBE, "-hide_banner", "-v", "error"]
    for key, value in input_options(container).items():
        args += [f"-{key}", value]
    args += ["-show_format", "-show_streams", "-of", "json", local_url(path)]
    done = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise MediaRejected(NOT_A_VIDEO, done.stderr.decode(errors="replace")[-500:])
    try:
        return json.loads(done.stdout or b"{}")
    except json.JSONDecodeError as error:
        raise MediaRejected(NOT_A_VIDEO, "unreadable ffprobe output") from error


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            return int(float(side["rotation"]))
    rotate = (stream.get("tags") or {}).get("rotate")
    return int(rotate) if rotate else 0


def _float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _stream(data: dict) -> StreamInfo:
    return StreamInfo(
        index=int(data["index"]),
        codec=str(data.get("codec_name", "")),
        width=data.get("width"),
        height=data.get("height"),
        pix_fmt=data.get("pix_fmt"),
        rotation=_rotation(data),
        channels=data.get("channels"),
        sample_rate=int(data["sample_rate"]) if data.get("sample_rate") else None,
    )


def parse_probe(container: str, data: dict, size_bytes: int = 0) -> MediaInfo:
    """Turn ffprobe's JSON into MediaInfo, refusing formats outside the whitelist."""
    fmt = data.get("format") or {}
    format_name = str(fmt.get("format_name", ""))
    if format_name not in _DEMUXERS[container]:
        raise MediaRejected(NOT_A_VIDEO, f"unexpected format {format_name!r}")
    streams = data.get("streams") or []
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    durations = [_float(fmt.get("duration"))] + [_float(s.get("duration")) for s in streams]
    known = [d for d in durations if d]
    return MediaInfo(
        container=container,
        format_name=format_name,
        duration=max(known) if known else None,
        video=_stream(video) if video else None,
        audio=_stream(audio) if audio else None,
        size_bytes=size_bytes,
        tags={str(k): str(v) for k, v in (fmt.get("tags") or {}).items()},
    )


def probe(path: str | Path) -> MediaInfo:
    """Sniff, then probe with the demuxer forced. Raise MediaRejected for anything else."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected(NOT_A_VIDEO, "empty file")
    container = sniff(path)
    return parse_probe(container, ffprobe_json(path, container), size)


def validate(info: MediaInfo, *, audio_only: bool, limit_seconds: float) -> None:
    """Does this recording fit the answer: the right tracks, not longer than allowed?"""
    if info.audio is None:
        raise MediaRejected(NO_AUDIO)
    if info.video is None and not audio_only:
        raise MediaRejected(NO_VIDEO)
    if info.duration is not None and info.duration > limit_seconds:
        raise MediaRejected(TOO_LONG, f"{info.duration:.1f}s > {limit_seconds:.1f}s")


INCOMPLETE = "incomplete"
# How much shorter than declared the decoded recording may be before it counts as cut off:
# a second, or 5 % of a long answer (containers round, and audio and video end apart).
INCOMPLETE_SLACK_SECONDS = 1.0
INCOMPLETE_SLACK_RATIO = 0.05


def is_incomplete(declared: float | None, decoded: float | None) -> bool:
    """Does the recording stop well before the duration its container declares (bytes cut off
    in transit or by a crash)? Unknown when the container declares none (MediaRecorder WebM)."""
    if declared is None or decoded is None:
        return False
    return declared - decoded > max(INCOMPLETE_SLACK_SECONDS, INCOMPLETE_SLACK_RATIO * declared)
