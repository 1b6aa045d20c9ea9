"""Screenings: their questions and the rubric reviewers score against."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column

if TYPE_CHECKING:
    from .accounts import Organization, User
    from .media import MediaAsset

# Limits the server enforces on a question (the forms show the same ranges).
THINK_SECONDS_MAX = 600
ANSWER_SECONDS_MIN = 15
ANSWER_SECONDS_MAX = 600
RETAKES_MAX = 5
SCALE = (1, 2, 3, 4, 5)


class ScreeningStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class ReviewMode(enum.StrEnum):
    """What reviewers get before they submit: the video, its sound alone, or the transcript."""

    VIDEO = "video"
    AUDIO = "audio"
    TRANSCRIPT = "transcript"


class Screening(TimestampMixin, db.Model):
    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    role_description: Mapped[str] = mapped_column(sa.Text, default="")
    intro: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ScreeningStatus] = mapped_column(
        enum_column(ScreeningStatus), default=ScreeningStatus.DRAFT
    )
    # Deadline policy: an invitation expires this many days after it is sent.
    deadline_days: Mapped[int] = mapped_column(default=7)
    is_template: Mapped[bool] = mapped_column(default=False)
    # Review fairness settings.
    blind_review: Mapped[bool] = mapped_column(default=True)
    anonymize_candidates: Mapped[bool] = mapped_column(default=False)
    # The language of the candidate's pages and emails (a code of interview.languages.LANGUAGES).
    language: Mapped[str] = mapped_column(sa.String(8), default="en", server_default="en")
    review_mode: Mapped[ReviewMode] = mapped_column(
        enum_column(ReviewMode), default=ReviewMode.VIDEO, server_default=ReviewMode.VIDEO.value
    )
    # Language of the answers for speech recognition (ISO 639-1); None: detect per answer.
    answer_language: Mapped[str | None] = mapped_column(sa.String(8))
    # Once set, decisions are final: reviewers can no longer reopen or change their reviews.
    decisions_final_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[User | None] = relationship()
    questions: Mapped[list[Question]] = relationship(
        back_populates="screening",
        order_by="Question.position",
        cascade="all, delete-orphan",
    )
    rubric: Mapped[Rubric | None] = relationship(
        back_populates="screening", cascade="all, delete-orphan", uselist=False
    )

    __table_args__ = (
        sa.CheckConstraint("deadline_days BETWEEN 1 AND 365", name="deadline_days_range"),
    )

    @property
    def scored_questions(self) -> list[Question]:
        return [q for q in self.questions if not q.is_practice]

    @property
    def estimated_seconds(self) -> int:
        """Worst-case time for the whole interview: think + answer for every attempt allowed."""
        return sum(q.think_seconds + q.answer_seconds for q in self.questions)


class Question(TimestampMixin, db.Model):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    prompt: Mapped[str] = mapped_column(sa.Text)
    # 0 means "start when ready"; otherwise recording starts by itself after N seconds.
    think_seconds: Mapped[int] = mapped_column(default=30)
    answer_seconds: Mapped[int] = mapped_column(default=120)
    max_retakes: Mapped[int] = mapped_column(default=1)
    is_practice: Mapped[bool] = mapped_column(default=False)
    # An optional short video of the recruiter asking the question.
    prompt_video_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL", use_alter=True)
    )

    screening: Mapped[Screening] = relationship(back_populates="questions")
    prompt_video: Mapped[MediaAsset | None] = relationship(foreign_keys=[prompt_video_id])

    __table_args__ = (
        sa.CheckConstraint(f"think_seconds BETWEEN 0 AND {THINK_SECONDS_MAX}", name="think_range"),
        sa.CheckConstraint(
            f"answer_seconds BETWEEN {ANSWER_SECONDS_MIN} AND {ANSWER_SECONDS_MAX}",
            name="answer_range",
        ),
        sa.CheckConstraint(f"max_retakes BETWEEN 0 AND {RETAKES_MAX}", name="retakes_range"),
        sa.CheckConstraint("position >= 0", name="position_nonnegative"),
    )


class Rubric(TimestampMixin, db.Model):
    __tablename__ = "rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(sa.String(200), default="Rubric")
    # Bumped when criteria change after scoring began, so old scores are never recomputed silently.
    version: Mapped[int] = mapped_column(default=1)

    screening: Mapped[Screening] = relationship(back_populates="rubric")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="rubric", order_by="Criterion.position", cascade="all, delete-orphan"
    )


class Criterion(TimestampMixin, db.Model):
    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rubrics.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[float] = mapped_column(sa.Float, default=1.0)
    # Anchored descriptions for each level of the 1–5 scale.
    level_1: Mapped[str] = mapped_column(sa.Text, default="")
    level_2: Mapped[str] = mapped_column(sa.Text, default="")
    level_3: Mapped[str] = mapped_column(sa.Text, default="")
    level_4: Mapped[str] = mapped_column(sa.Text, default="")
    level_5: Mapped[str] = mapped_column(sa.Text, default="")

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")

    __table_args__ = (sa.CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"),)

    @property
    def levels(self) -> list[tuple[int, str]]:
        return [(n, getattr(self, f"level_{n}")) for n in SCALE]
