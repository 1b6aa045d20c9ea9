"""Resumable uploads of takes: the server side of tus 1.0 (core, creation,
creation-with-upload, creation-defer-length, termination, checksum, expiration).

Nothing about an upload lives in one web node. The take row holds the offset, length and
expiry; each PATCH streams its body into its own object in media storage (fsync'd or stored by
S3 before anything is acknowledged), then claims its range with one conditional UPDATE
(``bytes_received = offset`` still true) committed at once, together with the row naming the
object (``media.chunks``). Two nodes can therefore never both append at one offset: the loser
gets 409 with the true offset and its object is removed. No lock or transaction is held while a
body streams. After the last byte is acknowledged, the node assembles the original (hashing it
in the same pass) and queues processing (``finisher``); a worker does it instead if that node
died. The protocol's grammar is ``tus``; the privacy catalogue's view is ``upload_erasure``.
"""

from __future__ import annotations

import errno
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app, g
from werkzeug.exceptions import ClientDisconnected

from .. import audit, tokens
from ..database import DriverStatement, autocommit_connection, give_back
from ..extensions import db
from ..media import chunks
from ..media.storage import StorageError, get_storage
from ..models import (
    InterviewQuestion,
    Invitation,
    Screening,
    Take,
    TakeStatus,
    utcnow,
)
from . import upload_claims, upload_erasure  # noqa: F401 (upload_erasure registers partial uploads)
from .links import usable_as_it_stands
from .services import DISCARDED
from .tus import (  # noqa: F401 (the protocol's names, used through this module by the routes)
    CHECKSUM_ALGORITHMS,
    TUS_CHECKSUM_ALGORITHMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    TusError,
    cors_headers,
    http_date,
    parse_checksum,
    parse_length,
    parse_metadata,
    refusal_headers,
    tus_headers,
)

log = logging.getLogger(__name__)

CHUNK = 256 * 1024  # read size while a body streams in
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a PATCH body larger than this is spooled to a temp file
RETRY_AFTER_SECONDS = 30  # what a full disk or a storage outage asks the client to wait


@dataclass(frozen=True)
class UploadState:
    """What a tus request needs of a take, read in one query without loading ORM objects (so
    nothing lazy-loads or autoflushes while a body streams)."""

    take_id: int
    org_id: int
    invitation_id: int
    status: TakeStatus
    offset: int
    length: int | None
    expires_at: datetime | None
    checksum_sha256: str | None

    @property
    def gone(self) -> bool:
        """Discarded or abandoned: failed before every byte was filed."""
        return self.status == TakeStatus.FAILED and self.checksum_sha256 is None


def expiry() -> datetime:
    return utcnow() + timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"])


def offset_headers(offset: int, complete: bool) -> dict:
    """Where an upload stands after a request: its offset, and until when it may resume."""
    headers = {"Upload-Offset": str(offset)}
    if not complete:
        headers["Upload-Expires"] = http_date(expiry())
    return headers


def media_done() -> tuple[TakeStatus, ...]:
    return (TakeStatus.UPLOADED, TakeStatus.PROCESSING, TakeStatus.READY)


def _one_statement_claims() -> bool:
    """PostgreSQL claims a range and records its chunk in one statement in autocommit; SQLite
    (in-process, no round trips to save) writes the two in one short transaction."""
    return db.engine.dialect.name == "postgresql"


def _connection():
    """The connection the fast path of a HEAD or PATCH reads and claims on: one pooled
    connection for the whole request, run through the driver's own cursor (``_first``,
    ``DriverStatement``), not the session, whose machinery (the session's transaction and
    connection, the statement's execution context, the commit's events) was a third of a
    PATCH's interpreter time on either database.

    PostgreSQL: in autocommit, because a lone SELECT needs no transaction and the claim is one
    statement (``upload_claims._claim_and_record``). A PATCH then costs two round trips (the
    read, the claim; the pool's check needs none, ``database.check_before_use``) where the
    session costs nine (ping, BEGIN, read, ROLLBACK, ping, BEGIN, UPDATE, INSERT, COMMIT), and
    under load every round trip waits for a busy CPU. SQLite: its driver opens no transaction
    for the read; the claim is one short write transaction in the writer queue
    (``sqlite.driver_transaction``)."""
    connection = g.get("upload_connection")
    if connection is None:
        connection = autocommit_connection(db.engine)
        g.upload_connection = connection
    return connection


