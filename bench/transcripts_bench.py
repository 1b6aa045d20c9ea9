"""Transcript figures on this machine (printed, not a test).

1. A 60 s spoken answer through a real `flask worker --queues transcripts`: seconds from the
   take becoming ready (the job is queued then) to its transcript being ready, as a fraction
   of the answer's length (target: within 0.5x), and the peak memory (RSS high-water mark) of
   the worker and its work horse.
2. Word error rate of Whisper base (int8, CPU) on a fixture anyone can make again offline:
   espeak-ng (Debian's package) speaking known text at 155 words/min in two voices, padded with
   silence to 60 s, muxed with ffmpeg's test pattern into an H.264/AAC MP4, processed by the
   media pipeline, then recognised. WER = (substitutions + deletions + insertions) / reference
   words, after lower-casing and dropping punctuation (numbers are written as words in the
   reference, and digits in the output are compared as they are).
3. The same answer recognised in-process with the model already loaded (what a warm worker
   process would do), for the real-time factor without fork and model load.

Usage: .venv/bin/python bench/transcripts_bench.py [--repeat 2]
The machine is shared: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _figures import record
from _processes import app_workers, private_redis
from flask_migrate import upgrade
from media_bench import new_take

from interview import create_app
from interview.config import test_overrides
from interview.extensions import db
from interview.media import services as media
from interview.models import Organization, Screening, Take, TakeStatus, Transcript
from interview.transcripts import asr
from interview.transcripts import services as transcripts

# About 60 s at 155 words per minute: an answer to "Tell us about a difficult customer".
REFERENCE = (
    "Last year a customer called us because their warehouse robots had stopped in the middle "
    "of a busy morning. She was angry, and she had every reason to be. I listened first and "
    "repeated back what I had understood, so she knew someone was taking it seriously. Then I "
    "opened an escalation with our engineers and promised to call her back within the hour. "
    "We found that a software update had filled the memory on one of their servers. While the "
    "engineers fixed it, I kept her informed every thirty minutes and wrote a short timeline "
    "of what had happened. The robots were running again before lunch. Afterwards we offered "
    "a discount on her next invoice, and she renewed her contract for two more years. What I "
    "learned is that people forgive a problem, but they do not forgive silence."
)
VOICES = ("en-us", "en-gb")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words divided by the reference's length."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(ref)


def spoken_answer(folder: Path, voice: str, seconds: int = 60) -> Path:
    wav = folder / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "155", "-w", str(wav), REFERENCE], check=True)
    mp4 = folder / f"{voice}.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=24",
         "-i", str(wav), "-af", f"apad=whole_dur={seconds}", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "24",
         "-c:a", "aac", str(mp4)],
        check=True,
    )  # fmt: skip
    return mp4


def ready_take(org, screening, clip: Path) -> Take:
    take = new_take(org, screening, 90)
    media.store_original(take, clip, "video/mp4")
    take.status = TakeStatus.UPLOADED
    db.session.commit()
    outcome = media.process(take.id)  # becoming ready queues its transcript
    assert outcome.status == "ready", outcome
    return db.session.get(Take, take.id)


def peak_rss_mb(pid: int) -> float:
    """The high-water mark of resident memory of ``pid`` and every descendant still alive."""
    peak = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        peak = max(peak, int(match.group(1)) if match else 0)
        pending.extend(int(c) for c in children)
    return peak / 1024


def transcript_of(take: Take) -> Transcript:
    db.session.expire_all()
    return db.session.scalar(db.select(Transcript).where(Transcript.take_id == take.id))


def through_worker(app, org, screening, clips: dict[str, Path], folder: Path, repeat: int):
    print("\n== 60 s answer through a real `flask worker --queues transcripts` ==")
    print(f"{'voice':<8}{'ready -> transcript s':>22}{'x answer':>10}{'peak RSS MB':>13}{'WER':>7}")
    redis_dir = folder / "redis"
    redis_dir.mkdir()
    elapsed, ratios, peaks, errors = [], [], [], []
    model = str(transcripts.model_dir())
    with (
        private_redis(redis_dir) as url,
        app_workers(
            app, url, "transcripts", TRANSCRIPTS_ENABLED="1", TRANSCRIPTS_MODEL_DIR=model
        ) as workers,
    ):
        time.sleep(2)  # the worker verifies the model (SHA-256) at start
        for run in range(repeat):
            for voice, clip in clips.items():
                take = ready_take(org, screening, clip)
                t0 = time.perf_counter()
                peak = 0.0
                while (text := transcript_of(take)) is None or text.status not in (
                    "ready",
                    "failed",
                ):
                    peak = max(peak, peak_rss_mb(workers[0].pid))
                    time.sleep(0.05)
                seconds = time.perf_counter() - t0
                assert text.status == "ready", text.failure_reason
                wer = word_error_rate(REFERENCE, text.text)
                answer = take.duration_ms / 1000
                print(f"{voice:<8}{seconds:>22.2f}{seconds / answer:>10.2f}{peak:>13.0f}"
                      f"{wer:>7.1%}  run {run + 1}, load {os.getloadavg()[0]:.1f}")  # fmt: skip
                elapsed.append(seconds)
                ratios.append(seconds / answer)
                peaks.append(peak)
                errors.append(wer)
    record("transcripts", "60 s answer: ready -> transcript (real worker)",
           round(statistics.median(elapsed), 2), "s")  # fmt: skip
    record("transcripts", "60 s answer: transcript time / answer length",
           round(statistics.median(ratios), 2), "x")  # fmt: skip
    record("transcripts", "peak worker + work horse RSS", round(max(peaks)), "MB")
    record("transcripts", "word error rate (espeak-ng fixture)",
           round(statistics.median(errors) * 100, 1), "%")  # fmt: skip
    return text


def in_process(clips: dict[str, Path], folder: Path) -> None:
    print("\n== in-process, model already loaded (no fork, no model load) ==")
    model = asr.load(transcripts.model_dir(), threads=0)
    for voice, clip in clips.items():
        audio = folder / f"{voice}.m4a"
        subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(clip), "-vn", "-c:a", "copy",
                        str(audio)], check=True)  # fmt: skip
        t0 = time.perf_counter()
        result = asr.transcribe(model, audio)
        seconds = time.perf_counter() - t0
        wer = word_error_rate(REFERENCE, result.text)
        print(f"{voice:<8}{seconds:>8.2f} s for {result.duration:.0f} s: real-time factor "
              f"{seconds / result.duration:.2f}, WER {wer:.1%}, "
              f"{len(result.segments)} segments")  # fmt: skip
        record("transcripts", f"in-process real-time factor ({voice})",
               round(seconds / result.duration, 2), "x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed for the fixture: bin/system-deps installs it")
    folder = Path(tempfile.mkdtemp(prefix="transcripts-bench-"))
    try:
        spec = asr.manifest()
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
              f"model {spec['name']} ({', '.join(spec['packages'])})")  # fmt: skip
        clips = {voice: spoken_answer(folder, voice) for voice in VOICES}
        instance = folder / "instance"
        app = create_app(
            {
                **test_overrides(str(instance)),
                "INSTANCE_PATH": str(instance),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
                "TRANSCRIPTS_ENABLED": True,
                "TRANSCRIPTS_MODEL_DIR": str(folder / "model"),
            }
        )
        with app.app_context():
            upgrade()
            t0 = time.perf_counter()
            transcripts.prepare_model()
            print(f"model assembled and verified (SHA-256) in {time.perf_counter() - t0:.1f} s")
            org = Organization(name="Bench", slug="bench")
            screening = Screening(organization=org, title="Bench", role_description="")
            db.session.add_all([org, screening])
            db.session.commit()
            last = through_worker(app, org, screening, clips, folder, options.repeat)
            print(f"\nheard ({last.language}): {last.text[:300]}…")
            in_process(clips, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
