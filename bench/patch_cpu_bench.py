"""CPU of one upload PATCH inside the app (issue 17), without HTTP, load or other processes in
the way: middle PATCHes of 244 KB (the recorder's chunk a second, deferred length) sent one
after another through the app's WSGI entry (so the fast path, ``candidate/fast_path.py``), on
SQLite and, with ``--postgres URL``, on PostgreSQL (its schema is DROPPED first).

Figures per database: CPU ms per PATCH (process time: the interpreter, the driver, the fsyncs'
system time) over ``--batches`` batches of ``--per-batch`` PATCHes, as min / p25 / median,
because this machine's speed varies from one moment to the next (about 2x on a noisy day) and
the least disturbed batches say most; and Python function calls per PATCH (cProfile over one
more batch), which do not vary from run to run and so show a change the timings cannot resolve.
With both databases the batches alternate between them.

Loopback only, bounded (batches x PATCHes). Run: .venv/bin/python bench/patch_cpu_bench.py
  [--postgres postgresql://postgres@127.0.0.1:5432/bench_uploads] [--batches 12] [--per-batch 100]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _figures import record  # noqa: E402
from _processes import private_redis  # noqa: E402
from _tus_servers import bench_app, prepare_database  # noqa: E402

from interview.extensions import db  # noqa: E402
from tests import factories  # noqa: E402

BENCH = "patch_cpu"
CHUNK = 244_000
TUS = {"Tus-Resumable": "1.0.0"}


class Uploader:
    """One database's app and one upload in it, PATCHed in batches."""

    def __init__(self, name: str, url: str, redis_url: str, workdir: Path) -> None:
        prepare_database(url, workdir)
        self.name = name
        # One upload takes every batch.
        self.app = bench_app(name, url, redis_url, workdir, MAX_TAKE_BYTES=1 << 40)
        with self.app.app_context():
            org = factories.org_with_staff(f"Bench {name}")
            for question in org.screening.questions:
                question.answer_seconds = 600
            token = factories.invitation(org.screening, email="c@example.com", started=True)[1]
            db.session.commit()
        client = self.app.test_client()
        api = f"/i/{token}/api"
        assert client.post(f"{api}/questions/0/reveal").status_code == 200
        meta = "filetype " + base64.b64encode(b"video/webm").decode()
        created = client.post(
            f"{api}/questions/0/uploads",
            headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": meta},
        )
        assert created.status_code == 201, created.get_data(as_text=True)
        self.url = created.headers["Location"]
        self.offset = 0
        self.body = os.urandom(CHUNK)
        self.cpu_ms: list[float] = []

    def _environs(self, count: int) -> list[dict]:
        environs = []
        for _ in range(count):
            headers = {
                **TUS,
                "Upload-Offset": str(self.offset),
                "Content-Type": "application/offset+octet-stream",
            }
            environs.append(
                EnvironBuilder(
                    path=self.url, method="PATCH", data=self.body, headers=headers
                ).get_environ()
            )
            self.offset += CHUNK
        return environs

    def _send(self, environs: list[dict]) -> None:
        def start_response(status: str, _headers) -> None:
            assert status.startswith("204"), status

        for environ in environs:
            for _ in self.app(environ, start_response):
                pass

    def batch(self, count: int) -> None:
        environs = self._environs(count)
        started = time.process_time()
        self._send(environs)
        self.cpu_ms.append((time.process_time() - started) / count * 1000)

    def calls_per_patch(self, count: int) -> float:
        environs = self._environs(count)
        profile = cProfile.Profile()
        profile.enable()
        self._send(environs)
        profile.disable()
        return pstats.Stats(profile).total_calls / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--per-batch", type=int, default=100)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="patch-cpu-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        redis_url = stack.enter_context(private_redis(workdir))
        uploaders = [
            Uploader("sqlite", f"sqlite:///{workdir / 'bench.sqlite3'}", redis_url, workdir)
        ]
        if options.postgres:
            uploaders.append(Uploader("postgres", options.postgres, redis_url, workdir))
        for uploader in uploaders:
            uploader.batch(20)  # warm: prepared statements, caches, the pool
            uploader.cpu_ms.clear()
        for _ in range(options.batches):
            for uploader in uploaders:
                uploader.batch(options.per_batch)
        print(
            f"CPU per middle PATCH of {CHUNK // 1000} KB, in process, {options.batches} "
            f"alternating batches of {options.per_batch}"
        )
        print(f"{'database':<10} {'min ms':>8} {'p25 ms':>8} {'median ms':>10} {'calls':>8}")
        for uploader in uploaders:
            spent = sorted(uploader.cpu_ms)
            quartile = statistics.quantiles(spent, n=4)[0] if len(spent) > 1 else spent[0]
            calls = uploader.calls_per_patch(options.per_batch)
            median = statistics.median(spent)
            figures = f"{spent[0]:>8.2f} {quartile:>8.2f} {median:>10.2f} {calls:>8.0f}"
            print(f"{uploader.name:<10} {figures}")
            record(BENCH, f"{uploader.name} CPU per PATCH (min)", round(spent[0], 3), "ms")
            record(BENCH, f"{uploader.name} CPU per PATCH (median)", round(median, 3), "ms")
            record(BENCH, f"{uploader.name} Python calls per PATCH", round(calls), "")


if __name__ == "__main__":
    main()
