"""The database engine's settings, for PostgreSQL and the embedded SQLite alike, and how a
request keeps what it loaded across its own commit."""

from __future__ import annotations

import collections
import contextlib
import functools
import select
import time
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .models.base import utcnow as _utcnow

# A pooled connection unused for longer than this is pinged (a round trip) before use; one
# used more recently is checked without one (``check_before_use``).
PING_AFTER_IDLE_SECONDS = 10.0
_LAST_USED = "interview.last_used"
_AUTOCOMMIT = "interview.autocommit"  # set on a connection ``autocommit_connection`` switched


def engine_options(url: str, given: dict, pool_size: int) -> dict:
    """The engine's pool for this database (options set explicitly win): ``pool_size`` kept
    plus 10 more at peak. A PostgreSQL connection is checked before use by
    ``check_before_use`` (a restarted server costs no request), not by SQLAlchemy's
    ``pool_pre_ping``, which pays a round trip on every checkout. A SQLite file: nothing to
    check (a file does not go away); an in-memory database keeps SQLAlchemy's own
    single-connection pool."""
    options = dict(given)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return options
    options.setdefault("pool_size", pool_size)
    options.setdefault("max_overflow", 10)
    return options


def check_before_use(engine: sa.Engine) -> None:
    """Check each connection the pool hands out, as ``pool_pre_ping`` would, without its round
    trip when the connection was in use moments ago (the upload path's PATCH was three round
    trips, one of them this ping, and under load each waits for a busy CPU).

    A server that restarts, or ends a session (shutdown, ``pg_terminate_backend``, an idle
    timeout), closes the socket or sends a last message on it, so an idle connection with
    nothing to read is alive as far as the server is concerned: that needs no round trip to
    see, only a zero-timeout ``poll``. A connection with something to read gets the ping (it
    is most likely dead, but a server may also send a harmless message, such as a changed
    setting, or TLS a record of its own), and so does one idle longer than
    ``PING_AFTER_IDLE_SECONDS`` (a connection silently dropped on the network, as firewalls do
    to idle ones, reads as nothing). A dead connection raises ``DisconnectionError``, on which
    the pool connects afresh and the request goes on."""
    if engine.pool._pre_ping:  # asked for explicitly: SQLAlchemy's own check already runs
        return
    dialect = engine.dialect

    def used(dbapi_connection, record) -> None:  # connected, or given back to the pool
        if record is not None:
            record.info[_LAST_USED] = time.monotonic()

    def checked_out(dbapi_connection, record, proxy) -> None:
        recent = time.monotonic() - record.info.get(_LAST_USED, 0.0) <= PING_AFTER_IDLE_SECONDS
        if recent and not _has_unread_input(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise sa.exc.DisconnectionError(str(error)) from error
            raise

    sa.event.listen(engine, "connect", used)
    sa.event.listen(engine, "checkin", used)
    sa.event.listen(engine, "checkout", checked_out)


def _has_unread_input(dbapi_connection) -> bool:
    """Whether an idle connection's socket has anything to read (a closed socket reads as
    end-of-file), or it has no socket any more."""
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:  # the driver says the connection is closed  # noqa: BLE001
        return True
    poller = select.poll()
    poller.register(descriptor, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


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


class DriverStatement:
    """A Core statement compiled once for a dialect and run on the driver's own cursor: the
    same SQL, bind and result conversions as ``Connection.execute``, without the execution
    machinery around it (for the one or two statements of the product's hottest request, the
    upload PATCH, where that machinery was a fifth of the interpreter's time at 200
    candidates). Errors come out as SQLAlchemy's (``DBAPIError.instance``), a connection the
    driver reports as gone is invalidated in the pool, as ``Connection.execute`` does. Column
    defaults computed in Python (``default=``, ``onupdate=``) are not run: a statement that
    would need one is refused when first compiled, so it must set those columns itself. The
    engine's statement events (``before_cursor_execute``) do not fire either, so on SQLite, whose
    writers queue on them, a write takes its turn explicitly (``sqlite.driver_transaction``);
    the pool's events (checkout, checkin) do fire."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._by_dialect: dict[str, tuple] = {}

    def _compiled(self, dialect: sa.Dialect) -> tuple:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            defaulted = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            if defaulted:  # their values come from Python at execution, which this skips
                raise ValueError(f"set {defaulted} explicitly: a DriverStatement runs no defaults")
            processors, fixed = {}, {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
                if not bind.required and bind.callable is None:
                    value = bind.effective_value
                    fixed[name] = process(value) if process else value
            columns = list(getattr(self.statement, "exported_columns", ()))
            results = [
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            ]
            row = collections.namedtuple("Row", [c.key for c in columns]) if columns else None
            order = tuple(compiled.positiontup) if compiled.positional else None
            found = (compiled.string, processors, fixed, set(compiled.binds), order, results, row)
            self._by_dialect[dialect.name] = found
        return found

    def first(self, connection, dialect: sa.Dialect, params: dict):
        """The statement's first row (or None) on ``connection``, a pooled connection (the
        pool's proxy of the driver's); its transaction is the caller's affair."""
        sql, processors, fixed, names, order, results, row = self._compiled(dialect)
        values = dict(fixed)
        for name in names.intersection(params):
            process = processors.get(name)
            values[name] = process(params[name]) if process else params[name]
        if order is not None:  # a driver with positional parameters (SQLite's "?")
            values = tuple(values[name] for name in order)
        cursor = connection.cursor()
        try:
            cursor.execute(sql, values)
            found = cursor.fetchone() if row is not None else None  # (description is costly)
        except dialect.loaded_dbapi.Error as error:
            raise driver_error(dialect, error, connection, cursor, sql, values) from error
        finally:
            cursor.close()
        if found is None or row is None:
            return found
        return row(*(r(v) if r else v for r, v in zip(results, found, strict=True)))


def driver_error(dialect: sa.Dialect, error: Exception, connection=None, cursor=None,
            statement=None, params=None) -> sa.exc.DBAPIError:  # fmt: skip
    """A driver's error as SQLAlchemy's (``OperationalError``, ``IntegrityError``, ...), the
    connection invalidated in the pool when the driver says it is gone."""
    gone = dialect.is_disconnect(error, connection, cursor)
    if gone and connection is not None:
        connection.invalidate(error)
    return sa.exc.DBAPIError.instance(
        statement, params, error, dialect.loaded_dbapi.Error, connection_invalidated=gone,
        dialect=dialect,
    )  # fmt: skip


def autocommit_connection(engine: sa.Engine):
    """A pooled connection (the pool's proxy of the driver's, checked as every checkout is)
    for ``DriverStatement``, in autocommit on PostgreSQL; ``give_back`` returns it as the pool
    expects. SQLite's driver (pysqlite's default mode) opens no transaction for a read, and a
    write is its own short transaction (``sqlite.driver_transaction``): nothing to switch."""
    try:
        connection = engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as error:  # the database is away
        raise driver_error(engine.dialect, error) from error
    if engine.dialect.name == "sqlite":
        return connection
    try:
        connection.driver_connection.autocommit = True
    except engine.dialect.loaded_dbapi.Error as error:
        connection.invalidate(error)
        connection.close()
        raise driver_error(engine.dialect, error) from error
    connection.info[_AUTOCOMMIT] = True
    return connection


def give_back(connection) -> None:
    """An ``autocommit_connection`` back to the pool, out of autocommit first (PostgreSQL), as
    the session expects its connections (one that cannot be is dropped from the pool)."""
    try:
        if connection.info.pop(_AUTOCOMMIT, False) and connection.is_valid:
            connection.driver_connection.autocommit = False
    except Exception as error:  # noqa: BLE001 (a connection gone bad: not given back)
        connection.invalidate(error)
    finally:
        connection.close()


# --- writing a step's rows without the unit of work ------------------------------------------
# A candidate's step loads the interview with its relationships (links.resolve) and changes a
# row or two. At the commit, the session's flush walks every related object the changed ones
# cascade to: about 4 ms of a reveal's 11 ms of CPU on PostgreSQL, the start burst's largest
# part when every candidate reveals and starts in the same second. These write the rows at
# once, in the session's transaction, and record the values as the objects' loaded state, so
# the flush finds nothing to do and the step reads its objects as they now stand.


@functools.cache
def _update_by_id(table: sa.Table, keys: tuple[str, ...]) -> sa.Update:
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values({key: sa.bindparam(f"set_{key}", type_=table.c[key].type) for key in keys})
    )


