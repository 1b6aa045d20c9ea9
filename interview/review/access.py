"""Who may review what: assignments, blind and hidden-name rules, the refusal error."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    AssetKind,
    Invitation,
    InvitationStatus,
    Review,
    ReviewAssignment,
    ReviewMode,
    ReviewStatus,
    Role,
    Screening,
    User,
)
from ..security import candidate_scope, may_see_invitation

MANAGERS = (Role.ADMIN, Role.RECRUITER)
COMMENT_MAX = 2000
NOTE_MAX = 4000
PAGE_SIZE = 25


class ReviewError(Exception):
    """A review change refused by a rule; the message is shown to the reviewer."""


# --- who may review what ----------------------------------------------------------------------


def _assigned(user: User) -> sa.Select:
    return sa.select(ReviewAssignment).where(ReviewAssignment.reviewer_id == user.id)


def reviewable_screenings(user: User) -> list[Screening]:
    """Screenings the user reviews: assigned ones for reviewers, every one for managers/HR."""
    query = sa.select(Screening).where(
        Screening.org_id == user.org_id, Screening.is_template.is_(False)
    )
    if user.role == Role.REVIEWER:
        query = query.where(
            Screening.id.in_(
                sa.select(ReviewAssignment.screening_id).where(
                    ReviewAssignment.reviewer_id == user.id
                )
            )
        )
    return list(db.session.scalars(query.order_by(Screening.created_at.desc())))


def candidate_filter(user: User, screening: Screening) -> sa.ColumnElement[bool] | None:
    """A filter on Invitation for what ``user`` may see in ``screening`` (None: nothing);
    the one rule, ``security.candidate_scope``."""
    return candidate_scope(user, screening.id)


def may_see_screening(user: User, screening: Screening) -> bool:
    """May ``user`` open the screening's review queue (any candidate of it to review)?"""
    return screening.org_id == user.org_id and candidate_filter(user, screening) is not None


def may_see_candidate(user: User, invitation: Invitation) -> bool:
    """May ``user`` open this candidate's review page: visible to them, and submitted."""
    return invitation.status == InvitationStatus.COMPLETED and may_see_invitation(user, invitation)


def may_score(user: User) -> bool:
    return user.role in (Role.REVIEWER, *MANAGERS)


def sees_names(user: User, screening: Screening) -> bool:
    """Anonymised review hides candidates' names from reviewers (not from those who invited)."""
    return not (screening.anonymize_candidates and user.role == Role.REVIEWER)


def sees_others(user: User, screening: Screening, own: Review | None) -> bool:
    """Blind review: others' scores stay hidden until the viewer has submitted their own.

    Someone who is not scoring this candidate (HR, or a manager who has not started a review)
    is an observer and sees the submitted reviews.
    """
    if not screening.blind_review:
        return True
    if own is None:
        return user.role != Role.REVIEWER
    return own.status == ReviewStatus.SUBMITTED


# --- review modes (issue 14) ------------------------------------------------------------------


def may_reveal(user: User, own: Review | None) -> bool:
    """May the viewer see and hear the candidate although the screening reviews without?
    Reviewers once they have submitted their review; managers (who invite and decide) and
    readers whenever they ask."""
    if user.role != Role.REVIEWER:
        return True
    return own is not None and own.status == ReviewStatus.SUBMITTED


def review_mode(
    user: User, screening: Screening, own: Review | None, *, reveal: bool
) -> ReviewMode:
    """What the viewer's browser is sent: the screening's mode (video, audio only, transcript
    only) unless they may reveal the video and asked to (``reveal``). HR, who never scores,
    always gets the video."""
    if screening.review_mode == ReviewMode.VIDEO or not may_score(user):
        return ReviewMode.VIDEO
    if reveal and may_reveal(user, own):
        return ReviewMode.VIDEO
    return screening.review_mode


# What each mode lets a browser fetch of an answer (captions are text, like the transcript).
_KINDS_BY_MODE = {
    ReviewMode.VIDEO: set(AssetKind),
    ReviewMode.AUDIO: {AssetKind.AUDIO, AssetKind.CAPTIONS},
    ReviewMode.TRANSCRIPT: {AssetKind.CAPTIONS},
}


def may_fetch(kind: AssetKind, content_type: str, mode: ReviewMode) -> bool:
    """Is an answer asset of ``kind`` sent in ``mode``? An audio-only answer's MP4 is sound."""
    if kind == AssetKind.MP4 and content_type.startswith("audio/"):
        return mode != ReviewMode.TRANSCRIPT
    return kind in _KINDS_BY_MODE[mode]


def may_stream_answer_asset(
    user: User, invitation: Invitation, kind: AssetKind, content_type: str
) -> bool:
    """The media route's check for reviewers: the screening's review mode holds until they have
    submitted their review of this candidate (then they may reveal everything)."""
    screening = invitation.screening
    if user.role != Role.REVIEWER or screening.review_mode == ReviewMode.VIDEO:
        return True
    own = db.session.scalar(
        sa.select(Review).where(
            Review.invitation_id == invitation.id, Review.reviewer_id == user.id
        )
    )
    return may_fetch(kind, content_type, review_mode(user, screening, own, reveal=True))
