"""The database engine's settings, for PostgreSQL and the embedded SQLite alike, and how a
request keeps what it loaded across its own commit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa


def engine_options(url: str, given: dict, pool_size: int) -> dict:
    """The engine's pool for this database (options set explicitly win). PostgreSQL: checked
    before use (a restarted server costs no request), ``pool_size`` kept plus 10 more at peak.
    A SQLite file: the same size and nothing to check (a file does not go away); an in-memory
    database keeps SQLAlchemy's own single-connection pool."""
    options = dict(given)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            options.setdefault("pool_size", pool_size)
            options.setdefault("max_overflow", 10)
        return options
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", pool_size)
    options.setdefault("max_overflow", 10)
    return options


@contextlib.contextmanager
def loaded_objects_kept(session: sa.orm.Session) -> Iterator[None]:
    """Within the block, a commit leaves the objects already loaded as they are, instead of
    expiring them all so that the next access reloads each one. For a request that commits
    its own change and then answers from the same objects (the candidate's reveal and upload
    creation: six of a reveal's fourteen statements were that reload)."""
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before
