"""The servers the upload bench loads (``bench/tus_bench.py``): the reference tus server, the
Python floor, and the project as one gunicorn node or two behind HAProxy, each as a ``Target``
(how a candidate starts an upload, which processes' CPU counts); and the project's app in
process for the CPU benches (``bench_app``, ``prepare_database``)."""

from __future__ import annotations

import base64
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _processes import empty_postgres_schema, free_port  # noqa: E402

from interview import create_app  # noqa: E402
from interview.extensions import db  # noqa: E402
from interview.media import chunks  # noqa: E402
from interview.models import Take, TakeStatus  # noqa: E402
from tests import factories  # noqa: E402
from tests.faults.cluster import (  # noqa: E402
    Cluster,
    WebServer,
    process_and_children,
    wait_until,
)

REFERENCE = ROOT / "bench" / "tus_reference"
TUS = {"Tus-Resumable": "1.0.0"}
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# --- servers ----------------------------------------------------------------------------------


@dataclass
class Target:
    """One server under test: how to start an upload, and the processes whose CPU counts."""

    name: str
    base: str
    pids: Callable[[], list[int]]
    new_upload: Callable[[http.client.HTTPConnection, int], str]  # (connection, n) -> path
    tokens: list[str] = field(default_factory=list)


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_split(pids))


def cpu_split(pids: list[int]) -> tuple[float, float]:
    """User and system CPU seconds of ``pids`` so far."""
    user = system = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])  # utime, stime
    return user / CLOCK_TICK, system / CLOCK_TICK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except FileNotFoundError:
            continue
    return total


@contextmanager
def reference_server(workdir: Path):
    """@tus/server on Node, installed here by npm from bench/tus_reference/package.json."""
    if not (REFERENCE / "node_modules" / "@tus" / "server").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=REFERENCE, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    port = free_port()
    files = workdir / "tus-node-files"
    files.mkdir()
    proc = subprocess.Popen(
        ["node", "server.mjs", str(port), str(files)], cwd=REFERENCE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until(lambda: _answers(port, "OPTIONS", "/files"), 20, "the reference tus server")

    def new_upload(conn: http.client.HTTPConnection, n: int) -> str:
        status, headers = request(conn, "POST", "/files", {**TUS, "Upload-Defer-Length": "1"})
        assert status == 201, status
        return urlsplit(headers["location"]).path

    try:
        yield Target("tus-node", f"http://127.0.0.1:{port}", lambda: [proc.pid], new_upload)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def python_floor(workdir: Path):
    """bench/tus_floor.py under gunicorn as the product's node is run (gthread, the same
    workers, threads and keep-alive): the floor of a Python tus server here."""
    port = free_port()
    files = workdir / "py-floor-files"
    files.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS[0]), "--threads", str(THREADS[0]),
         "--worker-class", "gthread", "--keep-alive", "75", "tus_floor:app"],
        cwd=ROOT / "bench", env={**os.environ, "FLOOR_FOLDER": str(files)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    wait_until(lambda: _answers(port, "OPTIONS", "/files"), 20, "the Python floor server")

    def new_upload(conn: http.client.HTTPConnection, n: int) -> str:
        status, headers = request(conn, "POST", "/files", {**TUS, "Upload-Defer-Length": "1"})
        assert status == 201, status
        return headers["location"]

    def pids() -> list[int]:
        return process_and_children(proc.pid)

    try:
        yield Target("py-floor", f"http://127.0.0.1:{port}", pids, new_upload)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _answers(port: int, method: str, path: str) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request(method, path, headers=TUS)
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


THREADS = [32]  # gunicorn threads per process (--threads)
WORKERS = [2]  # gunicorn processes of the single node (--workers)
ASSEMBLY = {"UPLOAD_ASSEMBLY": "web"}  # --assembly


def project_env(database_url: str, redis_url: str, media: Path) -> dict[str, str]:
    return {
        **ASSEMBLY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "tus-bench",
        "MEDIA_ROOT": str(media),
        "CANDIDATE_API_LIMIT": "1000000 per minute",
        "CANDIDATE_LINK_LIMIT": "1000000 per minute",
        "RATELIMIT_STORAGE_URI": redis_url,  # as in production: limits shared through Redis
        "FLASK_APP": "wsgi",
    }


def prepare_database(url: str, workdir: Path) -> None:
    if url.startswith("postgresql"):
        empty_postgres_schema(url)
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, check=True,
        capture_output=True, env={**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi",
                                  "PYTHONPATH": str(ROOT), "SECRET_KEY": "tus-bench"},
    )  # fmt: skip


