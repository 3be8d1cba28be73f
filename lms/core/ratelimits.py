"""Rate-limit counters in a SQL database that every worker and node shares, for set-ups without Redis.

Flask-Limiter's ``memory://`` storage keeps one set of counters per process: with gunicorn's two
workers a limit of 10 let 18 tries through, and 94 for a limit of 50. These counters live in
one table instead, reached by the storage URI ``lms+<SQLAlchemy URL>``:

- ``lms+sqlite:////srv/lms/instance/rate-limits.sqlite3``, the SQLite set-up's default: a file of
  its own beside the database, so a counter written while a request holds the application
  database's write lock never waits for that lock (it would wait for itself).
- ``lms+postgresql+psycopg://…``: the application's PostgreSQL database, shared by every node.

The table is a cache, like the job queue's own SQLite file: the storage creates it when missing
and no migration knows it (migrations/env.py leaves it out of comparisons). Each count is one
atomic upsert, so two workers hitting one key at once both count.
"""

import os
import random
import threading
import time

import sqlalchemy as sa
from limits.storage import Storage

SCHEME_PREFIX = "lms+"
TABLE_NAME = "rate_limit_counters"

_metadata = sa.MetaData()
counters = sa.Table(
    TABLE_NAME, _metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # seconds since the epoch
)

#: One write in this many also deletes the windows that have ended, so the table stays small.
PURGE_EVERY = 200

_INCREMENT = sa.text("""
    INSERT INTO rate_limit_counters (key, count, expires_at) VALUES (:key, :amount, :expires_at)
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN rate_limit_counters.expires_at <= :now THEN :amount ELSE rate_limit_counters.count + :amount END,
        expires_at = CASE WHEN rate_limit_counters.expires_at <= :now THEN :expires_at ELSE rate_limit_counters.expires_at END
    RETURNING count
""")


def storage_uri(database_url: str, instance_path) -> str:
    """Return the counters' storage URI for a database URL: its own SQLite file, or the same PostgreSQL."""
    if database_url.startswith("postgresql"):
        return SCHEME_PREFIX + database_url
    return f"{SCHEME_PREFIX}sqlite:///{os.path.join(instance_path, 'rate-limits.sqlite3')}"


class SQLStorage(Storage):
    """Fixed-window counters in one SQL table (SQLite or PostgreSQL)."""

    STORAGE_SCHEME = ["lms+sqlite", "lms+postgresql", "lms+postgresql+psycopg"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.url = uri[len(SCHEME_PREFIX):]
        self._engine = None
        self._pid = None
        self._lock = threading.Lock()

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    @property
    def engine(self) -> sa.Engine:
        """Return this process's engine, made anew after a fork (gunicorn's workers share no socket)."""
        with self._lock:
            if self._engine is None or self._pid != os.getpid():
                if self._engine is not None:
                    self._engine.dispose(close=False)
                self._engine = self._make_engine()
                self._pid = os.getpid()
            return self._engine

    def _make_engine(self) -> sa.Engine:
        if self.url.startswith("sqlite"):
            engine = sa.create_engine(self.url, connect_args={"timeout": 10})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(connection, _record):
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")  # a counter lost in a power cut costs nothing
                cursor.close()
        else:
            engine = sa.create_engine(self.url, pool_size=2, max_overflow=4, pool_pre_ping=True)
        _metadata.create_all(engine, checkfirst=True)
        return engine

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add amount to key's count in its window (a new window of expiry seconds if none is open)."""
        now = time.time()
        with self.engine.begin() as connection:
            count = connection.execute(_INCREMENT, {"key": key, "amount": amount, "now": now,
                                                    "expires_at": now + expiry}).scalar_one()
            if random.randrange(PURGE_EVERY) == 0:
                connection.execute(counters.delete().where(counters.c.expires_at <= now))
        return count

    def get(self, key: str) -> int:
        """Return key's count in its open window, 0 when none is open."""
        with self.engine.connect() as connection:
            count = connection.execute(sa.select(counters.c.count).where(
                counters.c.key == key, counters.c.expires_at > time.time())).scalar()
        return count or 0

    def get_expiry(self, key: str) -> float:
        """Return when key's open window ends (now when none is open)."""
        now = time.time()
        with self.engine.connect() as connection:
            expires_at = connection.execute(sa.select(counters.c.expires_at).where(
                counters.c.key == key, counters.c.expires_at > now)).scalar()
        return expires_at or now

    def check(self) -> bool:
        """Return whether the table answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(sa.func.count()).select_from(counters))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Delete every counter; return how many there were."""
        with self.engine.begin() as connection:
            return connection.execute(counters.delete()).rowcount

    def clear(self, key: str) -> None:
        """Delete key's counter."""
        with self.engine.begin() as connection:
            connection.execute(counters.delete().where(counters.c.key == key))
