"""Upload figures for the candidate side (issue 4), measured against a real gunicorn process.

1. Stop → saved: the last PATCH of a 60 s answer (the tail chunk plus Upload-Length), which
   makes the server store the original, hash it and queue processing.
2. PATCH throughput (MB/s) compared with writing the same bytes to disk directly (fsync'd).
3. Peak memory of the web process while 10 candidates upload 100 MB takes at once.

Loopback only; bounded in size and time. Run: .venv/bin/python bench/upload_bench.py
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _figures import record  # noqa: E402
from _processes import free_port  # noqa: E402

from interview import create_app  # noqa: E402
from interview.extensions import db  # noqa: E402
from interview.models import Invitation  # noqa: E402
from tests import factories  # noqa: E402

TUS = {"Tus-Resumable": "1.0.0"}
BITRATE = 2_500_000 // 8  # bytes per second of a 720p MediaRecorder answer (~2.5 Mbit/s)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis_port, self.port = free_port(), free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "SECRET_KEY": "bench",
            "MEDIA_ROOT": str(workdir / "media"),
            "UPLOAD_STAGING_DIR": str(workdir / "uploads"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "CANDIDATE_API_LIMIT": "100000 per minute",
            "FLASK_APP": "wsgi",
            "PYTHONPATH": str(ROOT),
        }

    def __enter__(self) -> Server:
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.web = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "16",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                requests.get(f"{self.url}/login", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children").read_text().split()
        return int(children[0])

    def __exit__(self, *exc) -> None:
        self.web.send_signal(signal.SIGTERM)
        self.web.wait(timeout=20)
        self.redis.terminate()
        self.redis.wait(timeout=10)


def make_candidates(server: Server, count: int) -> list[str]:
    """Organisation, screening and ``count`` started invitations; returns their tokens."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": server.env["DATABASE_URL"],
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(server.workdir / "instance"),
            "MEDIA_ROOT": server.env["MEDIA_ROOT"],
            "REDIS_URL": server.env["REDIS_URL"],
        }
    )
    with app.app_context():
        org = factories.org_with_staff(f"Bench{time.monotonic_ns()}")
        for q in org.screening.questions:
            q.answer_seconds = 600
        tokens = []
        for n in range(count):
            _, token = factories.invitation(
                org.screening, email=f"c{n}-{time.monotonic_ns()}@example.com", started=True
            )
            tokens.append(token)
        db.session.commit()
        assert db.session.query(Invitation).count() >= count
    return tokens


def start_take(session: requests.Session, base: str, token: str) -> str:
    api = f"{base}/i/{token}/api"
    session.post(f"{api}/questions/0/reveal", timeout=10).raise_for_status()
    meta = "filetype " + base64.b64encode(b"video/webm").decode()
    created = session.post(
        f"{api}/questions/0/uploads",
        timeout=10,
        headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": meta},
    )
    created.raise_for_status()
    return base + created.headers["Location"]


def patch(session, url, data, offset, total=None) -> requests.Response:
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    if total is not None:
        headers["Upload-Length"] = str(total)
    response = session.patch(url, data=data, headers=headers, timeout=120)
    if response.status_code != 204:
        raise RuntimeError(f"PATCH {response.status_code}: {response.text}")
    return response


def bench_stop_to_saved(server: Server) -> list[float]:
    """60 s answers streamed in 1 s chunks; time the final chunk (what 'stop' leaves)."""
    tokens = make_candidates(server, 5)
    chunk = os.urandom(BITRATE)
    timings = []
    for token in tokens:
        session = requests.Session()
        url = start_take(session, server.url, token)
        offset = 0
        for _ in range(59):
            patch(session, url, chunk, offset)
            offset += len(chunk)
        started = time.perf_counter()
        patch(session, url, chunk, offset, total=offset + len(chunk))
        timings.append(time.perf_counter() - started)
    return timings


def bench_throughput(server: Server, workdir: Path) -> tuple[float, float]:
    size, piece = 200 * 1024 * 1024, 4 * 1024 * 1024
    block = os.urandom(piece)
    [token] = make_candidates(server, 1)
    session = requests.Session()
    url = start_take(session, server.url, token)
    started = time.perf_counter()
    for offset in range(0, size, piece):
        patch(session, url, block, offset, total=size if offset + piece >= size else None)
    http = size / (time.perf_counter() - started) / 1e6
    target = workdir / "direct.bin"
    started = time.perf_counter()
    with open(target, "wb") as handle:
        for _ in range(0, size, piece):
            handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
    disk = size / (time.perf_counter() - started) / 1e6
    target.unlink()
    return http, disk


def bench_memory(server: Server) -> tuple[int, int, float]:
    """10 concurrent 100 MB uploads in 1 MB chunks; RSS of the web worker sampled every 50 ms."""
    tokens = make_candidates(server, 10)
    pid = server.worker_pid()
    baseline = rss_kb(pid)
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kb(pid))
            time.sleep(0.05)

    def upload(token: str) -> None:
        session = requests.Session()
        url = start_take(session, server.url, token)
        block = os.urandom(1024 * 1024)
        total = 100 * 1024 * 1024
        for offset in range(0, total, len(block)):
            patch(
                session, url, block, offset, total=total if offset + len(block) >= total else None
            )

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=upload, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return baseline, peak, elapsed


def main() -> None:
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (make system-deps)")
    workdir = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        with Server(workdir) as server:
            saved = bench_stop_to_saved(server)
            http, disk = bench_throughput(server, workdir)
            baseline, peak, elapsed = bench_memory(server)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("upload benchmark (gunicorn, 1 worker x 16 threads, loopback, SQLite, local storage)")
    print(f"{'figure':<58}{'value':>14}  target")
    print(
        f"{'stop -> saved, 60 s answer (median of 5)':<58}"
        f"{statistics.median(saved):>12.3f} s  < 1 s"
    )
    print(f"{'stop -> saved, 60 s answer (worst of 5)':<58}{max(saved):>12.3f} s")
    print(f"{'PATCH throughput, 200 MB in 4 MB chunks':<58}{http:>9.1f} MB/s")
    print(f"{'direct disk write, same bytes, fsync per 4 MB':<58}{disk:>9.1f} MB/s")
    print(f"{'ratio PATCH / direct disk':<58}{http / disk:>12.2f}")
    print(f"{'web process RSS before 10 x 100 MB uploads':<58}{baseline / 1024:>10.1f} MB")
    print(f"{'web process RSS peak during them':<58}{peak / 1024:>10.1f} MB")
    print(f"{'growth':<58}{(peak - baseline) / 1024:>10.1f} MB  < 50 MB")
    print(f"{'10 x 100 MB wall time':<58}{elapsed:>12.1f} s")
    record("upload", "stop -> saved, 60 s answer (median)", round(statistics.median(saved), 3), "s")
    record("upload", "PATCH throughput, 200 MB in 4 MB chunks", round(http, 1), "MB/s")
    record("upload", "ratio PATCH / direct disk write", round(http / disk, 2))
    record(
        "upload", "web RSS growth, 10 x 100 MB uploads", round((peak - baseline) / 1024, 1), "MB"
    )


if __name__ == "__main__":
    main()
