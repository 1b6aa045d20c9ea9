"""Invitations: inviting candidates (one, or many at once), their personal links, managing an
invitation (resend, extend, accommodations, revoke, new link, reset a question), expiry, and
the reminders job. ``services`` names the public ones too, so callers use one module."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app

from .. import audit, jobs, tokens
from ..extensions import db
from ..media import chunks
from ..media.storage import get_storage
from ..models import (
    EmailStatus,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Screening,
    ScreeningStatus,
    utcnow,
)
from .services import LIVE_STATUSES, RecruitingError

# --- invitations ------------------------------------------------------------------------------


def _token_key() -> str:
    return tokens.signing_key(
        current_app.config["SECRET_KEY"], current_app.config.get("INVITATION_TOKEN_KEY")
    )


def candidate_link(invitation: Invitation) -> str:
    """The candidate's personal link (rebuilt from the server key; never stored).

    If the key changed since the link was made (the old link is dead anyway), a new one is
    issued, so a resend or reminder never carries a link that does not work.
    """
    token = tokens.link_token(_token_key(), invitation.id, invitation.token_nonce)
    if tokens.token_hash(token) != invitation.token_hash:
        _set_new_token(invitation)
        audit.record("invitation.link_reissued", invitation, actor_label="system")
        db.session.commit()
        token = tokens.link_token(_token_key(), invitation.id, invitation.token_nonce)
    return f"{current_app.config['BASE_URL'].rstrip('/')}/i/{token}"


def _set_new_token(invitation: Invitation) -> None:
    invitation.token_nonce = tokens.new_nonce()
    invitation.token_hash = tokens.token_hash(
        tokens.link_token(_token_key(), invitation.id, invitation.token_nonce)
    )


def normalise_candidate_email(raw: str) -> str:
    """A valid, normalised address, or RecruitingError with the reason."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise RecruitingError(f"not a valid email address ({error})") from error


def check_can_invite(screening: Screening) -> None:
    if screening.is_template:
        raise RecruitingError("Templates do not take candidates.")
    if screening.status != ScreeningStatus.OPEN:
        raise RecruitingError(
            "This screening is not open for candidates. Open it first."
            if screening.status == ScreeningStatus.DRAFT
            else "This screening is closed."
        )


def already_invited(screening: Screening, email: str) -> bool:
    return (
        db.session.scalar(
            sa.select(Invitation.id).where(
                Invitation.screening_id == screening.id, Invitation.candidate_email == email
            )
        )
        is not None
    )


def new_invitation(screening: Screening, name: str, email: str) -> Invitation:
    invitation = Invitation(
        org_id=screening.org_id,
        screening=screening,
        candidate_name=name.strip()[:200],
        candidate_email=email,
        expires_at=utcnow() + timedelta(days=screening.deadline_days),
        # A placeholder unique value until the id (needed for the token) exists.
        token_hash=tokens.token_hash(tokens.new_nonce()),
    )
    db.session.add(invitation)
    db.session.flush()
    _set_new_token(invitation)
    audit.record("invitation.created", invitation, email=email)
    return invitation


def invite(screening: Screening, name: str, email: str, *, send_email: bool = True) -> Invitation:
    """Invite one candidate and queue the invitation email (unless ``send_email`` is False:
    demo data, a link handed over another way)."""
    check_can_invite(screening)
    if not name.strip():
        raise RecruitingError("The candidate's name is required.")
    email = normalise_candidate_email(email)
    if already_invited(screening, email):
        raise RecruitingError(f"{email} is already invited to this screening.")
    invitation = new_invitation(screening, name, email)
    db.session.commit()
    if send_email:
        jobs.enqueue("email.invitation", invitation.id)
    return invitation


@dataclass
class ImportResult:
    invited: list[Invitation] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line number, email)


