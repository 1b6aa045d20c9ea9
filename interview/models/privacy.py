"""Data requests from candidates and staff, and the tombstones of a purge in progress."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, enum_column, utcnow


class DataRequestKind(enum.StrEnum):
    EXPORT = "export"
    DELETION = "deletion"


class DataRequestStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"


class DataRequest(db.Model):
    """A candidate's (or a staff member's) request to export or delete a candidate's data.

    A legal hold lives on the invitation (it also stops the retention sweep); a pending
    deletion of a held candidate shows as "held".
    """

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[DataRequestKind] = mapped_column(enum_column(DataRequestKind))
    status: Mapped[DataRequestStatus] = mapped_column(
        enum_column(DataRequestStatus), default=DataRequestStatus.PENDING, index=True
    )
    # "candidate" or the staff member's role; never a name (it outlives the candidate's data).
    requested_by: Mapped[str] = mapped_column(sa.String(40))
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The legal window: the latest moment the request may be carried out.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PurgeItem(db.Model):
    """A tombstone: a file that must go because the rows that pointed at it are gone.

    Written in the same transaction that removes those rows; deleted once the file is gone,
    so an interrupted purge leaves a list that the next run finishes.
    """

    __tablename__ = "purge_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Plain numbers, not foreign keys: a tombstone must outlive anything it names.
    org_id: Mapped[int | None] = mapped_column()
    invitation_id: Mapped[int | None] = mapped_column(index=True)
    # "storage" (a key in the storage backend) or "path" (a local file or folder).
    kind: Mapped[str] = mapped_column(sa.String(10))
    location: Mapped[str] = mapped_column(sa.String(1000))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
