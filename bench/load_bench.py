"""Load: 50 candidates upload 3 answers each, concurrently, with a standard tus client
(tuspy) to a real gunicorn server, while 2 real RQ workers process them.

Prints completed interviews per minute, the p95 time to acknowledge a chunk, the media
queue's depth sampled over the run, and checks that nothing sent was lost or corrupted:
the SHA-256 of every chunk sent against the bytes storage holds at that offset.

Loopback only, bounded: short generated clips (2 s, 320x240), a private redis-server on a
spare port, SQLite in a temporary folder (or BENCH_DATABASE_URL), and a deadline.

Usage: .venv/bin/python bench/load_bench.py [--candidates 50] [--deadline 300]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from rq import Queue
from rq.registry import StartedJobRegistry
from tusclient import client as tus_client
from tusclient.uploader import Uploader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _figures import record  # noqa: E402
from _processes import free_port  # noqa: E402

from interview import create_app  # noqa: E402
from interview.extensions import db  # noqa: E402
from interview.models import (  # noqa: E402
    AssetKind,
    Criterion,
    Invitation,
    InvitationStatus,
    Organization,
    Question,
    Rubric,
    Screening,
    ScreeningStatus,
    Take,
    TakeStatus,
)
from tests import factories  # noqa: E402

BENCH = "load"
QUESTIONS = 3
CHUNK = 16 * 1024
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def make_clips(folder: Path, candidates: int) -> list[list[Path]]:
    """Three 2 s VP8/Opus WebM answers (as Chromium records them), remuxed once per
    candidate with a different title, so every upload has its own bytes and checksum."""
    bases = []
    for n in range(QUESTIONS):
        path = folder / f"answer-{n}.webm"
        subprocess.run(
            ["ffmpeg", "-y", "-v", "error",
             "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=15:d=2,hue=h={n * 100}",
             "-f", "lavfi", "-i", f"sine=f={220 + 60 * n}:r=48000:d=2",
             "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
             "-c:a", "libopus", "-f", "webm", str(path)],
            check=True,
        )  # fmt: skip
        bases.append(path)
    clips = []
    for c in range(candidates):
        mine = []
        for n, base in enumerate(bases):
            path = folder / f"c{c}-q{n}.webm"
            subprocess.run(
                ["ffmpeg", "-y", "-v", "error", "-i", str(base), "-c", "copy",
                 "-metadata", f"title=candidate {c} answer {n}", str(path)],
                check=True,
            )  # fmt: skip
            mine.append(path)
        clips.append(mine)
    return clips


class Stack:
    """redis-server, gunicorn and 2 `flask worker` processes, each stopped by PID."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis_port, self.port = free_port(), free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL")
            or f"sqlite:///{workdir / 'load.sqlite3'}",
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "load-bench",
            "MEDIA_ROOT": str(workdir / "media"),
            "UPLOAD_STAGING_DIR": str(workdir / "uploads"),
            "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "CANDIDATE_API_LIMIT": "1000000 per minute",
            "CANDIDATE_LINK_LIMIT": "1000000 per minute",
            "INTERVIEW_ENV": "development",
            "FLASK_APP": "wsgi",
            "PYTHONPATH": str(ROOT),
        }
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (kept open while it runs)
        proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def __enter__(self) -> Stack:
        redis_dir = self.workdir / "redis"
        redis_dir.mkdir()
        self._spawn(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
             "--save", "", "--appendonly", "no", "--dir", str(redis_dir)],
            "redis",
        )  # fmt: skip
        client = redis.Redis.from_url(self.redis_url)
        wait_for(lambda: _pings(client), 10, "redis-server")
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=ROOT, env=self.env, check=True, capture_output=True,
        )  # fmt: skip
        self._spawn(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--threads", "8", "wsgi:app"],
            "gunicorn",
        )  # fmt: skip
        for n in range(2):
            self._spawn([sys.executable, "-m", "flask", "worker", "--queues", "media"], f"w{n}")
        wait_for(self._answers, 30, "gunicorn")
        return self

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/login", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def bench_app(stack: Stack):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": stack.env["DATABASE_URL"],
            "SECRET_KEY": stack.env["SECRET_KEY"],
            "INSTANCE_PATH": str(stack.workdir / "instance"),
            "MEDIA_ROOT": stack.env["MEDIA_ROOT"],
            "REDIS_URL": stack.redis_url,
        }
    )


