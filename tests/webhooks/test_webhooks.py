"""Webhooks: events with the change, signed deliveries a real receiver verifies, retries on the
Standard Webhooks schedule, disabling, rotation, SSRF refusals. The retry clock is driven by
calling the delivery with a chosen ``now`` (no sleeps)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import WebhookVerificationError

from interview.candidate import services as candidate
from interview.extensions import db
from interview.models import (
    EVENT_TYPES,
    DeliveryStatus,
    JobRun,
    ReportKind,
    Role,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    utcnow,
)
from interview.reports import reporting
from interview.review import services as reviewing
from interview.webhooks import services as webhooks

from .. import factories


def _endpoint(org, receiver, events=("interview.completed", "decision.recorded")):
    endpoint, secret = webhooks.create_endpoint(org.org.id, receiver.url, list(events))
    receiver.secret = secret
    return endpoint


def _only_delivery() -> WebhookDelivery:
    (delivery,) = db.session.scalars(sa.select(WebhookDelivery)).all()
    return delivery


def test_an_event_is_delivered_signed_and_verified(app, org, receiver):
    """Is an event's delivery queued after the commit, and does the receiver verify its
    Standard Webhooks signature with the standardwebhooks package?"""
    endpoint = _endpoint(org, receiver)
    factory_inv = org.invitation
    webhooks.emit_for_invitation(factory_inv, "interview.completed")
    db.session.commit()
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == "webhooks.deliver"))
    assert run is not None and run.rq_job_id  # queued to Redis after the commit
    delivery = _only_delivery()
    outcome = webhooks.deliver(delivery.id)
    assert outcome.status == "succeeded"
    (got,) = receiver.received
    assert got.verified, "standardwebhooks could not verify the signature"
    assert got.payload["type"] == "interview.completed"
    assert got.payload["data"] == {
        "invitation_id": factory_inv.id,
        "screening_id": factory_inv.screening_id,
    }
    assert got.headers["webhook-id"].startswith("msg_")
    attempt = db.session.scalar(sa.select(WebhookAttempt))
    assert attempt.status_code == 200 and attempt.response_excerpt == "ok"
    assert endpoint.consecutive_failures == 0


def test_events_are_rolled_back_with_the_change(app, org, receiver):
    """Is an event whose change is rolled back gone, with no job sent?"""
    _endpoint(org, receiver)
    webhooks.emit_for_invitation(org.completed, "decision.recorded", outcome="advance")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(WebhookEvent.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0


def test_services_emit_where_the_change_happens(app, org, receiver):
    """Do opening a link, starting, a submitted review and a decision emit their events (the
    services the pages call)?"""
    _endpoint(org, receiver, events=EVENT_TYPES)
    fresh, _token = factories.invitation(org.screening, email="new@example.com")
    db.session.commit()
    candidate.touch(fresh, "127.0.0.1")
    candidate.start(fresh, "127.0.0.1")
    factories.scored_review(org.completed, org.users[Role.REVIEWER], [[4]])
    reviewing.record_decision(org.completed, "hold", "", None)
    db.session.commit()
    types = db.session.scalars(sa.select(WebhookEvent.type).order_by(WebhookEvent.id)).all()
    assert types == [
        "invitation.opened",
        "interview.started",
        "review.submitted",
        "decision.recorded",
    ]


def test_failures_retry_on_the_schedule_with_jitter_and_retry_after(app, org, receiver):
    """Does a failing receiver get retried at 5 s then 5 min (±10 %), Retry-After stretch a
    delay, and a success end it?"""
    _endpoint(org, receiver)
    receiver.answers.extend([(500, {}, b"boom"), (503, {"Retry-After": "900"}, b"busy")])
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    delivery = _only_delivery()
    t0 = utcnow()
    first = webhooks.deliver(delivery.id, now=t0)
    assert first.status == "retrying" and 4.5 <= first.delay <= 5.5
    # Not due yet: nothing is sent.
    early = webhooks.deliver(delivery.id, now=t0 + timedelta(seconds=1))
    assert early.status == "not_due" and len(receiver.received) == 1
    second = webhooks.deliver(delivery.id, now=delivery.next_attempt_at)
    assert second.status == "retrying" and second.delay == 900  # Retry-After beats 5 min
    third = webhooks.deliver(delivery.id, now=delivery.next_attempt_at)
    assert third.status == "succeeded"
    db.session.refresh(delivery)
    assert [a.status_code for a in delivery.attempt_log] == [500, 503, 200]
    assert delivery.attempt_log[0].response_excerpt == "boom"
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1  # the same message id on every attempt


def test_gone_disables_the_endpoint_and_tells_admins(app, org, receiver):
    """Does a 410 disable the endpoint at once and queue the admins' notice?"""
    endpoint = _endpoint(org, receiver)
    receiver.answers.append((410, {}, b""))
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    assert webhooks.deliver(_only_delivery().id).status == "failed"
    db.session.refresh(endpoint)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert db.session.scalar(sa.select(JobRun).where(JobRun.name == "email.webhook_disabled"))
    # Nothing more is emitted to it.
    assert webhooks.emit_for_invitation(org.completed, "interview.completed") is None


