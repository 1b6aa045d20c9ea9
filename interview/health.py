"""``/healthz``: what a load balancer asks a web node. It answers from the process alone
(no database, no Redis, no session, no rate limit), so a busy node still answers within the
proxy's check timeout and only a node that is gone or hung leaves the rotation; a database
outage is each request's own retryable 503, not every node marked down at once."""

from __future__ import annotations

from flask import Blueprint

from .extensions import limiter
from .security import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
@limiter.exempt
def healthz():
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