def release_connection() -> None:
    """Give the fast path's connection back to the pool (before the session takes one, and at
    the end of every request), so a thread never holds two."""
    connection = g.pop("upload_connection", None)
    if connection is not None:
        give_back(connection)


def _first(statement: DriverStatement, params: dict):
    """The statement's first row (or None) on the fast path's connection."""
    return statement.first(_connection(), db.engine.dialect, params)


# The upload path's statements, built once on the tables (Core, no ORM objects): a PATCH is
# one read and one short write transaction, the hottest path of the product.
_takes = Take.__table__
_questions = InterviewQuestion.__table__
_invitations = Invitation.__table__
_STATE = (
    _takes.c.id,
    _takes.c.status,
    _takes.c.bytes_received,
    _takes.c.upload_length,
    _takes.c.upload_expires_at,
    _takes.c.checksum_sha256,
)
_BY_INVITATION = (
    sa.select(*_STATE)
    .join(_questions, _questions.c.id == _takes.c.question_id)
    .where(
        _takes.c.id == sa.bindparam("take_id"),
        _questions.c.invitation_id == sa.bindparam("invitation_id"),
    )
)
_BY_LINK = DriverStatement(
    sa.select(
        *_STATE,
        _invitations.c.id.label("invitation_id"),
        _invitations.c.org_id,
        _invitations.c.status.label("invitation_status"),
        _invitations.c.expires_at,
        Screening.__table__.c.language,
    )
    .select_from(_takes)
    .join(_questions, _questions.c.id == _takes.c.question_id)
    .join(_invitations, _invitations.c.id == _questions.c.invitation_id)
    .join(Screening.__table__, Screening.__table__.c.id == _invitations.c.screening_id)
    .where(
        _takes.c.id == sa.bindparam("take_id"),
        _invitations.c.token_hash == sa.bindparam("token_hash"),
    )
)


def _state_of(row, org_id: int, invitation_id: int) -> UploadState:
    return UploadState(
        row.id,
        org_id,
        invitation_id,
        row.status,
        row.bytes_received,
        row.upload_length,
        row.upload_expires_at,
        row.checksum_sha256,
    )


def upload_state(invitation: Invitation, take_id: int) -> UploadState:
    """One of this invitation's uploads; anybody else's is indistinguishable from none."""
    row = (
        db.session.connection()
        .execute(_BY_INVITATION, {"take_id": take_id, "invitation_id": invitation.id})
        .one_or_none()
    )
    if row is None:
        raise TusError(404, "There is no such recording.")
    return _state_of(row, invitation.org_id, invitation.id)


def state_for_link(token: str, take_id: int) -> tuple[UploadState, str] | None:
    """The fast path of HEAD and PATCH: the link and the upload in one query. Returns the
    upload's state and the screening's language when the link is usable as it stands
    (``links.usable_as_it_stands``: under way, before its deadline); otherwise None, and the
    caller resolves the link the full way, which says why it cannot be used or changes what
    must change (an interview reopened for its finishing grace)."""
    if not tokens.looks_like_token(token):
        return None
    row = _first(_BY_LINK, {"take_id": take_id, "token_hash": tokens.token_hash(token)})
    if row is None or not usable_as_it_stands(row.invitation_status, row.expires_at, utcnow()):
        release_connection()  # the full way goes through the session
        return None
    return _state_of(row, row.org_id, row.invitation_id), row.language


def _refuse_closed(state: UploadState) -> None:
    if state.status != TakeStatus.RECORDING:
        if state.gone:
            raise TusError(404, "this upload was discarded or has expired")
        raise TusError(409, "upload is closed", offset=state.offset)


@dataclass
class _Body:
    """A PATCH body received into a spool, with its length and (if asked) its digest."""

    spool: BinaryIO
    length: int
    disconnected: bool
    digest: bytes | None


