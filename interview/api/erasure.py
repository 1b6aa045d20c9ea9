"""The API's stored replies in the privacy purge: an ``Idempotency-Key`` keeps the response it
answered (an invitation's name and email, say) for replays, so a candidate's deletion removes
every stored reply that names them. Runs before the candidate's own row loses its email."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import IdempotentRequest, Invitation
from ..privacy import services as privacy
from ..privacy.services import ErasePolicy


def _erase(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    emails = db.session.scalars(
        sa.select(Invitation.candidate_email).where(Invitation.id.in_(invitation_ids))
    ).all()
    body = sa.cast(IdempotentRequest.body, sa.Text)
    for email in emails:
        db.session.execute(
            sa.delete(IdempotentRequest)
            .where(body.contains(email, autoescape=True))
            .execution_options(synchronize_session=False)
        )


privacy.register("API replies kept for Idempotency-Key", erase=_erase, order=15)
