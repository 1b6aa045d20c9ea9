"""One HTTP POST to a checked address: no redirects, bounded time, a capped excerpt back.

Plain ``http.client`` (standard library): the connection goes to the IP address the caller
checked, with the URL's host name kept for the ``Host`` header and for TLS (SNI and the
certificate check), so a DNS answer that changes between the check and the connection cannot
send a delivery somewhere else.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the resolved IP that was checked
    path: str


@dataclass(frozen=True)
class Result:
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str | None
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None  # an HTTP date is rare from webhook receivers; the schedule applies


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Result:
    """POST ``body``; never raises: failures come back as a Result with ``error``."""
    started = time.monotonic()
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
        status = response.status
        error = None
        if 300 <= status < 400:
            error = f"Redirect to {response.getheader('Location', '?')[:200]} not followed."
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
        return Result(
            status,
            round((time.monotonic() - started) * 1000),
            excerpt,
            error,
            _retry_after(response.getheader("Retry-After")),
        )
    except (OSError, http.client.HTTPException) as failure:
        reason = str(failure) or type(failure).__name__
        return Result(None, round((time.monotonic() - started) * 1000), "", reason[:500], None)
    finally:
        connection.close()
