"""Reviewing: who may review whom, scores that save as they are given, blind rules, decisions.

Rules (issue 6):
- Reviewers see and score only candidates of screenings (or single candidates) they are assigned
  to; recruiters and admins may score any candidate of their organisation; HR reads only.
- Blind by default: until a reviewer has submitted their own review they see nobody else's
  scores, comments or recommendation (``Screening.blind_review`` turns this off).
- Scores, comments and recommendations change only while the review is in progress; a reviewer
  may reopen their own submitted review until the screening's decisions are final.
- Every change is an AuditEvent. Practice answers are never shown or scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..models import (
    Comment,
    Decision,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Recommendation,
    Response,
    Review,
    ReviewAssignment,
    ReviewStatus,
    Role,
    Score,
    Screening,
    TakeStatus,
    User,
    utcnow,
)
from ..models.screenings import SCALE
from ..reports import scoring
from ..reports.services import candidate_numbers, criteria_of
from ..security import is_assigned_reviewer
from ..webhooks import services as webhooks

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
    scope = _candidate_scope(user, screening)
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
    scope = _candidate_scope(user, screening)
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


# --- one review -------------------------------------------------------------------------------


def own_review(user: User, invitation: Invitation) -> Review | None:
    return db.session.scalar(
        sa.select(Review).where(
            Review.invitation_id == invitation.id, Review.reviewer_id == user.id
        )
    )


def start_review(user: User, invitation: Invitation) -> Review:
    """The user's review of ``invitation``, created on first use (safe against double clicks)."""
    review = own_review(user, invitation)
    if review is not None:
        return review
    if not may_score(user):
        raise ReviewError("Your role reads results; it does not score.")
    screening = invitation.screening
    review = Review(
        invitation_id=invitation.id,
        reviewer_id=user.id,
        rubric_version=screening.rubric.version if screening.rubric else 1,
    )
    try:
        with db.session.begin_nested():
            db.session.add(review)
    except sa.exc.IntegrityError:
        review = own_review(user, invitation)
        assert review is not None
        return review
    audit.record("review.start", review, actor=user, invitation_id=invitation.id)
    return review


def _editable(review: Review) -> None:
    if review.status == ReviewStatus.SUBMITTED:
        raise ReviewError("This review is submitted. Reopen it to change it.")
    if review.invitation.screening.decisions_final_at is not None:
        raise ReviewError("Decisions on this screening are final; reviews can no longer change.")


def review_responses(invitation: Invitation) -> dict[int, Response]:
    """The responses of ``invitation`` a reviewer scores (practice left out), by id."""
    rows = db.session.scalars(
        sa.select(Response)
        .options(selectinload(Response.question), selectinload(Response.take))
        .join(InterviewQuestion, Response.question_id == InterviewQuestion.id)
        .where(
            InterviewQuestion.invitation_id == invitation.id,
            InterviewQuestion.is_practice.is_(False),
        )
    )
    return {r.id: r for r in rows}


def _weights(invitation: Invitation) -> dict[int, float]:
    return {c.id: c.weight for c in criteria_of(invitation.screening)}


def recompute(review: Review) -> None:
    """Bring the review's score totals in step with its scores (scoring.weighted_score)."""
    weights = _weights(review.invitation)
    by_response: dict[int, dict[int, int]] = {}
    for response_id, criterion_id, value in db.session.execute(
        sa.select(Score.response_id, Score.criterion_id, Score.value).where(
            Score.review_id == review.id
        )
    ):
        if criterion_id in weights:
            by_response.setdefault(response_id, {})[criterion_id] = value
    means = [scoring.weighted_score(s, weights) for s in by_response.values()]
    present = [m for m in means if m is not None]
    review.score_sum = float(sum(present))
    review.responses_scored = len(present)
    review.updated_at = utcnow()


def _lock(review: Review) -> None:
    """Serialise changes to one review (two tabs, a beacon racing a fetch): on PostgreSQL a row
    lock, so the running totals are recomputed from every committed score; SQLite serialises
    writers by itself."""
    db.session.execute(sa.select(Review.id).where(Review.id == review.id).with_for_update())


def set_score(review: Review, response_id: int, criterion_id: int, value: int | None) -> None:
    """Give (or with ``None`` clear) one score. Saved at once: this is the autosave."""
    _lock(review)
    _editable(review)
    if response_id not in review_responses(review.invitation):
        raise ReviewError("That answer is not part of this interview.")
    if criterion_id not in _weights(review.invitation):
        raise ReviewError("That criterion is not part of this screening's rubric.")
    if value is not None and value not in SCALE:
        raise ReviewError(f"Scores run from {SCALE[0]} to {SCALE[-1]}.")
    existing = db.session.scalar(
        sa.select(Score).where(
            Score.review_id == review.id,
            Score.response_id == response_id,
            Score.criterion_id == criterion_id,
        )
    )
    before = existing.value if existing else None
    if before == value:
        return
    if value is None:
        db.session.delete(existing)
    elif existing is None:
        db.session.add(
            Score(
                review_id=review.id,
                response_id=response_id,
                criterion_id=criterion_id,
                value=value,
            )
        )
    else:
        existing.value = value
    db.session.flush()
    recompute(review)
    audit.record(
        "review.score",
        review,
        response_id=response_id,
        criterion_id=criterion_id,
        before=before,
        after=value,
    )