def write_through(obj, **values) -> None:
    """UPDATE ``obj``'s row with ``values`` now (its ``updated_at`` too, as its ``onupdate``
    would) and make them the object's loaded state."""
    table = obj.__table__
    if "updated_at" in table.c and "updated_at" not in values:
        values["updated_at"] = _utcnow()
    session = sa.orm.object_session(obj)
    params = {f"set_{key}": value for key, value in values.items()}
    session.connection().execute(_update_by_id(table, tuple(values)), {"row_id": obj.id, **params})
    for key, value in values.items():
        set_committed_value(obj, key, value)


def _row_values(mapper: sa.orm.Mapper, obj) -> dict:
    """A new object's column values, with the columns' defaults applied as a flush would."""
    values = {}
    for column in mapper.local_table.columns:
        value = obj.__dict__.get(mapper.get_property_by_column(column).key)
        if value is None and column.default is not None and not column.primary_key:
            default = column.default
            value = default.arg(None) if default.is_callable else default.arg
        if value is not None or not column.primary_key:
            values[column.key] = value
    return values


def insert_row(session: sa.orm.Session, obj) -> None:
    """INSERT a new object's row now, without making it persistent: for a row written once
    and not read back in the request (an audit event)."""
    mapper = sa.inspect(obj).mapper
    session.connection().execute(sa.insert(mapper.local_table), _row_values(mapper, obj))


