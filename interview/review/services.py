"""Reviewing: who may review whom, scores that save as they are given, blind rules, decisions.

Rules (issue 6):
- Reviewers see and score only candidates of screenings (or single candidates) they are assigned
  to; recruiters and admins may score any candidate of their organisation; HR reads only.
- Blind by default: until a reviewer has submitted their own review they see nobody else's
  scores, comments or recommendation (``Screening.blind_review`` turns this off).
- Scores, comments and recommendations change only while the review is in progress; a reviewer
  may reopen their own submitted review until the screening's decisions are final.
- Every change is an AuditEvent. Practice answers are never shown or scored.

This module is the area's one entry point: pages, API, jobs and reports call it; it keeps
the editing of one review and re-exports the rules kept in access, queue, assignments and
decisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..models import (
    Comment,
    InterviewQuestion,
    Invitation,
    Recommendation,
    Response,
    Review,
    ReviewStatus,
    Score,
    TakeStatus,
    User,
    utcnow,
)
from ..models.screenings import SCALE
from ..reports import scoring
from ..reports.services import criteria_of
from ..webhooks import services as webhooks
from .access import (
    COMMENT_MAX,
    MANAGERS,
    NOTE_MAX,
    PAGE_SIZE,
    ReviewError,
    may_reveal,
    may_score,
    may_see_candidate,
    may_see_screening,
    review_mode,
    reviewable_screenings,
    sees_names,
    sees_others,
)
from .assignments import ReviewerProgress, assign, assignments, progress, reviewers_of_org, unassign
from .decisions import clear_decision, finalise_decisions, record_decision, reopen_decisions
from .queue import QUEUE_SORTS, QUEUE_STATUSES, QueuePage, QueueRow, next_candidate, queue

__all__ = [
    # re-exported rules of the area's other modules
    "COMMENT_MAX",
    "MANAGERS",
    "NOTE_MAX",
    "PAGE_SIZE",
    "QUEUE_SORTS",
    "QUEUE_STATUSES",
    "QueuePage",
    "QueueRow",
    "ReviewError",
    "ReviewerProgress",
    "assign",
    "assignments",
    "clear_decision",
    "finalise_decisions",
    "may_reveal",
    "may_score",
    "may_see_candidate",
    "may_see_screening",
    "next_candidate",
    "progress",
    "queue",
    "record_decision",
    "reopen_decisions",
    "review_mode",
    "reviewable_screenings",
    "reviewers_of_org",
    "sees_names",
    "sees_others",
    "unassign",
    # kept here: one review
    "add_comment",
    "check_comment",
    "check_overall",
    "check_score",
    "delete_comment",
    "missing_scores",
    "own_review",
    "reopen",
    "review_responses",
    "set_overall",
    "set_score",
    "start_review",
    "submit",
]

# --- one review -------------------------------------------------------------------------------


def own_review(user: User, invitation: Invitation) -> Review | None:
    return db.session.scalar(
        sa.select(Review).where(
            Review.invitation_id == invitation.id, Review.reviewer_id == user.id
        )
    )


def start_review(user: User, invitation: Invitation) -> Review:
    """The user's review of ``invitation``, created on first use (safe against double clicks).

    Refused before anything is written when the user may not score or decisions are final, so
    a refusal leaves no empty review behind. The row is inserted with ON CONFLICT DO NOTHING
    (not in a savepoint: pysqlite's savepoints commit on release), so the caller's rollback
    undoes it on every database.
    """
    review = own_review(user, invitation)
    if review is not None:
        return review
    if not may_score(user):
        raise ReviewError("Your role reads results; it does not score.")
    _decisions_open(invitation)
    screening = invitation.screening
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = db.session.execute(
        insert(Review)
        .values(
            invitation_id=invitation.id,
            reviewer_id=user.id,
            rubric_version=screening.rubric.version if screening.rubric else 1,
        )
        .on_conflict_do_nothing(index_elements=["invitation_id", "reviewer_id"])
    )
    review = own_review(user, invitation)
    assert review is not None
    if inserted.rowcount == 1:
        audit.record("review.start", review, actor=user, invitation_id=invitation.id)
    return review


def _decisions_open(invitation: Invitation) -> None:
    if invitation.screening.decisions_final_at is not None:
        raise ReviewError("Decisions on this screening are final; reviews can no longer change.")


def _editable(review: Review) -> None:
    if review.status == ReviewStatus.SUBMITTED:
        raise ReviewError("This review is submitted. Reopen it to change it.")
    _decisions_open(review.invitation)


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


def check_score(
    invitation: Invitation, response_id: int, criterion_id: int, value: int | None
) -> None:
    """Refuse a score that names another interview's answer, another rubric's criterion or a
    value off the scale (called before a review is created, so a refusal writes nothing)."""
    if response_id not in review_responses(invitation):
        raise ReviewError("That answer is not part of this interview.")
    if criterion_id not in _weights(invitation):
        raise ReviewError("That criterion is not part of this screening's rubric.")
    if value is not None and value not in SCALE:
        raise ReviewError(f"Scores run from {SCALE[0]} to {SCALE[-1]}.")


def check_comment(invitation: Invitation, response_id: int, at_ms: int | None, body: str) -> str:
    """The comment's text, or ReviewError (before any review is created)."""
    if response_id not in review_responses(invitation):
        raise ReviewError("That answer is not part of this interview.")
    body = (body or "").strip()
    if not body:
        raise ReviewError("Write something first.")
    if len(body) > COMMENT_MAX:
        raise ReviewError(f"Comments are at most {COMMENT_MAX} characters.")
    if at_ms is not None and (at_ms < 0 or at_ms > 24 * 3600 * 1000):
        raise ReviewError("That moment is outside the answer.")
    return body


def check_overall(recommendation: str | None, note: str) -> tuple[Recommendation | None, str]:
    """The recommendation and note as stored, or ReviewError (before any review is created)."""
    try:
        chosen = Recommendation(recommendation) if recommendation else None
    except ValueError:
        raise ReviewError("Choose advance, hold or reject.") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ReviewError(f"The note is too long (at most {NOTE_MAX} characters).")
    return chosen, note


def set_score(review: Review, response_id: int, criterion_id: int, value: int | None) -> None:
    """Give (or with ``None`` clear) one score. Saved at once: this is the autosave."""
    _lock(review)
    _editable(review)
    check_score(review.invitation, response_id, criterion_id, value)
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
    chosen, note = check_overall(recommendation, note)
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
    body = check_comment(review.invitation, response_id, at_ms, body)
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
    review.mode = review.invitation.screening.review_mode
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
