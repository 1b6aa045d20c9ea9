"""Who may review what: assignments, blind and hidden-name rules, the refusal error."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Invitation,
    InvitationStatus,
    Review,
    ReviewAssignment,
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