def sibling_database(url: str, suffix: str) -> str:
    """A PostgreSQL database named ``<url's database>_<suffix>`` on the same server, made if
    missing (its schema is dropped like the first's before use)."""
    first = sa.engine.make_url(url)
    name = f"{first.database}_{suffix}"
    engine = sa.create_engine(first.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        known = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not known:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return first.set(database=name).render_as_string(hide_password=False)


def bench_app(name: str, url: str, redis_url: str, workdir: Path, **config):
    """The project's app as a bench drives it in process (on a database ``prepare_database``
    made); ``config`` adds to or overrides the settings."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": f"{name}-bench",
            "INSTANCE_PATH": str(workdir / f"instance-{name}"),
            "MEDIA_ROOT": str(workdir / f"media-{name}"),
            "REDIS_URL": redis_url,
            **config,
        }
    )


def project_target(name: str, base: str, pids, env: dict[str, str], workdir: Path) -> Target:
    app = bench_app(
        name, env["DATABASE_URL"], env["REDIS_URL"], workdir,
        SECRET_KEY=env["SECRET_KEY"], MEDIA_ROOT=env["MEDIA_ROOT"],  # the nodes' own
    )  # fmt: skip
    target = Target(name, base, pids, lambda conn, n: "")

    def new_upload(conn: http.client.HTTPConnection, n: int) -> str:
        api = f"/i/{target.tokens[n]}/api"
        status, _ = request(conn, "POST", f"{api}/questions/0/reveal", {})
        assert status == 200, status
        meta = "filetype " + base64.b64encode(b"video/webm").decode()
        status, headers = request(
            conn, "POST", f"{api}/questions/0/uploads",
            {**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": meta},
        )  # fmt: skip
        assert status == 201, status
        return headers["location"]

    def make_tokens(count: int) -> None:
        with app.app_context():
            org = factories.org_with_staff(f"Bench {time.monotonic_ns()}")
            for question in org.screening.questions:
                question.answer_seconds = 600
            target.tokens = [
                factories.invitation(
                    org.screening, email=f"c{n}-{time.monotonic_ns()}@example.com", started=True
                )[1]
                for n in range(count)
            ]
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def settled(deadline_seconds: float = 120) -> float:
        """With assembly on the web node, wait until every finished upload of the run has its
        original (the node's work after answering), so its CPU is counted in the figures.
        With assembly on media workers (none runs here), do what they would first, in this
        process, and return its CPU seconds: the cost the web figures leave out."""
        if ASSEMBLY["UPLOAD_ASSEMBLY"] != "web":
            with app.app_context():
                waiting = db.session.scalars(
                    sa.select(Take.id).where(
                        Take.status == TakeStatus.UPLOADED, Take.checksum_sha256.is_(None)
                    )
                ).all()
                started = time.process_time()
                for take_id in waiting:
                    chunks.assemble_pending(take_id)
                spent = time.process_time() - started
                db.session.remove()
                db.engine.dispose()
            return spent
        deadline = time.monotonic() + deadline_seconds
        with app.app_context():
            while time.monotonic() < deadline:
                waiting = db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Take)
                    .where(Take.status == TakeStatus.UPLOADED, Take.checksum_sha256.is_(None))
                )
                db.session.rollback()
                if not waiting:
                    break
                time.sleep(0.2)
            else:
                print(f"  {name}: {waiting} uploads still unassembled", file=sys.stderr)
            db.session.remove()
            db.engine.dispose()
        return 0.0

    target.new_upload = new_upload
    target.make_tokens = make_tokens  # type: ignore[attr-defined]
    target.settled = settled  # type: ignore[attr-defined]
    return target


@contextmanager
def single_node(name: str, database_url: str, redis_url: str, workdir: Path):
    prepare_database(database_url, workdir)
    env = project_env(database_url, redis_url, workdir / f"media-{name}")
    node = WebServer(env, workdir, workers=WORKERS[0], threads=THREADS[0])
    node.start()
    try:
        yield project_target(name, node.url, node.pids, env, workdir)
    finally:
        node.stop()


@contextmanager
def two_nodes(database_url: str, redis_url: str, workdir: Path):
    prepare_database(database_url, workdir)
    env = project_env(database_url, redis_url, workdir / "media-proxy")
    with Cluster(env, workdir, 2, workers=1, threads=THREADS[0]) as cluster:

        def pids() -> list[int]:
            return [pid for node in cluster.nodes for pid in node.pids()]

        target = project_target("proxy", cluster.url, pids, env, workdir)
        # HAProxy prints "Server nodes/nodeN is DOWN" when a health check takes a node out.
        target.down_events = lambda: cluster.proxy.log().count(" is DOWN")  # type: ignore[attr-defined]
        yield target


def request(conn, method: str, path: str, headers: dict, body: bytes | None = None):
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}


@contextmanager
def profiled(target: Target, count: int, seconds: int, folder: str | None):
    """With --profile: py-spy samples every server worker through the run (collapsed stacks,
    one file per process, for `py-spy`-style flame graphs or a grep of the hot lines)."""
    spies = []
    if folder and target.name != "tus-node":
        Path(folder).mkdir(parents=True, exist_ok=True)
        for pid in target.pids()[1:] or target.pids():  # gunicorn's workers, not its master
            out = Path(folder) / f"{target.name}-{count}-{pid}.txt"
            spies.append(
                subprocess.Popen(
                    [
                        str(ROOT / ".venv/bin/py-spy"),
                        "record",
                        "--pid",
                        str(pid),
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                        "--duration",
                        str(seconds + 5),
                        "--nonblocking",
                        *(["--gil"] if os.environ.get("PROFILE_GIL") else []),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)


def wait_idle(target: Target, timeout: float = 60.0) -> list[int]:
    """The server's processes once they have stopped working: every gunicorn worker booted
    (a worker still importing the app when the first one answers would count its start-up in
    the first run's CPU) and nothing left over from the previous run."""
    deadline = time.monotonic() + timeout
    pids, before = target.pids(), None
    while time.monotonic() < deadline:
        current = target.pids()
        now = current, cpu_seconds(current)
        if before is not None and now[0] == before[0] and now[1] - before[1] < 0.02:
            return now[0]
        before = now
        time.sleep(0.5)
    print(f"  {target.name}: still busy after {timeout:.0f} s; measuring anyway", file=sys.stderr)
    return pids
