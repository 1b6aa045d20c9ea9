"""CSV imports of candidates: the uploaded file, the job's progress and its results by line."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column
from .screenings import Screening


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class InvitationImport(TimestampMixin, db.Model):
    """One CSV file of candidates to invite, worked through by the ``invitations.import`` job.

    The file is kept in the row (at most ``CSV_MAX_ROWS`` lines), so any worker can run the job
    from the id alone. ``rows_done`` is the job's cursor: each batch of rows commits its
    invitations, their email jobs, its results and the cursor together, so a job that is run
    again (a retry, ``jobs reconcile``) continues where the last one stopped.
    """

    __tablename__ = "invitation_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    status: Mapped[ImportStatus] = mapped_column(
        enum_column(ImportStatus), default=ImportStatus.QUEUED
    )
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    # Results by line: [[line, name, email]], [[line, reason]], [[line, email]].
    invited: Mapped[list] = mapped_column(sa.JSON, default=list)
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    duplicates: Mapped[list] = mapped_column(sa.JSON, default=list)
    error: Mapped[str | None] = mapped_column(sa.Text)  # why the whole file failed
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    screening: Mapped[Screening] = relationship()
