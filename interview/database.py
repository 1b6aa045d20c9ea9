"""The database engine's settings, for PostgreSQL and the embedded SQLite alike."""

from __future__ import annotations

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