def invite_many(
    screening: Screening,
    rows: list[tuple[int, str, str]],
    *,
    send_email: bool = True,
    result: ImportResult | None = None,
) -> ImportResult:
    """Invite every good (line or index, name, email) row; bad rows and duplicates are reported
    by their number, never half-done. The API's bulk invitation uses it (the CSV import runs
    as a job: recruiter/imports.py)."""
    check_can_invite(screening)
    result = result or ImportResult()
    seen: set[str] = set()
    for line, raw_name, raw_email in rows:
        name, raw_email = (raw_name or "").strip(), (raw_email or "").strip()
        if not name:
            result.errors.append((line, "the name is empty"))
            continue
        try:
            email = normalise_candidate_email(raw_email)
        except RecruitingError as error:
            result.errors.append((line, f"{raw_email or '(empty)'}: {error}"))
            continue
        if email in seen or already_invited(screening, email):
            result.duplicates.append((line, email))
            continue
        seen.add(email)
        result.invited.append(new_invitation(screening, name, email))
    audit.record(
        "invitation.bulk",
        screening,
        invited=len(result.invited),
        errors=len(result.errors),
        duplicates=len(result.duplicates),
    )
    db.session.commit()
    if send_email:
        for invitation in result.invited:
            jobs.enqueue("email.invitation", invitation.id)
    return result


def invitation_in_screening_or_none(screening: Screening, invitation_id: int) -> Invitation | None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.screening_id != screening.id:
        return None
    return invitation


def screening_invitations(
    screening: Screening, scope: sa.ColumnElement[bool] | None = sa.true()
) -> list[Invitation]:
    """The screening's candidates within ``scope`` (``security.candidate_scope``; None: none)."""
    if scope is None:
        return []
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.screening_id == screening.id, scope)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def refresh_expiry(invitation: Invitation, now: datetime | None = None) -> bool:
    """Mark a live invitation expired once its deadline has passed; True if it changed."""
    now = now or utcnow()
    deadline = invitation.expires_at
    if invitation.status == InvitationStatus.IN_PROGRESS:
        # Answers recorded in time may still be uploading; the candidate page allows as much.
        deadline += timedelta(minutes=current_app.config["FINISH_GRACE_MINUTES"])
    if invitation.status in LIVE_STATUSES and deadline <= now:
        invitation.status = InvitationStatus.EXPIRED
        audit.record("invitation.expired", invitation, actor_label="system")
        return True
    return False


def _live_status(invitation: Invitation) -> InvitationStatus:
    """The status an invitation would have if its deadline had not passed."""
    if invitation.completed_at:
        return InvitationStatus.COMPLETED
    if invitation.started_at:
        return InvitationStatus.IN_PROGRESS
    if invitation.opened_at:
        return InvitationStatus.OPENED
    return InvitationStatus.INVITED


def resend(invitation: Invitation) -> None:
    if invitation.status not in LIVE_STATUSES:
        raise RecruitingError("Only a live invitation can be resent. Extend the deadline first.")
    invitation.email_status = EmailStatus.PENDING
    invitation.email_error = None
    audit.record("invitation.resent", invitation)
    db.session.commit()
    jobs.enqueue("email.invitation", invitation.id)


def extend_deadline(invitation: Invitation, new_expiry: datetime) -> None:
    if invitation.status in (InvitationStatus.REVOKED, InvitationStatus.COMPLETED):
        raise RecruitingError("This invitation is finished; its deadline cannot change.")
    if new_expiry <= utcnow():
        raise RecruitingError("The new deadline must be in the future.")
    old = invitation.expires_at
    invitation.expires_at = new_expiry
    if invitation.status == InvitationStatus.EXPIRED:
        invitation.status = _live_status(invitation)
    # A new deadline deserves a new "deadline is near" reminder.
    invitation.reminder_deadline_sent_at = None
    audit.record("invitation.extended", invitation, old=old.isoformat(), new=new_expiry.isoformat())
    db.session.commit()


def set_accommodations(invitation: Invitation, **fields) -> None:
    changes = {
        name: [getattr(invitation, name), value]
        for name, value in fields.items()
        if getattr(invitation, name) != value
    }
    for name, value in fields.items():
        setattr(invitation, name, value)
    audit.record("invitation.accommodations", invitation, **changes)
    db.session.commit()


