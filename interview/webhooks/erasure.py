"""``candidate.deleted``: sent once a purge has committed, with the invitation's id only (never
anything that was deleted, nor the free-text reason staff gave)."""

from __future__ import annotations

from ..extensions import db
from ..models import utcnow
from ..privacy import services as privacy
from . import services as webhooks


@privacy.after_purge
def _candidate_deleted(purged: privacy.Purged) -> None:
    now = utcnow().isoformat()
    for invitation_id in purged.invitation_ids:
        org_id = purged.org_ids.get(invitation_id)
        if org_id is not None:
            data = {"invitation_id": invitation_id, "deleted_at": now}
            webhooks.emit(org_id, "candidate.deleted", data)
    db.session.commit()  # deliveries start after this commit
