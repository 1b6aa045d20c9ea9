"""Worker claims on a row: which job processes a take (media) or a transcript (speech).

A job takes its row with one conditional UPDATE (waiting -> processing, with a fresh claim
token), so two workers can never process one row at once; every later write of the job is
conditional on its token still holding. A claim whose job is dead (RQ retried it after its work
horse died, ``reconcile`` re-queued the run under a new id, or the run ended) may be taken over.
One rule for both workers; each names its model's columns in a ``Claimable``.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .models import JobRun, JobStatus, utcnow


@dataclass(frozen=True)
class Claimable:
    """A model workers claim: its waiting and processing states and its attempts counter."""

    model: Any
    waiting: enum.Enum
    processing: enum.Enum
    attempts: str  # the column counting claims

    def held(self, row_id: int, token: str) -> sa.ColumnElement[bool]:
        """Still processing under this claim token (the condition of every later write)."""
        model = self.model
        return sa.and_(
            model.id == row_id, model.status == self.processing, model.claim_token == token
        )


def claim_is_dead(row: Any, job_id: str | None) -> bool:
    """May a new job take over this ``processing`` row from whoever claimed it?

    Yes when the claim was made by this very RQ job (RQ retried it after its work horse died),
    when no run carries the claimant's job any more (``reconcile`` re-queued the run under a
    new id: the old one was lost), when that run has ended, or, for a claim without a job id,
    when it is older than MEDIA_STALE_MINUTES.
    """
    if row.rq_job_id is None:
        stale = timedelta(minutes=current_app.config["MEDIA_STALE_MINUTES"])
        started = row.processing_started_at
        return started is None or utcnow() - started > stale
    if job_id is not None and row.rq_job_id == job_id:
        return True
    run = db.session.scalar(sa.select(JobRun).where(JobRun.rq_job_id == row.rq_job_id))
    return run is None or run.status in (JobStatus.FINISHED, JobStatus.FAILED)


def claim(kind: Claimable, row_id: int, job_id: str | None) -> tuple[str | None, str | None]:
    """Take the row for this job with a conditional UPDATE.

    Returns (new claim token, token of a dead claim taken over); the new token is None when the
    row is not ours to process (already processed, or held by a live job).
    """
    model = kind.model
    row = db.session.get(model, row_id)
    if row is None:
        return None, None
    condition = model.status == kind.waiting
    previous = None
    if row.status == kind.processing and claim_is_dead(row, job_id):
        previous = row.claim_token
        same = (
            model.claim_token == previous if previous is not None else model.claim_token.is_(None)
        )
        condition = sa.or_(condition, sa.and_(model.status == kind.processing, same))
    token = secrets.token_hex(16)
    attempts = getattr(model, kind.attempts)
    result = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, condition)
        .values(
            {
                model.status: kind.processing,
                model.claim_token: token,
                model.rq_job_id: job_id,
                model.processing_started_at: utcnow(),
                attempts: attempts + 1,
                model.failure_reason: None,
            }
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.expire_all()
    return (token, previous) if result.rowcount == 1 else (None, None)


def release(kind: Claimable, row_id: int, token: str) -> None:
    """Give the row back (waiting) after a transient failure, so a retry can claim it."""
    db.session.rollback()
    model = kind.model
    db.session.execute(
        sa.update(model)
        .where(kind.held(row_id, token))
        .values({model.status: kind.waiting, model.claim_token: None})
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
