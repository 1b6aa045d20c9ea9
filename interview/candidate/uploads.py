"""Resumable uploads of takes: the server side of tus 1.0 (core, creation,
creation-defer-length, termination).

Bytes go to a staging file under UPLOAD_STAGING_DIR, appended at the offset the server
acknowledged and flushed to disk before it is acknowledged. When the last byte arrives the file
moves into media storage, the take becomes ``uploaded`` and its processing job is queued.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from werkzeug.exceptions import ClientDisconnected

from .. import audit
from ..extensions import db
from ..media import services as media
from ..models import InterviewQuestion, Invitation, Response, Take, TakeStatus, utcnow
from ..privacy import catalogue
from ..privacy import services as privacy
from ..privacy.services import StoredFile
from .services import finish_grace

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-defer-length,termination"
CHUNK = 256 * 1024
RETRY_AFTER_SECONDS = 30  # what a full disk asks the client to wait before it resumes


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` at the file's position (a short write is continued)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class TusError(Exception):
    """A tus request refused with an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds, for a refusal the client should retry later


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated "key base64value" pairs."""
    result: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            result[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError) as error:
            raise TusError(400, f"Upload-Metadata value for {key!r} is not base64") from error
    return result


def parse_length(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise TusError(400, f"{name} must be a non-negative integer")
    return int(value)


def staging_path(take: Take) -> Path:
    return _staging_file(take.id)


def _staging_file(take_id: int) -> Path:
    return Path(current_app.config["UPLOAD_STAGING_DIR"]) / f"take-{take_id}.part"


def staged_files(invitation_ids: Sequence[int]) -> list[StoredFile]:
    """Partial uploads of these candidates (the privacy purge deletes them). The one place
    that knows where staged bytes live, besides ``staging_path``."""
    found = []
    for take_id in catalogue.take_ids(invitation_ids):
        path = _staging_file(take_id)
        if path.exists():
            found.append(StoredFile("path", str(path)))
    return found


privacy.register("upload staging", files=staged_files)


def close_stuck_recordings(now: datetime | None = None) -> int:
    """Close takes still ``recording`` after their interview's deadline plus the finish grace.

    Nothing recorded is lost: bytes that arrived are filed as the answer (processed like any
    other; the question's kept answer if it has none); a take with no bytes is failed.
    """
    now = now or utcnow()
    stuck = db.session.scalars(
        sa.select(Take)
        .join(InterviewQuestion, InterviewQuestion.id == Take.question_id)
        .join(Invitation, Invitation.id == InterviewQuestion.invitation_id)
        .where(
            Take.status == TakeStatus.RECORDING,
            Invitation.expires_at < now - finish_grace(),
            Invitation.deleted_at.is_(None),
        )
    ).all()
    closed = 0
    for take in stuck:
        with _locked(take):
            db.session.refresh(take)
            if take.status != TakeStatus.RECORDING:
                continue
            path = staging_path(take)
            if take.bytes_received > 0 and path.stat().st_size >= take.bytes_received:
                os.truncate(path, take.bytes_received)  # only acknowledged bytes count
                take.upload_length = take.bytes_received
                take.flags = [*(take.flags or []), "closed_after_deadline"]
                question = take.question
                if question.response is None and not question.is_practice:
                    db.session.add(Response(question_id=question.id, take_id=take.id))
                _complete(take)  # commits
            else:
                take.status = TakeStatus.FAILED
                take.failure_reason = "the recording never arrived"
                take.finished_at = now
                db.session.commit()
                path.unlink(missing_ok=True)
        closed += 1
    return closed


@contextmanager
def _locked(take: Take) -> Iterator[BinaryIO]:
    """The staging file, opened for writing and locked against a concurrent PATCH."""
    path = staging_path(take)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b", buffering=0) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def append(
    take: Take, stream: BinaryIO, offset: int, declared_length: int | None, body_length: int | None
) -> int:
    """Append the request body at ``offset``; returns the new offset (bytes durable on disk)."""
    cap = current_app.config["MAX_TAKE_BYTES"]
    if take.status != TakeStatus.RECORDING:  # before touching the staging directory
        raise TusError(409 if take.status in media_done() else 404, "upload is closed")
    with _locked(take) as handle:
        db.session.refresh(take)  # the offset as the last writer left it
        if take.status != TakeStatus.RECORDING:
            raise TusError(409 if take.status in media_done() else 404, "upload is closed")
        if offset != take.bytes_received:
            raise TusError(409, f"offset mismatch: the server has {take.bytes_received} bytes")
        if declared_length is not None:
            if take.upload_length is not None and declared_length != take.upload_length:
                raise TusError(400, "Upload-Length cannot change once set")
            if declared_length > cap:
                raise TusError(413, "the recording is larger than the limit")
            if declared_length < offset:
                raise TusError(400, "Upload-Length is smaller than what was received")
            take.upload_length = declared_length
        limit = take.upload_length if take.upload_length is not None else cap
        if body_length is not None and offset + body_length > limit:
            raise TusError(413, "the chunk goes past the end of the upload or the size limit")
        handle.seek(offset)
        handle.truncate()  # drop any bytes a broken earlier request left past the offset
        written = 0
        disconnected = False
        disk_error: OSError | None = None
        while True:
            try:
                block = stream.read(CHUNK)
            except (ClientDisconnected, OSError):
                # The connection dropped mid-chunk: keep what arrived, the client resumes from it.
                disconnected = True
                break
            if not block:
                break
            if offset + written + len(block) > limit:
                raise TusError(413, "the recording is larger than the limit")
            try:
                write_all(handle.fileno(), block)
            except OSError as error:
                disk_error = error
                break
            written += len(block)
        if disk_error is None:
            try:
                os.fsync(handle.fileno())
            except OSError as error:  # nothing written since the last sync is known to be safe
                disk_error, written = error, 0
        if disk_error is not None:
            # Disk full (or failing): acknowledge only whole blocks that reached the disk and
            # drop the torn one, so the staging file never holds bytes the offset does not count.
            with suppress(OSError):  # the next PATCH truncates at its offset anyway
                os.ftruncate(handle.fileno(), offset + written)
                os.fsync(handle.fileno())
        take.bytes_received = offset + written
        take.question.invitation.last_activity_at = utcnow()
        db.session.commit()
        if disk_error is not None:
            current_app.logger.error(
                "take %s: staging write failed at %s: %s", take.id, offset + written, disk_error
            )
            raise TusError(
                507,
                "the server cannot store more right now; resume from Upload-Offset later",
                retry_after=RETRY_AFTER_SECONDS,
            )
        if disconnected:
            raise TusError(400, "the connection dropped; resume from Upload-Offset")
        if take.upload_length is not None and take.bytes_received == take.upload_length:
            _complete_or_retry_later(take)
        return take.bytes_received


def finish_if_complete(take: Take) -> None:
    """Complete a take whose every byte is here but whose completion failed (storage error)."""
    if (
        take.status == TakeStatus.RECORDING
        and take.upload_length is not None
        and take.bytes_received == take.upload_length
    ):
        with _locked(take):
            db.session.refresh(take)
            if take.status == TakeStatus.RECORDING:
                _complete_or_retry_later(take)


def media_done() -> tuple[TakeStatus, ...]:
    return (TakeStatus.UPLOADED, TakeStatus.PROCESSING, TakeStatus.READY)


def _complete_or_retry_later(take: Take) -> None:
    """``_complete``, or a 503 the client retries when storage is full or down: every byte is
    safe in staging, the take stays ``recording``, and the next HEAD or PATCH completes it."""
    try:
        _complete(take)
    except OSError as error:
        db.session.rollback()
        current_app.logger.error("take %s: completion failed: %s", take.id, error)
        raise TusError(
            503,
            "every byte arrived but could not be filed yet; check again later",
            retry_after=RETRY_AFTER_SECONDS,
        ) from error


def _complete(take: Take) -> None:
    """Every byte is here: into storage, ``uploaded``, processing queued; staging removed."""
    path = staging_path(take)
    media.store_original(take, path, take.content_type or "application/octet-stream")
    take.finished_at = utcnow()
    if take.started_at is not None:
        limit = media.answer_limit_seconds(take) + current_app.config["LATE_UPLOAD_SLACK_SECONDS"]
        if (take.finished_at - take.started_at).total_seconds() > limit:
            # Bytes recorded in time may arrive late (a dropped connection), so this is a flag
            # for reviewers, not a refusal; the recording's own length is checked in processing.
            take.flags = [*(take.flags or []), "uploaded_late"]
    audit.record(
        "take.uploaded",
        take.question.invitation,
        actor_label="candidate",
        take_id=take.id,
        bytes=take.bytes_received,
        sha256=take.checksum_sha256,
    )
    media.submit_for_processing(take)  # commits
    path.unlink(missing_ok=True)


def terminate(take: Take) -> None:
    """tus termination: the candidate discarded this recording (it still used an attempt)."""
    if take.status != TakeStatus.RECORDING:
        raise TusError(409, "only a recording in progress can be discarded")
    with _locked(take):
        db.session.refresh(take)  # a final PATCH may have completed it meanwhile
        if take.status != TakeStatus.RECORDING:
            raise TusError(409, "only a recording in progress can be discarded")
        take.status = TakeStatus.FAILED
        take.failure_reason = "discarded by the candidate"
        take.finished_at = utcnow()
        db.session.commit()
    staging_path(take).unlink(missing_ok=True)
    audit.record(
        "take.discarded", take.question.invitation, actor_label="candidate", take_id=take.id
    )
    db.session.commit()
