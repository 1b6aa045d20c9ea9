"""Screening rules: listing and loading within the caller's organisation."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Invitation, InvitationStatus, Screening


def org_screenings(org_id: int) -> list[Screening]:
    return list(
        db.session.scalars(
            sa.select(Screening)
            .where(Screening.org_id == org_id)
            .order_by(Screening.created_at.desc())
        )
    )


def funnel(screening: Screening) -> dict[str, int]:
    """Invitation counts by status for one screening."""
    rows = db.session.execute(
        sa.select(Invitation.status, sa.func.count(Invitation.id))
        .where(Invitation.screening_id == screening.id)
        .group_by(Invitation.status)
    ).all()
    counts = {status.value: 0 for status in InvitationStatus}
    counts.update({status.value: n for status, n in rows})
    return counts
