"""The reviewer's queue: one page of completed candidates with their own progress."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Decision,
    Invitation,
    InvitationStatus,
    Recommendation,
    Review,
    ReviewStatus,
    Role,
    Screening,
    User,
)
from ..reports.services import candidate_numbers
from .access import (
    PAGE_SIZE,
    candidate_filter,
    sees_names,
)

# --- the reviewer's queue ---------------------------------------------------------------------


@dataclass
class QueueRow:
    invitation_id: int
    number: int
    name: str | None
    completed_at: object
    my_status: str  # "unreviewed" | "in_progress" | "submitted"
    my_score: float | None
    average: float | None
    reviews_submitted: int
    decision: Recommendation | None


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    show_average: bool


QUEUE_STATUSES = ("all", "unreviewed", "in_progress", "submitted")
QUEUE_SORTS = ("completed", "-completed", "score", "-score", "number")


def queue(
    user: User, screening: Screening, *, status: str = "all", sort: str = "completed", page: int = 1
) -> QueuePage:
    """One page of the completed candidates ``user`` may review, with their own progress.

    A fixed number of queries whatever the size of the screening: counts, one page of rows.
    """
    scope = candidate_filter(user, screening)
    if scope is None:
        return QueuePage([], 0, 1, 1, dict.fromkeys(QUEUE_STATUSES, 0), False)
    mine = (
        sa.select(Review.invitation_id, Review.status, Review.score_sum, Review.responses_scored)
        .where(Review.reviewer_id == user.id)
        .subquery()
    )
    submitted = (
        sa.select(
            Review.invitation_id.label("invitation_id"),
            sa.func.count(Review.id).label("n"),
            sa.func.sum(Review.score_sum).label("total"),
            sa.func.sum(Review.responses_scored).label("scored"),
        )
        .join(Invitation, Invitation.id == Review.invitation_id)
        .where(Invitation.screening_id == screening.id, Review.status == ReviewStatus.SUBMITTED)
        .group_by(Review.invitation_id)
        .subquery()
    )
    my_status = sa.case(
        (mine.c.status == ReviewStatus.SUBMITTED.value, "submitted"),
        (mine.c.status == ReviewStatus.IN_PROGRESS.value, "in_progress"),
        else_="unreviewed",
    )
    my_score = sa.case(
        (mine.c.responses_scored > 0, mine.c.score_sum / mine.c.responses_scored), else_=None
    )
    average = sa.case((submitted.c.scored > 0, submitted.c.total / submitted.c.scored), else_=None)
    base = (
        sa.select(Invitation.id)
        .outerjoin(mine, mine.c.invitation_id == Invitation.id)
        .outerjoin(submitted, submitted.c.invitation_id == Invitation.id)
        .where(
            Invitation.screening_id == screening.id,
            Invitation.status == InvitationStatus.COMPLETED,
            scope,
        )
    )
    counts_row = db.session.execute(
        base.with_only_columns(
            sa.func.count(),
            sa.func.count(sa.case((my_status == "unreviewed", 1))),
            sa.func.count(sa.case((my_status == "in_progress", 1))),
            sa.func.count(sa.case((my_status == "submitted", 1))),
        )
    ).one()
    counts = dict(zip(QUEUE_STATUSES, counts_row, strict=True))
    query = base
    if status in QUEUE_STATUSES[1:]:
        query = query.where(my_status == status)
    show_average = user.role != Role.REVIEWER or not screening.blind_review
    score_key = average if show_average else my_score
    order = {
        "completed": (Invitation.completed_at, Invitation.id),
        "-completed": (Invitation.completed_at.desc(), Invitation.id.desc()),
        "score": (score_key.is_(None), score_key, Invitation.id),
        "-score": (score_key.is_(None), score_key.desc(), Invitation.id),
        "number": (Invitation.id,),
    }.get(sort, (Invitation.completed_at, Invitation.id))
    total = counts[status] if status in QUEUE_STATUSES else counts["all"]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        query.with_only_columns(
            Invitation.id,
            Invitation.candidate_name,
            Invitation.completed_at,
            my_status,
            my_score,
            average,
            sa.func.coalesce(submitted.c.n, 0),
        )
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    # Per-row look-ups for the page only (computing them for every row before sorting made deep
    # pages of 10,000 candidates take seconds on SQLite).
    ids = [r[0] for r in rows]
    numbers = candidate_numbers(screening.id, ids)
    decisions = dict(
        db.session.execute(
            sa.select(Decision.invitation_id, Decision.outcome).where(
                Decision.invitation_id.in_(ids)
            )
        ).all()
    )
    names = sees_names(user, screening)
    return QueuePage(
        rows=[
            QueueRow(
                invitation_id=r[0],
                number=numbers.get(r[0], 0),
                name=r[1] if names else None,
                completed_at=r[2],
                my_status=r[3],
                my_score=r[4],
                average=r[5]
                if show_average or (r[3] == "submitted" and user.role == Role.REVIEWER)
                else None,
                reviews_submitted=r[6],
                decision=decisions.get(r[0]),
            )
            for r in rows
        ],
        total=total,
        page=page,
        pages=pages,
        counts=counts,
        show_average=show_average,
    )


def next_candidate(user: User, invitation: Invitation) -> int | None:
    """The next completed candidate (by completion) that ``user`` has not submitted a review of."""
    screening = invitation.screening
    scope = candidate_filter(user, screening)
    if scope is None:
        return None
    done = sa.select(Review.invitation_id).where(
        Review.reviewer_id == user.id, Review.status == ReviewStatus.SUBMITTED
    )
    return db.session.scalar(
        sa.select(Invitation.id)
        .where(
            Invitation.screening_id == screening.id,
            Invitation.status == InvitationStatus.COMPLETED,
            Invitation.id != invitation.id,
            Invitation.id.not_in(done),
            scope,
        )
        .order_by(Invitation.completed_at, Invitation.id)
        .limit(1)
    )
