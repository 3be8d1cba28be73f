"""Uploaded trainee lists kept between the dry run and the import, and the job that imports big ones.

An upload is stored in the instance folder under a random token (never under its own name):
``<token>.bin`` holds the file, ``<token>.json`` who uploaded it for which class and the dry run's
report, ``<token>.status.json`` the progress of the import, which the progress page polls, and
``<token>.beat`` (its time) the heartbeat of the process importing it. Files hold personal data:
the upload is deleted once imported, and everything after KEEP_FOR.
"""

import contextlib
import json
import logging
import os
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app

from lms.core import jobs
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.jobs import job

logger = logging.getLogger(__name__)

TOKEN_RULE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_FOR = timedelta(days=7)
#: A queued import not started after this long is taken as lost (its queue was). A running one is taken as
#: dead much sooner, when its heartbeat stops (lms.core.jobs): its transaction rolled back whole.
STALE_AFTER = timedelta(minutes=15)
#: Files with more rows than this are imported by the background worker.
INLINE_ROW_LIMIT = 1_000
#: Shown when the import broke for a reason that is not the file's fault.
INTERNAL_FAILURE = "internal"
#: Shown when the process importing the file stopped (killed, restarted) before it finished.
WORKER_LOST = "worker_lost"


class ImportState:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    BLOCKED = "blocked"
    FAILED = "failed"
    FINISHED = frozenset({DONE, BLOCKED, FAILED})


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _path(token: str, suffix: str) -> Path | None:
    if not TOKEN_RULE.match(token or ""):
        return None
    return _folder() / f"{token}{suffix}"


def _write_json(path: Path, payload: dict) -> None:
    # Write then rename: a page polling the status never reads half a file.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    temporary.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def save_upload(data: bytes, *, cohort_id: int, user_id: int, filename: str, report: dict) -> str:
    """Keep an uploaded file and its dry run; return the token that names them."""
    purge_old_uploads()
    token = secrets.token_urlsafe(24)
    (_folder() / f"{token}.bin").write_bytes(data)
    _write_json(_path(token, ".json"), {
        "token": token, "cohort_id": cohort_id, "user_id": user_id, "filename": filename[:120],
        "size": len(data), "uploaded_at": utcnow().isoformat(), "report": report,
    })
    return token


def load_upload(token: str) -> dict | None:
    """Return what is known about an upload (without its bytes), or None."""
    return _read_json(_path(token, ".json"))


def save_report(token: str, report: dict) -> None:
    meta = load_upload(token)
    if meta is not None:
        meta["report"] = report
        _write_json(_path(token, ".json"), meta)


def read_upload_data(token: str) -> bytes | None:
    path = _path(token, ".bin")
    try:
        return path.read_bytes() if path else None
    except OSError:
        return None


def read_status(token: str) -> dict | None:
    """Return an import's status; one whose worker died is failed first, so every page says so and allows a retry."""
    status = _read_json(_path(token, ".status.json"))
    if status is not None and status.get("state") == ImportState.RUNNING and _worker_gone(token, status):
        status = _fail_lost_import(token)
    return status


def _worker_gone(token: str, status: dict) -> bool:
    beats = [_beat_time(token)]
    with contextlib.suppress(KeyError, TypeError, ValueError):
        beats.append(datetime.fromisoformat(status["updated_at"]))
    return jobs.is_stale(max((beat for beat in beats if beat is not None), default=None))


