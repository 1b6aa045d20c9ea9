"""Webhooks: endpoints, events written with the change they announce, signed deliveries.

- ``emit`` is called by the service that makes a change, before it commits: the event and one
  delivery per subscribed endpoint are rows of the same transaction, and the delivery jobs reach
  Redis only after the commit (``jobs.enqueue_after_commit``). No change, no event; no event lost.
- Deliveries follow Standard Webhooks v1: ``webhook-id`` (the same on every attempt),
  ``webhook-timestamp``, ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of
  ``id.timestamp.body`` with each live secret: during a rotation, the old one too).
- Retries on the Standard Webhooks schedule with jitter; ``Retry-After`` is honoured; 410 Gone
  disables the endpoint, as do too many failures in a row (admins are told).
- Targets that resolve to private, loopback, link-local or reserved addresses are refused when
  the endpoint is saved and again at each delivery, and the connection goes to the address that
  was checked (no second look-up an attacker could answer differently). Redirects are not
  followed. ``WEBHOOKS_ALLOW_PRIVATE_TARGETS=1`` lets an operator (and the tests) use them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .. import audit, jobs
from ..extensions import db
from ..models import (
    EVENT_TYPES,
    DeliveryStatus,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from . import transport
from .targets import WebhookError, resolve_target

log = logging.getLogger(__name__)

# Seconds before each attempt (Standard Webhooks' suggested schedule): at once, 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 10 h: about 27 hours in all.
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1  # each delay is stretched or shrunk by up to 10 %
RETRY_AFTER_MAX = 36000
SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
JOB = "webhooks.deliver"


# --- endpoints --------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _clean_events(events: list[str]) -> list[str]:
    chosen = [e for e in EVENT_TYPES if e in set(events)]
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not chosen:
        raise WebhookError(f"Choose events among: {', '.join(EVENT_TYPES)}.")
    return chosen


def org_endpoints(org_id: int) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == org_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def create_endpoint(
    org_id: int, url: str, events: list[str], description: str = "", by: User | None = None
) -> tuple[WebhookEndpoint, str]:
    """Save an endpoint (its URL checked) and return it with its secret, shown once. Commits."""
    url = url.strip()
    if len(url) > 2000:
        raise WebhookError("The URL is longer than 2000 characters.")
    resolve_target(url)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        org_id=org_id,
        url=url,
        description=(description or "").strip()[:200],
        events=_clean_events(events),
        secret=secret,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.created", endpoint, actor=by, url=url, events=endpoint.events)
    db.session.commit()
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, by: User | None = None, **fields: Any) -> None:
    """Change URL, events, description or enabled; enabling again clears the failure count."""
    if fields.get("url") is not None:
        url = fields["url"].strip()
        resolve_target(url)
        endpoint.url = url
    if fields.get("events") is not None:
        endpoint.events = _clean_events(fields["events"])
    if fields.get("description") is not None:
        endpoint.description = fields["description"].strip()[:200]
    if fields.get("enabled") is not None:
        if fields["enabled"] and not endpoint.enabled:
            endpoint.consecutive_failures = 0
            endpoint.disabled_reason = None
            endpoint.disabled_at = None
        endpoint.enabled = bool(fields["enabled"])
    audit.record("webhook.updated", endpoint, actor=by, fields=sorted(k for k in fields))
    db.session.commit()


def delete_endpoint(endpoint: WebhookEndpoint, by: User | None = None) -> None:
    audit.record("webhook.deleted", endpoint, actor=by, url=endpoint.url)
    db.session.delete(endpoint)
    db.session.commit()


def rotate_secret(endpoint: WebhookEndpoint, by: User | None = None) -> str:
    """A new secret, shown once; the old one keeps signing for the overlap period. Commits."""
    hours = current_app.config["WEBHOOKS_ROTATION_OVERLAP_HOURS"]
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = utcnow() + timedelta(hours=hours)
    endpoint.secret = new_secret()
    audit.record("webhook.secret_rotated", endpoint, actor=by, overlap_hours=hours)
    db.session.commit()
    return endpoint.secret


# --- events -----------------------------------------------------------------------------------


def emit(org_id: int, event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Record ``event_type`` for every enabled endpoint of the organisation that wants it, in
    the caller's transaction (the caller commits); deliveries start after that commit."""
    assert event_type in EVENT_TYPES, event_type
    endpoints = [
        e
        for e in db.session.scalars(
            sa.select(WebhookEndpoint).where(
                WebhookEndpoint.org_id == org_id, WebhookEndpoint.enabled.is_(True)
            )
        )
        if event_type in (e.events or [])
    ]
    if not endpoints:
        return None
    now = utcnow()
    event = WebhookEvent(
        org_id=org_id,
        msg_id="msg_" + secrets.token_urlsafe(18),
        type=event_type,
        data=data,
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    for endpoint in endpoints:
        delivery = WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now)
        db.session.add(delivery)
        db.session.flush()
        jobs.enqueue_after_commit(JOB, delivery.id)
    return event


def payload(event: WebhookEvent) -> bytes:
    """The body every attempt sends: ``{"type", "timestamp", "data"}`` (Standard Webhooks)."""
    body = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


# --- signing ----------------------------------------------------------------------------------


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def live_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [endpoint.secret]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until and until > now:
        found.append(endpoint.previous_secret)
    return found


