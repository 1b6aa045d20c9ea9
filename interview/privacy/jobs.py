"""Privacy jobs (queue ``privacy``; RQ entry points take ids)."""

from __future__ import annotations

from email.utils import formataddr

from flask import current_app, render_template

from .. import mail
from ..extensions import db
from ..models import Invitation
from . import leftovers, requests, retention, settings


def sweep() -> str:
    """The daily sweep: every candidate due for deletion, then killed workers' folders and
    superseded report files."""
    result = retention.sweep()
    folders = leftovers.remove_work_folders()
    reports = leftovers.remove_superseded_reports()
    summary = (
        f"purged={result.purged} skipped={result.skipped} files_deleted={result.files_deleted} "
        f"files_failed={result.files_failed} work_folders={folders} superseded_reports={reports}"
    )
    current_app.logger.info("privacy sweep: %s", summary)
    return summary


def send_receipt(invitation_id: int) -> None:
    """Email the candidate their receipt and their "your data" link (once they submitted)."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.deleted_at is not None or invitation.completed_at is None:
        return
    link = requests.data_link(invitation, external=True)
    screening = invitation.screening
    context = {
        "invitation": invitation,
        "screening": screening,
        "organization": screening.organization,
        "data_link": link,
        "notice": settings.notice(screening.organization),
    }
    mail.backend_from_config(current_app.config).send(
        mail.Message(
            to=formataddr(
                (mail.header_text(invitation.candidate_name), invitation.candidate_email)
            ),
            subject=mail.header_text(f"Your answers for {screening.title} were received"),
            text=render_template("emails/receipt.txt", **context),
            html=render_template("emails/receipt.html", **context),
            headers={"X-Interview-Org": str(screening.org_id)},
            sender_name=mail.header_text(
                screening.organization.sender_name or screening.organization.name
            ),
        )
    )
