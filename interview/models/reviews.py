"""Reviewer assignments, reviews with per-criterion scores, comments and final decisions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column
from .screenings import ReviewMode

if TYPE_CHECKING:
    from .accounts import User
    from .candidates import Invitation, Response
    from .screenings import Criterion


class Recommendation(enum.StrEnum):
    ADVANCE = "advance"
    HOLD = "hold"
    REJECT = "reject"


class ReviewStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


class ReviewAssignment(TimestampMixin, db.Model):
    """A reviewer assigned to a whole screening (invitation_id NULL) or to one candidate."""

    __tablename__ = "review_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE")
    )

    reviewer: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("screening_id", "reviewer_id", "invitation_id"),
        sa.Index("ix_review_assignments_reviewer_id", "reviewer_id"),
    )


class Review(TimestampMixin, db.Model):
    """One reviewer's review of one candidate."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[ReviewStatus] = mapped_column(
        enum_column(ReviewStatus), default=ReviewStatus.IN_PROGRESS
    )
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    rubric_version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The screening's review mode when this review was submitted (agreement is shown per mode).
    mode: Mapped[ReviewMode] = mapped_column(
        enum_column(ReviewMode), default=ReviewMode.VIDEO, server_default=ReviewMode.VIDEO.value
    )
    # Kept in step with the scores on every change (services.recompute): the sum of this
    # reviewer's weighted response scores and how many responses have one, so queues can sort
    # and average 10,000 candidates without reading every score.
    score_sum: Mapped[float] = mapped_column(sa.Float, default=0.0, server_default="0")
    responses_scored: Mapped[int] = mapped_column(default=0, server_default="0")

    invitation: Mapped[Invitation] = relationship()
    reviewer: Mapped[User] = relationship()
    scores: Mapped[list[Score]] = relationship(
        back_populates="review", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("invitation_id", "reviewer_id"),
        sa.Index("ix_reviews_reviewer_id", "reviewer_id"),
    )

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.responses_scored if self.responses_scored else None


class Score(TimestampMixin, db.Model):
    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column()

    review: Mapped[Review] = relationship(back_populates="scores")
    response: Mapped[Response] = relationship()
    criterion: Mapped[Criterion] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("review_id", "response_id", "criterion_id"),
        sa.CheckConstraint("value BETWEEN 1 AND 5", name="value_range"),
    )


class Comment(TimestampMixin, db.Model):
    """A reviewer's note tied to a moment of an answer."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id", ondelete="CASCADE"))
    at_ms: Mapped[int | None] = mapped_column()
    body: Mapped[str] = mapped_column(sa.Text)

    review: Mapped[Review] = relationship()

    __table_args__ = (
        sa.CheckConstraint("at_ms IS NULL OR at_ms >= 0", name="at_nonnegative"),
        sa.Index("ix_comments_review_id", "review_id"),
    )


class Decision(TimestampMixin, db.Model):
    """The organisation's final decision on a candidate."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE"), unique=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    outcome: Mapped[Recommendation] = mapped_column(enum_column(Recommendation))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    decided_by: Mapped[User | None] = relationship()
