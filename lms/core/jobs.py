"""The job queue: huey on SQLite by default, on Redis when REDIS_URL is set."""

import functools
import os
import sys
from pathlib import Path


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

        with (_app or _create_worker_app()).app_context(), transactions_that_write():
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


def _create_worker_app():
    from lms import create_app

    return create_app()