def _beat_time(token: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(_path(token, ".beat").stat().st_mtime, tz=UTC)
    except OSError:
        return None


def _beat(token: str) -> None:
    _path(token, ".beat").touch()


def _fail_lost_import(token: str) -> dict:
    # Nothing to undo in the database (the import's one transaction died with its process): only
    # the heartbeat and any status file the process was writing remain.
    for partial in _folder().glob(f".{token}.status.json.*"):
        partial.unlink(missing_ok=True)
    logger.warning("the import of upload %s lost its worker; marked failed for a retry", token)
    return write_status(token, ImportState.FAILED, message=WORKER_LOST)


@jobs.recoverer("trainee imports")
def recover_stale_imports() -> int:
    """Fail every running import whose worker is gone; return how many."""
    recovered = 0
    for path in _folder().glob("*.status.json"):
        token = path.name.removesuffix(".status.json")
        before = _read_json(path)
        if before is not None and before.get("state") == ImportState.RUNNING:
            after = read_status(token)
            recovered += after is not None and after.get("state") == ImportState.FAILED
    return recovered


def write_status(token: str, state: str, **fields) -> dict:
    status = {"state": state, "progress": 0.0, "updated_at": utcnow().isoformat(), **fields}
    _write_json(_path(token, ".status.json"), status)
    if state in ImportState.FINISHED:
        _path(token, ".beat").unlink(missing_ok=True)
    return status


def claim_import(token: str) -> bool:
    """Mark an upload as being imported; False if it already is (a second click, another tab)."""
    path = _path(token, ".status.json")
    current = read_status(token)
    if current is not None and (current["state"] in (ImportState.BLOCKED, ImportState.FAILED) or (
            current["state"] != ImportState.DONE and _age_s(current) > STALE_AFTER.total_seconds())):
        # A failed or refused import may be tried again, and so may one whose worker died: its
        # transaction rolled back whole, and importing the same rows twice changes nothing.
        path.unlink(missing_ok=True)
    payload = json.dumps({"state": ImportState.QUEUED, "progress": 0.0, "updated_at": utcnow().isoformat()})
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(payload)
    return True


def _age_s(status: dict) -> float:
    try:
        return (utcnow() - datetime.fromisoformat(status["updated_at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return float("inf")


def purge_old_uploads() -> int:
    """Delete uploads, reports and statuses older than KEEP_FOR; return how many files went."""
    cutoff = time.time() - KEEP_FOR.total_seconds()
    removed = 0
    for path in _folder().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def run_import(token: str) -> dict:
    """Import a stored upload into its class in one transaction, recording progress; return the status."""
    from lms.cohorts.importing import ImportBlocked, ImportFileError, commit_import
    from lms.cohorts.models import Cohort

    meta = load_upload(token)
    data = read_upload_data(token)
    cohort = db.session.get(Cohort, meta["cohort_id"]) if meta else None
    if meta is None or data is None or cohort is None:
        return write_status(token, ImportState.FAILED, message=INTERNAL_FAILURE) if meta else {}
    write_status(token, ImportState.RUNNING, progress=0.05)
    last_saved = [time.monotonic()]

    def save_progress(fraction: float) -> None:
        if time.monotonic() - last_saved[0] > 0.5:
            write_status(token, ImportState.RUNNING, progress=round(fraction, 3))
            last_saved[0] = time.monotonic()

    try:
        with jobs.Heartbeat(lambda: _beat(token)):  # stops with the process: the pages then say so
            report = commit_import(cohort, data, on_progress=save_progress)
            db.session.commit()
    except ImportBlocked as blocked:
        db.session.rollback()
        save_report(token, blocked.report.to_dict())
        return write_status(token, ImportState.BLOCKED, message=blocked.report.all_error_texts()[0])
    except ImportFileError as exc:
        db.session.rollback()
        return write_status(token, ImportState.FAILED, message=str(exc))
    except Exception:
        # Nothing half-written: the transaction rolls back whole; tell the page, keep the trace in the log.
        db.session.rollback()
        logger.exception("importing trainees from upload %s failed", token)
        return write_status(token, ImportState.FAILED, message=INTERNAL_FAILURE)
    save_report(token, report.to_dict())
    path = _path(token, ".bin")
    if path is not None:
        path.unlink(missing_ok=True)  # imported: the file with its personal data is no longer needed
    logger.info("imported %d rows into class %s: %s", len(report.rows), cohort.code, report.counts)
    return write_status(token, ImportState.DONE, progress=1.0, counts=report.counts, joining=report.joining)


@job()
def import_trainees_job(token: str) -> str:
    """Import a large stored upload in the worker."""
    return run_import(token).get("state", ImportState.FAILED)
