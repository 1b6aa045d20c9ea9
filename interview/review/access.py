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
from ..security import is_assigned_reviewer

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


def _assignment_scope(reviewer_id: int, screening_id: int) -> sa.ColumnElement[bool] | None:
    """A filter on Invitation for the candidates assigned to a reviewer (None: none at all)."""
    rows = db.session.execute(
        sa.select(ReviewAssignment.invitation_id).where(
            ReviewAssignment.reviewer_id == reviewer_id,
            ReviewAssignment.screening_id == screening_id,
        )
    ).all()
    if not rows:
        return None
    if any(invitation_id is None for (invitation_id,) in rows):
        return sa.true()
    return Invitation.id.in_([invitation_id for (invitation_id,) in rows])


def _candidate_scope(user: User, screening: Screening) -> sa.ColumnElement[bool] | None:
    """A filter on Invitation for what ``user`` may see in ``screening`` (None: nothing)."""
    if user.role != Role.REVIEWER:
        return sa.true()
    return _assignment_scope(user.id, screening.id)


def may_see_screening(user: User, screening: Screening) -> bool:
    return screening.org_id == user.org_id and _candidate_scope(user, screening) is not None


def may_see_candidate(user: User, invitation: Invitation) -> bool:
    if invitation.org_id != user.org_id or invitation.status != InvitationStatus.COMPLETED:
        return False
    if user.role != Role.REVIEWER:
        return True
    return is_assigned_reviewer(user, invitation.screening_id, invitation.id)


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
