"""Take processing rules: storing originals, claiming, queueing, the recovery sweep (the
processing itself, the worker's part, is in ``processing`` and named here as ``process``).

The database is the source of truth. A worker may only work on a take it has *claimed* with a
conditional UPDATE (``uploaded`` → ``processing`` with a fresh claim token), so several workers
on one Redis never process one take at the same time; outputs are written under keys named by
the claim and become visible in one transaction that also checks the claim is still held.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app

from .. import claims, jobs
from ..extensions import db
from ..models import (
    AssetKind,
    InterviewQuestion,
    Invitation,
    JobRun,
    JobStatus,
    MediaAsset,
    Take,
    TakeStatus,
    utcnow,
)
from ..models import Response as KeptAnswer
from . import transcode
from .storage import get_storage

log = logging.getLogger(__name__)

# Sent (with ``take_id``) after a take became ready and was committed. Other areas listen
# (transcripts queue their recognition) without media knowing them.
take_ready = Namespace().signal("take-ready")

JOB_NAME = "process_take"
STILL_TRYING = "processing kept failing"
NO_ORIGINAL = "no recording was uploaded"
# Set by the upload (not by processing), kept when outputs are (re)published.
UPLOAD_FLAGS = ("uploaded_late", "upload_cut_short")

_SUFFIXES = {
    "video/webm": ".webm",
    "audio/webm": ".webm",
    "video/x-matroska": ".mkv",
    "video/mp4": ".mp4",
    "audio/mp4": ".m4a",
    "video/quicktime": ".mov",
}


@dataclass(frozen=True)
class Outcome:
    """What one run of ``process`` did, for the job's log and the tests."""

    take_id: int
    status: str  # "ready", "failed", "skipped"
    detail: str = ""


# --- keys and limits ------------------------------------------------------------------------


def work_dir() -> str:
    """Where media jobs make their work folders (WORK_DIR), created on first use."""
    path = current_app.config["WORK_DIR"]
    os.makedirs(path, exist_ok=True)
    return path


def kept_answer_invitation(take_id: int) -> Invitation | None:
    """The invitation whose kept answer (Response) to a scored question ``take_id`` is; None
    for a practice answer, a take the candidate replaced or discarded, or no take at all.
    Staff watch only kept answers: the candidate was told practice and retaken attempts are
    seen by nobody."""
    return db.session.scalar(
        sa.select(Invitation)
        .join(InterviewQuestion, InterviewQuestion.invitation_id == Invitation.id)
        .join(KeptAnswer, KeptAnswer.question_id == InterviewQuestion.id)
        .where(KeptAnswer.take_id == take_id, InterviewQuestion.is_practice.is_(False))
    )


def take_org_id(take: Take) -> int:
    return take.question.invitation.org_id


def storage_key(take: Take, name: str, suffix: str) -> str:
    """An opaque key: the organisation and take, then a name nobody can guess."""
    return f"orgs/{take_org_id(take)}/takes/{take.id}/{name}{suffix}"


def _output_keys(take: Take, claim_token: str, audio_only: bool) -> tuple[str, str]:
    """Keys of one claim's outputs (known from the token, so a dead claim's can be removed)."""
    return (
        storage_key(take, claim_token, ".m4a" if audio_only else ".mp4"),
        storage_key(take, claim_token, ".jpg"),
    )


def answer_limit_seconds(take: Take) -> float:
    """The longest answer accepted: the question's answer time plus the candidate's
    accommodations (extra seconds and extra percent) plus a grace for network delay."""
    question = take.question
    invitation = question.invitation
    return answer_limit(
        question.answer_seconds, invitation.extra_time_percent, invitation.extra_answer_seconds
    )


def answer_limit(answer_seconds: int, extra_percent: int, extra_seconds: int) -> float:
    """``answer_limit_seconds`` from the three numbers (for a caller that read them with Core)."""
    base = answer_seconds * (1 + extra_percent / 100)
    return base + extra_seconds + current_app.config["MEDIA_GRACE_SECONDS"]


def job_timeout(take: Take) -> int:
    """Seconds a processing job may run: proportional to the longest answer it can get."""
    config = current_app.config
    per_second = config["MEDIA_JOB_SECONDS_PER_SECOND"]
    return int(config["MEDIA_JOB_BASE_TIMEOUT"] + per_second * answer_limit_seconds(take))


def encode_settings() -> transcode.EncodeSettings:
    config = current_app.config
    return transcode.EncodeSettings(
        max_height=config["MEDIA_MAX_HEIGHT"],
        crf=config["MEDIA_CRF"],
        preset=config["MEDIA_PRESET"],
    )


def asset_of(take: Take, kind: AssetKind) -> MediaAsset | None:
    return db.session.scalar(
        sa.select(MediaAsset).where(MediaAsset.take_id == take.id, MediaAsset.kind == kind)
    )


# --- upload hand-over -----------------------------------------------------------------------