def revoke(invitation: Invitation) -> None:
    if invitation.status == InvitationStatus.REVOKED:
        return
    invitation.status = InvitationStatus.REVOKED
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoked", invitation)
    db.session.commit()


def regenerate_link(invitation: Invitation) -> str:
    """Replace the link (the old one stops working) and return the new one."""
    if invitation.status == InvitationStatus.REVOKED:
        raise RecruitingError("This invitation is revoked.")
    _set_new_token(invitation)
    audit.record("invitation.link_regenerated", invitation)
    db.session.commit()
    return candidate_link(invitation)


def reset_question(invitation: Invitation, interview_question: InterviewQuestion) -> None:
    """Let the candidate answer one question again: its takes and kept answer are removed."""
    if invitation.status == InvitationStatus.REVOKED:
        raise RecruitingError("This invitation is revoked.")
    # The recordings go for good: stored files and any upload still in flight.
    doomed_keys = [a.storage_key for t in interview_question.takes for a in t.assets]
    chunks.discard_chunks([t.id for t in interview_question.takes])
    interview_question.takes.clear()
    interview_question.response = None
    interview_question.revealed_at = None
    if invitation.status == InvitationStatus.COMPLETED:
        invitation.status = InvitationStatus.IN_PROGRESS
        invitation.completed_at = None
    audit.record("invitation.question_reset", invitation, position=interview_question.position)
    db.session.commit()
    storage = get_storage()
    for key in doomed_keys:
        storage.delete(key)


# --- funnel and reminders ---------------------------------------------------------------------


def _claim(invitation_id: int, column: sa.Column, now: datetime) -> bool:
    """Set a reminder timestamp only if still unset: at most one reminder, even with races."""
    result = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation_id, column.is_(None))
        .values({column.key: now})
    )
    return result.rowcount == 1


def send_due_reminders(now: datetime | None = None) -> dict[str, int]:
    """Queue reminders that are due; expire invitations past their deadline.

    - "start": REMINDER_START_AFTER_HOURS after the invitation, if not started yet;
    - "deadline": REMINDER_BEFORE_EXPIRY_HOURS before expiry, if not completed.
    Never after completion or revocation, at most once each.
    """
    now = now or utcnow()
    config = current_app.config
    expired = 0
    for invitation in db.session.scalars(
        sa.select(Invitation).where(
            Invitation.status.in_(LIVE_STATUSES), Invitation.expires_at <= now
        )
    ):
        expired += refresh_expiry(invitation, now)
    db.session.commit()
    open_screening_ids = sa.select(Screening.id).where(Screening.status == ScreeningStatus.OPEN)
    start_due = db.session.scalars(
        sa.select(Invitation.id).where(
            Invitation.status.in_([InvitationStatus.INVITED, InvitationStatus.OPENED]),
            Invitation.screening_id.in_(open_screening_ids),
            Invitation.reminder_start_sent_at.is_(None),
            Invitation.created_at <= now - timedelta(hours=config["REMINDER_START_AFTER_HOURS"]),
            Invitation.expires_at > now,
        )
    ).all()
    deadline_due = db.session.scalars(
        sa.select(Invitation.id).where(
            Invitation.status.in_(LIVE_STATUSES),
            Invitation.screening_id.in_(open_screening_ids),
            Invitation.reminder_deadline_sent_at.is_(None),
            Invitation.expires_at > now,
            Invitation.expires_at <= now + timedelta(hours=config["REMINDER_BEFORE_EXPIRY_HOURS"]),
        )
    ).all()
    sent = {"start": 0, "deadline": 0, "expired": expired}
    for invitation_id in start_due:
        if _claim(invitation_id, Invitation.reminder_start_sent_at, now):
            db.session.commit()
            jobs.enqueue("email.reminder_start", invitation_id)
            sent["start"] += 1
    for invitation_id in deadline_due:
        if _claim(invitation_id, Invitation.reminder_deadline_sent_at, now):
            db.session.commit()
            jobs.enqueue("email.reminder_deadline", invitation_id)
            sent["deadline"] += 1
    db.session.commit()
    return sent
