"""Rendered score reports (PDF, CSV) and their render state."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column


class ReportKind(enum.StrEnum):
    CANDIDATE_PDF = "candidate_pdf"
    SCREENING_PDF = "screening_pdf"
    SCREENING_CSV = "screening_csv"


class PageSize(enum.StrEnum):
    """Paper for PDF reports, chosen when the report is requested."""

    A4 = "A4"
    LETTER = "Letter"


class ReportStatus(enum.StrEnum):
    QUEUED = "queued"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"


class Report(TimestampMixin, db.Model):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE")
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[ReportKind] = mapped_column(enum_column(ReportKind))
    status: Mapped[ReportStatus] = mapped_column(
        enum_column(ReportStatus), default=ReportStatus.QUEUED
    )
    page_size: Mapped[PageSize] = mapped_column(
        enum_column(PageSize), default=PageSize.A4, server_default=PageSize.A4.value
    )
    storage_key: Mapped[str | None] = mapped_column(sa.String(255))
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.Text)
    # Fingerprint of the scores the report was rendered from: a mismatch marks it stale.
    scores_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Candidate PDF: each answer's transcript printed under it (a report option).
    with_transcripts: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    __table_args__ = (
        sa.CheckConstraint(
            "(kind != 'candidate_pdf') OR (invitation_id IS NOT NULL)",
            name="candidate_has_invitation",
        ),
    )
