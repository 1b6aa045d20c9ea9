"""The embedded database (SQLite): WAL mode, durable commits, and one fair queue for writers.

SQLite lets one writer in at a time. Left to itself, a writer that finds the lock taken sleeps
in growing steps (up to 100 ms) until its busy timeout, so under many candidates uploading at
once some requests wait seconds and a few give up (503) although the lock was free most of that
time. Here writers queue instead: a lock per process (woken the moment it is free) and a
``flock`` on a file beside the database between the processes of one machine, taken at a
transaction's first write and released at its commit or rollback. Readers never wait (WAL). The
wait is bounded by the busy timeout, so a stuck writer still yields a retryable 503, never a
hang.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

import sqlalchemy as sa

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
BUSY_TIMEOUT_SECONDS = 5.0  # pysqlite's default ``timeout``, kept


def _pragmas(dbapi_connection, _record) -> None:
    """WAL: readers never wait for the writer; ``synchronous=FULL`` keeps every commit durable
    (an acknowledged upload offset survives a crash or a power cut)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class WriterQueue:
    """One writer at a time, in arrival order within a process, across processes by flock."""

    def __init__(self, database_path: str) -> None:
        self.lock_path = f"{database_path}.writer-lock"
        self.turn = threading.Lock()

    def before_execute(self, conn, cursor, statement: str, *_args) -> None:
        info = conn.info
        if "writer_fd" in info or not statement.lstrip()[:7].upper().startswith(WRITES):
            return
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        if not self.turn.acquire(timeout=BUSY_TIMEOUT_SECONDS):
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


def configure(engine: sa.Engine) -> None:
    """Apply the above to the app's SQLite engine (a file database)."""
    sa.event.listen(engine, "connect", _pragmas)
    path = engine.url.database
    if not path or path == ":memory:":
        return
    queue = WriterQueue(os.path.abspath(path))
    sa.event.listen(engine, "before_cursor_execute", queue.before_execute)
    sa.event.listen(engine, "commit", queue.release)
    sa.event.listen(engine, "rollback", queue.release)
    sa.event.listen(engine, "reset", queue.release_on_reset)
    sa.event.listen(engine, "invalidate", queue.release_on_invalidate)
