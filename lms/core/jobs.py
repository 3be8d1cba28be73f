"""Background jobs: the queue, and the one contract every tracked job keeps (state, progress, heartbeat, failure text).

The queue is huey: on SQLite by default, on Redis when REDIS_URL is set.

A worker may die: a running job beats, and goes stale after a short silence. huey's SQLite queue deletes a task when a worker takes it, so a worker killed mid-task (kill -9, out
of memory, a reboot) leaves its job "running" with nobody to finish it. A running job therefore
records a heartbeat every JOBS_HEARTBEAT_S seconds from a thread of its own (it beats while the
process lives, whatever the task is busy with); a running job whose last heartbeat is older than
JOBS_STALE_AFTER_S (2 minutes by default) lost its worker.

Each kind of job decides what that means for it (failed with a Retry button, or queued again) and
removes its partial files, in a recoverer the factory connects (register_recoverer). The periodic
job in lms.web.tasks runs every recoverer each minute; the pages that show a job run its kind's
recoverer first, because the worker that would run the periodic job may be the one that died.

A tracked job (an import, an export, a certificate batch) runs through `run_tracked`: it is marked
running, beats while it works, saves its progress as it goes, and on any error is marked failed with
words its page can show (its own rule's message, or a general one) before the error is logged.
"""

import functools
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from lms.core.config import DEFAULT_JOBS_HEARTBEAT_S, DEFAULT_JOBS_STALE_AFTER_S
from lms.core.db import utcnow

logger = logging.getLogger(__name__)


def _import_huey():
    """Import huey without the database and Redis drivers its storage module loads for queues we don't use.

    huey.storage imports psycopg (for a Postgres queue this project never uses) and redis
    (needed only with REDIS_URL): about 16 MiB in every process of an SQLite set-up. A None in
    sys.modules makes those imports fail, as huey expects when a driver is not installed;
    SQLAlchemy imports psycopg as usual afterwards, and init_app brings Redis back if the app's
    settings ask for it without the environment saying so (a test's config).
    """
    blocked = [name for name in ("psycopg", "redis") if name not in sys.modules]
    if os.environ.get("REDIS_URL") and "redis" in blocked:
        blocked.remove("redis")
    for name in blocked:
        sys.modules[name] = None
    try:
        from huey.api import Huey
    finally:
        for name in blocked:
            del sys.modules[name]
    return Huey


def _redis_storage_class():
    import huey.storage

    if huey.storage.Redis is None:
        # Left out at import time: give the module the names its own import of redis would have.
        # Not importlib.reload: that makes new storage classes, and huey.api's MemoryStorage (the
        # immediate mode's) would then fail its super() call.
        from redis import ConnectionPool, Redis
        from redis.exceptions import ConnectionError, TimeoutError

        huey.storage.ConnectionPool, huey.storage.Redis = ConnectionPool, Redis
        huey.storage.ConnectionError, huey.storage.TimeoutError = ConnectionError, TimeoutError
        huey.storage.RedisStorage.redis_client = Redis  # bound when the class was made
    return huey.storage.RedisStorage


Huey = _import_huey()

#: The one queue; tasks register on it at import time, init_app chooses its storage.
huey = Huey("lms", immediate=True)
_app = None


def init_app(app) -> None:
    """Point the queue at the storage this app's settings choose."""
    global _app
    _app = app
    if app.config.get("JOBS_IMMEDIATE"):
        huey._immediate = True
        huey.storage = huey.get_immediate_storage()
        return
    if app.config.get("REDIS_URL"):
        huey.storage_class = _redis_storage_class()
        huey.storage_kwargs = {"url": app.config["REDIS_URL"]}
    else:
        from huey.storage import SqliteStorage

        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(Path(app.instance_path) / "jobs.sqlite3")}
    huey._immediate = False
    huey.storage = huey.create_storage()


