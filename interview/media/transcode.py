"""Turn an accepted recording into one seekable MP4 (or M4A), a poster and quality figures.

Pure: no Flask, no database. Commands are built with ffmpeg-python and run with a timeout
(the ffmpeg process is killed with the job, never left behind). Inputs are always opened with
the demuxer forced and only the ``file`` protocol allowed (see ``probe.input_options``).
"""

from __future__ import annotations

import math
import re
import subprocess
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import ffmpeg

from .probe import MOV, UNDECODABLE, MediaInfo, MediaRejected, input_options, local_url

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

# Quality thresholds (dBFS and fractions of the answer).
SILENT_MAX_VOLUME_DB = -45.0
SILENCE_NOISE_DB = -50
MOSTLY = 0.9
WAVEFORM_POINTS = 100
PCM_RATE = 2000  # samples per second of the mono summary used for the waveform
ANALYSIS_FPS = 5
KEYFRAME_GAP = 2.0  # seconds: keyframes this close are enough to judge the picture

# H.264 pixel formats a browser plays as they are.
_PLAYABLE_PIX_FMTS = {"yuv420p", "yuvj420p"}


@dataclass(frozen=True)
class EncodeSettings:
    max_height: int = 720
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "128k"
    threads: int = 0  # 0: let ffmpeg decide


@dataclass
class Analysis:
    """What ffmpeg's detection filters said about the answer."""

    mean_volume_db: float | None = None
    max_volume_db: float | None = None
    silence_seconds: float = 0.0
    black_seconds: float = 0.0
    frozen_seconds: float = 0.0
    waveform: list[float] = field(default_factory=list)
    video_copied: bool = False
    keyframes_only: bool = False  # the picture was judged on keyframes (copy path)
    silence_spans: list[tuple[float, float | None]] = field(default_factory=list)
    black_spans: list[tuple[float, float | None]] = field(default_factory=list)
    freeze_spans: list[tuple[float, float | None]] = field(default_factory=list)


def fits_fast_path(info: MediaInfo, settings: EncodeSettings) -> bool:
    """Can the browser's H.264 be copied as it is (playable pixels, within the size cap)?"""
    video = info.video
    size = info.display_size
    if video is None or size is None or video.codec != "h264":
        return False
    return video.pix_fmt in _PLAYABLE_PIX_FMTS and min(size) <= settings.max_height


def keyframes_are_dense(
    src: str | Path, info: MediaInfo, *, max_gap: float = KEYFRAME_GAP, timeout: float = 60
) -> bool:
    """Are keyframes at most ``max_gap`` seconds apart all through the video?

    Reads packet flags only (no decoding). When they are, the picture can be checked on
    keyframes alone, which makes the copy path several times faster.
    """
    args = [FFPROBE, "-hide_banner", "-v", "error"]
    for key, value in input_options(info.container).items():
        args += [f"-{key}", value]
    args += ["-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0"]
    done = subprocess.run(
        [*args, local_url(src)], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        return False
    keys, last = [], None
    for line in done.stdout.splitlines():
        pts, _, flags = line.partition(",")
        try:
            time = float(pts)
        except ValueError:
            continue
        last = time if last is None else max(last, time)
        if "K" in flags:
            keys.append(time)
    if not keys or last is None:
        return False
    keys.sort()
    gaps = [b - a for a, b in zip(keys, keys[1:], strict=False)] + [last - keys[-1], keys[0]]
    return max(gaps) <= max_gap


def target_size(info: MediaInfo, max_height: int) -> tuple[int, int]:
    """Display size scaled so the short side is at most ``max_height``; both sides even."""
    size = info.display_size or (640, 480)
    width, height = size
    scale = min(1.0, max_height / min(width, height))
    return (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))


