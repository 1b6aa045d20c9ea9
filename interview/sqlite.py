"""The embedded database (SQLite): WAL mode, durable commits, and one fair queue for writers.

SQLite lets one writer in at a time. Left to itself, a writer that finds the lock taken sleeps
in growing steps (up to 100 ms) until its busy timeout, so under many candidates uploading at
once some requests wait seconds and a few give up (503) although the lock was free most of that
time. Here writers queue instead: a lock per process (woken the moment it is free) and a
``flock`` on a file beside the database between the processes of one machine, taken at a
transaction's first write and released at its commit or rollback. Readers never wait (WAL). The
wait is bounded by the busy timeout, so a stuck writer still yields a retryable 503, never a
hang.

A statement executed with the execution option ``urgent_write`` (an upload's claim: one short
UPDATE and the chunk's row, which a recorder waits on before it sends more) takes its process's
turn before every writer without it. When a hundred candidates start at once, their reveals and
upload creations each hold the lock for a flush and a commit (5-15 ms under that load), and
chunks acknowledged behind them waited for the write lock up to a quarter of a second (p95,
200 candidates); an urgent claim now waits at most for the write in progress in its process
(and, through the flock, for another process's).

An upload PATCH writes without the session, on the driver's own cursor
(``database.DriverStatement``), which passes no engine event: it takes its turn explicitly
(``driver_transaction``), in the same queue.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator

import sqlalchemy as sa

from .database import driver_error

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
BUSY_TIMEOUT_SECONDS = 5.0  # pysqlite's default ``timeout``, kept


def _pragmas(dbapi_connection, _record) -> None:
    """WAL: readers never wait for the writer; ``synchronous=FULL`` keeps every commit durable
    (an acknowledged upload offset survives a crash or a power cut)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class Turn:
    """A process's writer turn: one holder at a time; a waiter that is ``urgent`` gets it
    before every waiter that is not. Each release wakes one waiter (an urgent one if any), not
    all of them, so a queue of writers costs no herd of wake-ups."""

    def __init__(self) -> None:
        lock = threading.Lock()
        self._turns = {True: threading.Condition(lock), False: threading.Condition(lock)}
        self._waiting = {True: 0, False: 0}  # by urgency
        self._held = False

    def acquire(self, *, urgent: bool = False, timeout: float) -> bool:
        """Take the turn within ``timeout`` seconds; False if it did not come."""
        with self._turns[urgent]:
            self._waiting[urgent] += 1
            try:
                got = self._turns[urgent].wait_for(
                    lambda: not self._held and (urgent or not self._waiting[True]), timeout
                )
            finally:
                self._waiting[urgent] -= 1
            if got:
                self._held = True
            return got

    def waiting(self) -> tuple[int, int]:
        """How many wait for the turn now: (plain, urgent)."""
        with self._turns[False]:
            return self._waiting[False], self._waiting[True]

    def release(self) -> None:
        # A woken waiter checks again, so a wake-up that finds the turn taken meanwhile is
        # harmless; every release wakes someone while anyone waits.
        with self._turns[False]:
            self._held = False
            self._turns[bool(self._waiting[True])].notify()


class WriterQueue:
    """One writer at a time, in arrival order within a process (urgent writes first), across
    processes by flock."""

    def __init__(self, database_path: str) -> None:
        self.lock_path = f"{database_path}.writer-lock"
        self.turn = Turn()

    def before_execute(self, conn, cursor, statement: str, _parameters, context, *_args) -> None:
        if "writer_fd" in conn.info or not statement.lstrip()[:7].upper().startswith(WRITES):
            return
        urgent = bool(context.execution_options.get("urgent_write")) if context else False
        self.take(conn.info, urgent=urgent, statement=statement)

    def take(self, info: dict, *, urgent: bool, statement: str) -> None:
        """The writer's turn for the connection whose ``info`` this is (kept there until
        ``release``), or SQLite's own "database is locked" after the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        if not self.turn.acquire(urgent=urgent, timeout=BUSY_TIMEOUT_SECONDS):
            raise _locked(statement)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    self.turn.release()
                    raise _locked(statement) from None
                time.sleep(0.001)  # only one thread per process polls: the one whose turn it is
        info["writer_fd"] = fd

    def release(self, conn, *_args) -> None:
        fd = conn.info.pop("writer_fd", None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock
            self.turn.release()

    def release_on_reset(self, _dbapi_connection, record, _reset_state) -> None:
        self.release(record)

    def release_on_invalidate(self, _dbapi_connection, record, _exception) -> None:
        self.release(record)


def _locked(statement: str) -> sa.exc.OperationalError:
    """What SQLite itself raises at its busy timeout (the app answers it 503 + Retry-After)."""
    return sa.exc.OperationalError(statement, None, sqlite3.OperationalError("database is locked"))


_QUEUES: weakref.WeakKeyDictionary[sa.Engine, WriterQueue] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def driver_transaction(engine: sa.Engine, connection, *, urgent: bool = False) -> Iterator[None]:
    """A write transaction on a pooled connection's own driver, for ``DriverStatement``s
    (whose statements pass no engine event, so the queue's hook never sees them): the writer's
    turn first, then whatever the block writes (pysqlite begins the transaction at its first
    write), committed when the block ends and rolled back if it raises; the turn given back
    after either, as ``configure`` gives it back after SQLAlchemy's own commits. Errors come
    out as SQLAlchemy's, as from ``DriverStatement``."""
    queue = _QUEUES.get(engine)
    if queue is not None:
        queue.take(connection.info, urgent=urgent, statement="BEGIN")
    try:
        try:
            yield
            connection.commit()
        except BaseException:
            with contextlib.suppress(engine.dialect.loaded_dbapi.Error):
                connection.rollback()
            raise
    except engine.dialect.loaded_dbapi.Error as error:
        raise driver_error(engine.dialect, error, connection) from error
    finally:
        if queue is not None:
            queue.release(connection)


def configure(engine: sa.Engine) -> None:
    """Apply the above to the app's SQLite engine (a file database)."""
    sa.event.listen(engine, "connect", _pragmas)
    path = engine.url.database
    if not path or path == ":memory:":
        return
    queue = WriterQueue(os.path.abspath(path))
    _QUEUES[engine] = queue
    sa.event.listen(engine, "before_cursor_execute", queue.before_execute)
    # The turn is given back once SQLite has committed or rolled back, not when SQLAlchemy is
    # about to (its "commit" and "rollback" events come before the driver's call): given back
    # earlier, the next writer's first statement met SQLite's own lock while the commit's
    # fsync ran and slept in SQLite's busy handler (1, 2, 5, 10 ... 100 ms steps).
    dialect = engine.dialect
    dialect.do_commit = _then_release(dialect.do_commit, queue)  # type: ignore[method-assign]
    dialect.do_rollback = _then_release(dialect.do_rollback, queue)  # type: ignore[method-assign]
    sa.event.listen(engine, "reset", queue.release_on_reset)
    sa.event.listen(engine, "invalidate", queue.release_on_invalidate)


def _then_release(finish, queue: WriterQueue):
    """``finish`` (the dialect's commit or rollback of a pooled connection), then the writer's
    turn back, whatever happened."""

    def finished(connection) -> None:
        try:
            finish(connection)
        finally:
            try:
                connection.info  # noqa: B018 (a pooled connection's: where the turn is kept)
            except (AttributeError, NotImplementedError):
                pass  # the dialect's first look at a new connection, before any turn
            else:
                queue.release(connection)

    return finished