def _receive(stream: BinaryIO, limit: int, algorithm: str | None) -> _Body:
    """Read the body into a spool (memory, or a temp file past SPOOL_IN_MEMORY), refusing it
    once it passes ``limit``; a dropped connection keeps what arrived."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    hasher = CHECKSUM_ALGORITHMS[algorithm]() if algorithm else None
    length, disconnected = 0, False
    while True:
        try:
            block = stream.read(CHUNK)
        except (ClientDisconnected, OSError):
            disconnected = True  # the client resumes from what was acknowledged
            break
        if not block:
            break
        length += len(block)
        if length > limit:
            spool.close()
            raise TusError(413, "the recording is larger than the limit")
        if hasher is not None:
            hasher.update(block)
        spool.write(block)
    spool.seek(0)
    return _Body(spool, length, disconnected, hasher.digest() if hasher else None)


def append(
    state: UploadState,
    stream: BinaryIO,
    offset: int,
    declared_length: int | None,
    body_length: int | None,
    checksum: tuple[str, bytes] | None = None,
) -> tuple[int, bool]:
    """Append the request body at ``offset``; returns the new offset (bytes durable in storage
    and the range claimed) and whether that was the last byte. Raises ``TusError`` for every
    refusal."""
    cap = current_app.config["MAX_TAKE_BYTES"]
    _refuse_closed(state)
    if offset != state.offset:
        raise TusError(
            409, f"offset mismatch: the server has {state.offset} bytes", offset=state.offset
        )
    length = state.length
    if declared_length is not None:
        if length is not None and declared_length != length:
            raise TusError(400, "Upload-Length cannot change once set")
        if declared_length > cap:
            raise TusError(413, "the recording is larger than the limit")
        if declared_length < offset:
            raise TusError(400, "Upload-Length is smaller than what was received")
        length = declared_length
    limit = length if length is not None else cap
    if body_length is not None and offset + body_length > limit:
        raise TusError(413, "the chunk goes past the end of the upload or the size limit")
    if db.session.registry.has():  # (the fast path has no session: nothing to make one for)
        db.session.rollback()  # no transaction or connection held while the body streams
    body = _receive(stream, limit - offset, checksum[0] if checksum else None)
    with body.spool:
        if checksum is not None and (body.disconnected or body.digest != checksum[1]):
            raise TusError(460, "the chunk does not match its Upload-Checksum; nothing was kept")
        key = chunks.chunk_key(state.org_id, state.take_id, offset) if body.length else None
        if key is not None:
            _store(state, key, body.spool)
    new_offset = offset + body.length
    complete = length is not None and new_offset == length
    try:
        claimed = upload_claims.claim(state, offset, new_offset, length, key, complete)
    except sa.exc.SQLAlchemyError:  # the database is away: answered 503, nothing claimed
        if key is not None:
            get_storage().delete(key)
        raise
    if not claimed:
        if key is not None:
            get_storage().delete(key)  # lost the race: this object is nobody's
        fresh = _reread(state)
        _refuse_closed(fresh)
        raise TusError(
            409, f"offset mismatch: the server has {fresh.offset} bytes", offset=fresh.offset
        )
    if body.disconnected:
        raise TusError(400, "the connection dropped; resume from Upload-Offset", offset=new_offset)
    return new_offset, complete


def _reread(state: UploadState) -> UploadState:
    invitation = db.session.get(Invitation, state.invitation_id)
    return upload_state(invitation, state.take_id)


def _store(state: UploadState, key: str, spool: BinaryIO) -> None:
    """The chunk into storage, durably; a full disk is 507 and a storage outage 503, both
    with nothing acknowledged of this chunk (the client sends it again)."""
    try:
        get_storage().save_new(key, spool)
    except (OSError, StorageError) as error:
        get_storage().delete(key)
        log.error("take %s: storing a chunk failed: %s", state.take_id, error)
        full = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
        raise TusError(
            507 if full else 503,
            "the server cannot store more right now; resume from Upload-Offset later"
            if full
            else "storage is briefly unavailable; resume from Upload-Offset later",
            retry_after=RETRY_AFTER_SECONDS,
            offset=state.offset,
        ) from error


def terminate(state: UploadState) -> None:
    """tus termination: the candidate discarded this recording (it still used an attempt)."""
    if state.status != TakeStatus.RECORDING:
        raise TusError(409, "only a recording in progress can be discarded")
    discarded = db.session.execute(
        sa.update(Take)
        .where(Take.id == state.take_id, Take.status == TakeStatus.RECORDING)
        .values(
            status=TakeStatus.FAILED,
            failure_reason=DISCARDED,
            finished_at=utcnow(),
            upload_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if discarded.rowcount != 1:  # a final PATCH completed it meanwhile
        db.session.rollback()
        raise TusError(409, "only a recording in progress can be discarded")
    audit.record(
        "take.discarded",
        db.session.get(Invitation, state.invitation_id),
        actor_label="candidate",
        take_id=state.take_id,
    )
    db.session.commit()
    chunks.discard_chunks([state.take_id])
