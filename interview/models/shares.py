"""Share links: a candidate or a shortlist shown to a hiring manager who has no account."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, utcnow
from .candidates import Invitation


class ShareLink(db.Model):
    __tablename__ = "share_links"

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
    # Whom it is for, as the recruiter wrote it ("Dana, hiring manager").
    recipient: Mapped[str] = mapped_column(sa.String(200), default="")
    # Only the SHA-256 of the 256-bit token is kept.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    passcode_hash: Mapped[str | None] = mapped_column(sa.String(255))
    show_scores: Mapped[bool] = mapped_column(default=False)
    allow_download: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    view_count: Mapped[int] = mapped_column(default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()
    candidates: Mapped[list[Invitation]] = relationship(
        secondary="share_link_candidates", order_by="Invitation.id"
    )


class ShareLinkCandidate(db.Model):
    __tablename__ = "share_link_candidates"

    share_id: Mapped[int] = mapped_column(
        sa.ForeignKey("share_links.id", ondelete="CASCADE"), primary_key=True
    )
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True
    )
