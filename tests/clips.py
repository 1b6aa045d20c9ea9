"""Small media files made with ffmpeg's test sources, for tests that need a real video."""

from __future__ import annotations

import subprocess
from pathlib import Path


def h264_mp4(path: Path, seconds: float = 2, tone_hz: int = 440) -> Path:
    """A ``seconds``-long 320x240 H.264/AAC MP4 (a moving test pattern and a sine tone)."""
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15",
         "-f", "lavfi", "-i", f"sine=frequency={tone_hz}", "-t", str(seconds), "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def speech_wav(path: Path, text: str, *, words_per_minute: int = 150) -> Path:
    """``text`` spoken by espeak-ng (Debian's package; offline, deterministic) as a WAV file."""
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", str(words_per_minute), "-w", str(path), text],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def speech_mp4(path: Path, text: str) -> Path:
    """An H.264/AAC MP4 whose sound is ``text`` spoken by espeak-ng over a test pattern."""
    wav = speech_wav(path.with_suffix(".wav"), text)
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15",
         "-i", str(wav), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path