class HashedStream(Protocol):
    """A readable stream that hashes the bytes it gives (SHA-256, hex when exhausted)."""

    def read(self, size: int = -1, /) -> bytes: ...
    def seekable(self) -> bool: ...
    def hexdigest(self) -> str: ...


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def store_original(
    take: Take,
    source: str | os.PathLike[str] | HashedStream,
    content_type: str,
    checksum_sha256: str | None = None,
) -> MediaAsset:
    """Put a fully received upload into storage as the take's ORIGINAL asset: from a local
    file (its SHA-256 computed here unless the caller already has it), or streamed from a
    reader that hashes what it gives (an upload's chunks, with no copy in between).

    Adds (or replaces) the asset row in the session; the caller commits, with its own change
    (typically the take becoming ``uploaded``), then calls ``enqueue_processing``.
    """
    if take.id is None:
        db.session.add(take)
        db.session.flush()
    content_type = content_type.split(";")[0].strip().lower() or "application/octet-stream"
    key = storage_key(take, secrets.token_hex(16), _SUFFIXES.get(content_type, ".bin"))
    storage = get_storage()
    if isinstance(source, (str, os.PathLike)):
        size = storage.save_file(key, source)
        checksum_sha256 = checksum_sha256 or _sha256(source)
    else:
        size = storage.save(key, source)
        checksum_sha256 = checksum_sha256 or source.hexdigest()
    asset = asset_of(take, AssetKind.ORIGINAL)
    old_key = asset.storage_key if asset else None
    if asset is None:
        asset = MediaAsset(org_id=take_org_id(take), take=take, kind=AssetKind.ORIGINAL)
        db.session.add(asset)
    asset.storage_key = key
    asset.content_type = content_type
    asset.size_bytes = size
    asset.checksum_sha256 = checksum_sha256
    take.content_type = content_type
    take.checksum_sha256 = asset.checksum_sha256
    db.session.flush()
    if old_key and old_key != key:
        storage.delete(old_key)
    return asset


def enqueue_processing(take: Take) -> JobRun:
    """Queue ``process_take`` for an uploaded take, with a timeout fitted to its length."""
    run = jobs.enqueue(JOB_NAME, take.id, timeout=job_timeout(take))
    # Informational until a worker claims it; never overwrite the id of a claim in progress.
    db.session.execute(
        sa.update(Take)
        .where(Take.id == take.id, Take.status == TakeStatus.UPLOADED)
        .values(rq_job_id=run.rq_job_id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return run


def submit_for_processing(take: Take) -> JobRun:
    """The upload is complete: mark the take ``uploaded`` and queue its processing."""
    if take.status not in (TakeStatus.RECORDING, TakeStatus.UPLOADED):
        raise ValueError(f"take {take.id} is {take.status}, not waiting for processing")
    take.status = TakeStatus.UPLOADED
    db.session.commit()
    return enqueue_processing(take)


# --- claims ---------------------------------------------------------------------------------


TAKES = claims.Claimable(Take, TakeStatus.UPLOADED, TakeStatus.PROCESSING, "processing_attempts")


def claim(take_id: int, job_id: str | None) -> tuple[str | None, str | None]:
    """Take the take for this job (``claims.claim``): (new claim token, token of a dead claim
    taken over); the new token is None when the take is not ours to process."""
    return claims.claim(TAKES, take_id, job_id)


def _held(take_id: int, token: str) -> sa.ColumnElement[bool]:
    return TAKES.held(take_id, token)


def release(take_id: int, token: str) -> None:
    """Give the take back (``uploaded``) after a transient failure, so a retry can claim it."""
    claims.release(TAKES, take_id, token)


def fail(take_id: int, token: str, reason: str) -> bool:
    """Mark the take ``failed`` for good (a recording we cannot accept): no retry."""
    db.session.rollback()
    result = db.session.execute(
        sa.update(Take)
        .where(_held(take_id, token))
        .values(
            status=TakeStatus.FAILED,
            failure_reason=reason,
            claim_token=None,
            processed_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


# --- recovery sweep -------------------------------------------------------------------------


def reconcile_takes(stale_after: timedelta) -> list[Take]:
    """Re-queue takes stuck in ``uploaded`` or ``processing`` for longer than ``stale_after``
    that no queued or running job carries (run ``jobs.reconcile`` first: it re-sends the runs
    Redis lost, and those need nothing more)."""
    cutoff = utcnow() - stale_after
    stuck = db.session.scalars(
        sa.select(Take)
        .where(
            sa.or_(
                sa.and_(Take.status == TakeStatus.UPLOADED, Take.updated_at < cutoff),
                sa.and_(
                    Take.status == TakeStatus.PROCESSING,
                    sa.or_(
                        Take.processing_started_at.is_(None),
                        Take.processing_started_at < cutoff,
                    ),
                ),
            )
        )
        .order_by(Take.id)
    ).all()
    if not stuck:
        return []
    active_runs = db.session.scalars(
        sa.select(JobRun).where(
            JobRun.name == JOB_NAME, JobRun.status.in_([JobStatus.QUEUED, JobStatus.STARTED])
        )
    ).all()
    carried = {run.args[0] for run in active_runs if run.args}
    resent = []
    for take in stuck:
        if take.id in carried:
            continue
        if take.status == TakeStatus.PROCESSING:
            # Its job is gone: give the take back so the new job can claim it.
            db.session.execute(
                sa.update(Take)
                .where(_held(take.id, take.claim_token) if take.claim_token else Take.id == take.id)
                .values(status=TakeStatus.UPLOADED, claim_token=None)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
        log.warning("re-queueing take %s (stuck in %s)", take.id, take.status)
        enqueue_processing(take)
        resent.append(take)
    return resent


# Processing (the worker's part) lives in ``processing``; callers name it here, as before.
from .processing import process  # noqa: E402,F401
