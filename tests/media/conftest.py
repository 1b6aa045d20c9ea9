"""Media fixtures: short clips made by ffmpeg at test time, and takes holding them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from interview.extensions import db
from interview.media import services
from interview.models import Take, TakeStatus

from .. import factories

LAVFI_PICTURE = "testsrc2=s=320x240:r=15:d=3"
LAVFI_SOUND = "sine=f=440:r=48000:d=3"
VP8 = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]

# name → ffmpeg arguments after `ffmpeg -y -v error` (the output is the clip itself or stdout).
RECIPES: dict[str, list[str]] = {
    # As Chromium's MediaRecorder writes it: VP8 + Opus, streamed, so no duration and no cues.
    "vp8_opus.webm": [
        *("-f", "lavfi", "-i", LAVFI_PICTURE, "-f", "lavfi", "-i", LAVFI_SOUND),
        *VP8,
        *("-c:a", "libopus", "-f", "webm", "pipe:1"),
    ],
    # Written to a seekable file: the container declares its duration (5 s) up front.
    "declared_5s.webm": [
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=15:d=5"),
        *("-f", "lavfi", "-i", "sine=f=440:r=48000:d=5"),
        *VP8,
        *("-c:a", "libopus", "-f", "webm"),
    ],
    "h264_opus.mkv": [
        *("-f", "lavfi", "-i", LAVFI_PICTURE, "-f", "lavfi", "-i", LAVFI_SOUND),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libopus"),
        *("-f", "matroska", "pipe:1"),
    ],
    "landscape.mp4": [
        *("-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=3"),
        *("-f", "lavfi", "-i", "sine=f=330:r=44100:d=3"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-ac", "2", "-movflags", "+faststart"),
    ],
    "audio_only.webm": [
        "-f",
        "lavfi",
        "-i",
        LAVFI_SOUND,
        "-c:a",
        "libopus",
        "-f",
        "webm",
        "pipe:1",
    ],
    "silent.webm": [
        *("-f", "lavfi", "-i", LAVFI_PICTURE, "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"),
        *VP8,
        *("-c:a", "libopus", "-t", "3"),
    ],
    "black.webm": [
        *("-f", "lavfi", "-i", "color=c=black:s=320x240:r=15:d=3"),
        *("-f", "lavfi", "-i", LAVFI_SOUND),
        *VP8,
        "-c:a",
        "libopus",
    ],
    "frozen.webm": [
        *("-f", "lavfi", "-i", "smptebars=s=320x240:r=15:d=3", "-f", "lavfi", "-i", LAVFI_SOUND),
        *VP8,
        *("-c:a", "libopus"),
    ],
    # H.264 with a keyframe every second: the copy path judges the picture on keyframes.
    "black_h264.mkv": [
        *(
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=320x240:r=15:d=3",
            "-f",
            "lavfi",
            "-i",
            LAVFI_SOUND,
        ),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "15"),
        *("-c:a", "libopus"),
    ],
    "no_audio.webm": ["-f", "lavfi", "-i", LAVFI_PICTURE, *VP8],
    # MPEG-4 part 2 in QuickTime: quick to make, slow path to process (re-encoded with x264).
    "slow.mov": [
        *("-f", "lavfi", "-i", "testsrc2=s=960x540:r=30:d=12"),
        *("-f", "lavfi", "-i", "sine=f=220:d=12"),
        *("-c:v", "mpeg4", "-q:v", "5", "-c:a", "aac"),
    ],
}


def ffmpeg(*args: str, stdout=None) -> None:
    subprocess.run(["ffmpeg", "-y", "-v", "error", *args], check=True, stdout=stdout, timeout=120)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every clip of RECIPES, made once per session (two at a time: the machine has 2 cores)."""
    folder = tmp_path_factory.mktemp("clips")
    made: dict[str, Path] = {}
    running: list[tuple[subprocess.Popen, object]] = []
    for name, recipe in RECIPES.items():
        path = folder / name
        piped = recipe[-1] == "pipe:1"
        out = open(path, "wb") if piped else None  # noqa: SIM115 (closed below)
        cmd = ["ffmpeg", "-y", "-v", "error", *recipe, *([] if piped else [str(path)])]
        running.append((subprocess.Popen(cmd, stdout=out or subprocess.DEVNULL), out))
        made[name] = path
    for proc, out in running:
        assert proc.wait(timeout=120) == 0
        if out is not None:
            out.close()
    # A phone held upright: the same H.264/AAC, with a 90° display matrix, copied.
    ffmpeg(
        "-i", str(made["landscape.mp4"]), "-c", "copy", "-metadata:s:v:0", "rotate=90",
        str(folder / "phone.mp4"),
    )  # fmt: skip
    made["phone.mp4"] = folder / "phone.mp4"
    data = made["vp8_opus.webm"].read_bytes()
    (folder / "truncated.webm").write_bytes(data[: len(data) // 2])
    (folder / "header_only.webm").write_bytes(data[:120])
    # Says 5.0 s in its header, but its data stops after about half of that (bytes cut off).
    declared = made["declared_5s.webm"].read_bytes()
    (folder / "cut_short.webm").write_bytes(declared[: len(declared) * 55 // 100])
    made["cut_short.webm"] = folder / "cut_short.webm"
    (folder / "empty.webm").write_bytes(b"")
    (folder / "text.webm").write_bytes(b"Dear hiring manager, this is my cover letter.\n" * 20)
    made.update(
        {n: folder / n for n in ("truncated.webm", "header_only.webm", "empty.webm", "text.webm")}
    )
    return made


CONTENT_TYPES = {".webm": "video/webm", ".mkv": "video/x-matroska", ".mp4": "video/mp4"}


@pytest.fixture
def uploaded_take(org) -> Callable[..., Take]:
    """Make a take whose original (a file) is stored and which is ``uploaded``."""

    def make(path: Path, content_type: str | None = None, **take_options) -> Take:
        take = factories.take(org.screening, **take_options)
        services.store_original(
            take, path, content_type or CONTENT_TYPES.get(path.suffix, "video/quicktime")
        )
        take.status = TakeStatus.UPLOADED
        db.session.commit()
        return take

    return make


def reload(take: Take) -> Take:
    db.session.expire_all()
    return db.session.get(Take, take.id)
