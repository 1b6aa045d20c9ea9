"""Retention: when each candidate's data is due for deletion, and the sweep that deletes it.

A candidate is due ``retention_days`` after completing the interview, or, for an interview
never completed, after the link's expiry (or its revocation, if earlier): so "kept for at most
N days" is literally true. A pending deletion request is due ``DELETION_DELAY_HOURS`` after it
was made (default 0: the next sweep), always within ``DELETION_WINDOW_DAYS``. A legal hold stops
both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import (
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    Invitation,
    JobRun,
    Organization,
    utcnow,
)
from . import purge

SWEEP_JOB = "privacy.sweep"
ID_PAGE = 1000


def retention_starts(invitation: Invitation) -> datetime:
    """The moment the retention clock starts for this candidate."""
    if invitation.completed_at is not None:
        return invitation.completed_at
    if invitation.revoked_at is not None and invitation.revoked_at < invitation.expires_at:
        return invitation.revoked_at
    return invitation.expires_at


def delete_after(invitation: Invitation, org: Organization) -> datetime:
    """When the retention sweep deletes this candidate's data (unless held)."""
    return retention_starts(invitation) + timedelta(days=org.retention_days)


def _retention_due(org: Organization, now: datetime) -> sa.ColumnElement[bool]:
    cutoff = now - timedelta(days=org.retention_days)
    return sa.and_(
        Invitation.org_id == org.id,
        sa.or_(
            Invitation.completed_at <= cutoff,
            sa.and_(
                Invitation.completed_at.is_(None),
                sa.or_(Invitation.expires_at <= cutoff, Invitation.revoked_at <= cutoff),
            ),
        ),
    )


def _request_due(now: datetime) -> sa.ColumnElement[bool]:
    delay = timedelta(hours=current_app.config["DELETION_DELAY_HOURS"])
    return Invitation.id.in_(
        sa.select(DataRequest.invitation_id).where(
            DataRequest.kind == DataRequestKind.DELETION,
            DataRequest.status == DataRequestStatus.PENDING,
            sa.or_(DataRequest.requested_at <= now - delay, DataRequest.due_at <= now),
        )
    )


def _live() -> sa.ColumnElement[bool]:
    return sa.and_(Invitation.deleted_at.is_(None), Invitation.legal_hold_reason.is_(None))


def due_ids(now: datetime | None = None, *, requested: bool = False) -> Iterator[int]:
    """Ids of every candidate the sweep deletes now for retention (or, with ``requested``,
    for a deletion request), read a page at a time (keyset: no long-held cursor)."""
    now = now or utcnow()
    if requested:
        conditions = [_request_due(now)]
    else:
        conditions = [
            _retention_due(org, now) for org in db.session.scalars(sa.select(Organization))
        ]
    if not conditions:
        return
    where = sa.and_(_live(), sa.or_(*conditions))
    last = 0
    while True:
        page = db.session.scalars(
            sa.select(Invitation.id)
            .where(where, Invitation.id > last)
            .order_by(Invitation.id)
            .limit(ID_PAGE)
        ).all()
        if not page:
            return
        yield from page
        last = page[-1]


@dataclass
class DryRunRow:
    invitation: Invitation
    why: str  # "retention" or "deletion request"
    due_since: datetime


def dry_run(org: Organization, now: datetime | None = None, limit: int = 200) -> list[DryRunRow]:
    """What the next sweep will delete in ``org`` (nothing is changed)."""
    now = now or utcnow()
    requested = set(
        db.session.scalars(
            sa.select(Invitation.id).where(Invitation.org_id == org.id, _live(), _request_due(now))
        )
    )
    rows = []
    for invitation in db.session.scalars(
        sa.select(Invitation)
        .where(
            _live(),
            Invitation.org_id == org.id,
            sa.or_(_retention_due(org, now), _request_due(now)),
        )
        .order_by(Invitation.id)
        .limit(limit)
    ):
        if invitation.id in requested:
            rows.append(DryRunRow(invitation, "deletion request", now))
        else:
            rows.append(DryRunRow(invitation, "retention", delete_after(invitation, org)))
    return rows


def last_sweep() -> JobRun | None:
    return db.session.scalar(
        sa.select(JobRun)
        .where(JobRun.name == SWEEP_JOB)
        .order_by(JobRun.enqueued_at.desc())
        .limit(1)
    )


def next_sweep_at(now: datetime | None = None) -> datetime:
    """When the scheduler queues the next sweep (now, if one is overdue)."""
    now = now or utcnow()
    last = last_sweep()
    if last is None:
        return now
    return max(now, last.enqueued_at + timedelta(hours=current_app.config["PRIVACY_SWEEP_HOURS"]))


def sweep_is_due(now: datetime | None = None) -> bool:
    now = now or utcnow()
    return next_sweep_at(now) <= now


@dataclass
class SweepResult:
    purged: int
    skipped: int
    files_deleted: int
    files_failed: int


def sweep(now: datetime | None = None) -> SweepResult:
    """Delete every candidate that is due (batched: one transaction per batch)."""
    now = now or utcnow()
    report = purge.purge(
        list(due_ids(now, requested=True)), reason="deletion request", source="sweep"
    )
    more = purge.purge(list(due_ids(now)), reason="retention period over", source="sweep")
    report.purged += more.purged
    report.skipped += more.skipped
    report.files_deleted += more.files_deleted
    report.files_failed += more.files_failed
    return SweepResult(
        len(report.purged), len(report.skipped), report.files_deleted, report.files_failed
    )
