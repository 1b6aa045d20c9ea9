"""Uploads under the load of many candidates recording at once, against the reference tus server.

Each simulated candidate creates an upload with a deferred length, then sends what its recorder
produced every second (~244 KB a second, a 2 Mbit/s answer) for ``--seconds`` seconds, and a
final PATCH with Upload-Length (the candidate's "saved"). A PATCH slower than a second makes
the next one late and larger, as a real recorder falls behind. Run for 25, 50, 100 and 200
candidates, interleaved, against:

- ``tus-node``: the reference, @tus/server 2.4.5 with @tus/file-store (fsync'd per PATCH, as
  the project does), installed by this bench into bench/tus_reference/ with npm, on Node;
- ``sqlite``: the project, one gunicorn node (2 workers x 32 threads), SQLite (WAL), local files;
- ``postgres``: the same on PostgreSQL (``--postgres URL``; its schema is DROPPED first);
- ``py-floor``: not the project but the floor of any Python server here: bench/tus_floor.py,
  a plain-WSGI file store like the reference's (offset from the file's size, append, fsync),
  under gunicorn as the project's node is run; it says how much of a gap is the runtime;
- ``proxy``: two gunicorn nodes (1 worker x 32 threads each) behind HAProxy round robin, on
  PostgreSQL (its own database beside ``--postgres``'s, ``<name>_proxy``, made if missing, so
  it runs interleaved with the other targets), with one media folder both reach (a shared
  volume; moto's S3 server is single-threaded Python and would measure moto, not the nodes).

Figures per run: PATCH latency p50/p95/p99, p95 once every candidate has started (PATCHes
sent 5 s or more after the first candidate started: the sustained load without the start burst
of every candidate's reveal and upload creation in one second), p95 of the middle of the run
(also without the last 2 s, when every final PATCH arrives within about a second and, with
assembly on the web node, the assemblies they start run), the start burst's length
(``burst_s``: seconds from the start until every candidate's first PATCH was answered, its
reveal and upload creation before it), p95 once every candidate is recording (``p95_rec``:
PATCHes sent after that, before the finishing seconds), final PATCH p95, refused PATCHes (any
answer but 204), late PATCHes, server CPU seconds per GB received (user+system of the server
processes, printed apart for each run; the proxy's own CPU is not counted), and peak RSS growth
of the server processes. Before each run the bench waits until the server's processes are
idle (every gunicorn worker booted, nothing left of the previous run), so no start-up is
counted.

Loopback only, bounded (``--seconds`` per run). Run: .venv/bin/python bench/tus_bench.py
  [--sizes 25,50,100,200] [--seconds 30] [--targets tus-node,sqlite,postgres,proxy,py-floor]
  [--postgres postgresql://postgres@127.0.0.1:5432/bench_uploads] [--assembly web|worker]
  [--threads 32] [--workers 2] [--profile DIR] [--repeat 1]

This machine's runs vary: the same code's p95 at 200 candidates has ranged 2-4x between
consecutive runs (other machines' load on the same host), so a verdict from one round is
luck; ``--repeat 3`` interleaves three rounds and reports medians.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from _figures import record  # noqa: E402
from _processes import close_idle_connections, private_redis  # noqa: E402
from _tus_servers import (  # noqa: E402
    ASSEMBLY,
    THREADS,
    TUS,
    WORKERS,
    Target,
    cpu_split,
    profiled,
    python_floor,
    reference_server,
    request,
    rss_bytes,
    sibling_database,
    single_node,
    two_nodes,
    wait_idle,
)

BENCH = "tus"
CHUNK_PER_SECOND = 244_000


# --- load -----------------------------------------------------------------------------------


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # (monotonic) when each PATCH was sent
    finals: list[float] = field(default_factory=list)
    final: list[bool] = field(default_factory=list)  # whether each PATCH was the last one
    refused: int = 0
    late: int = 0
    bytes_sent: int = 0
    failed_candidates: int = 0
    first_answered: list[float] = field(default_factory=list)  # each candidate's first 204
    lock: threading.Lock = field(default_factory=threading.Lock)


def candidate(target: Target, n: int, seconds: int, start_at: float, result: Result) -> None:
    """One recorder: create, then every second PATCH what was recorded since the last
    acknowledgement (late and larger when the server is slow); the last one declares the
    length."""
    host = urlsplit(target.base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    payload = os.urandom(CHUNK_PER_SECOND)
    try:
        time.sleep(max(0.0, start_at - time.monotonic()))
        path = target.new_upload(conn, n)
        began = time.monotonic()
        offset, sent_seconds = 0, 0
        while True:
            produced = min(seconds, int(time.monotonic() - began))
            if produced <= sent_seconds:
                time.sleep(max(0.0, began + sent_seconds + 1 - time.monotonic()))
                continue
            body = payload * (produced - sent_seconds)
            final = produced == seconds
            headers = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
            if final:
                headers["Upload-Length"] = str(offset + len(body))
            sent_at, sent = time.monotonic(), time.perf_counter()
            status, answer = request(conn, "PATCH", path, headers, body)
            took = time.perf_counter() - sent
            with result.lock:
                result.latencies.append(took)
                result.sent_at.append(sent_at)
                result.final.append(final)
                result.late += produced - sent_seconds > 1
                if status == 204:
                    result.bytes_sent += len(body)
                    if final:
                        result.finals.append(took)
                else:
                    result.refused += 1
            if status == 204:
                if offset == 0:
                    with result.lock:
                        result.first_answered.append(time.monotonic())
                offset += len(body)
                sent_seconds = produced
                if final:
                    return
            elif status == 409 and "upload-offset" in answer:
                offset = int(answer["upload-offset"])
                sent_seconds = offset // CHUNK_PER_SECOND
            else:
                time.sleep(0.5)  # refused: back off and send again, as tus clients do
    except Exception as error:  # a candidate who never got going is a figure, not a crash
        with result.lock:
            result.failed_candidates += 1
        print(f"  candidate {n} on {target.name}: {error!r}", file=sys.stderr)
    finally:
        conn.close()


def run_load(target: Target, count: int, seconds: int, profile: str | None = None) -> dict:
    with profiled(target, count, seconds, profile):
        return _run_load(target, count, seconds)


def _run_load(target: Target, count: int, seconds: int) -> dict[str, float]:
    if hasattr(target, "make_tokens"):
        target.make_tokens(count)
    result = Result()
    down_before = target.down_events() if hasattr(target, "down_events") else 0
    pids = wait_idle(target)
    split_before, rss_before = cpu_split(pids), rss_bytes(pids)
    peak = rss_before
    start = time.monotonic() + 0.5
    threads = [
        threading.Thread(
            target=candidate, args=(target, n, seconds, start + n / count, result), daemon=True
        )
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, rss_bytes(target.pids()))
        time.sleep(0.5)
    assembly = target.settled() if hasattr(target, "settled") else 0.0
    user, system = (
        after - before for after, before in zip(cpu_split(target.pids()), split_before, strict=True)
    )
    cpu = user + system
    print(f"  server CPU: user {user:.1f} s, system {system:.1f} s", flush=True)
    latencies = sorted(result.latencies) or [float("nan")]
    # Once every candidate has started: the start burst (every candidate's reveal and upload
    # creation within one second) left out, to show the sustained load on its own.
    steady = sorted(
        took
        for took, sent_at in zip(result.latencies, result.sent_at, strict=True)
        if sent_at >= start + STEADY_AFTER_SECONDS
    ) or [float("nan")]
    # The middle of the run: neither the start burst nor the finishing seconds (every final
    # PATCH within about one second, and on the web node the assemblies they start).
    middle = sorted(
        took
        for took, sent_at in zip(result.latencies, result.sent_at, strict=True)
        if start + STEADY_AFTER_SECONDS <= sent_at < start + seconds - FINISHING_SECONDS
    ) or [float("nan")]

    # Once every candidate is recording (each one's first PATCH answered: the start burst of
    # reveals and upload creations cleared), until the finishing seconds.
    burst_over = max(result.first_answered, default=float("nan"))
    recording = sorted(
        took
        for took, sent_at in zip(result.latencies, result.sent_at, strict=True)
        if burst_over <= sent_at < start + seconds - FINISHING_SECONDS
    ) or [float("nan")]

    tail = where_the_tail_is(result, start, seconds)
    print("  slowest 5 %: " + ", ".join(f"{n} {where}" for where, n in tail.items()), flush=True)

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000

    return {
        "patches": len(result.latencies),
        "p50": pct(latencies, 50),
        "p95": pct(latencies, 95),
        "p99": pct(latencies, 99),
        "p95_steady": pct(steady, 95),
        "p95_middle": pct(middle, 95),
        "burst_s": burst_over - start,
        "p95_rec": pct(recording, 95),
        "final_p95": pct(sorted(result.finals) or [float("nan")], 95),
        "refused": result.refused,
        "late": result.late,
        "no_upload": result.failed_candidates + count - len(result.finals),
        "cpu_per_gb": cpu / (result.bytes_sent / 1e9) if result.bytes_sent else float("nan"),
        "assembly_cpu_per_gb": assembly / (result.bytes_sent / 1e9)
        if result.bytes_sent
        else float("nan"),
        "rss_mb": (peak - rss_before) / 1e6,
        "gb": result.bytes_sent / 1e9,
        "nodes_down": (target.down_events() - down_before) if hasattr(target, "down_events") else 0,
    }


def where_the_tail_is(result: Result, start: float, seconds: int) -> dict[str, int]:
    """When the slowest 5 % of PATCHes were sent: in the start burst, in the middle, in the
    finishing seconds, or as a candidate's final PATCH (which can come anywhere after the run's
    length, late ones included)."""
    ranked = sorted(zip(result.latencies, result.sent_at, result.final, strict=True), reverse=True)
    tail = {"start": 0, "middle": 0, "end": 0, "final": 0}
    for _took, sent_at, final in ranked[: max(1, len(ranked) // 20)]:
        if final:
            tail["final"] += 1
        elif sent_at < start + STEADY_AFTER_SECONDS:
            tail["start"] += 1
        elif sent_at < start + seconds - FINISHING_SECONDS:
            tail["middle"] += 1
        else:
            tail["end"] += 1
    return tail


# --- the run --------------------------------------------------------------------------------


STEADY_AFTER_SECONDS = 5
FINISHING_SECONDS = 2
COLUMNS = (
    "p50", "p95", "p99", "p95_steady", "p95_middle", "burst_s", "p95_rec", "final_p95", "refused",
    "late", "no_upload", "cpu_per_gb", "rss_mb",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="25,50,100,200")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of the whole set (all sizes, all targets, interleaved); each figure is "
        "the median of the rounds, refusals and late PATCHes their sum",
    )
    parser.add_argument("--targets", default="tus-node,sqlite,postgres,proxy")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--threads", type=int, default=32, help="gunicorn threads per process")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (one node)")
    parser.add_argument("--profile", help="folder for py-spy samples of the server workers")
    parser.add_argument(
        "--assembly",
        choices=("web", "worker"),
        default="web",
        help="UPLOAD_ASSEMBLY of the project's nodes (web, the product's default: the node "
        "that took the last byte assembles after answering, on its finisher thread, and the "
        "bench waits for it; worker: media workers assemble, none runs during the load, and "
        "the bench does their assembly afterwards in its own process and reports its CPU)",
    )
    options = parser.parse_args()
    ASSEMBLY["UPLOAD_ASSEMBLY"] = options.assembly
    THREADS[0] = options.threads
    WORKERS[0] = options.workers
    sizes = [int(s) for s in options.sizes.split(",")]
    wanted = options.targets.split(",")
    if not options.postgres:
        wanted = [t for t in wanted if t not in ("postgres", "proxy")]
        print("no --postgres URL (or BENCH_DATABASE_URL): PostgreSQL runs skipped")
    needed = ["redis-server"] + ["node", "npm"] * ("tus-node" in wanted)
    for program in needed + ["haproxy"] * ("proxy" in wanted):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            sys.exit(f"{program} is needed (make bench installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="tus-bench-"))
    rows: list[tuple[int, str, dict]] = []
    try:
        with ExitStack() as stack:
            redis_url = stack.enter_context(private_redis(workdir))
            targets: dict[str, Target] = {}
            if "tus-node" in wanted:
                targets["tus-node"] = stack.enter_context(reference_server(workdir))
            if "py-floor" in wanted:
                targets["py-floor"] = stack.enter_context(python_floor(workdir))
            if "sqlite" in wanted:
                url = f"sqlite:///{workdir / 'bench.sqlite3'}"
                targets["sqlite"] = stack.enter_context(
                    single_node("sqlite", url, redis_url, workdir)
                )
            if "postgres" in wanted:
                targets["postgres"] = stack.enter_context(
                    single_node("postgres", options.postgres, redis_url, workdir)
                )
            databases: dict[str, str] = {}  # a PostgreSQL target's database name
            if "postgres" in wanted:
                databases["postgres"] = sa.engine.make_url(options.postgres).database
            if "proxy" in wanted:
                # Its own database beside --postgres, so the proxy runs interleaved with the
                # others (the same minutes of a shared machine) while the one node keeps its.
                proxy_url = sibling_database(options.postgres, "proxy")
                databases["proxy"] = sa.engine.make_url(proxy_url).database
                targets["proxy"] = stack.enter_context(two_nodes(proxy_url, redis_url, workdir))
            for _round in range(options.repeat):
                for count in sizes:
                    for name in wanted:
                        print(f"{name}: {count} candidates x {options.seconds} s ...", flush=True)
                        idle = [db for other, db in databases.items() if other != name]
                        if name in databases and idle:
                            close_idle_connections(options.postgres, idle)
                        figures = run_load(targets[name], count, options.seconds, options.profile)
                        print(
                            "  " + ", ".join(f"{c} {_cell(figures[c])}" for c in COLUMNS),
                            flush=True,
                        )
                        rows.append((count, name, figures))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(combined(rows), options)


def combined(rows: list[tuple[int, str, dict]]) -> list[tuple[int, str, dict]]:
    """One row per size and target: the median of each figure over the rounds, the sum of
    counts of things that went wrong (one refusal in any round is a refusal), and every
    round's p95 (``p95_runs``) to show the spread."""
    rounds: dict[tuple[int, str], list[dict]] = {}
    for count, name, figures in rows:
        rounds.setdefault((count, name), []).append(figures)
    result = []
    for (count, name), runs in rounds.items():
        figures = {
            key: sum(run[key] for run in runs)
            if isinstance(runs[0][key], int)
            else statistics.median(run[key] for run in runs)
            for key in runs[0]
        }
        figures["p95_runs"] = [run["p95"] for run in runs]
        result.append((count, name, figures))
    return result


