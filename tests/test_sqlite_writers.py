"""SQLite's writer queue (interview/sqlite.py): one writer at a time per process, and an upload's
claim (``urgent_write``) before the writes waiting without it."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from interview import sqlite
from interview.extensions import db

from .candidate.test_uploads import Candidate

BOUND = 10.0  # seconds any wait below may take at most


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def _waiter(turn: sqlite.Turn, urgent: bool, order: list[str], name: str) -> threading.Thread:
    def run() -> None:
        assert turn.acquire(urgent=urgent, timeout=BOUND)
        order.append(name)
        turn.release()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_an_urgent_writer_goes_before_writers_that_waited_longer():
    """With the turn taken and two plain writers waiting, does an urgent one that came last
    get the turn first when it is released, and the plain ones after it?"""
    turn = sqlite.Turn()
    assert turn.acquire(timeout=1)
    order: list[str] = []
    threads = [_waiter(turn, False, order, "plain-1"), _waiter(turn, False, order, "plain-2")]
    _until(lambda: turn.waiting() == (2, 0), "two plain writers to wait")
    threads.append(_waiter(turn, True, order, "urgent"))
    _until(lambda: turn.waiting() == (2, 1), "the urgent writer to wait")
    turn.release()
    for thread in threads:
        thread.join(BOUND)
    assert order[0] == "urgent" and sorted(order[1:]) == ["plain-1", "plain-2"]
    assert turn.waiting() == (0, 0) and turn.acquire(timeout=0)


def test_a_held_turn_times_out_for_both_kinds_and_then_comes():
    turn = sqlite.Turn()
    assert turn.acquire(timeout=1)
    assert not turn.acquire(timeout=0.01)
    assert not turn.acquire(urgent=True, timeout=0.01)
    assert turn.waiting() == (0, 0)
    turn.release()
    assert turn.acquire(urgent=True, timeout=0)


def test_many_writers_of_both_kinds_each_get_the_turn_alone():
    """16 threads taking the turn 200 times each, every third urgent: never two holders at
    once, and nobody waits out the timeout (no wake-up lost)."""
    turn = sqlite.Turn()
    holders, most, failures = [0], [0], []
    guard = threading.Lock()

    def run(n: int) -> None:
        for i in range(200):
            if not turn.acquire(urgent=(n + i) % 3 == 0, timeout=BOUND):
                failures.append(n)
                return
            with guard:
                holders[0] += 1
                most[0] = max(most[0], holders[0])
            with guard:
                holders[0] -= 1
            turn.release()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND * 3)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == [] and most[0] == 1 and turn.waiting() == (0, 0)


@pytest.fixture
def asked(monkeypatch) -> list[bool]:
    """Whether each writer's turn is asked for urgently, in order, from now on."""
    asked: list[bool] = []
    acquire = sqlite.Turn.acquire

    def recording(self, *, urgent=False, timeout):
        asked.append(urgent)
        return acquire(self, urgent=urgent, timeout=timeout)

    monkeypatch.setattr(sqlite.Turn, "acquire", recording)
    return asked


def test_the_engine_takes_the_turn_urgently_only_when_a_statement_asks(tmp_path, asked):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'writers.sqlite3'}")
    sqlite.configure(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))  # a read takes no turn
        conn.execute(sa.text("INSERT INTO t VALUES (1)"), execution_options={"urgent_write": True})
        conn.execute(sa.text("INSERT INTO t VALUES (2)"))  # the same transaction: no new turn
    assert asked == [False, True]
    engine.dispose()


