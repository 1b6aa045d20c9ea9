"""Candidate rules: resolving a link token, opening, consenting and starting an interview."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from .. import audit, tokens
from ..extensions import db
from ..models import (
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    ScreeningStatus,
    utcnow,
)


class LinkProblem(Exception):
    """The link cannot be used; ``title`` and the message are safe to show the candidate."""

    title = "This link cannot be used"
    status_code = 404


class LinkInvalid(LinkProblem):
    title = "This link is no longer valid"

    def __init__(self) -> None:
        super().__init__(
            "This interview link is no longer valid. If you think this is a mistake, "
            "contact the recruiter who invited you."
        )


class LinkExpired(LinkProblem):
    title = "This link has expired"
    status_code = 410

    def __init__(self, expired_at: datetime) -> None:
        self.expired_at = expired_at
        super().__init__("Contact the recruiter if you still want to take part.")


class ScreeningClosed(LinkProblem):
    title = "This screening is closed"
    status_code = 410

    def __init__(self) -> None:
        super().__init__(
            "The employer has stopped taking video interviews for this role. "
            "Thank you for your interest."
        )


def resolve(token: str, now: datetime | None = None) -> Invitation:
    """The invitation behind a link token, or the reason it cannot be used.

    Unknown and revoked tokens get the same answer, so nobody learns which links exist.
    """
    if not tokens.looks_like_token(token):
        raise LinkInvalid()
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == tokens.token_hash(token))
    )
    if invitation is None or invitation.status == InvitationStatus.REVOKED:
        raise LinkInvalid()
    if invitation.status == InvitationStatus.COMPLETED:
        return invitation  # the confirmation stays reachable after the deadline
    now = now or utcnow()
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= now:
        if invitation.status != InvitationStatus.EXPIRED:
            invitation.status = InvitationStatus.EXPIRED
            audit.record("invitation.expired", invitation, actor_label="system")
            db.session.commit()
        raise LinkExpired(invitation.expires_at)
    if invitation.screening.status != ScreeningStatus.OPEN:
        raise ScreeningClosed()
    return invitation


def touch(invitation: Invitation, ip: str | None) -> None:
    """Record that the candidate opened the link (first time: invited → opened)."""
    now = utcnow()
    if invitation.status == InvitationStatus.INVITED:
        invitation.status = InvitationStatus.OPENED
        invitation.opened_at = now
        audit.record("invitation.opened", invitation, actor_label="candidate")
    invitation.last_activity_at = now
    db.session.commit()


def start(invitation: Invitation, ip: str | None) -> None:
    """Consent given: snapshot the questions and begin (idempotent for a started interview).

    The snapshot means editing the screening later never changes this interview.
    """
    if invitation.status == InvitationStatus.IN_PROGRESS:
        return
    if invitation.status not in (InvitationStatus.INVITED, InvitationStatus.OPENED):
        raise LinkInvalid()
    now = utcnow()
    invitation.consent_at = now
    invitation.consent_ip = ip
    invitation.opened_at = invitation.opened_at or now
    invitation.started_at = now
    invitation.last_activity_at = now
    invitation.status = InvitationStatus.IN_PROGRESS
    invitation.questions = [
        InterviewQuestion(
            source_question_id=q.id,
            position=index,
            prompt=q.prompt,
            think_seconds=q.think_seconds,
            answer_seconds=q.answer_seconds,
            max_retakes=q.max_retakes,
            is_practice=q.is_practice,
        )
        for index, q in enumerate(invitation.screening.questions)
    ]
    audit.record("invitation.started", invitation, actor_label="candidate", consent_ip=ip)
    db.session.commit()


def allowed_seconds(base: int, invitation: Invitation, extra_seconds: int) -> int:
    """A time limit with the candidate's accommodations applied."""
    scaled = base * (100 + invitation.extra_time_percent) / 100
    return int(round(scaled)) + extra_seconds


def limits(invitation: Invitation, question) -> dict[str, int]:
    """Think time, answer time and retakes for one question, accommodations included."""
    return {
        "think_seconds": 0
        if question.think_seconds == 0
        else allowed_seconds(question.think_seconds, invitation, invitation.extra_think_seconds),
        "answer_seconds": allowed_seconds(
            question.answer_seconds, invitation, invitation.extra_answer_seconds
        ),
        "max_retakes": question.max_retakes + invitation.extra_retakes,
        "grace_seconds": current_app.config.get("TIMING_GRACE_SECONDS", 3),
    }
