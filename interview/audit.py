"""Writing to the audit log."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user

from .database import insert_row
from .extensions import db
from .models import AuditEvent, User


def record(
    action: str,
    obj: Any = None,
    *,
    actor: User | None = None,
    org_id: int | None = None,
    actor_label: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits with its own change)."""
    event = _event(action, obj, actor, org_id, actor_label, details)
    db.session.add(event)
    return event


def write(action: str, obj: Any = None, *, actor_label: str | None = None, **details: Any) -> None:
    """``record``, with the event's row written now in the session's transaction
    (``database.insert_row``) rather than at the next flush: for a step that writes its
    own rows through (the candidate's reveal and upload creation). The caller commits."""
    event = _event(action, obj, None, None, actor_label, details)
    insert_row(db.session(), event)


def _event(
    action: str,
    obj: Any,
    actor: User | None,
    org_id: int | None,
    actor_label: str | None,
    details: dict[str, Any],
) -> AuditEvent:
    if actor is None and has_request_context():
        if current_user.is_authenticated:
            actor = current_user._get_current_object()
        elif actor_label is None and g.get("audit_actor_label"):
            # An API request: the key that made the change, not "system".
            actor_label = g.audit_actor_label
    return AuditEvent(
        org_id=org_id
        if org_id is not None
        else (actor.org_id if actor else getattr(obj, "org_id", None)),
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.email if actor else "system"),
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
