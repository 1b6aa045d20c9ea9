"""Email jobs for invitations and reminders (RQ entry points take ids)."""

from __future__ import annotations

import re
from email.utils import formataddr

from flask import current_app, render_template

from .. import jobs, mail
from ..extensions import db
from ..models import EmailStatus, Invitation, InvitationStatus, utcnow
from .services import LIVE_STATUSES, candidate_link

KINDS = {
    "invitation": "Your video interview for {title}",
    "reminder_start": "Reminder: your video interview for {title}",
    "reminder_deadline": "Last day: your video interview for {title}",
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def header_text(text: str) -> str:
    """One line for an email header: control characters (CR, LF...) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def render_message(invitation: Invitation, kind: str) -> mail.Message:
    screening = invitation.screening
    context = {
        "invitation": invitation,
        "screening": screening,
        "organization": screening.organization,
        "link": candidate_link(invitation),
        "kind": kind,
    }
    return mail.Message(
        # The name is quoted as a display name: commas, quotes or angle brackets in it can
        # never add a recipient (the email carries the candidate's secret link).
        to=formataddr((header_text(invitation.candidate_name), invitation.candidate_email)),
        subject=header_text(KINDS[kind].format(title=screening.title)),
        text=render_template("emails/invitation.txt", **context),
        html=render_template("emails/invitation.html", **context),
        headers={"X-Interview-Org": str(screening.org_id)},
        sender_name=header_text(screening.organization.sender_name or screening.organization.name),
    )


def _send(invitation_id: int, kind: str) -> None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        return  # deleted since: nothing to send
    if invitation.status not in LIVE_STATUSES:
        return  # never email after completion, revocation or expiry
    if kind == "reminder_start" and invitation.status == InvitationStatus.IN_PROGRESS:
        return
    backend = mail.backend_from_config(current_app.config)
    invitation.email_attempts += 1
    try:
        backend.send(render_message(invitation, kind))
    except mail.MailError as error:
        invitation.email_error = str(error)[:1000]
        if jobs.is_last_attempt():
            invitation.email_status = EmailStatus.FAILED
        db.session.commit()
        raise
    invitation.email_status = EmailStatus.SENT
    invitation.email_error = None
    if kind == "invitation":
        invitation.invite_sent_at = utcnow()
    db.session.commit()


def send_invitation(invitation_id: int) -> None:
    _send(invitation_id, "invitation")


def send_start_reminder(invitation_id: int) -> None:
    _send(invitation_id, "reminder_start")


def send_deadline_reminder(invitation_id: int) -> None:
    _send(invitation_id, "reminder_deadline")
