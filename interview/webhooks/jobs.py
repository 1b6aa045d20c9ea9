"""Webhook jobs (RQ entry points take ids): one delivery attempt; the admins' notice."""

from __future__ import annotations

from flask import current_app, render_template

from .. import mail
from ..extensions import db
from ..models import Role, User, WebhookEndpoint
from . import services


def deliver(delivery_id: int) -> str:
    """Deliver one, then any others already due (each claimed on its own): under a burst a
    forked job does many deliveries instead of one, and the other queued jobs find theirs done."""
    status = services.deliver(delivery_id).status
    services.drain_due(budget_seconds=20)
    return status


def notify_disabled(endpoint_id: int) -> None:
    """Tell every active admin of the organisation that an endpoint was disabled, and why."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.enabled:
        return
    admins = db.session.scalars(
        db.select(User).where(
            User.org_id == endpoint.org_id,
            User.role == Role.ADMIN,
            User.is_active_account.is_(True),
        )
    )
    backend = mail.backend_from_config(current_app.config)
    for admin in admins:
        context = {"endpoint": endpoint, "admin": admin, "base_url": current_app.config["BASE_URL"]}
        backend.send(
            mail.Message(
                to=admin.email,
                subject="A webhook endpoint was disabled",
                text=render_template("emails/webhook_disabled.txt", **context),
                html=render_template("emails/webhook_disabled.html", **context),
            )
        )
