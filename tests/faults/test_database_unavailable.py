"""The database away for a moment: a clear 503 with Retry-After, nothing half-written.

Two ways to take it away, without stopping the machine's shared PostgreSQL:
- refused connections (any database): the pool is emptied and every new connection fails
  with the driver's own OperationalError, as while a database server restarts;
- a locked SQLite file (SQLite only): another process holds the write lock, so reads work
  and every commit fails with "database is locked", the half-way case.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview.extensions import db
from interview.media import chunks
from interview.models import Invitation, JobRun, Role, Take, TakeStatus

from ..conftest import csrf_token
from .conftest import TUS, patch_chunk, start_upload


@pytest.fixture
def app_config(app_config: dict) -> dict:
    if app_config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Give up on a locked file after 0.3 s rather than the driver's default 5 s.
        options = {"pool_pre_ping": True, "connect_args": {"timeout": 0.3}}
        return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": options}
    return app_config


@contextmanager
def _connections_failing(error_name: str, message: str) -> Iterator[None]:
    """Every new database connection fails with the driver's ``error_name`` until the block
    ends."""
    engine = db.engine
    error_class = getattr(engine.dialect.loaded_dbapi, error_name)

    def refuse(*args, **kwargs):
        raise error_class(message)

    db.session.remove()
    engine.dispose()
    sa.event.listen(engine, "do_connect", refuse)
    try:
        yield
    finally:
        sa.event.remove(engine, "do_connect", refuse)


def connections_refused():
    """Every new connection fails with the driver's OperationalError (a server restarting)."""
    return _connections_failing("OperationalError", "connection refused (database restarting)")


def connections_closed():
    """Every new connection fails with the driver's InterfaceError (what it raises for a
    connection it has already closed)."""
    return _connections_failing("InterfaceError", "the connection is closed")


@contextmanager
def sqlite_write_locked() -> Iterator[None]:
    """Another process holds SQLite's write lock (reads still work) until the block ends."""
    url = sa.make_url(db.engine.url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("a held write lock that fails commits is SQLite's behaviour")
    db.session.remove()
    holder = sqlite3.connect(url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _take(take_id: int) -> Take:
    db.session.expire_all()
    return db.session.get(Take, take_id)


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Content-Security-Policy"]  # still our page, with its headers


@pytest.mark.parametrize("outage", [connections_refused, connections_closed, sqlite_write_locked])
def test_upload_during_a_database_outage_answers_503_and_resumes(app, client, org, outage):
    """A chunk arrives while the database is away: 503 + Retry-After, the acknowledged
    offset unchanged, and the upload resumes from HEAD to a byte-identical file."""
    data = os.urandom(500_000)
    url = start_upload(client, org.token)
    take_id = int(url.rsplit("/", 1)[1])
    assert patch_chunk(client, url, data[:200_000], 0).status_code == 204
    with outage():
        _assert_unavailable(patch_chunk(client, url, data[200_000:400_000], 200_000))
        head = client.head(url, headers=TUS)
        assert head.status_code in (200, 503)  # a locked SQLite file can still be read
        if head.status_code == 200:
            assert head.headers["Upload-Offset"] == "200000"
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "200000"
    assert _take(take_id).status == TakeStatus.RECORDING
    done = patch_chunk(client, url, data[200_000:], 200_000, **{"Upload-Length": str(len(data))})
    assert done.status_code == 204
    take = _take(take_id)
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert chunks.chunks_of(take.id) == []  # assembled into the original, then removed
    stored = (
        Path(app.config["MEDIA_ROOT"]) / f"orgs/{take.question.invitation.org_id}/takes/{take.id}"
    )
    assert not list(stored.glob("upload/*"))  # the refused chunk left no object either


@pytest.mark.parametrize("outage", [connections_refused, connections_closed, sqlite_write_locked])
def test_invitation_during_a_database_outage_leaves_nothing_behind(app, org, sign_in_as, outage):
    """A recruiter invites a candidate while the database is away: a page saying it is
    briefly unavailable, and afterwards no invitation, no queued email, no mail sent."""
    recruiter = sign_in_as(Role.RECRUITER)
    token = csrf_token(recruiter, "/")
    path = f"/screenings/{org.screening.id}/invitations"
    form = {"name": "Olive Outage", "email": "olive@example.com", "csrf_token": token}
    with outage():
        response = recruiter.post(path, data=form)
        _assert_unavailable(response)
        assert "Briefly unavailable" in response.get_data(as_text=True)
    invited = db.session.scalar(
        sa.select(Invitation).where(Invitation.candidate_email == "olive@example.com")
    )
    assert invited is None
    assert db.session.scalar(sa.select(JobRun).where(JobRun.name == "email.invitation")) is None
    assert not list(Path(app.config["MAIL_OUTBOX_DIR"]).glob("*"))
    # Back again: the same form works.
    assert recruiter.post(path, data=form).status_code == 302
    assert db.session.scalar(
        sa.select(Invitation).where(Invitation.candidate_email == "olive@example.com")
    )


def test_json_callers_get_a_json_503(app, client, org):
    """The candidate page's own API calls (JSON) get a JSON body they can show."""
    with connections_refused():
        response = client.get(f"/i/{org.token}/api/state", headers={"Accept": "application/json"})
    _assert_unavailable(response)
    assert response.json["error"] == "Briefly unavailable"
