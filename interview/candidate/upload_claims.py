"""How a PATCH makes its range the take's: the conditional UPDATE that claims it (the take must
still be recording at the offset and length the request read), the chunk's row, and what the
last byte records beside them (the late flag, the invitation's activity, the audit event).

Every claim runs on the fast path's own connection (``uploads._connection``), through the
driver's cursor. On PostgreSQL each claim is ONE statement in autocommit: a middle PATCH claims
and records its chunk; the last byte also touches the invitation and writes the audit event,
all in one ``WITH ... INSERT`` that is atomic on its own. On SQLite (in-process, nothing to save
in round trips, and no data-changing WITH) a PATCH writes the same rows as plain statements in
one short transaction in the writer queue (``sqlite.driver_transaction``). Only a completion
without bytes (an upload of length 0) goes through the session.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from .. import audit, sqlite
from ..database import DriverStatement
from ..extensions import db
from ..media import services as media
from ..models import (
    AuditEvent,
    InterviewQuestion,
    Invitation,
    Take,
    TakeStatus,
    UploadChunk,
    utcnow,
)
from . import uploads

if TYPE_CHECKING:
    from .uploads import UploadState

_takes = Take.__table__
_questions = InterviewQuestion.__table__
_invitations = Invitation.__table__
_chunks = UploadChunk.__table__
_events = AuditEvent.__table__
LATE = "uploaded_late"


@functools.cache
def _claim_statement(length_known: bool, complete: bool) -> sa.Update:
    """The conditional UPDATE that claims a range: the take must still be recording, at the
    offset and with the length this request read. Built once per shape."""
    values: dict = {
        "bytes_received": sa.bindparam("new_offset", type_=sa.BigInteger),
        "upload_length": sa.bindparam("length", type_=sa.BigInteger),
        "updated_at": sa.bindparam("now", type_=_takes.c.updated_at.type),
    }
    if complete:
        values.update(
            status=TakeStatus.UPLOADED,
            finished_at=sa.bindparam("now", type_=_takes.c.finished_at.type),
            upload_expires_at=None,
            flags=sa.bindparam("flags", type_=_takes.c.flags.type),
        )
    else:
        values["upload_expires_at"] = sa.bindparam("expires", type_=_takes.c.upload_expires_at.type)
    return (
        sa.update(_takes)
        .where(
            _takes.c.id == sa.bindparam("take_id"),
            _takes.c.status == TakeStatus.RECORDING,
            _takes.c.bytes_received == sa.bindparam("offset", type_=sa.BigInteger),
            _takes.c.upload_length == sa.bindparam("read_length", type_=sa.BigInteger)
            if length_known
            else _takes.c.upload_length.is_(None),
        )
        .values(**values)
    )


def _chunk_from(claimed) -> sa.Insert:
    """The chunk's row, inserted for each row ``claimed`` returned (one, or none)."""
    return sa.insert(_chunks).from_select(
        ["take_id", "offset", "length", "storage_key", "created_at"],
        sa.select(
            claimed.c.id,
            sa.bindparam("offset", type_=sa.BigInteger),
            sa.bindparam("chunk_length", type_=sa.BigInteger),
            sa.bindparam("chunk_key", type_=_chunks.c.storage_key.type),
            sa.bindparam("now", type_=_chunks.c.created_at.type),
        ).select_from(claimed),
    )


@functools.cache
def _claim_and_record(length_known: bool) -> DriverStatement:
    """PostgreSQL, a middle PATCH: the claim and the chunk's row as ONE statement, atomic on
    its own in autocommit (``WITH claimed AS (UPDATE ... RETURNING id) INSERT ... SELECT ...
    FROM claimed``): the row is written exactly when the range was claimed."""
    claimed = _claim_statement(length_known, False).returning(_takes.c.id).cte("claimed")
    return DriverStatement(_chunk_from(claimed).returning(_chunks.c.take_id))
    # (rowcount is not reported for a statement with a DML CTE: the returned row counts)


_TOUCH_INVITATION = (
    sa.update(_invitations)
    .where(_invitations.c.id == sa.bindparam("invitation_id"))
    .values(
        last_activity_at=sa.bindparam("now", type_=_invitations.c.last_activity_at.type),
        updated_at=sa.bindparam("now", type_=_invitations.c.updated_at.type),  # no defaults run
    )
)


