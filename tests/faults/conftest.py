"""Processes the fault tests start on spare loopback ports and stop by PID: a private
redis-server that can be killed and restarted, and a real gunicorn web server."""

from __future__ import annotations

import base64
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from interview.extensions import db
from interview.media import chunks
from interview.models import Take

from ..conftest import free_port, worker_env
from .cluster import WebServer, wait_until

TUS = {"Tus-Resumable": "1.0.0"}


def tus_meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def filed(take_id: int, seconds: float = 20):
    """The take once its original is assembled, its chunks removed and its processing queued
    (just after the last PATCH was answered; the last step, so nothing races the clean-up)."""

    def from_db() -> Take:
        db.session.expire_all()
        return db.session.get(Take, take_id)

    def done() -> bool:  # the original committed, the chunks removed, processing queued
        take = from_db()
        return (
            take.checksum_sha256 is not None
            and take.rq_job_id is not None
            and not (chunks.chunks_of(take_id))
        )

    wait_until(done, seconds, "the original to be filed")
    return from_db()


class RedisServer:
    """A redis-server without persistence on one spare port: kill it, start it again."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1",
             "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), 10, "redis-server to answer")
        client.close()

    def kill(self) -> None:
        """What a crash does: SIGKILL, and everything it held in memory is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web_server(app, tmp_path: Path) -> Iterator[WebServer]:
    """The app under gunicorn (one worker, threads), sharing the test's database, media root
    and secret key."""
    server = WebServer(worker_env(app), tmp_path)
    yield server
    server.kill()


def start_upload(client, token: str) -> str:
    """Reveal the first question and create a tus upload for it; returns its URL."""
    base = f"/i/{token}/api"
    assert client.post(f"{base}/questions/0/reveal").status_code == 200
    created = client.post(
        f"{base}/questions/0/uploads",
        headers={
            **TUS,
            "Upload-Defer-Length": "1",
            "Upload-Metadata": tus_meta(filetype="video/webm"),
        },
    )
    assert created.status_code == 201
    return created.headers["Location"]


def patch_chunk(client, url: str, data: bytes, offset: int, **headers):
    return client.patch(
        url,
        data=data,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )
