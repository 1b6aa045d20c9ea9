"""Access rules shared by every area: role checks, organisation scoping, security headers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, Response, abort, current_app, request
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .extensions import db
from .models import Invitation, ReviewAssignment, Role

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


# Row ids are INTEGER columns: on PostgreSQL at most 2**31 - 1, and SQLite cannot even bind a
# Python int past 2**63 - 1 (OverflowError). An id outside this range names no row.
ID_MAX = 2**31 - 1


class IdConverter(IntegerConverter):
    """The URL map's ``int``: only ids a row can have (1..ID_MAX); anything else is not found.

    Installed as the app's ``int`` converter, so every ``<int:...>`` of every route (today's
    and tomorrow's) answers 404 for an id the database could not hold, instead of a 500.
    """

    def __init__(self, map, fixed_digits=0, min=0, max=None, signed=False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > ID_MAX:
            # Not "no rule matched" (Werkzeug would then answer 405 when the same path takes
            # other methods): this path names an object that cannot exist.
            raise NotFound()
        return number


def valid_id(value: Any) -> bool:
    """Could ``value`` be a row id (an int within the columns' range)?"""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ID_MAX


def parse_id(raw: str | None) -> int | None:
    """A form or query value read as a row id; None when it is missing or cannot be one."""
    try:
        value = int((raw or "").strip())
    except ValueError:
        return None
    return value if valid_id(value) else None


def get_in_org_or_404(model: type[T], object_id: int | None, org_id: int | None = None) -> T:
    """Load a row that has ``org_id``; another organisation's row is indistinguishable from none.

    The organisation is the signed-in user's, or ``org_id`` (an API key's).
    """
    if org_id is None:
        org_id = current_user.org_id
    if not valid_id(object_id):
        abort(404)
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


def candidate_scope(user: Any, screening_id: int) -> sa.ColumnElement[bool] | None:
    """THE rule for which candidates (Invitation rows) of a screening ``user`` may see.

    A filter on Invitation, or None when they may see none of them. Recruiters, admins and HR
    see every candidate of their organisation's screenings; reviewers only the candidates they
    are assigned to (the whole screening, or one by one). Every staff page that lists, counts or
    shows candidates applies it: the screening page and its funnel, review queues and pages,
    media. Organisation scoping is the caller's (``get_in_org_or_404``).
    """
    if user.role != Role.REVIEWER:
        return sa.true()
    rows = db.session.execute(
        sa.select(ReviewAssignment.invitation_id).where(
            ReviewAssignment.reviewer_id == user.id,
            ReviewAssignment.screening_id == screening_id,
        )
    ).all()
    if not rows:
        return None
    if any(invitation_id is None for (invitation_id,) in rows):
        return sa.true()
    return Invitation.id.in_([invitation_id for (invitation_id,) in rows])


def may_see_invitation(user: Any, invitation: Invitation) -> bool:
    """``candidate_scope`` for one candidate (organisation included)."""
    if invitation.org_id != user.org_id:
        return False
    if user.role != Role.REVIEWER:
        return True
    return is_assigned_reviewer(user, invitation.screening_id, invitation.id)


def client_ip() -> str | None:
    """The caller's address as the WSGI server saw it (a proxy must be configured explicitly)."""
    return request.remote_addr


def fixed_headers(config) -> list[tuple[str, str]]:
    """The security headers every answer carries (pages, API, uploads), in one place: the
    app's after-request hook sets them and the upload fast path (``candidate.fast_path``),
    which answers without Flask's dispatch, sends the same."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", REFERRER_POLICY),
        ("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()"),
    ]
    hsts = config.get("HSTS_MAX_AGE")
    if hsts:
        headers.append(("Strict-Transport-Security", f"max-age={int(hsts)}"))
    return headers


def _security_headers(response: Response) -> Response:
    for name, value in fixed_headers(current_app.config):
        response.headers.setdefault(name, value)
    # Answers that already say how to cache them (the candidate API, uploads) skip loading the
    # signed-in user, which costs a session decode on the hottest path.
    if "Cache-Control" not in response.headers and current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


# What a multipart form adds around its file (boundaries, headers, the other fields).
FORM_OVERHEAD_BYTES = 64 * 1024


def body_limit(config_key: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let a view accept a request body up to the setting ``config_key`` (plus a form's
    overhead) instead of the app-wide ``MAX_CONTENT_LENGTH``: e.g. question videos. The limit
    is applied before anything reads the body (CSRF checks read the form), and Werkzeug spools
    files past 500 KB to a temporary file, so a large upload is streamed to disk, not memory."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        view.body_limit_key = config_key  # type: ignore[attr-defined]
        return view

    return decorator


def request_body_limit() -> int | None:
    """The setting that limits this request's body, if its view has its own (``body_limit``)."""
    view = current_app.view_functions.get(request.endpoint or "")
    key = getattr(view, "body_limit_key", None)
    return current_app.config[key] if key else None


def _apply_body_limit() -> None:
    limit = request_body_limit()
    if limit is not None:
        request.max_content_length = limit + FORM_OVERHEAD_BYTES


def install_request_rules(app: Flask) -> None:
    """Rules that must come before any blueprint or extension: ``<int:...>`` is the bounded id
    converter, and a view's own body limit applies before CSRF protection parses the form."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_apply_body_limit)


def register(app: Flask) -> None:
    app.after_request(_security_headers)
    app.jinja_env.globals["Role"] = Role
