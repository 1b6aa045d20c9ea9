"""Candidate links: the invitation behind a link token, or the reason it cannot be used
(unknown or revoked, expired, screening closed), and recording that the link was opened.
Every candidate page and API call starts here; the upload fast path checks a link with
``usable_as_it_stands`` alone."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from .. import audit, tokens
from ..extensions import db
from ..models import (
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Organization,
    ScreeningStatus,
    Take,
    utcnow,
)
from ..webhooks import services as webhooks


class LinkProblem(Exception):
    """The link cannot be used; ``title`` and the message are safe to show the candidate."""

    title = _l("This link cannot be used")
    status_code = 404
    # Who to turn to, when the link is known to be real (never for unknown or revoked links,
    # whose page must not reveal that an interview exists).
    organization: str | None = None
    role: str | None = None
    language: str | None = None
    org: Organization | None = None

    def about(self, invitation: Invitation) -> LinkProblem:
        self.org = invitation.screening.organization
        self.organization = self.org.name
        self.role = invitation.screening.title
        self.language = invitation.screening.language
        return self


class LinkInvalid(LinkProblem):
    title = _l("This link is no longer valid")

    def __init__(self) -> None:
        super().__init__(
            _l(
                "This interview link is no longer valid. If you think this is a mistake, "
                "contact the recruiter who invited you."
            )
        )


class LinkExpired(LinkProblem):
    title = _l("This link has expired")
    status_code = 410

    def __init__(self, expired_at: datetime) -> None:
        self.expired_at = expired_at
        super().__init__(
            _l(
                "If you still want to take part, contact the recruiter who invited you: they can "
                "give you more time."
            )
        )


class ScreeningClosed(LinkProblem):
    title = _l("This screening is closed")
    status_code = 410

    def __init__(self) -> None:
        super().__init__(
            _l(
                "The employer has stopped taking video interviews for this role. "
                "Thank you for your interest."
            )
        )


def finish_grace() -> timedelta:
    return timedelta(minutes=current_app.config["FINISH_GRACE_MINUTES"])


def usable_as_it_stands(status: InvitationStatus, expires_at: datetime, now: datetime) -> bool:
    """The common case of ``resolve``: an interview under way before its deadline is returned
    as it is, changing nothing (the upload fast path checks its link with this alone)."""
    return status == InvitationStatus.IN_PROGRESS and now < expires_at


# What the interview's steps read of a candidate: every question with its kept answer and takes
# joined to the invitation in one query (a handful of rows: questions x attempts), then the takes'
# assets in a second one only once there are takes (instead of two lazy loads per question, and
# one per take; joining the assets too would multiply the rows by each take's files).
_THE_INTERVIEW = (
    joinedload(Invitation.questions).joinedload(InterviewQuestion.response),
    joinedload(Invitation.questions).joinedload(InterviewQuestion.takes).selectinload(Take.assets),
)


def resolve(
    token: str, now: datetime | None = None, *, finishing: bool = False, interview: bool = False
) -> Invitation:
    """The invitation behind a link token, or the reason it cannot be used.

    Unknown and revoked tokens get the same answer, so nobody learns which links exist.
    With ``finishing``, an interview under way stays reachable for FINISH_GRACE_MINUTES after
    its deadline, so answers recorded in time can finish uploading and be submitted (no new
    question can be revealed then). With ``interview``, the questions, kept answers, takes and
    assets come with it (``_THE_INTERVIEW``), for the interview's own steps.
    """
    if not tokens.looks_like_token(token):
        raise LinkInvalid()
    invitation = (
        db.session.execute(
            sa.select(Invitation)
            .where(Invitation.token_hash == tokens.token_hash(token))
            .options(joinedload(Invitation.screening))  # its language: every page needs it
            .options(*(_THE_INTERVIEW if interview else ()))
        )
        .unique()
        .scalar_one_or_none()
    )
    if invitation is None or invitation.status == InvitationStatus.REVOKED:
        raise LinkInvalid()
    if invitation.status == InvitationStatus.COMPLETED:
        return invitation  # the confirmation stays reachable after the deadline
    now = now or utcnow()
    if usable_as_it_stands(invitation.status, invitation.expires_at, now):
        return invitation
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= now:
        if (
            finishing
            and invitation.started_at is not None
            and now < invitation.expires_at + finish_grace()
        ):
            if invitation.status == InvitationStatus.EXPIRED:
                invitation.status = InvitationStatus.IN_PROGRESS
                db.session.commit()
            return invitation
        if invitation.status != InvitationStatus.EXPIRED:
            invitation.status = InvitationStatus.EXPIRED
            audit.record("invitation.expired", invitation, actor_label="system")
            db.session.commit()
        raise LinkExpired(invitation.expires_at).about(invitation)
    # Closing a screening stops new starts; an interview already under way may finish.
    if (
        invitation.status != InvitationStatus.IN_PROGRESS  # first: no screening load then
        and invitation.screening.status != ScreeningStatus.OPEN
    ):
        raise ScreeningClosed().about(invitation)
    return invitation


def touch(invitation: Invitation, ip: str | None) -> None:
    """Record that the candidate opened the link (first time: invited → opened)."""
    now = utcnow()
    if invitation.status == InvitationStatus.INVITED:
        invitation.status = InvitationStatus.OPENED
        invitation.opened_at = now
        audit.record("invitation.opened", invitation, actor_label="candidate")
        webhooks.emit_for_invitation(invitation, "invitation.opened")
    invitation.last_activity_at = now
    db.session.commit()
