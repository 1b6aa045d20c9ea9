"""The upload path under load: what one PATCH costs the database, that its one-query link check
agrees with the full one, and the finisher thread that takes a finished upload's work off the
request threads (issue 17)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview.candidate import finisher, upload_claims, uploads
from interview.extensions import db
from interview.media import chunks
from interview.media.storage import get_storage
from interview.models import AuditEvent, InvitationStatus, TakeStatus, utcnow

from ..conftest import counting_statements
from .test_uploads import Candidate, _filed, _take


@pytest.fixture
def candidate(client, org) -> Candidate:
    return Candidate(client, org.token)


@contextmanager
def sent_by_the_driver() -> Iterator[list[tuple[str, str, bool | None]]]:
    """Every statement the driver sends meanwhile (its first word, its text, on PostgreSQL
    whether the connection was in autocommit), whoever sends it: psycopg's cursors, or what
    SQLite's trace callback reports on every connection checked out meanwhile (the implicit
    BEGIN and the COMMIT included)."""
    sent: list[tuple[str, str, bool | None]] = []
    if db.engine.dialect.name != "postgresql":

        def trace(text: str) -> None:
            sent.append((text.split(None, 1)[0].upper(), text, None))

        def checked_out(dbapi_connection, *_args) -> None:
            dbapi_connection.set_trace_callback(trace)

        def checked_in(dbapi_connection, *_args) -> None:
            if dbapi_connection is not None:
                dbapi_connection.set_trace_callback(None)

        sa.event.listen(db.engine.pool, "checkout", checked_out)
        sa.event.listen(db.engine.pool, "checkin", checked_in)
        try:
            yield sent
        finally:
            sa.event.remove(db.engine.pool, "checkout", checked_out)
            sa.event.remove(db.engine.pool, "checkin", checked_in)
        return
    import psycopg

    original = psycopg.Cursor.execute

    def execute(cursor, query, *args, **kwargs):
        text = str(query)
        sent.append((text.split(None, 1)[0].upper(), text, cursor.connection.autocommit))
        return original(cursor, query, *args, **kwargs)

    psycopg.Cursor.execute = execute
    try:
        yield sent
    finally:
        psycopg.Cursor.execute = original


def test_a_patch_is_one_read_and_one_short_write_transaction(app, candidate):
    """Does a middle PATCH cost the database exactly one SELECT, then the claim (UPDATE) and
    the chunk's row (INSERT) written together, and nothing more (no lazy load, no autoflush,
    no second write), all on one connection through the driver's cursor (not the session)? On
    SQLite the two are one transaction; on PostgreSQL they are one statement, in autocommit
    (no BEGIN or COMMIT round trips, one checkout, so one liveness ping)."""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    assert candidate.patch(url, b"a" * 1000, 0).status_code == 204
    db.session.remove()
    commits, checkouts, sent = [], [], []

    def committed(conn):
        commits.append(conn)

    def checked_out(*_args):
        checkouts.append(1)

    sa.event.listen(db.engine, "commit", committed)
    sa.event.listen(db.engine.pool, "checkout", checked_out)
    try:
        with counting_statements() as statements, sent_by_the_driver() as sent:
            assert candidate.patch(url, b"b" * 1000, 1000).status_code == 204
    finally:
        sa.event.remove(db.engine, "commit", committed)
        sa.event.remove(db.engine.pool, "checkout", checked_out)
    # Run on the driver's cursor (``database.DriverStatement``), past SQLAlchemy's events.
    assert statements == [] and commits == [] and len(checkouts) == 1
    kinds = [kind for kind, _sql, _autocommit in sent]
    if db.engine.dialect.name == "postgresql":
        # What the driver sent, each in autocommit (so no BEGIN or COMMIT went with them).
        assert kinds == ["SELECT", "WITH"]
        claim = " ".join(sent[1][1].split())
        assert "UPDATE takes SET" in claim and "INSERT INTO upload_chunks" in claim
        assert all(autocommit for _kind, _sql, autocommit in sent)
    else:
        assert kinds == ["SELECT", "BEGIN", "UPDATE", "INSERT", "COMMIT"]
        assert "UPDATE takes SET" in sent[2][1] and "INSERT INTO upload_chunks" in sent[3][1]
    take = _take(url)
    assert take.bytes_received == 2000 and take.flags == []  # a claim leaves the flags alone
    assert [c.length for c in chunks.chunks_of(take.id)] == [1000, 1000]


def test_the_fast_link_check_agrees_with_the_full_one(app, client, org, candidate):
    """The PATCH path checks its link in one query; whenever that query cannot vouch for it,
    the full check answers. Revoked: 404; within the finishing grace after the deadline: still
    taken; past the grace: 410. Is each answered as the full check would?"""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    assert candidate.patch(url, b"x" * 10, 0).status_code == 204
    token, take_id = org.token, int(url.rsplit("/", 1)[1])
    assert uploads.state_for_link(token, take_id) is not None
    assert uploads.state_for_link(token, take_id + 1000) is None
    assert uploads.state_for_link("Z" * 43, take_id) is None

    org.invitation.expires_at = utcnow() - timedelta(minutes=1)  # within the grace
    db.session.commit()
    assert uploads.state_for_link(token, take_id) is None  # not as it stands: the full way
    assert candidate.patch(url, b"y" * 10, 10).status_code == 204
    assert candidate.head(url).headers["Upload-Offset"] == "20"

    org.invitation.expires_at = utcnow() - timedelta(hours=3)  # past the grace
    db.session.commit()
    assert candidate.patch(url, b"z" * 10, 20).status_code == 410
    assert candidate.head(url).status_code == 410

    org.invitation.expires_at = utcnow() + timedelta(days=1)
    org.invitation.status = InvitationStatus.REVOKED
    db.session.commit()
    assert candidate.patch(url, b"z" * 10, 20).status_code == 404
    assert _take(url).bytes_received == 20


def _niceness(native_id: int) -> int:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat: nice


def test_the_finisher_thread_files_finished_uploads_at_a_lower_priority(app, candidate):
    """With UPLOAD_FINISH_IN_THREAD (the default outside these in-process tests), is the last
    byte answered before anything is assembled, then the original filed by one finisher thread
    running nicer than the request threads, which survives a take whose work fails?"""
    app.config["UPLOAD_FINISH_IN_THREAD"] = True
    seen: list[tuple[str, int]] = []
    real = finisher.after_completion

    def observed(app_, take_id):
        seen.append((threading.current_thread().name, _niceness(threading.get_native_id())))
        if take_id == -1:
            raise RuntimeError("a take whose work fails")
        real(app_, take_id)

    finisher.after_completion = observed
    try:
        finisher.finish_after_answering(app, -1)  # the thread must outlive this
        assert candidate.reveal(0).status_code == 200
        url = candidate.create(0).headers["Location"]
        data = b"\x1aE\xdf\xa3" + b"w" * 5000
        assert candidate.patch(url, data[:2000], 0).status_code == 204
        done = candidate.patch(url, data[2000:], 2000, **{"Upload-Length": str(len(data))})
        assert done.status_code == 204
        deadline = time.monotonic() + 15
        while not finisher.finisher_idle():  # all of its work done, its connection given back
            assert time.monotonic() < deadline, "the finisher never finished"
            time.sleep(0.02)
    finally:
        finisher.after_completion = real
        app.config["UPLOAD_FINISH_IN_THREAD"] = False
    take = _take(url)
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert [name for name, _ in seen] == ["upload-finisher", "upload-finisher"]
    assert all(nice == finisher.FINISHER_NICENESS for _, nice in seen)
    assert _niceness(threading.get_native_id()) == 0  # the request threads keep theirs


def test_an_original_is_streamed_from_its_chunks_and_a_short_chunk_object_files_nothing(
    app, candidate, monkeypatch
):
    """Assembly streams the chunk objects straight into storage, hashing on the way. If a
    chunk object holds fewer bytes than its row says (a damaged volume), is nothing filed and
    every chunk kept, so that a repaired object still assembles byte for byte?"""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    parts = [os.urandom(300_000), os.urandom(5), os.urandom(1_200_000)]
    monkeypatch.setattr(chunks, "assemble", lambda take: None)  # the node dies before it
    offset = 0
    for n, part in enumerate(parts):
        extra = {"Upload-Length": str(sum(map(len, parts)))} if n == len(parts) - 1 else {}
        assert candidate.patch(url, part, offset, **extra).status_code == 204
        offset += len(part)
    monkeypatch.undo()
    take = _take(url)
    stored = chunks.chunks_of(take.id)
    assert take.status == TakeStatus.UPLOADED and len(stored) == 3
    storage = get_storage()
    storage.save(stored[2].storage_key, io.BytesIO(parts[2][:-1]))  # one byte short

    chunks.assemble_pending(take.id)  # what the worker does first: refuses, logs
    take = _take(url)
    assert take.checksum_sha256 is None and not take.assets
    assert len(chunks.chunks_of(take.id)) == 3

    storage.save(stored[2].storage_key, io.BytesIO(parts[2]))
    chunks.assemble_pending(take.id)
    take = _take(url)
    whole = b"".join(parts)
    assert take.checksum_sha256 == hashlib.sha256(whole).hexdigest()
    (original,) = take.assets
    with storage.open(original.storage_key) as f:
        assert f.read() == whole
    assert original.size_bytes == len(whole) and chunks.chunks_of(take.id) == []


def test_a_reveal_reads_the_interview_in_a_fixed_number_of_queries(app, candidate):
    """Every candidate reveals a question and creates an upload before recording, all at once
    when many start together. Does a reveal read the takes of every question in one query and
    the kept answers with the questions (no lazy load per question), and not reload what it
    loaded after its own commit? (Before any take, one query: the link with its screening,
    questions, kept answers and takes joined; the takes' files come in a second one once there
    are takes: see the next test.)"""
    db.session.remove()
    with counting_statements() as statements:
        assert candidate.reveal(0).status_code == 200
    flat = [" ".join(s.split()) for s in statements]
    reads = [s for s in flat if s.upper().startswith("SELECT")]
    assert not [s for s in reads if "FROM takes" in s or s.startswith("SELECT responses.")]
    assert len(reads) == 1 and "JOIN takes" in reads[0] and "JOIN responses" in reads[0]
    with counting_statements() as statements:
        assert candidate.create(0).status_code == 201
    assert len([s for s in statements if s.upper().startswith("SELECT")]) == 1


def test_the_interview_is_read_in_two_queries_however_far_it_got(app, candidate):
    """Is the state every interview step answers from read in a bounded number of queries
    (the questions, answers and takes joined to the invitation, then the takes' files), in
    order, however many questions were answered and attempts made?"""

    def reads() -> tuple[dict, list[str]]:
        with counting_statements() as statements:
            state = candidate.state()
        return state, [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    state, selects = reads()
    assert len(selects) == 1  # no take yet: nothing else to read
    assert [q["position"] for q in state["questions"]] == sorted(
        q["position"] for q in state["questions"]
    )
    assert len(state["questions"]) >= 2
    _filed(candidate.record(0, os.urandom(2_000)))
    state, selects = reads()
    assert len(selects) == 2
    first = state["questions"][0]
    assert [t["attempt"] for t in first["takes"]] == [1]
    assert first["takes"][0]["status"] in ("uploaded", "processing", "ready")
    assert state["questions"][1]["takes"] == []


def test_a_middle_claim_changes_no_indexed_column_of_takes(app):
    """Every PATCH updates its take. If it changed an indexed column, PostgreSQL could not
    update the row in place (HOT) and would add an entry to every index of ``takes`` per PATCH
    (a bench run saw 738 of 12,000 updates HOT while ``upload_expires_at`` was indexed). Does
    the migrated schema index none of the columns a middle claim sets?"""
    indexed = set()
    inspector = sa.inspect(db.engine)
    for index in inspector.get_indexes("takes"):
        indexed.update(index["column_names"])
    for constraint in inspector.get_unique_constraints("takes"):
        indexed.update(constraint["column_names"])
    indexed.update(inspector.get_pk_constraint("takes")["constrained_columns"])
    for length_known in (True, False):
        claim = upload_claims._claim_statement(length_known, False)
        updated = {getattr(column, "key", column) for column in claim._values}
        assert updated >= {"bytes_received", "upload_expires_at"}
        assert not updated & indexed, updated & indexed


def test_the_last_byte_reads_the_take_with_its_invitation_in_one_query(app, candidate, monkeypatch):
    """The final PATCH (every candidate's "saved", all at once when many finish together) reads
    the link and the upload, then the take with its question and invitation (the late flag, the
    audit event) in one query, not one lazy load per relation."""
    monkeypatch.setattr(finisher, "finish_after_answering", lambda *_args: None)
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    data = b"\x1aE\xdf\xa3" + b"f" * 1996
    assert candidate.patch(url, data[:1000], 0).status_code == 204
    db.session.remove()
    with sent_by_the_driver() as sent:
        last = candidate.patch(url, data[1000:], 1000, **{"Upload-Length": str(len(data))})
    assert last.status_code == 204
    # What the driver sent, the statements on its own cursor included.
    statements = [text for _kind, text, _autocommit in sent]
    flat = [" ".join(s.split()) for s in statements]
    reads = [s for s in flat if s.upper().startswith("SELECT")]
    assert len(reads) == 2
    assert "JOIN interview_questions" in reads[1] and "JOIN invitations" in reads[1]
    writes = [s.split(None, 1)[0].upper() for s in flat if not s.upper().startswith("SELECT")]
    if db.engine.dialect.name == "postgresql":
        # The claim, the chunk, the invitation's activity and the audit event: ONE statement.
        assert writes == ["WITH"]
        assert all(f"{table} " in flat[-1] for table in ("takes", "upload_chunks", "audit_events"))
    else:
        assert writes == ["BEGIN", "UPDATE", "INSERT", "UPDATE", "INSERT", "COMMIT"]
    take = _take(url)
    assert take.status == TakeStatus.UPLOADED and take.flags == []
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "take.uploaded")
    ).all()
    assert [(e.org_id, e.object_type, e.object_id, e.actor_label, e.details) for e in events] == [
        (
            take.question.invitation.org_id,
            "Invitation",
            take.question.invitation_id,
            "candidate",
            {"take_id": take.id, "bytes": len(data)},
        )
    ]
    assert take.question.invitation.last_activity_at is not None
    assert [c.length for c in chunks.chunks_of(take.id)] == [1000, 1000]


def test_the_work_after_the_last_byte_reads_the_take_once(app, candidate, monkeypatch):
    """Assembly and queueing commit twice; does the finisher keep what it loaded (the take with
    its question and invitation) across both instead of reloading it after each, and is the
    original then filed and processing queued?"""
    monkeypatch.setattr(finisher, "finish_after_answering", lambda *_args: None)
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    data = b"\x1aE\xdf\xa3" + b"g" * 2996
    for n in range(3):
        extra = {"Upload-Length": str(len(data))} if n == 2 else {}
        assert (
            candidate.patch(url, data[n * 1000 : (n + 1) * 1000], n * 1000, **extra).status_code
            == 204
        )
    db.session.remove()
    take_id = int(url.rsplit("/", 1)[1])
    with counting_statements() as statements:
        finisher.after_completion(app, take_id)
    flat = [" ".join(s.split()) for s in statements]
    assert len([s for s in flat if s.startswith("SELECT") and "FROM takes" in s]) == 1
    assert not [s for s in flat if s.startswith("SELECT") and "FROM job_runs" in s]
    assert len(flat) <= 9, flat
    take = _take(url)
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest() and take.rq_job_id
