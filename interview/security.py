"""Access rules shared by every area: role checks, organisation scoping, security headers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, Response, abort, request
from flask_login import current_user, login_required

from .extensions import db
from .models import ReviewAssignment, Role

T = TypeVar("T")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


ALL_STAFF: tuple[Role, ...] = tuple(Role)

# Candidate links carry a secret token in the path: no other site may see it in a Referer.
# "same-origin" (not "no-referrer"): over HTTPS Flask-WTF checks that a form post's Referer is
# this site (WTF_CSRF_SSL_STRICT), so with no Referer at all every form would be refused.
REFERRER_POLICY = "same-origin"


def roles_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow only signed-in staff with one of ``roles``; anyone else signed in gets 403.

    The allowed roles are kept on the view (``allowed_roles``) so the access-control tests
    can check every route without a hand-written list.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as reachable without signing in (sign-in page, candidate links)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def get_in_org_or_404(model: type[T], object_id: int, org_id: int | None = None) -> T:
    """Load a row that has ``org_id``; another organisation's row is indistinguishable from none.

    The organisation is the signed-in user's, or ``org_id`` (an API key's).
    """
    if org_id is None:
        org_id = current_user.org_id
    if not 0 < object_id < 2**31:
        abort(404)  # beyond any id a database column holds (PostgreSQL would refuse the query)
    obj = db.session.get(model, object_id)
    if obj is None or obj.org_id != org_id:  # type: ignore[attr-defined]
        abort(404)
    return obj


def is_assigned_reviewer(user: Any, screening_id: int, invitation_id: int) -> bool:
    """Is ``user`` assigned to review this candidate (the whole screening, or just them)?"""
    return (
        db.session.scalar(
            sa.select(sa.func.count(ReviewAssignment.id)).where(
                ReviewAssignment.reviewer_id == user.id,
                ReviewAssignment.screening_id == screening_id,
                sa.or_(
                    ReviewAssignment.invitation_id.is_(None),
                    ReviewAssignment.invitation_id == invitation_id,
                ),
            )
        )
        > 0
    )


def client_ip() -> str | None:
    """The caller's address as the WSGI server saw it (a proxy must be configured explicitly)."""
    return request.remote_addr


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    response.headers.setdefault(
        "Permissions-Policy", "camera=(self), microphone=(self), geolocation=()"
    )
    # Answers that already say how to cache them (the candidate API, uploads) skip loading the
    # signed-in user, which costs a session decode on the hottest path.
    if "Cache-Control" not in response.headers and current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    app.after_request(_security_headers)
    app.jinja_env.globals["Role"] = Role
