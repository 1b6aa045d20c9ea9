"""Invitations, the interview questions snapshotted for each, takes and chosen responses."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column

if TYPE_CHECKING:
    from .media import MediaAsset
    from .screenings import Question, Screening
    from .transcripts import Transcript


class InvitationStatus(enum.StrEnum):
    INVITED = "invited"
    OPENED = "opened"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXPIRED = "expired"
    REVOKED = "revoked"


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Invitation(TimestampMixin, db.Model):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    candidate_name: Mapped[str] = mapped_column(sa.String(200))
    candidate_email: Mapped[str] = mapped_column(sa.String(254))
    # The link token is HMAC(server key, id + nonce); only the nonce and the token's SHA-256 are
    # stored, so a copy of the database alone reveals no working link.
    token_nonce: Mapped[str] = mapped_column(sa.String(32), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus), default=InvitationStatus.INVITED, index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_ip: Mapped[str | None] = mapped_column(sa.String(45))
    # Accommodations for this candidate.
    extra_time_percent: Mapped[int] = mapped_column(default=0)
    extra_think_seconds: Mapped[int] = mapped_column(default=0)
    extra_answer_seconds: Mapped[int] = mapped_column(default=0)
    extra_retakes: Mapped[int] = mapped_column(default=0)
    audio_only_allowed: Mapped[bool] = mapped_column(default=False)
    # Email delivery and reminders.
    email_status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus), default=EmailStatus.PENDING
    )
    email_error: Mapped[str | None] = mapped_column(sa.Text)
    email_attempts: Mapped[int] = mapped_column(default=0)
    invite_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_start_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_deadline_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The candidate's long-lived "your data" link (export, deletion), derived like the link token.
    data_token_nonce: Mapped[str | None] = mapped_column(sa.String(32))
    data_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Set when the candidate's personal data was purged: the row stays as "Deleted candidate".
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # A legal hold stops deletion (requests and retention) until an admin lifts it.
    legal_hold_reason: Mapped[str | None] = mapped_column(sa.Text)
    legal_hold_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    screening: Mapped[Screening] = relationship()
    questions: Mapped[list[InterviewQuestion]] = relationship(
        back_populates="invitation",
        order_by="InterviewQuestion.position",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.UniqueConstraint("screening_id", "candidate_email"),
        # Review queues list a screening's completed candidates by completion time.
        sa.Index("ix_invitations_screening_completed", "screening_id", "completed_at"),
        sa.CheckConstraint("extra_time_percent BETWEEN 0 AND 300", name="extra_percent_range"),
        sa.CheckConstraint("extra_think_seconds >= 0", name="extra_think_nonnegative"),
        sa.CheckConstraint("extra_answer_seconds >= 0", name="extra_answer_nonnegative"),
        sa.CheckConstraint("extra_retakes BETWEEN 0 AND 10", name="extra_retakes_range"),
    )


class InterviewQuestion(db.Model):
    """A question as it stood when the candidate started: editing the screening never changes it."""

    __tablename__ = "interview_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    source_question_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("questions.id", ondelete="SET NULL")
    )
    position: Mapped[int] = mapped_column()
    prompt: Mapped[str] = mapped_column(sa.Text)
    think_seconds: Mapped[int] = mapped_column()
    answer_seconds: Mapped[int] = mapped_column()
    max_retakes: Mapped[int] = mapped_column()
    is_practice: Mapped[bool] = mapped_column(default=False)
    # The prompt video as it was when the candidate started (kept even if later replaced).
    prompt_video_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL", use_alter=True)
    )
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    invitation: Mapped[Invitation] = relationship(back_populates="questions")
    source_question: Mapped[Question | None] = relationship()
    takes: Mapped[list[Take]] = relationship(
        back_populates="question", order_by="Take.attempt", cascade="all, delete-orphan"
    )
    response: Mapped[Response | None] = relationship(
        back_populates="question", cascade="all, delete-orphan", uselist=False
    )

    __table_args__ = (sa.UniqueConstraint("invitation_id", "position"),)

    @classmethod
    def snapshot(cls, question: Question, position: int) -> InterviewQuestion:
        """A copy of ``question`` as it stands now."""
        return cls(
            source_question_id=question.id,
            position=position,
            prompt=question.prompt,
            think_seconds=question.think_seconds,
            answer_seconds=question.answer_seconds,
            max_retakes=question.max_retakes,
            is_practice=question.is_practice,
            prompt_video_id=question.prompt_video_id,
        )


class TakeStatus(enum.StrEnum):
    RECORDING = "recording"
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Take(TimestampMixin, db.Model):
    """One recording attempt at one interview question."""

    __tablename__ = "takes"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interview_questions.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column()
    status: Mapped[TakeStatus] = mapped_column(
        enum_column(TakeStatus), default=TakeStatus.RECORDING, index=True
    )
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    upload_length: Mapped[int | None] = mapped_column(sa.BigInteger)
    bytes_received: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # tus expiration: a recording upload untouched until then is abandoned (swept). Not
    # indexed: every PATCH moves it, and an indexed column changing makes PostgreSQL write a
    # new entry in every index of the table instead of a HOT update in place; the sweep finds
    # recording takes by ``status``.
    upload_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checksum_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    audio_only: Mapped[bool] = mapped_column(default=False)
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(64))
    processing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Media processing: the worker holding the take (a claim taken by a conditional UPDATE),
    # how many claims were made, and what processing found.
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    processing_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column()
    media_summary: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, default=dict, server_default=sa.text("'{}'")
    )

    question: Mapped[InterviewQuestion] = relationship(back_populates="takes")
    assets: Mapped[list[MediaAsset]] = relationship(
        back_populates="take", cascade="all, delete-orphan"
    )
    # Deleted with the take, with its segments (the captions and sound are among its assets).
    transcript: Mapped[Transcript | None] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("question_id", "attempt"),
        sa.CheckConstraint("bytes_received >= 0", name="bytes_nonnegative"),
    )


class Response(TimestampMixin, db.Model):
    """The take a candidate kept for a question: what reviewers see."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interview_questions.id", ondelete="CASCADE"), unique=True
    )
    take_id: Mapped[int] = mapped_column(sa.ForeignKey("takes.id", ondelete="CASCADE"), unique=True)

    question: Mapped[InterviewQuestion] = relationship(back_populates="response")
    take: Mapped[Take] = relationship()
