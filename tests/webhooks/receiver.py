"""A real HTTP receiver on a spare loopback port that verifies Standard Webhooks signatures
with the ``standardwebhooks`` package, as an integration's receiver would."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict | None


@dataclass
class Receiver:
    """Answers each POST with the next queued (status, headers, body), 200 when none is left."""

    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    answers: deque = field(default_factory=deque)
    server: ThreadingHTTPServer | None = None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def verify(self, body: bytes, headers: dict[str, str], secret: str | None = None) -> dict:
        return Webhook(secret or self.secret).verify(body, headers)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
        return self.received

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified, payload = False, None
                if receiver.secret:
                    try:
                        payload = receiver.verify(body, headers)
                        verified = True
                    except WebhookVerificationError:
                        verified = False
                status, extra, answer = (
                    receiver.answers.popleft() if receiver.answers else (200, {}, b"ok")
                )
                with receiver.arrived:
                    receiver.received.append(
                        Received(self.path, headers, body, verified, payload or json.loads(body))
                    )
                    receiver.arrived.notify_all()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