def test_the_turn_is_given_back_after_sqlite_commits_not_before(tmp_path, monkeypatch):
    """Is the writer's turn released once the driver's commit (and rollback) has returned, so
    the next writer never meets SQLite's own lock and its busy handler's sleeps?"""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'order.sqlite3'}")
    seen: list[str] = []
    commit, rollback = engine.dialect.do_commit, engine.dialect.do_rollback

    def driver_commit(connection):
        seen.append("driver commit")
        commit(connection)

    def driver_rollback(connection):
        seen.append("driver rollback")
        rollback(connection)

    engine.dialect.do_commit = driver_commit
    engine.dialect.do_rollback = driver_rollback
    sqlite.configure(engine)
    release = sqlite.Turn.release

    def released(self):
        seen.append("turn released")
        release(self)

    monkeypatch.setattr(sqlite.Turn, "release", released)
    with engine.connect():
        pass  # the dialect's first look at a connection, and the pool's reset: no turn
    assert "turn released" not in seen
    seen.clear()
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    assert seen.count("turn released") == 1
    assert seen.index("turn released") == seen.index("driver commit") + 1
    seen.clear()
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        conn.rollback()
    assert seen[:2] == ["driver rollback", "turn released"]
    assert seen.count("turn released") == 1  # given back once
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()


def _driver_engine(tmp_path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'driver.sqlite3'}")
    sqlite.configure(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    return engine


def _rows(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT n FROM t ORDER BY n")).scalars())


def test_a_driver_transaction_takes_the_turn_commits_and_gives_it_back(tmp_path, asked):
    """``driver_transaction`` (a write on the driver's own cursor, past the engine's events): is
    the turn taken as asked before the write, the write committed when the block ends, and the
    turn given back after the commit, so the next writer gets it?"""
    engine = _driver_engine(tmp_path)
    queue = sqlite._QUEUES[engine]
    asked.clear()
    connection = engine.raw_connection()
    try:
        with sqlite.driver_transaction(engine, connection, urgent=True):
            assert queue.turn._held and "writer_fd" in connection.info
            connection.cursor().execute("INSERT INTO t VALUES (1)")
            assert _rows(engine) == []  # (another connection: not before the commit)
        assert not queue.turn._held and "writer_fd" not in connection.info
        assert asked == [True] and _rows(engine) == [1]
        with sqlite.driver_transaction(engine, connection):
            connection.cursor().execute("INSERT INTO t VALUES (2)")
        assert asked == [True, False] and _rows(engine) == [1, 2]
    finally:
        connection.close()
    engine.dispose()


def test_a_driver_transaction_that_fails_writes_nothing_and_gives_the_turn_back(tmp_path):
    """A block that raises (a statement refused, or anything else) is rolled back and the turn
    is given back; the driver's own errors come out as SQLAlchemy's, as the app answers them."""
    engine = _driver_engine(tmp_path)
    queue = sqlite._QUEUES[engine]
    connection = engine.raw_connection()
    try:
        with pytest.raises(RuntimeError), sqlite.driver_transaction(engine, connection):
            connection.cursor().execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("the body was not what it claimed")
        assert not queue.turn._held and _rows(engine) == []
        with pytest.raises(sa.exc.IntegrityError), sqlite.driver_transaction(engine, connection):
            connection.cursor().execute("INSERT INTO t VALUES (3)")
            connection.cursor().execute("INSERT INTO t VALUES (3)")  # the same key twice
        assert not queue.turn._held and _rows(engine) == []
        with sqlite.driver_transaction(engine, connection):  # and the connection still works
            connection.cursor().execute("INSERT INTO t VALUES (4)")
        assert _rows(engine) == [4]
    finally:
        connection.close()
    engine.dispose()


def test_an_upload_claim_asks_for_the_turn_urgently(app, client, org, asked):
    """On SQLite, is a PATCH's claim written as an urgent write (and a reveal's not)?"""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the writer queue is SQLite's")
    candidate = Candidate(client, org.token)
    assert candidate.reveal(0).status_code == 200
    assert asked and not any(asked)
    url = candidate.create(0).headers["Location"]
    asked.clear()
    assert candidate.patch(url, b"a" * 1000, 0).status_code == 204
    assert asked == [True]
