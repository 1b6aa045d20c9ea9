"""What the rate limiter tells callers, and where.

Flask-Limiter counts the requests (one Redis round trip per limited request). Its own header
option writes ``X-RateLimit-*`` on every limited response, which costs two more round trips (the
window is read back) on each: on the candidate's interview steps, which a recorder never reads
them from, that was most of the limiter's cost in a start burst of reveals and upload creations
(issue 17). So the library's headers are off (``RATELIMIT_HEADERS_ENABLED``) and this hook writes
them where a caller uses them:

- every 429, anywhere: ``Retry-After`` (seconds until the window lets a request through), so
  browsers, the recorder and API clients know when to try again, with ``X-RateLimit-*`` (the
  window is read for it anyway);
- the staff API (``/api/``): ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` on every
  answer of a limited operation, as API clients expect them to pace themselves.

This hook runs before the library's own after-request work; no limit here uses ``deduct_when``
(whose deduction the library makes there), else ``Remaining`` would read one too high.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, request

from .errors import API_PREFIX
from .extensions import limiter

log = logging.getLogger(__name__)


def headers_for(response: Response) -> dict[str, str]:
    """The rate-limit headers this answer carries (none when no limit applied to it)."""
    current = limiter.current_limit
    if current is None:
        return {}
    refused = response.status_code == 429
    if not (refused or request.path.startswith(API_PREFIX)):
        return {}
    reset_at = current.reset_at  # reads the window back from the limiter's storage
    headers = {
        "X-RateLimit-Limit": str(current.limit.amount),
        "X-RateLimit-Remaining": str(current.remaining),
        "X-RateLimit-Reset": str(reset_at),
    }
    if refused:
        headers["Retry-After"] = str(max(1, int(reset_at - time.time())))
    return headers


def _add_headers(response: Response) -> Response:
    try:
        found = headers_for(response)
    except Exception as error:  # noqa: BLE001 (the storage is away: the answer goes out)
        log.warning("Rate-limit headers left out: %s", error)
        found = {"Retry-After": "60"} if response.status_code == 429 else {}
    for name, value in found.items():
        response.headers.setdefault(name, value)
    return response


def register(app: Flask) -> None:
    app.after_request(_add_headers)
