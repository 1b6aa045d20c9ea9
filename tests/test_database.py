"""Pooled PostgreSQL connections are checked before use without a round trip each time
(``database.check_before_use``): a dead one is replaced and no request fails, and a connection
used moments ago with nothing to read is not pinged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from interview import database
from interview.extensions import db


@pytest.fixture
def engine(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the check is for PostgreSQL; a SQLite file does not go away")
        yield db.engine


@pytest.fixture
def pings(engine, monkeypatch) -> list[int]:
    counted: list[int] = []
    original = engine.dialect.do_ping

    def counting(dbapi_connection):
        counted.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return counted


def _backend_pids(engine, count: int) -> list[int]:
    """Check out ``count`` connections at once (so the pool holds that many), note their
    server processes and give them back."""
    connections = [engine.connect() for _ in range(count)]
    pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in connections]
    for connection in connections:
        connection.close()
    return pids


def test_connections_ended_by_the_server_are_replaced_without_a_failed_request(
    engine, client, pings
):
    """Is every pooled connection whose session the server ended (as a restart does) noticed
    at checkout and replaced, so that the requests and queries after it all succeed?"""
    pids = _backend_pids(engine, 4)
    outside = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with outside.connect() as admin:
        ended = [
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            for pid in pids
        ]
    outside.dispose()
    assert ended == [True] * 4
    assert client.get("/login").status_code == 200
    after = _backend_pids(engine, 4)
    assert set(after).isdisjoint(pids)  # each dead one was replaced, none was handed out
    # Each dead one was pinged once, because its socket held the server's last message,
    # though each had been used moments ago; its replacement was not.
    assert len(pings) == 4


def test_a_connection_used_moments_ago_is_not_pinged_and_an_idle_one_is(engine, pings):
    """Is the ping (a round trip) left out for a connection given back moments ago, and sent
    for one idle longer than PING_AFTER_IDLE_SECONDS, which the poll cannot vouch for?"""
    _backend_pids(engine, 1)
    for _ in range(5):
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    assert pings == []
    for record in list(engine.pool._pool.queue):  # the idle connections in the pool
        record.info[database._LAST_USED] -= database.PING_AFTER_IDLE_SECONDS + 1
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    assert pings == [1]


def test_an_explicit_pool_pre_ping_is_left_to_sqlalchemy(engine):
    """Does asking for ``pool_pre_ping`` explicitly keep SQLAlchemy's own check, alone?"""
    other = sa.create_engine(engine.url, pool_pre_ping=True)
    database.check_before_use(other)
    assert not other.pool.dispatch.checkout
    other.dispose()
