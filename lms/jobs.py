"""The job queue: huey on SQLite by default, on Redis when REDIS_URL is set."""

import functools
import sys
from pathlib import Path


def _import_huey():
    """Import huey without the PostgreSQL driver its storage module tries to load.

    huey.storage imports psycopg for a Postgres queue this project never uses (about 10 MiB in
    every process on an SQLite set-up). A None in sys.modules makes that one import fail, as
    huey expects when psycopg is not installed; SQLAlchemy imports psycopg as usual afterwards.
    """
    blocked = "psycopg" not in sys.modules
    if blocked:
        sys.modules["psycopg"] = None
    try:
        from huey.api import Huey
        from huey.storage import RedisStorage, SqliteStorage
    finally:
        if blocked:
            del sys.modules["psycopg"]
    return Huey, RedisStorage, SqliteStorage


Huey, RedisStorage, SqliteStorage = _import_huey()

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
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": app.config["REDIS_URL"]}
    else:
        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(Path(app.instance_path) / "jobs.sqlite3")}
    huey._immediate = False
    huey.storage = huey.create_storage()


def _in_app_context(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from flask import has_app_context

        if has_app_context():
            return fn(*args, **kwargs)
        from lms.extensions import db

        with (_app or _create_worker_app()).app_context():
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
