"""Private processes the benches start on loopback and stop by PID (Redis, RQ workers), and the
PostgreSQL schema a bench starts from."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


def empty_postgres_schema(url: str) -> None:
    """Drop everything in ``url``'s public schema (a PostgreSQL database given to a bench)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def close_idle_connections(url: str, databases: list[str]) -> None:
    """End the idle sessions on ``databases`` (on ``url``'s server): the pools of a bench's
    targets that are not under load just now. Two PostgreSQL targets side by side (one node of
    2 processes, two nodes of 1) each keep up to 2 x 32 connections open after a run at 200,
    more together than the server's ``max_connections`` (100 here). The app checks a pooled
    connection before use, so a target finds its ended sessions and opens new ones."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = ANY(:names) AND state = 'idle' AND pid <> pg_backend_pid()"
            ),
            {"names": databases},
        )
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_redis(folder: str | Path) -> Iterator[str]:
    """A redis-server on a spare loopback port (nothing kept on disk); yields its URL."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def app_workers(
    app, redis_url: str, queue: str, count: int = 1, **extra_env: str
) -> Iterator[list[subprocess.Popen]]:
    """``count`` real `flask worker --queues <queue>` processes against ``app``'s database and
    media, with ``app`` pointed at the same Redis; registered (3 s) before the block runs.
    Yields the worker processes (``extra_env`` adds settings to their environment)."""
    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("redis", None)
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": redis_url, "MEDIA_ROOT": app.config["MEDIA_ROOT"],
           "SECRET_KEY": app.config["SECRET_KEY"], "FLASK_APP": "wsgi",
           "PYTHONPATH": str(ROOT), **extra_env}  # fmt: skip
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--queues", queue],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        for _ in range(count)
    ]
    try:
        time.sleep(3)  # let the workers register before the clock starts
        yield workers
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