def _cell(value) -> str:
    """A figure as the bench prints it: one decimal for measures, counts as they are."""
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def report(rows: list[tuple[int, str, dict]], options) -> None:
    print(
        f"\ntus load: each candidate PATCHes {CHUNK_PER_SECOND // 1000} KB a second for "
        f"{options.seconds} s (deferred length), then the final PATCH; loopback, "
        f"{os.cpu_count()} cores (shared with whatever else runs on this machine)"
    )
    header = f"{'N':>4} {'target':<9}" + "".join(f"{c:>11}" for c in COLUMNS)
    print(header + "\n" + "-" * len(header))
    reference = {count: figures for count, name, figures in rows if name == "tus-node"}
    for count, name, figures in sorted(rows, key=lambda row: (row[0], row[1])):
        print(f"{count:>4} {name:<9}" + "".join(f"{_cell(figures[c]):>11}" for c in COLUMNS))
        for column, unit in (
            ("p95", "ms"), ("p95_steady", "ms"), ("p95_middle", "ms"), ("p95_rec", "ms"),
            ("burst_s", "s"), ("final_p95", "ms"), ("cpu_per_gb", "s/GB"),
        ):  # fmt: skip
            record(BENCH, f"{name} N={count} PATCH {column}", round(figures[column], 1), unit)
        record(BENCH, f"{name} N={count} refused", figures["refused"])
    if options.assembly == "worker":
        print(
            "\nassembly left to media workers (none runs during the load): done afterwards in "
            "the bench's process, CPU s/GB:"
        )
        for count, name, figures in sorted(rows, key=lambda row: (row[0], row[1])):
            if name != "tus-node":
                print(f"{count:>4} {name:<9}{figures['assembly_cpu_per_gb']:>8.1f}")
    for count, name, figures in sorted(rows, key=lambda row: (row[0], row[1])):
        if name == "proxy":
            print(f"{count:>4} proxy: a node marked DOWN by HAProxy {figures['nodes_down']} times")
    print("\nratios to tus-node (targets: p95 <= 2x at every N, CPU/GB <= 1.5x):")
    for count, name, figures in sorted(rows, key=lambda row: (row[0], row[1])):
        ref = reference.get(count)
        if name == "tus-node" or ref is None:
            continue
        print(
            f"{count:>4} {name:<9} p95 x{figures['p95'] / ref['p95']:.2f}   "
            f"steady p95 x{figures['p95_steady'] / ref['p95_steady']:.2f}   "
            f"middle p95 x{figures['p95_middle'] / ref['p95_middle']:.2f}   "
            f"recording p95 x{figures['p95_rec'] / ref['p95_rec']:.2f}   "
            f"final p95 x{figures['final_p95'] / ref['final_p95']:.2f}   "
            f"CPU/GB x{figures['cpu_per_gb'] / ref['cpu_per_gb']:.2f}"
            + (
                f"   (p95 of each round: {', '.join(f'{p:.1f}' for p in figures['p95_runs'])}"
                f" ms; reference {', '.join(f'{p:.1f}' for p in ref['p95_runs'])})"
                if len(figures["p95_runs"]) > 1
                else ""
            )
        )


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
