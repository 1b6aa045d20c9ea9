"""Final decisions per candidate, and making a screening's decisions final."""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import (
    Decision,
    Invitation,
    InvitationStatus,
    Recommendation,
    Screening,
    User,
    utcnow,
)
from ..webhooks import services as webhooks
from .access import (
    NOTE_MAX,
    ReviewError,
)

# --- decisions --------------------------------------------------------------------------------


def record_decision(invitation: Invitation, outcome: str, note: str, by: User | None) -> Decision:
    """Record (or change) the final decision; ``by`` is None when an API key decides."""
    screening = invitation.screening
    if screening.decisions_final_at is not None:
        raise ReviewError("Decisions on this screening are final. Reopen them to change one.")
    if invitation.status != InvitationStatus.COMPLETED:
        raise ReviewError("Only candidates who completed the interview can be decided on.")
    try:
        chosen = Recommendation(outcome)
    except ValueError:
        raise ReviewError("Choose advance, hold or reject.") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ReviewError(f"The note is too long (at most {NOTE_MAX} characters).")
    decision = db.session.scalar(sa.select(Decision).where(Decision.invitation_id == invitation.id))
    before = decision.outcome.value if decision else None
    if decision is None:
        decision = Decision(invitation_id=invitation.id, outcome=chosen, note=note)
        db.session.add(decision)
    decision.outcome = chosen
    decision.note = note
    decision.decided_by_id = by.id if by else None
    decision.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "decision.record",
        decision,
        org_id=invitation.org_id,
        invitation_id=invitation.id,
        before=before,
        after=chosen.value,
    )
    webhooks.emit_for_invitation(invitation, "decision.recorded", outcome=chosen.value)
    return decision


def clear_decision(invitation: Invitation) -> None:
    if invitation.screening.decisions_final_at is not None:
        raise ReviewError("Decisions on this screening are final. Reopen them to change one.")
    decision = db.session.scalar(sa.select(Decision).where(Decision.invitation_id == invitation.id))
    if decision is not None:
        audit.record(
            "decision.clear",
            decision,
            org_id=invitation.org_id,
            invitation_id=invitation.id,
            before=decision.outcome.value,
        )
        db.session.delete(decision)


def finalise_decisions(screening: Screening) -> None:
    if screening.decisions_final_at is None:
        screening.decisions_final_at = utcnow()
        audit.record("decision.finalise", screening)


def reopen_decisions(screening: Screening) -> None:
    if screening.decisions_final_at is not None:
        screening.decisions_final_at = None
        audit.record("decision.reopen", screening)