def build_normalise(
    src: str | Path,
    info: MediaInfo,
    out_path: str | Path,
    *,
    audio_only: bool,
    max_seconds: float,
    settings: EncodeSettings,
    keyframes_only: bool = False,
) -> tuple[list[str], bool]:
    """The one ffmpeg command that writes the MP4 and analyses picture and sound on the way.

    Outputs: the MP4/M4A; the mono PCM summary on stdout (waveform); and, for video, a null
    output behind blackdetect/freezedetect. Returns the arguments and whether video is copied.
    With ``keyframes_only`` (copy path, dense keyframes) the picture is judged on keyframes.
    """
    options = input_options(info.container)
    if keyframes_only:
        options["skip_frame:v"] = "nokey"  # only the analysis decodes video; the MP4 copies it
    source = ffmpeg.input(local_url(src), **options)
    audio = source["a:0"].filter_multi_output("asplit", 2)
    limit = {"t": f"{max_seconds:.3f}"}
    common = {"movflags": "+faststart", "map_metadata": -1, **limit}
    audio_out = {
        "acodec": "aac",
        "aac_coder": "fast",  # about twice as fast as the default, no audible loss for speech
        "audio_bitrate": settings.audio_bitrate,
        "ac": 2,
    }
    if info.audio is not None and (info.audio.channels or 2) < 2:
        audio_out["ac"] = 1
    outputs = []
    copied = False
    if audio_only or info.video is None:
        outputs.append(ffmpeg.output(audio[0], str(out_path), format="mp4", **audio_out, **common))
    else:
        video = source["v:0"]
        copied = fits_fast_path(info, settings)
        if copied:
            # A stream copied to the MP4 and decoded for analysis: ffmpeg reads the file once.
            encoded = ffmpeg.output(
                video, audio[0], str(out_path), vcodec="copy", **audio_out, **common
            )
            analysed = video
        else:
            split = video.filter_multi_output("split", 2)
            width, height = target_size(info, settings.max_height)
            scaled = split[0].filter("scale", width, height).filter("setsar", 1)
            encoded = ffmpeg.output(
                scaled,
                audio[0],
                str(out_path),
                vcodec="libx264",
                preset=settings.preset,
                crf=settings.crf,
                pix_fmt="yuv420p",
                fps_mode="vfr",
                **audio_out,
                **common,
            )
            analysed = split[1]
        outputs.append(encoded)
        if not (copied and keyframes_only):
            analysed = analysed.filter("fps", ANALYSIS_FPS)
        picture = (
            analysed.filter("scale", 160, -2)
            .filter("blackdetect", d=1, pix_th=0.1)
            .filter("freezedetect", n=0.003, d=2)
        )
        outputs.append(ffmpeg.output(picture, "-", format="null", **limit))
    summary = (
        audio[1].filter("volumedetect").filter("silencedetect", noise=f"{SILENCE_NOISE_DB}dB", d=1)
    )
    outputs.append(ffmpeg.output(summary, "pipe:1", format="s16le", ac=1, ar=PCM_RATE, **limit))
    args = (
        ffmpeg.merge_outputs(*outputs)
        .global_args(
            "-hide_banner",
            "-nostdin",
            "-nostats",
            "-loglevel",
            "info",
            "-threads",
            str(settings.threads),
        )
        .overwrite_output()
        .get_args()
    )
    return [FFMPEG, *args], copied


def normalise(
    src: str | Path,
    info: MediaInfo,
    out_path: str | Path,
    *,
    audio_only: bool,
    max_seconds: float,
    settings: EncodeSettings,
    timeout: float,
) -> Analysis:
    """Write the MP4 (or M4A) for ``src`` and return what the detection filters found."""
    keyframes_only = (
        not audio_only
        and info.video is not None
        and fits_fast_path(info, settings)
        and keyframes_are_dense(src, info, timeout=timeout)
    )
    args, copied = build_normalise(
        src,
        info,
        out_path,
        audio_only=audio_only,
        max_seconds=max_seconds,
        settings=settings,
        keyframes_only=keyframes_only,
    )
    done = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
    log = done.stderr.decode(errors="replace")
    if done.returncode != 0 or not Path(out_path).is_file() or Path(out_path).stat().st_size == 0:
        raise MediaRejected(UNDECODABLE, log[-800:])
    analysis = parse_analysis(log)
    analysis.waveform = waveform(done.stdout)
    analysis.video_copied = copied
    analysis.keyframes_only = copied and keyframes_only
    return analysis


_NUMBER = r"(-?[0-9.]+|-?inf)"


def _intervals(log: str, start_key: str, end_key: str) -> list[tuple[float, float | None]]:
    """Pair ``start_key: t`` / ``end_key: t`` lines; an unterminated start runs to the end."""
    events = re.findall(rf"({start_key}|{end_key})\s*[:=]\s*{_NUMBER}", log)
    spans: list[tuple[float, float | None]] = []
    start: float | None = None
    for key, value in events:
        if key == start_key:
            start = float(value)
        elif start is not None:
            spans.append((start, float(value)))
            start = None
    if start is not None:
        spans.append((start, None))
    return spans


