"""Uploads in flight: every acknowledged PATCH is its own object in media storage.

No web node keeps anything of an upload: the take row holds the offset, an ``UploadChunk`` row
(written in the transaction that claimed the range) names the object holding each range, and
any node or worker that reaches the database and the storage backend can continue the upload
or assemble the answer. Objects without a row (a PATCH that lost a race, a node killed before
its claim) are never read, and the sweep removes what abandoned uploads left behind.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import IO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    AssetKind,
    InterviewQuestion,
    MediaAsset,
    Take,
    TakeStatus,
    UploadChunk,
    utcnow,
)
from .services import asset_of, enqueue_processing, store_original
from .storage import Storage, StorageError, get_storage

log = logging.getLogger(__name__)

ABANDONED = "the upload was abandoned before it finished"
_READ = 1024 * 1024


class ChunksIncomplete(StorageError):
    """The chunk rows of a take do not cover every byte it acknowledged."""


def chunk_key(org_id: int, take_id: int, offset: int) -> str:
    """Where one PATCH's bytes go: by take and offset, plus a nonce so two racing PATCHes at
    one offset never write the same object (only the one whose claim won gets a row)."""
    return f"orgs/{org_id}/takes/{take_id}/upload/{offset:015d}-{secrets.token_hex(8)}.part"


def chunks_of(take_id: int) -> list[UploadChunk]:
    return list(
        db.session.scalars(
            sa.select(UploadChunk)
            .where(UploadChunk.take_id == take_id)
            .order_by(UploadChunk.offset)
        )
    )


class ChunkStream:
    """The chunks of one take read in order as one stream, hashed (SHA-256) as they are read:
    the original is written straight from the chunks into storage, with no copy in between.
    Counts the bytes it gave, so a chunk object shorter or longer than its row is caught."""

    def __init__(self, storage: Storage, keys: list[str]) -> None:
        self._storage = storage  # (read from S3's transfer threads, outside the app context)
        self._keys = iter(keys)
        self._source: IO[bytes] | None = None
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        """``size`` bytes, fewer only at the end, as a file gives them (S3's transfer manager
        takes a short read for the end of the stream)."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_READ), b""))
        parts: list[bytes] = []
        while size > 0:
            block = self._next(size)
            if not block:
                break
            parts.append(block)
            size -= len(block)
        return b"".join(parts)  # one part: that part itself, not a copy

    def _next(self, size: int) -> bytes:
        while True:
            if self._source is None:
                key = next(self._keys, None)
                if key is None:
                    return b""
                self._source = self._storage.open(key)
            block = self._source.read(size)
            if block:
                self._digest.update(block)
                self.size += len(block)
                return block
            self.close()

    def seekable(self) -> bool:
        return False

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None


def assemble(take: Take) -> MediaAsset:
    """The take's ORIGINAL, streamed from its chunks into storage in one pass that also
    computes its SHA-256, then the chunks are removed. Idempotent: an original already made is
    returned as it is (a second assembler racing this one loses on the one-original-per-take
    constraint)."""
    existing = asset_of(take, AssetKind.ORIGINAL)
    chunks = chunks_of(take.id)
    if existing is not None:
        discard_chunks([take.id])  # left over by an assembler that stopped after its commit
        return existing
    expected = 0
    for chunk in chunks:
        if chunk.offset != expected:
            raise ChunksIncomplete(f"take {take.id}: no chunk at offset {expected}")
        expected += chunk.length
    if expected != take.bytes_received:
        raise ChunksIncomplete(f"take {take.id}: chunks hold {expected} of {take.bytes_received}")
    storage = get_storage()
    keys = [chunk.storage_key for chunk in chunks]
    stream = ChunkStream(storage, keys)
    try:
        asset = store_original(take, stream, take.content_type or "application/octet-stream")
    finally:
        stream.close()
    if stream.size != expected:  # a chunk object is not the length its row says
        storage.delete(asset.storage_key)
        db.session.rollback()
        raise ChunksIncomplete(f"take {take.id}: chunk objects hold {stream.size} of {expected}")
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        storage.delete(asset.storage_key)
        winner = asset_of(take, AssetKind.ORIGINAL)
        if winner is None:
            raise
        return winner
    _discard([take.id], keys)
    return asset