def _in_app_context(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from flask import has_app_context

        from lms.core.db import transactions_that_write

        # A job reads, then writes, beside the site's requests: on SQLite its transactions begin as
        # writers, or the write after another's commit fails at once with "database is locked".
        if has_app_context():
            with transactions_that_write():
                return fn(*args, **kwargs)
        from lms.core.extensions import db

        with _bound_app().app_context(), transactions_that_write():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


def periodic_job(schedule):
    """Declare a task the worker runs on a schedule (a huey crontab), inside the app's context."""

    def decorator(fn):
        return huey.periodic_task(schedule)(_in_app_context(fn))

    return decorator


def job(*task_args, **task_kwargs):
    """Declare a background task that runs inside the app's context."""

    def decorator(fn):
        return huey.task(*task_args, **task_kwargs)(_in_app_context(fn))

    return decorator


def _bound_app():
    """Return the app init_app bound the queue to; a worker started without one fails loudly."""
    if _app is None:
        raise RuntimeError("The job queue has no app: run workers with `lms worker`, which creates one.")
    return _app


# --- Tracked jobs: heartbeat, staleness, recovery ------------------------------------------------

_recoverers: dict[str, Callable[[], int]] = {}


def stale_after() -> timedelta:
    """Return how long a running job may go unheard before its worker counts as gone."""
    return timedelta(seconds=current_app.config.get("JOBS_STALE_AFTER_S", DEFAULT_JOBS_STALE_AFTER_S))


def stale_cutoff(now: datetime | None = None) -> datetime:
    """Return the moment before which a running job's last heartbeat means its worker is gone."""
    return (now or utcnow()) - stale_after()


def is_stale(last_beat: datetime | None, now: datetime | None = None) -> bool:
    """Tell whether a running job last heard of at last_beat (None: never) has lost its worker."""
    return last_beat is None or last_beat <= stale_cutoff(now)


class Heartbeat:
    """Call beat() once now, then every interval seconds from a daemon thread, until the block ends.

    A failing beat (a locked database, a full disk) is logged and tried again at the next interval:
    the job itself goes on.
    """

    def __init__(self, beat: Callable[[], None], interval: float | None = None) -> None:
        self._beat = beat
        self._interval = interval if interval is not None else current_app.config.get(
            "JOBS_HEARTBEAT_S", DEFAULT_JOBS_HEARTBEAT_S)
        self._app = current_app._get_current_object()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Heartbeat":
        self._beat()
        self._thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._app.app_context():
                    self._beat()
            except Exception:
                logger.warning("a job's heartbeat could not be recorded", exc_info=True)


def beat_row(model, row_id: int, *, column: str = "heartbeat_at") -> Callable[[], None]:
    """Return a beat that stamps one row's heartbeat column now, in a short transaction of its own.

    Its own connection: the job's session may be streaming a query or holding a long transaction.
    """
    from lms.core.extensions import db

    def beat() -> None:
        with db.engine.begin() as connection:
            connection.execute(sa.update(model).where(model.id == row_id).values({column: utcnow()}))

    return beat


def register_recoverer(name: str, recover: Callable[[], int]) -> None:
    """Register the function that finds one kind's jobs whose worker is gone and recovers them (keyed by name).

    It returns how many it recovered and never commits: the periodic job or the page does.
    """
    _recoverers[name] = recover


def recoverers() -> dict[str, Callable[[], int]]:
    """Return the registered recoverers by the name of their kind of job."""
    return dict(_recoverers)


def is_row_stale(row, now: datetime | None = None) -> bool:
    """Tell whether a job row (heartbeat_at, created_at) in its running state has lost its worker."""
    return is_stale(row.heartbeat_at or row.created_at, now)


def stale_rows(model, status_column, running, now: datetime | None = None) -> sa.Select:
    """Select the rows of one kind of job that are running but unheard of since the stale cutoff."""
    return sa.select(model).where(status_column == running,
                                  sa.func.coalesce(model.heartbeat_at, model.created_at) <= stale_cutoff(now))


@dataclass
class TrackedRun:
    """How one run of a tracked job records itself; `run_tracked` takes the steps in order.

    start: mark the job running and return True, or return False when it is gone or already ended.
    beat: record that its worker is alive (see `beat_row`). fail: mark it failed with the given
    words. page_errors: exceptions whose own message the job's page may show (logged in a line);
    any other error is shown as failure_text and logged in full. reraise: let the error go on to
    the queue after the job is marked failed (False: run_tracked returns None instead).
    """

    name: str
    start: Callable[[], bool]
    beat: Callable[[], None]
    fail: Callable[[str], None]
    failure_text: Callable[[], str]
    page_errors: tuple[type[BaseException], ...] = ()
    reraise: bool = True


#: The longest failure text a job row keeps.
FAILURE_TEXT_LENGTH = 300


def run_tracked(run: TrackedRun, work: Callable[[], Any]) -> Any:
    """Run one tracked job: mark it running, beat while work() runs, mark it failed on any error.

    Return what work() returns, or MISSING when the job could not start. work() saves its own
    progress and finish (it commits); the start and the failure are committed here.
    """
    from lms.core.extensions import db

    if not run.start():
        db.session.rollback()
        return dict(MISSING)
    db.session.commit()
    try:
        with Heartbeat(run.beat):  # stops with the worker: the job's page then says so
            return work()
    except Exception as exc:
        db.session.rollback()
        shown = isinstance(exc, run.page_errors)
        reason = str(exc) if shown else run.failure_text()
        try:
            run.fail(reason[:FAILURE_TEXT_LENGTH])
        finally:
            db.session.commit()
        if shown:
            logger.info("%s stopped: %s", run.name, reason)
        else:
            logger.exception("%s failed", run.name)
        if run.reraise:
            raise
        return None


#: What run_tracked returns for a job that is gone or no longer waiting to run.
MISSING = {"status": "missing"}
