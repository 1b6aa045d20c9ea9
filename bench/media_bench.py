"""Media processing figures on this machine (printed, not a test).

1. A 60 s 720p answer, seconds from `uploaded` to `ready` (``services.process``, as a worker
   runs it after dequeuing), for the H.264 fast path and the VP8/Opus (MediaRecorder) path,
   each next to the plain ffmpeg command a person would run by hand, in the same run.
2. CPU seconds (ffmpeg and Python, user + system) per minute of answer.
3. The same 60 s answers through a real `flask worker` (queue, fork, app context included),
   then the throughput of 2 workers over 20 queued answers (shorter answers:
   ``--throughput-seconds``, 10 s by default).

Usage: .venv/bin/python bench/media_bench.py [--repeat 2] [--throughput-seconds 10]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _figures import record
from _processes import app_workers, private_redis
from flask_migrate import upgrade

from interview import create_app
from interview.config import test_overrides
from interview.extensions import db
from interview.media import services
from interview.models import (
    InterviewQuestion,
    Invitation,
    Organization,
    Screening,
    Take,
    TakeStatus,
    utcnow,
)

ROOT = Path(__file__).resolve().parent.parent


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-v", "error", *args], check=True)


def make_inputs(folder: Path, seconds: int) -> dict[str, Path]:
    """A phone-like H.264/AAC MP4 and a MediaRecorder-like VP8/Opus WebM (streamed, so no
    duration in the file), both 1280x720 at 30 fps with speech-like sound."""
    picture = f"testsrc2=s=1280x720:r=30:d={seconds}"
    sound = f"sine=f=300:r=48000:d={seconds},volume=0.5"
    h264 = folder / f"h264-{seconds}s.mp4"
    vp8 = folder / f"vp8-{seconds}s.webm"
    ffmpeg("-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", sound, "-c:v", "libx264",
           "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30", "-c:a", "aac",
           str(h264))  # fmt: skip
    with open(vp8, "wb") as out:
        subprocess.run(
            ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i",
             sound, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M",
             "-c:a", "libopus", "-f", "webm", "pipe:1"],
            check=True, stdout=out,
        )  # fmt: skip
    return {"h264": h264, "vp8": vp8}


def by_hand(path: Path, workdir: Path, fast: bool) -> list[str]:
    """The plain command a person would type for the same conversion."""
    video = ["-c:v", "copy"] if fast else ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                                           "-pix_fmt", "yuv420p"]  # fmt: skip
    return ["ffmpeg", "-y", "-v", "error", "-i", str(path), *video, "-c:a", "aac", "-b:a", "128k",
            "-movflags", "+faststart", str(workdir / "by-hand.mp4")]  # fmt: skip


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def new_take(org: Organization, screening: Screening, answer_seconds: int) -> Take:
    invitation = Invitation(
        org_id=org.id,
        screening=screening,
        candidate_name="Bench",
        candidate_email=f"bench-{secrets.token_hex(6)}@example.com",
        token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        expires_at=utcnow() + timedelta(days=1),
    )
    question = InterviewQuestion(
        invitation=invitation,
        position=1,
        prompt="Bench",
        think_seconds=30,
        answer_seconds=answer_seconds,
        max_retakes=1,
    )
    take = Take(question=question, attempt=1)
    db.session.add_all([invitation, question, take])
    db.session.flush()
    return take


def uploaded(org, screening, path: Path, answer_seconds: int) -> Take:
    take = new_take(org, screening, answer_seconds)
    ctype = "video/webm" if path.suffix == ".webm" else "video/mp4"
    services.store_original(take, path, ctype)
    take.status = TakeStatus.UPLOADED
    db.session.commit()
    return take


def single_answers(app, org, screening, inputs, workdir: Path, repeat: int) -> None:
    print("\n== one 60 s 720p answer: uploaded -> ready (in-process, as the worker runs it) ==")
    print(f"{'path':<10}{'pipeline s':>12}{'by hand s':>11}{'ratio':>8}{'CPU s/min':>11}  notes")
    print("(medians; ratio = median of pipeline/by-hand over back-to-back pairs)")
    for name, fast in (("h264", True), ("vp8", False)):
        pipeline, manual, cpu, manual_cpu = [], [], [], []
        for _ in range(repeat):
            take = uploaded(org, screening, inputs[name], 60)
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            outcome = services.process(take.id)
            pipeline.append(time.perf_counter() - t0)
            cpu.append(cpu_seconds() - cpu0)
            assert outcome.status == "ready", outcome
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            subprocess.run(by_hand(inputs[name], workdir, fast), check=True)
            manual.append(time.perf_counter() - t0)
            manual_cpu.append(cpu_seconds() - cpu0)
        take = db.session.get(Take, take.id)
        minutes = take.duration_ms / 60000
        p, m = statistics.median(pipeline), statistics.median(manual)
        # Each pipeline run is followed by its by-hand run: the median of those pairs' ratios
        # is the figure least disturbed by whatever else the machine is doing.
        ratio = statistics.median(a / b for a, b in zip(pipeline, manual, strict=True))
        print(
            f"{name:<10}{p:>12.2f}{m:>11.2f}{ratio:>8.2f}{statistics.median(cpu) / minutes:>11.1f}"
            f"  runs {[round(x, 2) for x in pipeline]} vs {[round(x, 2) for x in manual]};"
            f" copied={take.media_summary['video_copied']} flags={take.flags}"
        )
        record("media", f"60 s 720p {name}: uploaded -> ready (in-process)", round(p, 2), "s")
        record("media", f"60 s 720p {name}: pipeline / by-hand ffmpeg", round(ratio, 2))
        # CPU time does not depend on what else runs on the machine: a steadier comparison.
        pipe_cpu, hand_cpu = statistics.median(cpu), statistics.median(manual_cpu)
        print(
            f"{'':<10}CPU s: pipeline {pipe_cpu:.2f}, by hand {hand_cpu:.2f},"
            f" ratio {pipe_cpu / hand_cpu:.2f}; load average {os.getloadavg()[0]:.1f}"
        )


def wait_ready(ids: list[int]) -> list[TakeStatus]:
    while True:
        db.session.expire_all()
        states = [db.session.get(Take, i).status for i in ids]
        if all(s in (TakeStatus.READY, TakeStatus.FAILED) for s in states):
            return states
        time.sleep(0.05)


def throughput(app, org, screening, folder: Path, inputs, seconds: int, count: int = 20) -> None:
    clip = make_inputs(folder, seconds)["vp8"]
    redis_dir = folder / "redis"
    redis_dir.mkdir()
    with private_redis(redis_dir) as url, app_workers(app, url, "media", count=2):
        print("\n== one 60 s 720p answer through a real worker: enqueue -> ready ==")
        for name in ("h264", "vp8"):
            take = uploaded(org, screening, inputs[name], 60)
            t0 = time.perf_counter()
            services.enqueue_processing(take)
            [state] = wait_ready([take.id])
            elapsed = time.perf_counter() - t0
            print(f"{name:<10}{elapsed:>8.2f} s  ({state})")
            record(
                "media", f"60 s 720p {name}: enqueue -> ready (real worker)", round(elapsed, 2), "s"
            )
        print(f"\n== 2 workers, {count} queued answers of {seconds} s 720p VP8/Opus ==")
        takes = [uploaded(org, screening, clip, 60) for _ in range(count)]
        t0 = time.perf_counter()
        for take in takes:
            services.enqueue_processing(take)
        states = wait_ready([t.id for t in takes])
        wall = time.perf_counter() - t0
    ready = sum(s == TakeStatus.READY for s in states)
    record("media", f"2 workers, {count} x {seconds} s VP8 answers", round(count / wall * 60, 1),
           "answers/min")  # fmt: skip
    print(f"{ready}/{count} ready in {wall:.1f} s: {count / wall * 60:.1f} answers/min, "
          f"{count * seconds / wall:.2f} s of answer processed per wall-clock second")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--throughput-seconds", type=int, default=10)
    parser.add_argument("--skip-throughput", action="store_true")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="media-bench-"))
    try:
        version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
        print(f"machine: {os.cpu_count()} CPUs; {version.splitlines()[0]}")
        t0 = time.perf_counter()
        inputs = make_inputs(folder, 60)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in inputs.values())
        print(f"inputs made in {time.perf_counter() - t0:.1f} s: {sizes}")
        instance = folder / "instance"
        database = f"sqlite:///{folder / 'bench.sqlite3'}"
        app = create_app(
            {
                **test_overrides(str(instance)),
                "INSTANCE_PATH": str(instance),
                "SQLALCHEMY_DATABASE_URI": database,
            }
        )
        with app.app_context():
            upgrade()
            org = Organization(name="Bench", slug="bench")
            screening = Screening(organization=org, title="Bench", role_description="")
            db.session.add_all([org, screening])
            db.session.commit()
            single_answers(app, org, screening, inputs, folder, options.repeat)
            if not options.skip_throughput:
                throughput(app, org, screening, folder, inputs, options.throughput_seconds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
