"""Transcripts of answers and question videos: their state, and their timed segments."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column

# Made by the migration, not the models (see migrations/env.py, which leaves them out of
# autogenerate): SQLite's FTS5 table (and its shadow tables) and PostgreSQL's GIN index.
SEARCH_STRUCTURES = ("transcript_search", "ix_transcript_segments_search")


def is_search_structure(name: str | None) -> bool:
    return (name or "").startswith(SEARCH_STRUCTURES)


class TranscriptStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Transcript(TimestampMixin, db.Model):
    """One transcript per answer take or per question video (``asset_id``)."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    take_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("takes.id", ondelete="CASCADE"), unique=True
    )
    asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[TranscriptStatus] = mapped_column(
        enum_column(TranscriptStatus), default=TranscriptStatus.QUEUED
    )
    requested_language: Mapped[str | None] = mapped_column(sa.String(16))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    duration_ms: Mapped[int | None] = mapped_column()
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    processing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seconds_taken: Mapped[float | None] = mapped_column(sa.Float)
    model: Mapped[str | None] = mapped_column(sa.String(64))
    # The WebVTT captions (a MediaAsset: of the take for answers, of the question otherwise).
    captions_asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL")
    )

    segments: Mapped[list[TranscriptSegment]] = relationship(
        back_populates="transcript",
        order_by="TranscriptSegment.position",
        # Deleted by the ORM too: SQLite does not enforce the foreign keys' ON DELETE here.
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.CheckConstraint("(take_id IS NOT NULL) OR (asset_id IS NOT NULL)", name="has_source"),
    )


class TranscriptSegment(db.Model):
    """A recognised sentence with its time span and word timings; searched by full text
    (PostgreSQL: a GIN index on to_tsvector; SQLite: the FTS5 table ``transcript_search``,
    both made by the migration)."""

    __tablename__ = "transcript_segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        sa.ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    start_ms: Mapped[int] = mapped_column()
    end_ms: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text)
    # [[start_ms, end_ms, "word"], ...]
    words: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)

    transcript: Mapped[Transcript] = relationship(back_populates="segments")

    __table_args__ = (sa.UniqueConstraint("transcript_id", "position"),)
