"""The production layout on one machine: gunicorn web nodes, each with its own local folder,
behind HAProxy (Debian's package) balancing round robin with no stickiness. The fault tests and
``bench/upload_bench.py`` start it on spare loopback ports and stop only what they started, by
PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_and_children(pid: int) -> list[int]:
    """``pid`` and its children (a gunicorn master and its workers)."""
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return [pid, *map(int, children)]


def wait_until(condition: Callable[[], bool], seconds: float, what: str, log=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{log()}"
        time.sleep(0.1)


class WebServer:
    """The app under gunicorn in its own process group, with the environment given (database,
    Redis, storage, secret key) and its own local folder (instance, temp files, outbox)."""

    def __init__(
        self,
        env: Mapping[str, str],
        workdir: Path,
        *,
        workers: int = 1,
        threads: int = 4,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = workdir / f"node-{self.port}"
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        self.log_path = self.folder / "gunicorn.log"
        self.workers, self.threads = workers, threads
        self.env = {
            **os.environ,
            "MAIL_OUTBOX_DIR": str(self.folder / "outbox"),
            "TMPDIR": str(self.folder / "tmp"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "PYTHONPATH": str(PROJECT_ROOT),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.spawn()
        self.wait()

    def spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(self.workers), "--threads", str(self.threads),
                 "--worker-class", "gthread", "--keep-alive", "75", "wsgi:app"],
                cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: master and workers die together
            )  # fmt: skip

    def wait(self) -> None:
        wait_until(self._answers, 60, "gunicorn to answer", self.log)

    def _answers(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log()
        try:
            return requests.get(f"{self.url}/login", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (a crash, an OOM kill, a power cut)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)

    def pids(self) -> list[int]:
        """The master and its workers (for CPU and memory figures)."""
        return [] if self.proc is None else process_and_children(self.proc.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


HAPROXY_CONFIG = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 30s
    timeout check 5s
    option redispatch
    retries 2
frontend uploads
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-response set-header X-Upstream %[srv_name]
{servers}
"""


class Proxy:
    """HAProxy in front of ``nodes``: round robin per request, no sticky sessions, health
    checks (``/healthz``) every 500 ms, so a dead node leaves the rotation within a second
    (two failed checks: a refused connection fails at once), while a busy one has 5 s to
    answer before it is taken out."""

    def __init__(self, nodes: list[WebServer], workdir: Path) -> None:
        self.nodes = nodes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "haproxy.cfg"
        self.log_path = workdir / "haproxy.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        servers = "\n".join(
            f"    server node{i} 127.0.0.1:{node.port} check inter 500 fall 2 rise 1"
            for i, node in enumerate(self.nodes)
        )
        self.config.write_text(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [binary, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._answers, 20, "haproxy to answer", self.log)

    def _answers(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log()
        try:
            return requests.get(f"{self.url}/login", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Cluster:
    """``count`` web nodes (started in parallel) behind one proxy."""

    def __init__(self, env: Mapping[str, str], workdir: Path, count: int = 2, **node) -> None:
        self.nodes = [WebServer(env, workdir, **node) for _ in range(count)]
        self.proxy = Proxy(self.nodes, workdir)
        self.url = self.proxy.url

    def __enter__(self) -> Cluster:
        for node in self.nodes:
            node.spawn()
        try:
            for node in self.nodes:
                node.wait()
            self.proxy.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.proxy.stop()
        for node in self.nodes:
            node.stop()