def make_candidates(count: int) -> list[tuple[int, str]]:
    """A screening of 3 questions and ``count`` candidates who consented: (id, link token)."""
    org = Organization(name=f"Load {time.monotonic_ns()}", slug=f"load-{time.monotonic_ns()}")
    screening = Screening(
        organization=org, title="Load", role_description="", status=ScreeningStatus.OPEN
    )
    screening.questions = [
        Question(position=n, prompt=f"Q{n}", think_seconds=60, answer_seconds=60, max_retakes=1)
        for n in range(QUESTIONS)
    ]
    screening.rubric = Rubric(criteria=[Criterion(name="Clarity", weight=1.0)])
    db.session.add_all([org, screening])
    db.session.flush()
    made = []
    for n in range(count):
        invitation, token = factories.invitation(
            screening, name=f"Candidate {n}", email=f"c{n}@load.example", started=True
        )
        made.append((invitation.id, token))
    db.session.commit()
    return made


@dataclass
class Sent:
    """What one candidate's client sent: per take, its chunks (offset, length, SHA-256)."""

    takes: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    whole: dict[int, str] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)
    error: str | None = None


class TimedUploader(Uploader):
    """tuspy's uploader, timing each PATCH and remembering what each chunk carried."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chunks: list[tuple[int, int, str]] = []
        self.acks: list[float] = []

    def upload_chunk(self) -> None:
        offset = self.offset
        stream = self.get_file_stream()
        stream.seek(offset)
        body = stream.read(self.get_request_length())
        started = time.perf_counter()
        super().upload_chunk()
        self.acks.append(time.perf_counter() - started)
        self.chunks.append((offset, len(body), hashlib.sha256(body).hexdigest()))


def candidate(base: str, token: str, clips: list[Path]) -> Sent:
    sent = Sent()
    session = requests.Session()
    api = f"{base}/i/{token}/api"
    try:
        for position, clip in enumerate(clips):
            session.post(f"{api}/questions/{position}/reveal", timeout=60).raise_for_status()
            data = clip.read_bytes()
            uploader = TimedUploader(
                client=tus_client.TusClient(f"{api}/questions/{position}/uploads"),
                file_stream=io.BytesIO(data),
                chunk_size=CHUNK,
                metadata={"filetype": "video/webm"},
            )
            uploader.upload()
            take_id = int(uploader.url.rstrip("/").rsplit("/", 1)[1])
            sent.takes[take_id] = uploader.chunks
            sent.whole[take_id] = hashlib.sha256(data).hexdigest()
            sent.acks += uploader.acks
            session.post(f"{api}/takes/{take_id}/keep", timeout=60).raise_for_status()
        page = session.get(f"{base}/i/{token}/review", timeout=60).text
        submitted = session.post(
            f"{base}/i/{token}/review",
            data={"csrf_token": CSRF.search(page).group(1)},
            timeout=60,
            allow_redirects=False,
        )
        if submitted.status_code != 302:
            raise RuntimeError(f"submit answered {submitted.status_code}")
    except Exception as error:  # reported and counted, never hidden
        sent.error = f"{type(error).__name__}: {error}"
    return sent


def queue_depth(stack: Stack) -> int:
    connection = redis.Redis.from_url(stack.redis_url)
    queue = Queue("media", connection=connection)
    return queue.count + StartedJobRegistry(queue=queue).count


def verify(stack: Stack, sent: list[Sent]) -> tuple[int, int, int, int]:
    """(chunks sent, chunks lost or corrupted, takes, takes whose stored original differs)."""
    chunks = bad_chunks = takes = bad_takes = 0
    media_root = Path(stack.env["MEDIA_ROOT"])
    for one in sent:
        for take_id, pieces in one.takes.items():
            takes += 1
            take = db.session.get(Take, take_id)
            original = next((a for a in take.assets if a.kind == AssetKind.ORIGINAL), None)
            stored = (media_root / original.storage_key).read_bytes() if original else b""
            if (
                hashlib.sha256(stored).hexdigest() != one.whole[take_id]
                or take.checksum_sha256 != one.whole[take_id]
            ):
                bad_takes += 1
            for offset, length, digest in pieces:
                chunks += 1
                if hashlib.sha256(stored[offset : offset + length]).hexdigest() != digest:
                    bad_chunks += 1
    return chunks, bad_chunks, takes, bad_takes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=300, help="seconds, whole run")
    options = parser.parse_args()
    if shutil.which("redis-server") is None or shutil.which("ffmpeg") is None:
        sys.exit("redis-server and ffmpeg are needed (make system-deps)")
    workdir = Path(tempfile.mkdtemp(prefix="load-bench-"))
    try:
        t0 = time.perf_counter()
        clips = make_clips(workdir, options.candidates)
        size = clips[0][0].stat().st_size
        print(f"{options.candidates * QUESTIONS} answer clips made in "
              f"{time.perf_counter() - t0:.1f} s ({size:,} bytes each)")  # fmt: skip
        with Stack(workdir) as stack:
            run(stack, clips, options)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(stack: Stack, clips: list[list[Path]], options) -> None:
    app = bench_app(stack)
    with app.app_context():
        people = make_candidates(options.candidates)
    depth: list[tuple[float, int]] = []
    done_at: dict[int, float] = {}
    stop = threading.Event()
    started = time.perf_counter()

    def sample() -> None:
        while not stop.is_set():
            depth.append((time.perf_counter() - started, queue_depth(stack)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(max_workers=options.candidates) as pool:
        futures = [
            pool.submit(candidate, stack.url, token, clips[n])
            for n, (_, token) in enumerate(people)
        ]
        with app.app_context():
            ids = [invitation_id for invitation_id, _ in people]
            deadline = started + options.deadline
            while len(done_at) < len(ids) and time.perf_counter() < deadline:
                db.session.expire_all()
                for invitation_id in ids:
                    if invitation_id in done_at:
                        continue
                    invitation = db.session.get(Invitation, invitation_id)
                    takes = [q.response.take for q in invitation.questions if q.response]
                    if (
                        invitation.status == InvitationStatus.COMPLETED
                        and len(takes) == QUESTIONS
                        and all(t.status in (TakeStatus.READY, TakeStatus.FAILED) for t in takes)
                    ):
                        done_at[invitation_id] = time.perf_counter() - started
                if all(f.done() for f in futures) and any(f.result().error for f in futures):
                    break
                time.sleep(0.25)
        sent = [f.result() for f in futures]
    stop.set()
    sampler.join()
    with app.app_context():
        db.session.expire_all()
        statuses = [
            q.response.take.status
            for invitation_id in done_at
            for q in db.session.get(Invitation, invitation_id).questions
        ]
        chunks, bad_chunks, takes, bad_takes = verify(stack, sent)
    report(options, sent, done_at, statuses, depth, chunks, bad_chunks, takes, bad_takes)


def report(options, sent, done_at, statuses, depth, chunks, bad_chunks, takes, bad_takes):
    errors = [s.error for s in sent if s.error]
    acks = sorted(a for s in sent for a in s.acks)
    p95 = acks[int(0.95 * (len(acks) - 1))] if acks else float("nan")
    wall = max(done_at.values()) if done_at else float("nan")
    per_minute = len(done_at) / wall * 60 if done_at else 0.0
    ready = sum(s == TakeStatus.READY for s in statuses)
    database = "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"
    print(f"load benchmark: {options.candidates} candidates x {QUESTIONS} answers, tuspy "
          f"({CHUNK // 1024} KiB chunks) -> gunicorn 2x8 -> 2 RQ workers (loopback, "
          f"{database})")  # fmt: skip
    print(f"{'completed interviews (submitted, every answer processed)':<58}"
          f"{len(done_at):>6} / {options.candidates}")  # fmt: skip
    print(f"{'answers ready / failed':<58}{ready:>6} / {len(statuses) - ready}")
    print(f"{'wall time to the last completed interview':<58}{wall:>8.1f} s")
    print(f"{'completed interviews per minute':<58}{per_minute:>8.1f}")
    print(f"{'chunk acknowledgements (PATCH round trips)':<58}{len(acks):>6}")
    if acks:
        print(f"{'chunk ack time p50 / p95 / max':<58}"
              f"{statistics.median(acks) * 1000:>6.0f} / {p95 * 1000:.0f} / "
              f"{acks[-1] * 1000:.0f} ms")  # fmt: skip
    print(f"{'chunks lost or corrupted (SHA-256 sent vs stored)':<58}"
          f"{bad_chunks:>6} of {chunks}")  # fmt: skip
    print(f"{'takes whose stored original differs from what was sent':<58}"
          f"{bad_takes:>6} of {takes}")  # fmt: skip
    series = " ".join(str(d) for _, d in depth[::2])
    print(f"media queue depth (queued + running), every 2 s: {series}")
    if errors:
        print(f"client errors ({len(errors)}): {errors[:3]}")
    record(BENCH, "completed interviews per minute", round(per_minute, 1), "/min")
    record(BENCH, f"completed interviews of {options.candidates}", len(done_at))
    record(BENCH, "chunk ack time p95", round(p95 * 1000), "ms")
    record(BENCH, "peak media queue depth", max((d for _, d in depth), default=0), "jobs")
    record(BENCH, "chunks lost or corrupted", bad_chunks, f"of {chunks}")
    record(BENCH, "client errors", len(errors))


if __name__ == "__main__":
    main()
