"""The upload PATCH's statements run on the driver's own cursor (``database.DriverStatement``):
they must bind, convert and fail exactly as ``Connection.execute`` would, and the fast path's
PostgreSQL connection must go back to the pool as the session expects it (issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from interview.candidate import uploads
from interview.database import DriverStatement
from interview.extensions import db
from interview.models import Take, TakeStatus, utcnow

from . import factories

_takes = Take.__table__


@pytest.fixture
def take(app, org) -> Take:
    made = factories.take(org.screening)
    db.session.commit()
    return made


def _first(statement: DriverStatement, params: dict):
    connection = db.engine.raw_connection()
    try:
        found = statement.first(connection, db.engine.dialect, params)
        connection.commit()
        return found
    finally:
        connection.close()


def test_rows_come_back_as_sqlalchemy_gives_them(take):
    """Does a SELECT with a literal enum in its WHERE (bound, as SQLAlchemy binds it) return
    the enum, the zone-aware timestamp and the JSON list that ``Connection.execute`` returns
    for the same statement, and None for no row?"""
    expires = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    take.upload_expires_at, take.flags = expires, ["uploaded_late"]
    db.session.commit()
    statement = sa.select(_takes.c.status, _takes.c.upload_expires_at, _takes.c.flags).where(
        _takes.c.id == sa.bindparam("take_id"), _takes.c.status == TakeStatus.RECORDING
    )
    row = _first(DriverStatement(statement), {"take_id": take.id})
    expected = db.session.execute(statement, {"take_id": take.id}).one()
    db.session.rollback()
    assert tuple(row) == tuple(expected)
    assert row.status is TakeStatus.RECORDING
    assert row.upload_expires_at == expires and row.upload_expires_at.utcoffset() == timedelta(0)
    assert row.flags == ["uploaded_late"]
    assert _first(DriverStatement(statement), {"take_id": take.id + 1000}) is None


def test_values_are_bound_as_sqlalchemy_binds_them(take):
    """Does an UPDATE ... RETURNING store an enum, a zone-aware timestamp and a JSON list as
    the ORM reads them back, ignoring parameters the statement does not bind?"""
    when = utcnow().replace(microsecond=0)
    statement = (
        sa.update(_takes)
        .where(_takes.c.id == sa.bindparam("take_id"))
        .values(
            status=sa.bindparam("status", type_=_takes.c.status.type),
            finished_at=sa.bindparam("when", type_=_takes.c.finished_at.type),
            flags=sa.bindparam("flags", type_=_takes.c.flags.type),
            updated_at=sa.bindparam("when", type_=_takes.c.updated_at.type),
        )
        .returning(_takes.c.id)
    )
    params = {"take_id": take.id, "status": TakeStatus.UPLOADED, "when": when, "flags": ["x"]}
    row = _first(DriverStatement(statement), {**params, "unrelated": 1})
    assert row.id == take.id
    db.session.expire_all()
    stored = db.session.get(Take, take.id)
    assert (stored.status, stored.finished_at, stored.flags) == (TakeStatus.UPLOADED, when, ["x"])


def test_a_statement_that_needs_a_python_default_is_refused(take):
    """Is an UPDATE that leaves ``updated_at`` to its ``onupdate`` (a value computed in Python
    at execution, which the driver's cursor never computes) refused before it runs, instead of
    writing a NULL?"""
    statement = DriverStatement(sa.update(_takes).values(bytes_received=5))
    with pytest.raises(ValueError, match="updated_at"):
        _first(statement, {})
    db.session.expire_all()
    assert db.session.get(Take, take.id).bytes_received == 0


def test_a_refused_statement_raises_sqlalchemys_error_and_the_connection_goes_on(take):
    """Does a statement the database refuses (a CHECK constraint) raise SQLAlchemy's
    IntegrityError, with nothing written, on a connection that still works afterwards?"""
    statement = DriverStatement(
        sa.update(_takes)
        .where(_takes.c.id == sa.bindparam("take_id"))
        .values(bytes_received=sa.bindparam("size", type_=sa.BigInteger), updated_at=utcnow())
    )
    connection = db.engine.raw_connection()
    try:
        with pytest.raises(sa.exc.IntegrityError):
            statement.first(connection, db.engine.dialect, {"take_id": take.id, "size": -1})
        connection.rollback()
        assert (
            statement.first(connection, db.engine.dialect, {"take_id": take.id, "size": 7}) is None
        )
        connection.commit()
    finally:
        connection.close()
    db.session.expire_all()
    assert db.session.get(Take, take.id).bytes_received == 7


def test_a_connection_the_server_ended_is_invalidated_and_reported(app, take):
    """PostgreSQL: when the server ends the session under a statement (a restart, an
    administrator), does the statement raise SQLAlchemy's OperationalError marked as a lost
    connection, and is that connection dropped from the pool so the next one works?"""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's connection cannot be ended from outside")
    statement = DriverStatement(sa.select(_takes.c.id).where(_takes.c.id == sa.bindparam("i")))
    connection = db.engine.raw_connection()
    try:
        pid = connection.driver_connection.info.backend_pid
        outside = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        with outside.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        outside.dispose()
        with pytest.raises(sa.exc.OperationalError) as raised:
            statement.first(connection, db.engine.dialect, {"i": take.id})
        assert raised.value.connection_invalidated and not connection.is_valid
    finally:
        connection.close()
    assert _first(statement, {"i": take.id}).id == take.id


def test_the_fast_paths_connection_goes_back_out_of_autocommit(app):
    """PostgreSQL: is the connection a PATCH reads and claims on in autocommit while the
    request has it, and out of it once given back, so the session that takes it next from the
    pool still gets a transaction?"""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's driver has no autocommit to switch (it opens no transaction to read)")
    with app.test_request_context():
        connection = uploads._connection()
        driver = connection.driver_connection
        assert driver.autocommit and uploads._connection() is connection
        uploads.release_connection()
        assert driver.autocommit is False
