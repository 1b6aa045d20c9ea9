"""Files derived from takes (and question prompts), kept through the storage interface."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from .candidates import Take


class AssetKind(enum.StrEnum):
    ORIGINAL = "original"
    MP4 = "mp4"
    POSTER = "poster"
    PROMPT_VIDEO = "prompt_video"
    CAPTIONS = "captions"  # WebVTT made from the transcript
    AUDIO = "audio"  # the answer's sound alone, for audio-only and transcript-first review


class MediaAsset(TimestampMixin, db.Model):
    __tablename__ = "media_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    take_id: Mapped[int | None] = mapped_column(sa.ForeignKey("takes.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("questions.id", ondelete="CASCADE")
    )
    kind: Mapped[AssetKind] = mapped_column(enum_column(AssetKind))
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    duration_ms: Mapped[int | None] = mapped_column()
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    video_codec: Mapped[str | None] = mapped_column(sa.String(40))
    audio_codec: Mapped[str | None] = mapped_column(sa.String(40))
    checksum_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    take: Mapped[Take | None] = relationship(back_populates="assets")

    __table_args__ = (
        # One asset of each kind per take: reprocessing replaces, never duplicates.
        sa.UniqueConstraint("take_id", "kind"),
        sa.CheckConstraint("(take_id IS NOT NULL) OR (question_id IS NOT NULL)", name="has_owner"),
        sa.CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    )


class UploadChunk(db.Model):
    """One acknowledged PATCH of a tus upload, stored as its own object in media storage.

    The row is written in the same transaction as the conditional UPDATE that claimed its
    range on the take, so the rows of a take tile ``[0, bytes_received)`` exactly; an object
    without a row (a PATCH that lost the race or a node that died) is never read.
    """

    __tablename__ = "upload_chunks"

    take_id: Mapped[int] = mapped_column(
        sa.ForeignKey("takes.id", ondelete="CASCADE"), primary_key=True
    )
    offset: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    length: Mapped[int] = mapped_column(sa.BigInteger)
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (sa.CheckConstraint("length > 0", name="length_positive"),)