def _total(spans: list[tuple[float, float | None]], duration: float, tail: float = 0.0) -> float:
    """Seconds covered by ``spans``; a span reaching the last analysed frame (within
    ``tail`` of the end) or left open runs to the end of the answer."""
    total = 0.0
    for start, end in spans:
        stop = duration if end is None or end >= duration - tail else end
        total += max(0.0, stop - start)
    return total


def parse_analysis(log: str) -> Analysis:
    """Read volumedetect, silencedetect, blackdetect and freezedetect lines from ffmpeg's log."""
    mean = re.search(rf"mean_volume:\s*{_NUMBER} dB", log)
    peak = re.search(rf"max_volume:\s*{_NUMBER} dB", log)
    analysis = Analysis(
        mean_volume_db=float(mean.group(1)) if mean else None,
        max_volume_db=float(peak.group(1)) if peak else None,
    )
    analysis.silence_spans = _intervals(log, "silence_start", "silence_end")
    analysis.black_spans = _intervals(log, "black_start", "black_end")
    analysis.freeze_spans = _intervals(
        log, "lavfi.freezedetect.freeze_start", "lavfi.freezedetect.freeze_end"
    )
    return analysis


def finish_analysis(analysis: Analysis, duration: float) -> Analysis:
    """Turn the detected spans into seconds, now that the true duration is known."""
    # The last analysed frame stands for the rest: up to a keyframe gap, or one sampled frame.
    tail = KEYFRAME_GAP if analysis.keyframes_only else 1 / ANALYSIS_FPS
    analysis.silence_seconds = round(_total(analysis.silence_spans, duration), 2)
    analysis.black_seconds = round(_total(analysis.black_spans, duration, tail), 2)
    analysis.frozen_seconds = round(_total(analysis.freeze_spans, duration, tail), 2)
    return analysis


def waveform(pcm: bytes, points: int = WAVEFORM_POINTS) -> list[float]:
    """Peak level (0–1) of each of ``points`` equal slices of a mono s16le signal."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    if not samples:
        return []
    step = max(1, math.ceil(len(samples) / points))
    peaks = []
    for offset in range(0, len(samples), step):
        chunk = samples[offset : offset + step]
        peaks.append(round(max(max(chunk), -min(chunk)) / 32768, 3))
    return peaks


def quality_flags(analysis: Analysis, duration: float, *, has_video: bool) -> list[str]:
    """Short flags for reviewers: silent answers, black or frozen pictures."""
    flags = []
    quiet = analysis.max_volume_db is None or analysis.max_volume_db < SILENT_MAX_VOLUME_DB
    if quiet or (duration > 0 and analysis.silence_seconds >= MOSTLY * duration):
        flags.append("silent")
    if has_video and duration > 0:
        if analysis.black_seconds >= MOSTLY * duration:
            flags.append("black_video")
        elif analysis.frozen_seconds >= MOSTLY * duration:
            flags.append("frozen_video")
    return flags


def make_poster(
    mp4_path: str | Path, out_path: str | Path, *, at_seconds: float, timeout: float
) -> None:
    """A JPEG of a representative frame near ``at_seconds`` (ffmpeg's thumbnail filter)."""
    args = (
        ffmpeg.input(local_url(mp4_path), ss=f"{at_seconds:.3f}", **input_options(MOV))
        .video.filter("thumbnail", 25)
        .filter("scale", "min(640,iw)", -2)
        .output(str(out_path), vframes=1, format="image2", vcodec="mjpeg", q=4)
        .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
        .overwrite_output()
        .get_args()
    )
    done = subprocess.run([FFMPEG, *args], capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0 or not Path(out_path).is_file():
        raise MediaRejected(UNDECODABLE, done.stderr.decode()[-800:])


def extract_audio(src: str | Path, out_path: str | Path, *, timeout: float) -> None:
    """The sound of an MP4 answer alone, stream-copied into an M4A (no re-encoding), for
    audio-only review and speech recognition."""
    args = (
        ffmpeg.input(local_url(src), **input_options(MOV))
        .output(str(out_path), acodec="copy", vn=None, format="mp4", movflags="+faststart")
        .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
        .overwrite_output()
        .get_args()
    )
    done = subprocess.run([FFMPEG, *args], capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0 or not Path(out_path).is_file():
        raise MediaRejected("the answer's sound could not be read", done.stderr.decode()[-800:])
