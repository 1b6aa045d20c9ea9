"""CPU of a candidate's start inside the app (issue 17): the question's reveal and the upload's
creation that every recorder sends before its first PATCH, which at 200 candidates all come
within about a second (the load bench's start burst). Sent one after another through the app's
WSGI entry, without HTTP, load or other processes in the way, on SQLite and, with
``--postgres URL``, on PostgreSQL (its schema is DROPPED first), limits counted in Redis as in
production.

Figures per database: CPU ms per reveal and per creation (process time) over ``--batches``
batches of ``--per-batch`` candidates, as min / p25 / median (this machine's speed varies),
SQL statements per step and Python function calls per step (cProfile over one more batch),
which do not vary from run to run. With both databases the batches alternate. ``--top N``
prints the N functions with the most own time in the profiled batch.

Loopback only, bounded. Run: .venv/bin/python bench/start_cpu_bench.py
  [--postgres postgresql://postgres@127.0.0.1:5432/bench_uploads] [--batches 8] [--per-batch 50]
  [--top 0]
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

import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _figures import record  # noqa: E402
from _processes import private_redis  # noqa: E402
from _tus_servers import bench_app, prepare_database  # noqa: E402

from interview.extensions import db  # noqa: E402
from interview.models import Screening  # noqa: E402
from tests import factories  # noqa: E402

BENCH = "start_cpu"
TUS = {"Tus-Resumable": "1.0.0"}
META = "filetype " + base64.b64encode(b"video/webm").decode()
STEPS = ("reveal", "creation")


class Starter:
    """One database's app, and fresh started links to reveal and upload on."""

    def __init__(self, name: str, url: str, redis_url: str, workdir: Path) -> None:
        prepare_database(url, workdir)
        self.name = name
        self.app = bench_app(
            name, url, redis_url, workdir,
            RATELIMIT_STORAGE_URI=redis_url, CANDIDATE_API_LIMIT="1000000 per minute",
        )  # fmt: skip
        with self.app.app_context():
            screening = factories.org_with_staff(f"Bench {name}").screening
            for question in screening.questions:
                question.answer_seconds = 600
            db.session.commit()
            self.screening_id = screening.id
        self.cpu_ms: dict[str, list[float]] = {step: [] for step in STEPS}
        self.made = 0
        self.statements = 0

        @sa.event.listens_for(self._engine(), "before_cursor_execute")
        def _count(*_args) -> None:
            self.statements += 1

    def _engine(self):
        with self.app.app_context():
            return db.engine

    def _tokens(self, count: int) -> list[str]:
        with self.app.app_context():
            screening = db.session.get(Screening, self.screening_id)
            tokens = []
            for _ in range(count):
                self.made += 1
                tokens.append(
                    factories.invitation(
                        screening, email=f"c{self.made}@example.com", started=True
                    )[1]
                )
            db.session.commit()
            db.session.remove()
        return tokens

    def _environs(self, tokens: list[str]) -> dict[str, list[dict]]:
        return {
            "reveal": [
                EnvironBuilder(path=f"/i/{t}/api/questions/0/reveal", method="POST").get_environ()
                for t in tokens
            ],
            "creation": [
                EnvironBuilder(
                    path=f"/i/{t}/api/questions/0/uploads",
                    method="POST",
                    headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": META},
                ).get_environ()
                for t in tokens
            ],
        }

    def _send(self, environs: list[dict], expect: str) -> None:
        def start_response(status: str, _headers) -> None:
            assert status.startswith(expect), status

        for environ in environs:
            for _ in self.app(environ, start_response):
                pass

    def batch(self, count: int) -> None:
        environs = self._environs(self._tokens(count))
        for step, expect in zip(STEPS, ("200", "201"), strict=True):
            started = time.process_time()
            self._send(environs[step], expect)
            self.cpu_ms[step].append((time.process_time() - started) / count * 1000)

    def profile(self, count: int, top: int) -> dict[str, tuple[float, float]]:
        environs = self._environs(self._tokens(count))
        figures = {}
        for step, expect in zip(STEPS, ("200", "201"), strict=True):
            profile = cProfile.Profile()
            before = self.statements
            profile.enable()
            self._send(environs[step], expect)
            profile.disable()
            stats = pstats.Stats(profile)
            figures[step] = (stats.total_calls / count, (self.statements - before) / count)
            if top:
                print(f"\n{self.name} {step}: the {top} functions with most own time")
                stats.sort_stats("tottime").print_stats(top)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--per-batch", type=int, default=50)
    parser.add_argument("--top", type=int, default=0)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="start-cpu-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        redis_url = stack.enter_context(private_redis(workdir))
        starters = [Starter("sqlite", f"sqlite:///{workdir / 'bench.sqlite3'}", redis_url, workdir)]
        if options.postgres:
            starters.append(Starter("postgres", options.postgres, redis_url, workdir))
        for starter in starters:
            starter.batch(10)  # warm: caches, the pool, compiled statements
            for spent in starter.cpu_ms.values():
                spent.clear()
        for _ in range(options.batches):
            for starter in starters:
                starter.batch(options.per_batch)
        print(
            f"CPU per candidate start step, in process, {options.batches} alternating batches "
            f"of {options.per_batch}"
        )
        print(
            f"{'database':<10} {'step':<9} {'min ms':>8} {'p25 ms':>8} {'median ms':>10} "
            f"{'SQL':>5} {'calls':>7}"
        )
        for starter in starters:
            counts = starter.profile(options.per_batch, options.top)
            for step in STEPS:
                spent = sorted(starter.cpu_ms[step])
                quartile = statistics.quantiles(spent, n=4)[0] if len(spent) > 1 else spent[0]
                median = statistics.median(spent)
                calls, statements = counts[step]
                print(
                    f"{starter.name:<10} {step:<9} {spent[0]:>8.2f} {quartile:>8.2f} "
                    f"{median:>10.2f} {statements:>5.1f} {calls:>7.0f}"
                )
                record(BENCH, f"{starter.name} {step} CPU (median)", round(median, 3), "ms")
                record(BENCH, f"{starter.name} {step} SQL statements", round(statements, 1), "")
                record(BENCH, f"{starter.name} {step} Python calls", round(calls), "")


if __name__ == "__main__":
    main()