def insert_through(session: sa.orm.Session, obj, **related) -> None:
    """INSERT a new object's row now (its columns' defaults applied here, as a flush would)
    and make it persistent in ``session`` as loaded, with its id. ``related`` names objects it
    belongs to (many-to-one, already in the session): set on both sides as loaded. Its other
    relationships are loaded empty: nothing refers to a row just made. A constraint refused
    raises IntegrityError from here, as a flush would."""
    mapper = sa.inspect(obj).mapper
    values = _row_values(mapper, obj)
    for name, owner in related.items():
        for local, remote in mapper.relationships[name].local_remote_pairs:
            owner_mapper = sa.inspect(owner).mapper
            values[local.key] = getattr(owner, owner_mapper.get_property_by_column(remote).key)
    inserted = session.connection().execute(sa.insert(mapper.local_table), values)
    keys = (column.key for column in mapper.primary_key)
    values.update(zip(keys, inserted.inserted_primary_key, strict=True))
    for column in mapper.local_table.columns:
        set_committed_value(obj, mapper.get_property_by_column(column).key, values[column.key])
    for relationship in mapper.relationships:
        if relationship.key in related or relationship.key in obj.__dict__:
            continue
        if relationship.direction is not sa.orm.MANYTOONE:
            set_committed_value(obj, relationship.key, [] if relationship.uselist else None)
    make_transient_to_detached(obj)
    session.add(obj)
    for name, owner in related.items():
        set_committed_value(obj, name, owner)
        backref = mapper.relationships[name].back_populates
        if backref and backref in owner.__dict__:
            collection = getattr(owner, backref)
            set_committed_value(owner, backref, [*collection, obj])
