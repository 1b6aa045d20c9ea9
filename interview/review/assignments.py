"""Assignments of reviewers to a screening or one candidate, and each reviewer's progress."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .. import audit
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
from .access import (
    MANAGERS,
    ReviewError,
    may_score,
)

# --- assignments ------------------------------------------------------------------------------


def reviewers_of_org(org_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.org_id == org_id, User.role.in_([Role.REVIEWER, *MANAGERS]))
            .order_by(User.name)
        )
    )


def assignments(screening: Screening) -> list[ReviewAssignment]:
    return list(
        db.session.scalars(
            sa.select(ReviewAssignment)
            .where(ReviewAssignment.screening_id == screening.id)
            .options(selectinload(ReviewAssignment.reviewer))
            .order_by(ReviewAssignment.invitation_id.is_not(None), ReviewAssignment.id)
        )
    )


def assign(screening: Screening, reviewer: User, invitation: Invitation | None = None) -> bool:
    """Assign ``reviewer`` to the whole screening or one candidate; False if already assigned."""
    if reviewer.org_id != screening.org_id or not may_score(reviewer):
        raise ReviewError("Only reviewers, recruiters and admins of your team can review.")
    if invitation is not None and invitation.screening_id != screening.id:
        raise ReviewError("That candidate is not part of this screening.")
    exists = db.session.scalar(
        sa.select(ReviewAssignment.id).where(
            ReviewAssignment.screening_id == screening.id,
            ReviewAssignment.reviewer_id == reviewer.id,
            ReviewAssignment.invitation_id.is_(None)
            if invitation is None
            else ReviewAssignment.invitation_id == invitation.id,
        )
    )
    if exists:
        return False
    assignment = ReviewAssignment(
        screening_id=screening.id,
        reviewer_id=reviewer.id,
        invitation_id=invitation.id if invitation else None,
    )
    db.session.add(assignment)
    db.session.flush()
    audit.record(
        "review.assign",
        assignment,
        org_id=screening.org_id,
        reviewer_id=reviewer.id,
        invitation_id=invitation.id if invitation else None,
    )
    return True


def unassign(assignment: ReviewAssignment) -> None:
    audit.record(
        "review.unassign",
        assignment,
        org_id=db.session.get(Screening, assignment.screening_id).org_id,
        reviewer_id=assignment.reviewer_id,
        invitation_id=assignment.invitation_id,
    )
    db.session.delete(assignment)


@dataclass
class ReviewerProgress:
    reviewer: User
    whole_screening: bool
    candidates: int  # completed candidates they are to review
    submitted: int
    in_progress: int


def progress(screening: Screening) -> list[ReviewerProgress]:
    """For each assigned reviewer: how many completed candidates they have reviewed."""
    completed = db.session.scalar(
        sa.select(sa.func.count(Invitation.id)).where(
            Invitation.screening_id == screening.id,
            Invitation.status == InvitationStatus.COMPLETED,
        )
    )
    per: dict[int, ReviewerProgress] = {}
    for assignment in assignments(screening):
        entry = per.setdefault(
            assignment.reviewer_id,
            ReviewerProgress(assignment.reviewer, False, 0, 0, 0),
        )
        if assignment.invitation_id is None:
            entry.whole_screening = True
    # Candidate-level assignments: how many of each reviewer's candidates have completed.
    singles = dict(
        db.session.execute(
            sa.select(ReviewAssignment.reviewer_id, sa.func.count(sa.distinct(Invitation.id)))
            .join(Invitation, Invitation.id == ReviewAssignment.invitation_id)
            .where(
                ReviewAssignment.screening_id == screening.id,
                Invitation.status == InvitationStatus.COMPLETED,
            )
            .group_by(ReviewAssignment.reviewer_id)
        ).all()
    )
    for entry in per.values():
        entry.candidates = completed if entry.whole_screening else singles.get(entry.reviewer.id, 0)
    for reviewer_id, status, count in db.session.execute(
        sa.select(Review.reviewer_id, Review.status, sa.func.count(Review.id))
        .join(Invitation, Invitation.id == Review.invitation_id)
        .where(Invitation.screening_id == screening.id, Review.reviewer_id.in_(list(per)))
        .group_by(Review.reviewer_id, Review.status)
    ):
        if status == ReviewStatus.SUBMITTED:
            per[reviewer_id].submitted = count
        else:
            per[reviewer_id].in_progress = count
    return sorted(per.values(), key=lambda e: e.reviewer.name.lower())
