"""The job queue: huey on SQLite by default, on Redis when REDIS_URL is set."""

import functools
from pathlib import Path

from huey.api import Huey
from huey.storage import RedisStorage, SqliteStorage

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