_EVENT_COLUMNS = [c.key for c in _events.columns if c.key != "id"]


# SQLite: the same rows as PostgreSQL's one statement, written as one short transaction of
# plain statements (SQLite has no data-changing WITH).
@functools.cache
def _claim_returning(length_known: bool, complete: bool) -> DriverStatement:
    """The claim, returning the take's id when it claimed the range."""
    return DriverStatement(_claim_statement(length_known, complete).returning(_takes.c.id))


_RECORD_CHUNK = DriverStatement(
    sa.insert(_chunks).values(
        take_id=sa.bindparam("take_id", type_=_chunks.c.take_id.type),
        offset=sa.bindparam("offset", type_=sa.BigInteger),
        length=sa.bindparam("chunk_length", type_=sa.BigInteger),
        storage_key=sa.bindparam("chunk_key", type_=_chunks.c.storage_key.type),
        created_at=sa.bindparam("now", type_=_chunks.c.created_at.type),
    )
)
_RECORD_TOUCH = DriverStatement(_TOUCH_INVITATION)
_RECORD_EVENT = DriverStatement(
    sa.insert(_events).values(
        {key: sa.bindparam(f"event_{key}", type_=_events.c[key].type) for key in _EVENT_COLUMNS}
    )
)


def _claim_in_turn(length_known: bool, complete: bool, params: dict) -> bool:
    """SQLite: the claim and, when it won, the chunk's row (at the last byte also the
    invitation's activity and the audit event), in one short write transaction on the fast
    path's connection, first in the writer queue (a recorder waits on it before it sends
    more). No session: this runs on every PATCH of every candidate."""
    connection = uploads._connection()
    dialect = db.engine.dialect
    with sqlite.driver_transaction(db.engine, connection, urgent=True):
        if _claim_returning(length_known, complete).first(connection, dialect, params) is None:
            return False  # (nothing was written: the commit ends an empty transaction)
        _RECORD_CHUNK.first(connection, dialect, params)
        if complete:
            _RECORD_TOUCH.first(connection, dialect, params)
            _RECORD_EVENT.first(connection, dialect, params)
    return True


@functools.cache
def _claim_last_byte(length_known: bool) -> DriverStatement:
    """PostgreSQL, the last byte: the claim (the take ``uploaded``, its flags), the chunk's
    row, the invitation's last activity and the audit event, as ONE statement. Every part
    hangs off the claim's returned row, so nothing is written unless the range was claimed."""
    claimed = _claim_statement(length_known, True).returning(_takes.c.id).cte("claimed")
    chunk = _chunk_from(claimed).returning(_chunks.c.take_id).cte("chunk")
    touched = (
        _TOUCH_INVITATION.where(sa.exists(sa.select(claimed.c.id)))
        .returning(_invitations.c.id)
        .cte("touched")
    )
    event = [sa.bindparam(f"event_{key}", type_=_events.c[key].type) for key in _EVENT_COLUMNS]
    return DriverStatement(
        sa.insert(_events)
        .from_select(
            _EVENT_COLUMNS,
            sa.select(*event).select_from(claimed.join(chunk, sa.true()).join(touched, sa.true())),
        )
        .returning(_events.c.id)
    )