def assemble_pending(take_id: int) -> None:
    """For the worker: assemble a complete take whose web node did not (it died after the
    acknowledgement); an upload whose chunks cannot cover it is left for processing to fail."""
    take = db.session.get(Take, take_id)
    if take is None or take.status not in (TakeStatus.UPLOADED, TakeStatus.PROCESSING):
        return
    try:
        assemble(take)
    except ChunksIncomplete as error:
        db.session.rollback()
        log.error("%s", error)


def discard_chunks(take_ids: Iterable[int]) -> int:
    """Remove the chunk objects, then their rows, of these takes; returns how many went."""
    ids = list(take_ids)
    if not ids:
        return 0
    keys = db.session.scalars(
        sa.select(UploadChunk.storage_key).where(UploadChunk.take_id.in_(ids))
    ).all()
    return _discard(ids, list(keys))


def _discard(take_ids: list[int], keys: list[str]) -> int:
    """Objects first (one request per thousand on S3), then rows: a crash in between leaves
    rows naming missing objects (harmless, and the next sweep removes them), never objects
    nobody knows about."""
    get_storage().delete_many(keys)
    db.session.execute(
        sa.delete(UploadChunk)
        .where(UploadChunk.take_id.in_(take_ids))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return len(keys)


def remove_staged_uploads(invitation_id: int) -> int:
    """Every staged (not yet assembled) upload byte of one candidate, removed from storage
    and the database; returns the number of chunks removed. For purges and question resets."""
    take_ids = db.session.scalars(
        sa.select(Take.id)
        .join(InterviewQuestion, InterviewQuestion.id == Take.question_id)
        .where(InterviewQuestion.invitation_id == invitation_id)
    ).all()
    return discard_chunks(take_ids)


def sweep_abandoned_uploads(now: datetime | None = None) -> int:
    """tus expiration. An upload still ``recording`` past its ``upload_expires_at`` is closed:
    if bytes arrived, they are kept (nothing recorded is lost): the take ends ``uploaded`` with
    what arrived and goes to processing, so the candidate can watch and keep it or retake; an
    upload that never received a byte fails as abandoned (the attempt stays used). Chunks left
    by discarded or failed takes, or by an assembly that stopped after its commit, go. Never the
    bytes of a recording upload that has not expired, nor of a complete take waiting to be
    assembled. Returns how many chunks were removed."""
    now = now or utcnow()
    expired = sa.and_(
        Take.status == TakeStatus.RECORDING,
        Take.upload_expires_at.is_not(None),
        Take.upload_expires_at < now,
    )
    cut_short = db.session.scalars(
        sa.select(Take.id).where(expired, Take.bytes_received > 0).order_by(Take.id)
    ).all()
    for take_id in cut_short:
        closed = db.session.execute(
            sa.update(Take)
            .where(Take.id == take_id, expired)  # re-checked: a PATCH may have just landed
            .values(status=TakeStatus.UPLOADED, upload_length=Take.bytes_received, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if closed.rowcount:
            take = db.session.get(Take, take_id)
            db.session.refresh(take)
            take.flags = [*(take.flags or []), "upload_cut_short"]
            db.session.commit()
            log.info(
                "take %s: upload expired with %s bytes; kept them", take_id, take.bytes_received
            )
            enqueue_processing(take)  # the worker assembles what arrived, then processes it
    abandoned = db.session.scalars(sa.select(Take.id).where(expired)).all()
    if abandoned:
        db.session.execute(
            sa.update(Take)
            .where(Take.id.in_(abandoned), expired)  # re-checked: a PATCH may have just landed
            .values(status=TakeStatus.FAILED, failure_reason=ABANDONED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    has_original = (
        sa.select(MediaAsset.id)
        .where(MediaAsset.take_id == Take.id, MediaAsset.kind == AssetKind.ORIGINAL)
        .exists()
    )
    leftover = db.session.scalars(
        sa.select(Take.id)
        .where(
            Take.id.in_(sa.select(UploadChunk.take_id).distinct()),
            sa.or_(Take.status == TakeStatus.FAILED, has_original),
        )
        .order_by(Take.id)
    ).all()
    removed = discard_chunks(leftover)
    if removed:
        log.info("swept %s chunks of %s abandoned or finished uploads", removed, len(leftover))
    return removed
