"""One rule for background jobs whose worker may die: a heartbeat while running, stale after a short silence.

huey's SQLite queue deletes a task when a worker takes it, so a worker killed mid-task (kill -9, out
of memory, a reboot) leaves its job "running" with nobody to finish it. A running job therefore
records a heartbeat every JOBS_HEARTBEAT_S seconds from a thread of its own (it beats while the
process lives, whatever the task is busy with); a running job whose last heartbeat is older than
JOBS_STALE_AFTER_S (2 minutes by default) lost its worker.

Each kind of job decides what that means for it (failed with a Retry button, or queued again) and
removes its partial files, in a recoverer registered here. The periodic job in lms.web.tasks runs
every recoverer each minute; the pages that show a job run its kind's recoverer first, because the
worker that would run the periodic job may be the one that died.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from lms.core.config import DEFAULT_JOBS_HEARTBEAT_S, DEFAULT_JOBS_STALE_AFTER_S
from lms.core.db import utcnow

logger = logging.getLogger(__name__)

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


def recoverer(name: str) -> Callable:
    """Register a function that finds one kind's jobs whose worker is gone and recovers them.

    It returns how many it recovered and never commits: the periodic job or the page does.
    """

    def decorator(fn: Callable[[], int]) -> Callable[[], int]:
        _recoverers[name] = fn
        return fn

    return decorator


def recoverers() -> dict[str, Callable[[], int]]:
    """Return the registered recoverers by the name of their kind of job."""
    return dict(_recoverers)
