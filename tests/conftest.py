"""Fixtures: app, fresh database per test, clients signed in per role, a real Redis."""

from __future__ import annotations

import fcntl
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from interview import create_app, languages
from interview.config import test_overrides
from interview.extensions import db, limiter
from interview.models import accounts
from interview.recruiter import imports

from . import factories

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- two suites side by side (bin/test) --------------------------------------------------------
# The SQLite and PostgreSQL suites run at the same time. Tests that start processes or drive a
# browser ("slow", "browser") hold one lock the two share, so at most one such test runs at a
# time on the machine (their timings are the ones a busy machine stretches), while the other
# suite goes on with its light tests. The PostgreSQL suite takes its heavy tests last, so its
# light ones run while SQLite's heavy ones hold the lock.
HEAVY_MARKERS = ("slow", "browser")


def _heavy(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in HEAVY_MARKERS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("TEST_HEAVY_LAST"):
        items.sort(key=_heavy)  # stable: the light ones first, each group in its own order


@pytest.fixture(autouse=True)
def _one_heavy_test_at_a_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up before the test's other function fixtures (autouse comes first), so its worker
    processes and servers start and stop inside the lock."""
    path = os.environ.get("TEST_HEAVY_LOCK")
    if not path or not _heavy(request.node):
        yield
        return
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Same algorithm (scrypt), lower cost: hashing dominates the suite's time otherwise."""
    saved = accounts.PASSWORD_METHOD
    accounts.PASSWORD_METHOD = "scrypt:1024:8:1"
    yield
    accounts.PASSWORD_METHOD = saved


@pytest.fixture(autouse=True, scope="session")
def _compiled_catalogues() -> None:
    """The .mo files from the committed .po catalogues, as `make install` builds them, so a
    plain `pytest` run sees the translations as they are now."""
    languages.compile_catalogues()


# --- services ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a spare loopback port, stopped by PID at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; `make test` installs it (bin/system-deps)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("private redis-server did not start")
            time.sleep(0.05)
    client.close()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PostgreSQL when TEST_DATABASE_URL is set, otherwise a SQLite file; migrated once."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    instance = tmp_path_factory.mktemp("migrate-instance")
    app = create_app(
        {
            **test_overrides(str(instance)),
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(instance),
        }
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto in server mode on a spare loopback port (a real HTTP S3 API), stopped by PID."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.1)
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


# --- app and database ------------------------------------------------------------------------


class Client(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as in production.

    Tests hold an app context open (for the database), and Flask reuses it for requests, so
    per-request caches in ``g`` (flask-login's user, Flask-WTF's CSRF token) would otherwise
    leak from one client to another. Responses are buffered, so the WSGI ``close`` runs as a
    server's does once a response is sent (work deferred with ``call_on_close`` happens).
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in list(g):
                g.pop(name)
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def app_config(tmp_path: Path, database_url: str, redis_url: str) -> dict:
    instance = tmp_path / "instance"
    return {
        **test_overrides(str(instance)),
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
    }


def worker_env(app: Flask, **overrides: str) -> dict[str, str]:
    """The environment for a real `flask worker` (or other CLI) process against ``app``'s
    database, Redis, media and keys."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "MEDIA_ROOT": app.config["MEDIA_ROOT"],
        "WORK_DIR": app.config["WORK_DIR"],
        "MEDIA_GRACE_SECONDS": str(app.config["MEDIA_GRACE_SECONDS"]),
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PYTHONPATH": str(PROJECT_ROOT),
        "FLASK_APP": "wsgi",
        # Speech recognition as the app under test has it (off unless a test turns it on).
        "TRANSCRIPTS_ENABLED": "1" if app.config["TRANSCRIPTS_ENABLED"] else "0",
        "TRANSCRIPTS_MODEL_DIR": app.config["TRANSCRIPTS_MODEL_DIR"],
        **overrides,
    }


@pytest.fixture
def app(app_config: dict) -> Iterator[Flask]:
    app = create_app(app_config)
    app.test_client_class = Client
    # Jobs queued by an earlier test must not run against this test's rows.
    redis.Redis.from_url(app_config["REDIS_URL"]).flushdb()
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()
    limiter.reset()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table per test costs far more
    # than deleting the few rows a test writes.
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a spare loopback port (threaded), for real clients."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    """One Playwright driver per test session (a second sync driver in the same process fails)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


# --- people ----------------------------------------------------------------------------------


@pytest.fixture
def org(app: Flask) -> factories.OrgWithStaff:
    """An organisation with one user per role and a screening."""
    return factories.org_with_staff("Northwind")


@pytest.fixture
def other_org(app: Flask) -> factories.OrgWithStaff:
    """A second organisation whose objects must stay invisible to the first."""
    return factories.org_with_staff("Globex")


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the block runs (for tests that bound
    the queries a page or request makes)."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a real browser would have, read from a rendered page."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = CSRF_META.search(page)
    assert match, "page has no csrf meta tag"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = factories.PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def sign_in_as(app: Flask, org: factories.OrgWithStaff):
    """Return a test client signed in as ``org``'s user with the given role."""

    def make(role) -> FlaskClient:
        c = app.test_client()
        response = sign_in(c, org.users[role].email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return c

    return make


def import_csv(client: FlaskClient, screening_id: int, data: bytes, name: str = "people.csv"):
    """Upload a CSV of candidates as a recruiter would, run its import job here (what a worker
    on the ``imports`` queue does), and return the import page (or, if the file was refused at
    once, the page the refusal redirected to)."""
    response = client.post(
        f"/screenings/{screening_id}/invitations/import",
        data={"csrf_token": csrf_token(client, "/"), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    match = re.search(r"/imports/(\d+)$", location)
    if match:
        imports.run_import(int(match.group(1)))
    return client.get(location, follow_redirects=True)
