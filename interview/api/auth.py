"""Who is calling the API: the key in ``Authorization: Bearer``, its scope, its organisation,
and the ``Idempotency-Key`` replay of POSTs. Never a session cookie."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, g, make_response, request
from werkzeug.exceptions import HTTPException

from .. import errors
from ..extensions import db, login_manager
from ..models import ApiKey
from ..security import get_in_org_or_404
from . import services


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def rate_key() -> str:
    """Rate limits count per key (its hash), or per address for callers without one."""
    raw = _bearer()
    if raw:
        return "api-key:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
    return "api-ip:" + (request.remote_addr or "?")


def rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def current_key() -> ApiKey:
    return g.api_key


def org_id() -> int:
    return g.api_key.org_id


def get_or_404(model: type, object_id: int):
    """The organisation-scoped look-up the pages use, with the key's organisation."""
    return get_in_org_or_404(model, object_id, org_id())


def _authenticate(scope: str) -> None:
    # The API never acts as a signed-in person: a browser's session cookie is ignored, so a
    # third-party page cannot ride on it (which is also why the API needs no CSRF token).
    g._login_user = login_manager.anonymous_user()
    key = services.key_for(_bearer())
    if key is None:
        abort(401, description="Send a live API key as 'Authorization: Bearer <key>'.")
    if not key.allows(scope):
        abort(403, description=f"This key lacks the '{scope}' scope.")
    g.api_key = key
    g.audit_actor_label = services.actor_label(key)


def _idempotent(view: Callable[..., Any], args: Any, kwargs: Any):
    idem_key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or idem_key is None:
        return view(*args, **kwargs)
    body = request.get_data(cache=True)
    print_ = services.fingerprint(request.method, request.path, body)
    try:
        claimed = services.begin_idempotent(current_key(), idem_key.strip(), print_)
    except services.IdempotencyConflict as conflict:
        return errors.problem(conflict.status, conflict.detail)
    if isinstance(claimed, services.Replay):
        response = make_response(claimed.body, claimed.status_code)
        response.headers["Idempotent-Replayed"] = "true"
        if claimed.status_code >= 400:
            response.mimetype = "application/problem+json"
        return response
    row_id = claimed.id
    try:
        response = make_response(view(*args, **kwargs))
    except HTTPException as error:
        db.session.rollback()
        response = errors._render(error)
    except BaseException:
        db.session.rollback()
        services.finish_idempotent(row_id, 500, b"")
        raise
    services.finish_idempotent(row_id, response.status_code, response.get_data())
    return response


def scope(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a live key with scope ``name`` (kept on the view as ``api_scope`` for the
    access-control sweep); POSTs with an ``Idempotency-Key`` are answered once and replayed."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            _authenticate(name)
            return _idempotent(view, args, kwargs)

        wrapped.api_scope = name  # type: ignore[attr-defined]
        return wrapped

    return decorator
