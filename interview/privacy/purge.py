"""The purge: the one way a candidate's data is deleted (sweep, candidate request, staff).

Crash-safe and idempotent, in two steps:

1. One transaction per batch writes a tombstone (``PurgeItem``) for every file about the
   candidates, then erases and anonymises their rows (``services.erase_all``) and records the
   deletion. Until it commits nothing has changed; once it commits no row points at a file that
   is about to go, and every such file is listed.
2. Storage deletes follow, tombstone by tombstone; each tombstone is removed once its file is
   gone. An interrupted step 2 (killed worker, storage error) is finished by the next run, which
   always drains the tombstones first.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from .. import audit
from ..extensions import db
from ..media.storage import StorageError, get_storage
from ..models import (
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    Invitation,
    Organization,
    PurgeItem,
    User,
    utcnow,
)
from . import catalogue as _catalogue  # noqa: F401 (importing it registers the core parts)
from . import services
from .services import ErasePolicy, Purged

log = logging.getLogger(__name__)

DRAIN_BATCH = 500


class PurgeRefused(Exception):
    """A purge that a rule forbids (a legal hold); the message is shown to the person."""


@dataclass
class PurgeReport:
    purged: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # held, or deleted already
    files_deleted: int = 0
    files_failed: int = 0


def _chunks(values: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def purge(
    invitation_ids: Sequence[int],
    *,
    reason: str,
    actor: User | None = None,
    source: str = "system",
) -> PurgeReport:
    """Delete everything about these candidates (held or already deleted ones are skipped).

    ``reason`` is what the audit log keeps ("retention", "candidate request", a staff note);
    never the candidate's data.
    """
    report = PurgeReport()
    drain(report)  # an earlier interrupted purge first
    batch = current_app.config["PRIVACY_PURGE_BATCH"]
    for chunk in _chunks(sorted(set(invitation_ids)), batch):
        purged = _purge_batch(chunk, reason=reason, actor=actor, source=source)
        report.purged.extend(purged.invitation_ids)
        report.skipped.extend(sorted(set(chunk) - set(purged.invitation_ids)))
        drain(report)
        if purged.invitation_ids:
            services.run_after_purge(purged)
    return report


def _purge_batch(ids: list[int], *, reason: str, actor: User | None, source: str) -> Purged:
    rows = db.session.execute(
        sa.select(Invitation.id, Invitation.org_id, Invitation.screening_id)
        .where(
            Invitation.id.in_(ids),
            Invitation.deleted_at.is_(None),
            Invitation.legal_hold_reason.is_(None),
        )
        # Two purges of one candidate at once: the second waits, then finds it deleted.
        .with_for_update()
    ).all()
    purged = Purged([r.id for r in rows], {r.id: r.org_id for r in rows}, set(), reason)
    if not rows:
        db.session.rollback()
        return purged
    purged.screening_ids.update(r.screening_id for r in rows)
    by_org: dict[int, list[int]] = {}
    for row in rows:
        by_org.setdefault(row.org_id, []).append(row.id)
    try:
        for org_id, org_ids in by_org.items():
            org = db.session.get(Organization, org_id)
            files = services.files_about(org_ids)
            if files:
                db.session.execute(
                    sa.insert(PurgeItem),
                    [
                        {
                            "org_id": org_id,
                            "invitation_id": None,
                            "kind": f.kind,
                            "location": f.location,
                            "attempts": 0,
                            "created_at": utcnow(),
                        }
                        for f in files
                    ],
                )
            services.erase_all(org_ids, ErasePolicy(org.keep_anonymous_scores))
            now = utcnow()
            db.session.execute(
                sa.update(DataRequest)
                .where(
                    DataRequest.invitation_id.in_(org_ids),
                    DataRequest.kind == DataRequestKind.DELETION,
                    DataRequest.status == DataRequestStatus.PENDING,
                )
                .values(status=DataRequestStatus.DONE, done_at=now)
                .execution_options(synchronize_session=False)
            )
            for invitation_id in org_ids:
                # That a deletion happened, by whom and why; nothing that was deleted.
                event = audit.record(
                    "candidate.deleted",
                    None,
                    actor=actor,
                    org_id=org_id,
                    actor_label=actor.email if actor else source,
                    reason=reason,
                    source=source,
                    scores_kept=org.keep_anonymous_scores,
                )
                event.object_type, event.object_id = "Invitation", invitation_id
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    db.session.expire_all()  # rows changed behind the ORM (bulk statements)
    log.info("purged %d candidate(s) (%s)", len(rows), reason)
    return purged


def drain(report: PurgeReport | None = None, *, limit: int | None = None) -> PurgeReport:
    """Delete the files the tombstones list; remove each tombstone once its file is gone."""
    report = report or PurgeReport()
    storage = get_storage()
    done_total = 0
    last_id = 0
    while limit is None or done_total < limit:
        items = db.session.scalars(
            sa.select(PurgeItem)
            .where(PurgeItem.id > last_id)
            .order_by(PurgeItem.id)
            .limit(DRAIN_BATCH)
        ).all()
        if not items:
            break
        last_id = items[-1].id
        gone: list[int] = []
        storage_items = [i for i in items if i.kind == "storage"]
        try:
            _delete_keys(storage, [i.location for i in storage_items])
            gone.extend(i.id for i in storage_items)
        except StorageError as error:
            for item in storage_items:
                item.attempts += 1
                item.last_error = str(error)[:1000]
            report.files_failed += len(storage_items)
            log.warning(
                "purge: %d storage deletes failed, kept for the next run: %s",
                len(storage_items),
                error,
            )
        for item in items:
            if item.kind != "storage":
                try:
                    _delete_path(Path(item.location))
                    gone.append(item.id)
                except OSError as error:
                    item.attempts += 1
                    item.last_error = str(error)[:1000]
                    report.files_failed += 1
        if gone:
            db.session.execute(
                sa.delete(PurgeItem)
                .where(PurgeItem.id.in_(gone))
                .execution_options(synchronize_session=False)
            )
        db.session.commit()
        report.files_deleted += len(gone)
        done_total += len(items)
    return report


def _delete_keys(storage, keys: list[str]) -> None:
    if not keys:
        return
    delete_many = getattr(storage, "delete_many", None)
    if delete_many is not None:
        delete_many(keys)
    else:
        for key in keys:
            storage.delete(key)


def _delete_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def pending_tombstones() -> int:
    return db.session.scalar(sa.select(sa.func.count(PurgeItem.id))) or 0