def test_repeated_failures_disable_and_the_schedule_ends(app, org, receiver):
    """Does an endpoint that keeps failing get disabled after the configured count?"""
    app.config["WEBHOOKS_DISABLE_AFTER_FAILURES"] = 3
    endpoint = _endpoint(org, receiver)
    receiver.answers.extend([(500, {}, b"")] * 5)
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    delivery = _only_delivery()
    now = utcnow()
    outcomes = []
    for _ in range(3):
        outcomes.append(webhooks.deliver(delivery.id, now=now).status)
        now = delivery.next_attempt_at or now
    assert outcomes == ["retrying", "retrying", "failed"]
    db.session.refresh(endpoint)
    assert not endpoint.enabled and "3 failed attempts" in endpoint.disabled_reason
    assert delivery.status == DeliveryStatus.FAILED


def test_schedule_gives_up_after_the_last_attempt():
    """Is the whole Standard Webhooks schedule used, then no more?"""
    delays = [webhooks.next_delay(n, None) for n in range(1, len(webhooks.SCHEDULE) + 1)]
    assert delays[-1] is None
    for delay, planned in zip(delays[:-1], webhooks.SCHEDULE[1:], strict=True):
        assert planned * 0.9 <= delay <= planned * 1.1


def test_rotation_signs_with_both_secrets_during_the_overlap(app, org, receiver):
    """After a rotation, does each delivery verify with the old and the new secret?"""
    endpoint = _endpoint(org, receiver)
    old = receiver.secret
    new = webhooks.rotate_secret(endpoint)
    assert new != old and new.startswith("whsec_")
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    webhooks.deliver(_only_delivery().id)
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    receiver.verify(got.body, got.headers, secret=old)
    receiver.verify(got.body, got.headers, secret=new)
    with pytest.raises(WebhookVerificationError):
        fake = "whsec_" + base64.b64encode(b"x" * 24).decode()
        receiver.verify(got.body, got.headers, secret=fake)
    # After the overlap, only the new secret signs.
    later = endpoint.previous_secret_until + timedelta(seconds=1)
    event = db.session.scalar(sa.select(WebhookEvent))
    headers = webhooks.signed_headers(endpoint, event, b"{}", later)
    assert len(headers["webhook-signature"].split(" ")) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost:9/hooks",  # a name that resolves to loopback
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://172.16.5.4/hooks",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "http://[::1]/hooks",
        "http://[fd00::1]/hooks",
        "http://0.0.0.0/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "ftp://example.com/hooks",
    ],
)
def test_private_targets_are_refused(app, url):
    """Is a target on a private, loopback, link-local or reserved address refused?"""
    app.config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = False
    with pytest.raises(webhooks.WebhookError):
        webhooks.create_endpoint(1, url, ["interview.completed"])  # refused before any row


def test_private_target_is_refused_again_at_delivery(app, org, receiver):
    """Is a delivery refused (nothing sent) when its target is private at delivery time?"""
    _endpoint(org, receiver)
    app.config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = False
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    outcome = webhooks.deliver(_only_delivery().id)
    assert outcome.status == "retrying"
    assert receiver.received == []
    attempt = db.session.scalar(sa.select(WebhookAttempt))
    assert attempt.status_code is None and "private" in attempt.error


def test_redirects_are_not_followed(app, org, receiver):
    """Is a redirect recorded as a failure, its Location never visited?"""
    _endpoint(org, receiver)
    receiver.answers.append((302, {"Location": receiver.url + "/elsewhere"}, b""))
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    assert webhooks.deliver(_only_delivery().id).status == "retrying"
    assert [r.path for r in receiver.received] == ["/hooks"]
    attempt = db.session.scalar(sa.select(WebhookAttempt))
    assert attempt.status_code == 302 and "not followed" in attempt.error


def test_replay_sends_the_same_message_again(app, org, receiver):
    """Does a replay deliver the same webhook-id again as a new logged delivery?"""
    _endpoint(org, receiver)
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    first = _only_delivery()
    webhooks.deliver(first.id)
    again = webhooks.replay(first)
    assert webhooks.deliver(again.id).status == "succeeded"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len(receiver.received) == 2 and all(r.verified for r in receiver.received)


def test_a_rendered_report_emits_report_ready(app, org, receiver):
    """Is report.ready written in the transaction that marks the report ready?"""
    _endpoint(org, receiver, events=("report.ready",))
    report, _queued = reporting.request_report(
        org.screening, ReportKind.SCREENING_CSV, org.users[Role.HR]
    )
    assert reporting.render(report.id) == "ready"
    event = db.session.scalar(sa.select(WebhookEvent).where(WebhookEvent.type == "report.ready"))
    assert event.data == {
        "report_id": report.id,
        "kind": "screening_csv",
        "screening_id": org.screening.id,
        "invitation_id": None,
    }


def test_a_purge_sends_candidate_deleted_with_ids_only(app, org, receiver):
    """Once a candidate's data is deleted, is `candidate.deleted` delivered, signed, carrying
    the invitation's id and nothing that was deleted (no name, email or reason)?"""
    from interview.privacy import purge

    _endpoint(org, receiver, events=("candidate.deleted",))
    gone = org.completed
    name, email = gone.candidate_name, gone.candidate_email
    purge.purge([gone.id], reason=f"asked by {name}")
    delivery = _only_delivery()
    assert webhooks.deliver(delivery.id).status == "succeeded"
    (got,) = receiver.received
    assert got.verified and got.payload["type"] == "candidate.deleted"
    assert got.payload["data"]["invitation_id"] == gone.id
    body = str(got.payload)
    assert name not in body and email not in body and "asked by" not in body
