"""Email jobs for invitations and reminders (RQ entry points take ids)."""

from __future__ import annotations

from email.utils import formataddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from .. import jobs, mail
from ..extensions import db
from ..mail import header_text
from ..models import EmailStatus, Invitation, InvitationStatus, utcnow
from .services import LIVE_STATUSES, candidate_link

KINDS = {
    "invitation": _l("Your video interview for %(title)s"),
    "reminder_start": _l("Reminder: your video interview for %(title)s"),
    "reminder_deadline": _l("Last day: your video interview for %(title)s"),
}


def render_message(invitation: Invitation, kind: str) -> mail.Message:
    """The email, in the screening's language."""
    with force_locale(invitation.screening.language):
        return _render_message(invitation, kind)


def _render_message(invitation: Invitation, kind: str) -> mail.Message:
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
        subject=header_text(str(KINDS[kind]) % {"title": screening.title}),
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