def set_overall(review: Review, recommendation: str | None, note: str) -> None:
    _editable(review)
    try:
        chosen = Recommendation(recommendation) if recommendation else None
    except ValueError:
        raise ReviewError("Choose advance, hold or reject.") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ReviewError(f"The note is too long (at most {NOTE_MAX} characters).")
    if chosen == review.recommendation and note == review.note:
        return
    audit.record(
        "review.recommend",
        review,
        before=review.recommendation.value if review.recommendation else None,
        after=chosen.value if chosen else None,
        note_changed=note != review.note,
    )
    review.recommendation = chosen
    review.note = note


def add_comment(review: Review, response_id: int, at_ms: int | None, body: str) -> Comment:
    _editable(review)
    if response_id not in review_responses(review.invitation):
        raise ReviewError("That answer is not part of this interview.")
    body = (body or "").strip()
    if not body:
        raise ReviewError("Write something first.")
    if len(body) > COMMENT_MAX:
        raise ReviewError(f"Comments are at most {COMMENT_MAX} characters.")
    if at_ms is not None and (at_ms < 0 or at_ms > 24 * 3600 * 1000):
        raise ReviewError("That moment is outside the answer.")
    comment = Comment(review_id=review.id, response_id=response_id, at_ms=at_ms, body=body)
    db.session.add(comment)
    review.updated_at = utcnow()
    db.session.flush()
    audit.record("review.comment", comment, response_id=response_id, at_ms=at_ms)
    return comment


def delete_comment(review: Review, comment_id: int) -> None:
    _editable(review)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.review_id != review.id:
        raise ReviewError("That comment is not yours to delete.")
    audit.record("review.comment_delete", comment, response_id=comment.response_id)
    db.session.delete(comment)
    review.updated_at = utcnow()


def missing_scores(review: Review) -> list[str]:
    """What still needs a score before submitting (answers that failed processing excepted)."""
    criteria = criteria_of(review.invitation.screening)
    given = set(
        db.session.execute(
            sa.select(Score.response_id, Score.criterion_id).where(Score.review_id == review.id)
        ).all()
    )
    missing = []
    for number, response in enumerate(
        sorted(review_responses(review.invitation).values(), key=lambda r: r.question.position),
        start=1,
    ):
        if response.take.status == TakeStatus.FAILED:
            continue
        names = [c.name for c in criteria if (response.id, c.id) not in given]
        if names:
            missing.append(f"Answer {number}: {', '.join(names)}")
    return missing


def submit(review: Review) -> None:
    _editable(review)
    if not criteria_of(review.invitation.screening):
        raise ReviewError("This screening has no rubric yet; ask the recruiter to add one.")
    missing = missing_scores(review)
    if missing:
        raise ReviewError("Some scores are missing — " + "; ".join(missing) + ".")
    if review.recommendation is None:
        raise ReviewError("Give an overall recommendation (advance, hold or reject).")
    review.status = ReviewStatus.SUBMITTED
    review.submitted_at = utcnow()
    audit.record("review.submit", review, score=review.mean_score)
    webhooks.emit_for_invitation(review.invitation, "review.submitted", review_id=review.id)


def reopen(review: Review) -> None:
    if review.status != ReviewStatus.SUBMITTED:
        return
    if review.invitation.screening.decisions_final_at is not None:
        raise ReviewError("Decisions on this screening are final; reviews can no longer change.")
    review.status = ReviewStatus.IN_PROGRESS
    review.submitted_at = None
    audit.record("review.reopen", review)


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


# --- decisions --------------------------------------------------------------------------------


def record_decision(invitation: Invitation, outcome: str, note: str, by: User | None) -> Decision:
    """Record (or change) the final decision; ``by`` is None when an API key decides."""
    screening = invitation.screening
    if screening.decisions_final_at is not None:
        raise ReviewError("Decisions on this screening are final. Reopen them to change one.")
    if invitation.status != InvitationStatus.COMPLETED:
        raise ReviewError("Only candidates who completed the interview can be decided on.")
    try:
        chosen = Recommendation(outcome)
    except ValueError:
        raise ReviewError("Choose advance, hold or reject.") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ReviewError(f"The note is too long (at most {NOTE_MAX} characters).")
    decision = db.session.scalar(sa.select(Decision).where(Decision.invitation_id == invitation.id))
    before = decision.outcome.value if decision else None
    if decision is None:
        decision = Decision(invitation_id=invitation.id, outcome=chosen, note=note)
        db.session.add(decision)
    decision.outcome = chosen
    decision.note = note
    decision.decided_by_id = by.id if by else None
    decision.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "decision.record",
        decision,
        org_id=invitation.org_id,
        invitation_id=invitation.id,
        before=before,
        after=chosen.value,
    )
    webhooks.emit_for_invitation(invitation, "decision.recorded", outcome=chosen.value)
    return decision


def clear_decision(invitation: Invitation) -> None:
    if invitation.screening.decisions_final_at is not None:
        raise ReviewError("Decisions on this screening are final. Reopen them to change one.")
    decision = db.session.scalar(sa.select(Decision).where(Decision.invitation_id == invitation.id))
    if decision is not None:
        audit.record(
            "decision.clear",
            decision,
            org_id=invitation.org_id,
            invitation_id=invitation.id,
            before=decision.outcome.value,
        )
        db.session.delete(decision)


def finalise_decisions(screening: Screening) -> None:
    if screening.decisions_final_at is None:
        screening.decisions_final_at = utcnow()
        audit.record("decision.finalise", screening)


def reopen_decisions(screening: Screening) -> None:
    if screening.decisions_final_at is not None:
        screening.decisions_final_at = None
        audit.record("decision.reopen", screening)