def signed_headers(endpoint: WebhookEndpoint, event: WebhookEvent, body: bytes, now: datetime):
    timestamp = int(now.timestamp())
    signatures = " ".join(
        sign(s, event.msg_id, timestamp, body) for s in live_secrets(endpoint, now)
    )
    return {
        "webhook-id": event.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "Content-Type": "application/json",
        "User-Agent": "Interviews-Webhooks/1",
    }


# --- delivery ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # "succeeded", "retrying", "failed", "skipped", "not_due"
    delay: float | None = None


def _claim(delivery_id: int, now: datetime) -> bool:
    timeout = current_app.config["WEBHOOKS_TIMEOUT_SECONDS"]
    result = db.session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            sa.or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
        )
        .values(claimed_until=now + timedelta(seconds=timeout * 3 + 30))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _release(delivery: WebhookDelivery) -> None:
    delivery.claimed_until = None
    db.session.commit()


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop sending to an endpoint and tell the organisation's admins (the caller commits)."""
    if not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:300]
    endpoint.disabled_at = utcnow()
    audit.record("webhook.disabled", endpoint, actor_label="system", reason=reason)
    jobs.enqueue_after_commit("email.webhook_disabled", endpoint.id)


def next_delay(attempts: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after ``attempts`` failed ones, or None: give up."""
    if attempts >= len(SCHEDULE):
        return None
    delay = SCHEDULE[attempts] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_MAX))
    return delay


def deliver(delivery_id: int, now: datetime | None = None) -> Outcome:
    """One attempt at one delivery (the ``webhooks.deliver`` job). ``now`` drives the clock in
    tests; the worker uses the real time."""
    now = now or utcnow()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return Outcome("skipped")
    if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
        # Queued early (reconcile after a Redis restart): wait for its time.
        wait = (delivery.next_attempt_at - now).total_seconds()
        jobs.enqueue(JOB, delivery_id, delay_seconds=wait)
        return Outcome("not_due", wait)
    if not _claim(delivery_id, now):
        return Outcome("skipped")
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.enabled:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "The endpoint is disabled."
        delivery.finished_at = now
        _release(delivery)
        return Outcome("failed")
    body = payload(event)
    try:
        target = resolve_target(endpoint.url)
    except WebhookError as error:
        result = transport.Result(None, 0, "", str(error), None)
    else:
        result = transport.post(
            target,
            body,
            signed_headers(endpoint, event, body, now),
            current_app.config["WEBHOOKS_TIMEOUT_SECONDS"],
        )
    return _record(delivery, endpoint, result, now)


def _record(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, result: transport.Result, now: datetime
) -> Outcome:
    delivery.attempt_log.append(
        WebhookAttempt(
            attempted_at=now,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            response_excerpt=result.excerpt,
            error=result.error,
        )
    )
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delivery.claimed_until = None
    if result.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.finished_at = now
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
        db.session.commit()
        return Outcome("succeeded")
    endpoint.consecutive_failures += 1
    limit = current_app.config["WEBHOOKS_DISABLE_AFTER_FAILURES"]
    delay = next_delay(delivery.attempts, result.retry_after)
    if result.status_code == 410:
        disable(endpoint, "The receiver answered 410 Gone: it wants no more deliveries.")
        delay = None
    elif endpoint.consecutive_failures >= limit:
        disable(endpoint, f"{endpoint.consecutive_failures} failed attempts in a row.")
        delay = None
    if delay is None:
        delivery.status = DeliveryStatus.FAILED
        delivery.finished_at = now
        delivery.next_attempt_at = None
        db.session.commit()
        return Outcome("failed")
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    db.session.commit()
    jobs.enqueue(JOB, delivery.id, delay_seconds=delay)
    return Outcome("retrying", delay)


def drain_due(budget_seconds: float, batch: int = 50) -> int:
    """Deliver pending deliveries that are due and unclaimed, oldest first, for at most
    ``budget_seconds``; returns how many were attempted."""
    started = time.monotonic()
    done = 0
    while time.monotonic() - started < budget_seconds:
        now = utcnow()
        due = db.session.scalars(
            sa.select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                sa.or_(
                    WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now
                ),
            )
            .order_by(WebhookDelivery.id)
            .limit(batch)
        ).all()
        if not due:
            break
        for delivery_id in due:
            if deliver(delivery_id, now=utcnow()).status != "skipped":
                done += 1
            if time.monotonic() - started >= budget_seconds:
                break
    return done


def replay(delivery: WebhookDelivery, by: User | None = None) -> WebhookDelivery:
    """Send a delivery's event to its endpoint again, as a new delivery (same webhook-id, so a
    receiver that already has it can tell). Commits and queues it."""
    if not delivery.endpoint.enabled:
        raise WebhookError("Enable the endpoint first.")
    again = WebhookDelivery(
        event=delivery.event, endpoint=delivery.endpoint, next_attempt_at=utcnow()
    )
    db.session.add(again)
    db.session.flush()
    audit.record(
        "webhook.replayed", delivery.endpoint, actor=by, delivery_id=delivery.id, new_id=again.id
    )
    jobs.enqueue_after_commit(JOB, again.id)
    db.session.commit()
    return again


def deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .options(sa.orm.selectinload(WebhookDelivery.event))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def emit_for_invitation(invitation: Any, event_type: str, **extra: Any) -> WebhookEvent | None:
    """``emit`` with the fields every candidate event carries (ids only: the receiver reads
    names and figures through the API, under its key's rules)."""
    data = {"invitation_id": invitation.id, "screening_id": invitation.screening_id, **extra}
    return emit(invitation.org_id, event_type, data)
