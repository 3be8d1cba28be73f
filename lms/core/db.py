"""The database kernel: column types, transaction helpers, and the engine listeners the factory installs."""

import enum
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back timezone-aware.

    SQLite keeps no offset; without this a time would come back naive and be
    shown seven hours off in Asia/Ho_Chi_Minh.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use lms.core.db.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class LabelledEnum(enum.StrEnum):
    """A state stored by its value, with a translated label for people."""

    @property
    def label(self) -> str:
        return str(self.labels().get(self, self.value))

    @classmethod
    def labels(cls) -> dict:
        """Return the translated label of each member; subclasses override."""
        return {}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """Return (value, label) pairs for a select field."""
        return [(m.value, m.label) for m in cls]


def enum_column_type(enum_cls: type[enum.Enum]) -> sa.Enum:
    """Return a portable column type that stores an enum member by its value."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def move_in_order(items: list, item, direction: str) -> bool:
    """Swap an item with its neighbour ("up" or "down") and renumber `position`; return False at either end.

    `items` are the siblings in their current order; parts, lessons, questions and rubric criteria
    are all reordered this way.
    """
    index = items.index(item)
    target = index - 1 if direction == "up" else index + 1
    if direction not in {"up", "down"} or not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    for position, each in enumerate(items):
        each.position = position
    return True


#: Requests with these methods only read, unless their view is marked with `writes_database`.
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: What the current unit of work said it will do (True: write, False: only read); None: judge by the request.
_WRITE_INTENT: ContextVar[bool | None] = ContextVar("lms_write_intent", default=None)


def writes_database(view):
    """Mark a GET view that writes (opening a lesson records it), so SQLite begins its transaction as a writer.

    Put it right under the route decorator: the attribute must sit on the function the route holds.
    """
    view.writes_database = True
    return view


@contextmanager
def transactions_that_write(write: bool = True):
    """Begin the transactions opened inside as writers (a job) or as readers (a long read beside writes)."""
    token = _WRITE_INTENT.set(write)
    try:
        yield
    finally:
        _WRITE_INTENT.reset(token)


def may_write() -> bool:
    """Tell whether the transaction about to begin may write: in a job, or in a request that is not a plain read.

    Outside both (the shell, a test's own queries, a CLI command) it begins as a reader, as SQLite
    does by default; commands that write beside a running site say so with `transactions_that_write`.
    """
    intent = _WRITE_INTENT.get()
    if intent is not None:
        return intent
    if not has_request_context():
        return False
    if request.method not in READING_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "writes_database", False))


#: Values per IN (...) list or bulk INSERT: within every database's limit on bound parameters.
IN_CHUNK = 500


def in_chunks(items: list, size: int = IN_CHUNK) -> Iterator[list]:
    """Yield the items in lists of at most `size`, for IN (...) lists and bulk statements."""
    for start in range(0, len(items), size):
        yield items[start: start + size]


def insert_if_absent(session, model, values: dict, *, unique: list[str]) -> bool:
    """Insert a row unless one with the same `unique` columns exists, in one statement; return whether it did.

    Two requests creating the same row at once both succeed: one inserts, the other finds it.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(dialect)
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    key = model.__table__.primary_key.columns.values()[0]
    return session.execute(statement.returning(key)).first() is not None


# --- Engine and pool listeners: transactions, writer turns, idle pings -----------------------------

def end_read_only_transaction(exc: BaseException | None) -> None:
    """End a request that only read with COMMIT instead of the usual ROLLBACK.

    psycopg forgets its prepared statements at every ROLLBACK, so PostgreSQL parsed and planned
    every query of every request again. A transaction that wrote nothing (no statement but
    SELECT, no unflushed change) ends the same either way; anything else is still rolled back.
    """
    from lms.core.extensions import db

    if exc is not None or not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    if not session.connection().info.get(_WROTE):
        session.commit()


_WROTE = "lms_transaction_wrote"


def _note_writes(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info[_WROTE] = True


def _forget_writes(conn):
    conn.info.pop(_WROTE, None)


#: A pooled connection unused for this long is checked before use.
IDLE_PING_AFTER_S = 10.0


def _remember_checkin(dbapi_connection, connection_record):
    connection_record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
    """Check a connection that sat idle before handing it out; a dead one is replaced (SQLAlchemy's recipe).

    Under load connections are reused within milliseconds and never pinged; after a quiet spell,
    when a restarted database may have dropped them, the first request gets a working one.
    """
    checked_in_at = connection_record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_AFTER_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # psycopg opened a transaction for the SELECT
    except Exception as exc:  # any driver's "connection is gone"
        raise DisconnectionError() from exc


def _tune_sqlite(dbapi_connection, connection_record):
    """Turn on WAL and foreign keys for every SQLite connection, and take over its BEGIN."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        # pysqlite otherwise issues no BEGIN before a SAVEPOINT, so RELEASE commits on its own: an
        # event's id was saved without its effect. `_begin_sqlite` opens every transaction instead
        # (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _begin_sqlite(conn):
    """Open an SQLite transaction: as a writer up front wherever it may write.

    A deferred transaction that reads, then writes after another has committed, fails at once with
    "database is locked" (busy_timeout never applies to that upgrade); one begun IMMEDIATE waits
    its turn for the write lock instead. Pages that only read stay DEFERRED, so readers never queue.
    """
    if conn.dialect.name != "sqlite":
        return
    # On the driver's own connection: BEGIN is not a statement of the unit of work (query counts,
    # the read-only check of `_note_writes` see only what the code asked for).
    driver = conn.connection.driver_connection
    if not may_write():
        driver.execute("BEGIN")
        return
    _take_writer_turn(conn)
    try:
        driver.execute("BEGIN IMMEDIATE")
    except Exception:
        _end_writer_turn(conn.connection._connection_record)
        raise


#: How long a writer waits for its turn among this process's threads before giving up (503).
WRITER_WAIT_S = 20.0
_WRITER_TURN = "lms_writer_turn"


def _take_writer_turn(conn) -> None:
    """Queue this process's SQLite writers on one lock before they ask SQLite for its write lock.

    SQLite's own wait polls with sleeps of up to 100 ms and favours no one, so under a class's
    load some writers waited past busy_timeout while others came and went. Threads waiting on a
    Python lock are woken the moment it is free; SQLite's wait is left for other processes (the
    other web worker, the job worker).
    """
    import sqlite3
    import threading

    record = conn.connection._connection_record
    if _WRITER_TURN in record.info:
        return  # this connection has the turn already
    engine = conn.engine
    lock = engine.__dict__.get("_lms_writer_lock")
    if lock is None:
        lock = engine.__dict__.setdefault("_lms_writer_lock", threading.Lock())
    if not lock.acquire(timeout=WRITER_WAIT_S):
        raise sqlite3.OperationalError("database is locked")
    record.info[_WRITER_TURN] = lock


def _end_writer_turn(connection_record) -> None:
    turn = connection_record.info.pop(_WRITER_TURN, None) if connection_record is not None else None
    if turn is not None:
        turn.release()


def _writer_committed(conn):
    # The event comes before SQLAlchemy's COMMIT: commit here, then pass the turn on (the driver's
    # commit after this finds nothing to do). Passed on first, the next writer's BEGIN IMMEDIATE
    # would meet the lock still held and sleep in SQLite's busy handler at every turn.
    _finish_writer_turn(conn, "commit")


def _writer_rolled_back(conn):
    _finish_writer_turn(conn, "rollback")


def _finish_writer_turn(conn, how: str) -> None:
    if conn.dialect.name != "sqlite" or conn.invalidated:
        return
    record = conn.connection._connection_record
    if record is None or _WRITER_TURN not in record.info:
        return
    try:
        getattr(conn.connection.driver_connection, how)()
    finally:
        _end_writer_turn(record)


def _writer_reset(dbapi_connection, connection_record, reset_state=None):
    # A connection handed back to the pool without COMMIT or ROLLBACK through SQLAlchemy.
    _end_writer_turn(connection_record)


def _writer_gone(dbapi_connection, connection_record, *args):
    _end_writer_turn(connection_record)


_LISTENERS = (
    (Engine, "before_cursor_execute", _note_writes),
    (Engine, "commit", _forget_writes),
    (Engine, "rollback", _forget_writes),
    (Pool, "checkin", _remember_checkin),
    (Pool, "checkout", _ping_if_idle),
    (Engine, "connect", _tune_sqlite),
    (Engine, "begin", _begin_sqlite),
    (Engine, "commit", _writer_committed),
    (Engine, "rollback", _writer_rolled_back),
    (Pool, "reset", _writer_reset),
    (Pool, "invalidate", _writer_gone),
    (Pool, "close", _writer_gone),
)


def install_engine_listeners() -> None:
    """Listen on every engine and pool for the transaction rules above; safe to call again."""
    for target, name, listener in _LISTENERS:
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)