def claim(
    state: UploadState,
    offset: int,
    new_offset: int,
    length: int | None,
    key: str | None,
    complete: bool,
) -> bool:
    """The range ``[offset, new_offset)`` is this request's if the take still stands where it
    was read: one conditional UPDATE (plus the chunk's row, and at the last byte the rest),
    committed at once. Everything the last byte needs is read before."""
    now = utcnow()
    params = {
        "take_id": state.take_id,
        "offset": offset,
        "read_length": state.length,
        "new_offset": new_offset,
        "length": length,
        "now": now,
        "expires": uploads.expiry(),
    }
    if key is not None:
        params.update(chunk_length=new_offset - offset, chunk_key=key)
        try:
            if complete:
                params.update(_last_byte_facts(state, now, new_offset))
            if uploads._one_statement_claims():
                statement = (_claim_last_byte if complete else _claim_and_record)(
                    state.length is not None
                )
                claimed = uploads._first(statement, params) is not None
            else:
                claimed = _claim_in_turn(state.length is not None, complete, params)
            if complete:
                # What the session loaded of this take or invitation is stale now, as after
                # the commit the session's way ends with.
                db.session.expire_all()
            return claimed
        finally:
            uploads.release_connection()
    # No bytes to record (an upload of length 0, or a last PATCH with an empty body): rare,
    # through the session.
    uploads.release_connection()
    completion = _completion(state, now, new_offset) if complete else None
    if completion is not None:
        params["flags"] = completion["flags"]  # a column's name: only where the UPDATE sets it
    connection = db.session.connection()
    claimed = connection.execute(
        _claim_statement(state.length is not None, completion is not None),
        params,
        execution_options={"urgent_write": True},  # first in SQLite's writer queue
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    if completion is not None:
        connection.execute(_TOUCH_INVITATION, {"invitation_id": state.invitation_id, "now": now})
        db.session.add(completion["audit"])
    db.session.commit()
    return True


# The last byte (and the finisher after it) reads the take with its question and invitation
# (the answer's time limit, the audit event's organisation) in one query, not three.
TAKE_WITH_INVITATION = (joinedload(Take.question).joinedload(InterviewQuestion.invitation),)


def _with_late_flag(
    flags: list[str] | None, started_at: datetime | None, limit_seconds: float, now: datetime
) -> list[str]:
    """Bytes recorded in time may arrive late (a dropped connection), so lateness is a flag
    for reviewers, not a refusal; processing checks the recording's own length."""
    flags = list(flags or [])
    slack = current_app.config["LATE_UPLOAD_SLACK_SECONDS"]
    if started_at is not None and (now - started_at).total_seconds() > limit_seconds + slack:
        flags.append(LATE)
    return flags


def _audit_event(invitation: Invitation, take_id: int, size: int) -> AuditEvent:
    event = audit.record(
        "take.uploaded", invitation, actor_label="candidate", take_id=take_id, bytes=size
    )
    db.session.expunge(event)  # written with the claim, after it
    return event


def _completion(state: UploadState, now: datetime, size: int) -> dict:
    """The session's way (a completion without bytes): the late flag and the audit event,
    prepared before the write transaction."""
    take = db.session.get(Take, state.take_id, options=TAKE_WITH_INVITATION)
    flags = _with_late_flag(take.flags, take.started_at, media.answer_limit_seconds(take), now)
    event = _audit_event(take.question.invitation, state.take_id, size)
    db.session.expire(take)  # the UPDATE changes it behind the session's back
    return {"flags": flags, "audit": event}


_FACTS = DriverStatement(
    sa.select(
        _takes.c.flags,
        _takes.c.started_at,
        _questions.c.answer_seconds,
        _invitations.c.extra_time_percent,
        _invitations.c.extra_answer_seconds,
    )
    .join(_questions, _questions.c.id == _takes.c.question_id)
    .join(_invitations, _invitations.c.id == _questions.c.invitation_id)
    .where(_takes.c.id == sa.bindparam("take_id"))
)


def _last_byte_facts(state: UploadState, now: datetime, size: int) -> dict:
    """What the last byte's claim binds besides the claim itself (the flags, the invitation,
    the audit event's columns), read on the fast path's connection."""
    row = uploads._first(_FACTS, {"take_id": state.take_id})
    limit = media.answer_limit(row.answer_seconds, row.extra_time_percent, row.extra_answer_seconds)
    # The audit event as ``audit.record`` makes it (one rule), for the invitation as it is.
    invitation = Invitation(id=state.invitation_id, org_id=state.org_id)
    event = _audit_event(invitation, state.take_id, size)
    event.created_at = now  # its default applies at a flush, which this event never has
    return {
        "flags": _with_late_flag(row.flags, row.started_at, limit, now),
        "invitation_id": state.invitation_id,
        **{f"event_{key}": getattr(event, key) for key in _EVENT_COLUMNS},
    }


def complete_empty(take: Take) -> None:
    """An upload created with Upload-Length: 0 is complete at once (processing then fails it
    as not a recording, which uses the attempt as any failed recording does)."""
    state = uploads.UploadState(
        take.id, take.question.invitation.org_id, take.question.invitation_id,
        TakeStatus.RECORDING, 0, 0, None, None,
    )  # fmt: skip
    claim(state, 0, 0, 0, None, True)
