"""Candidates open their personal link, read what will happen, consent and start."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from interview.extensions import db
from interview.models import AuditEvent, Invitation, InvitationStatus, Role
from interview.recruiter import services as recruiting

from ..conftest import csrf_token


def _fresh(org) -> tuple[Invitation, str]:
    inv = recruiting.invite(org.screening, "Robin Rivera", "robin@example.com")
    return inv, recruiting.candidate_link(inv).rsplit("/", 1)[1]


def test_landing_page_explains_the_interview_and_marks_it_opened(client, org):
    """Does the link show the company, role, questions, limits and privacy notice?"""
    inv, token = _fresh(org)
    response = client.get(f"/i/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Northwind" in page and "Support Engineer" in page and "Hello Robin Rivera" in page
    assert "1 question, after a practice question" in page
    assert "up to 1 min" in page  # the answer limit
    assert "Privacy" in page and "No automated system scores your answers" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    db.session.refresh(inv)
    assert inv.status == InvitationStatus.OPENED and inv.opened_at is not None


def test_consent_is_required_to_start(client, org):
    inv, token = _fresh(org)
    client.get(f"/i/{token}")
    response = client.post(
        f"/i/{token}/start", data={"csrf_token": csrf_token(client, f"/i/{token}")}
    )
    assert response.status_code == 400
    assert "Please tick the box" in response.get_data(as_text=True)
    db.session.refresh(inv)
    assert inv.status == InvitationStatus.OPENED and inv.questions == []


def test_starting_records_consent_and_snapshots_the_questions(client, org, sign_in_as):
    """After the candidate starts, does editing the screening leave their interview unchanged?"""
    inv, token = _fresh(org)
    response = client.post(
        f"/i/{token}/start",
        data={"consent": "y", "csrf_token": csrf_token(client, f"/i/{token}")},
    )
    assert response.status_code == 302
    db.session.refresh(inv)
    assert inv.status == InvitationStatus.IN_PROGRESS
    assert inv.consent_at is not None and inv.consent_ip == "127.0.0.1"
    assert [q.prompt for q in inv.questions] == ["Practice", "Tell us about yourself"]
    # The recruiter now rewrites the question and tightens its limits.
    recruiter = sign_in_as(Role.RECRUITER)
    question = org.screening.scored_questions[0]
    recruiter.post(
        f"/screenings/{org.screening.id}/questions/{question.id}",
        data={
            "prompt": "A different question",
            "think_seconds": 5,
            "answer_seconds": 20,
            "max_retakes": 0,
            "csrf_token": csrf_token(recruiter, "/"),
        },
    )
    db.session.refresh(question)
    assert question.prompt == "A different question"
    db.session.expire_all()
    snapshot = db.session.get(Invitation, inv.id).questions[1]
    assert (snapshot.prompt, snapshot.answer_seconds, snapshot.max_retakes) == (
        "Tell us about yourself",
        60,
        1,
    )
    page = client.get(f"/i/{token}").get_data(as_text=True)
    assert "You started this interview" in page and "up to 1 min" in page
    events = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.object_id == inv.id, AuditEvent.object_type == "Invitation"
        )
    ).all()
    assert "invitation.started" in events


def test_starting_twice_does_not_duplicate_the_snapshot(client, org):
    inv, token = _fresh(org)
    for _ in range(2):
        client.post(
            f"/i/{token}/start",
            data={"consent": "y", "csrf_token": csrf_token(client, f"/i/{token}")},
        )
    db.session.refresh(inv)
    assert len(inv.questions) == 2


def test_expired_link_names_the_date(client, org):
    inv, token = _fresh(org)
    inv.expires_at = inv.expires_at - timedelta(days=30)
    db.session.commit()
    response = client.get(f"/i/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This link expired on" in page and "contact the recruiter" in page.lower()
    # The link is real, so the page says who asked (a revoked or unknown link never does).
    assert f"{org.org.name} · {org.screening.title}" in page
    assert client.post(f"/i/{token}/start", data={"consent": "y"}).status_code in (400, 410)


def test_malformed_tokens_get_the_invalid_page(client, org):
    for token in ["short", "x" * 43 + "y", "%00" * 10, "<script>", "A" * 42 + "!"]:
        response = client.get(f"/i/{token}")
        assert response.status_code == 404
        assert "no longer valid" in response.get_data(as_text=True)
        assert org.org.name not in response.get_data(as_text=True)
    assert client.get("/i/../../etc/passwd").status_code == 404


def test_token_lookups_are_rate_limited(app, client, org):
    """Can someone try link after link without being slowed down?"""
    app.config["CANDIDATE_LINK_LIMIT"] = "5 per minute"
    codes = [client.get("/i/" + "B" * 43).status_code for _ in range(6)]
    assert codes[:5] == [404] * 5 and codes[5] == 429


def test_completed_interview_link_shows_the_confirmation(client, org):
    inv, token = org.invitation, org.token
    inv.status = InvitationStatus.COMPLETED
    inv.completed_at = inv.started_at
    inv.expires_at = inv.expires_at - timedelta(days=30)  # even after the deadline
    db.session.commit()
    page = client.get(f"/i/{token}")
    assert page.status_code == 200
    assert "Your answers were submitted" in page.get_data(as_text=True)
