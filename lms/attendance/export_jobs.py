"""Large attendance exports made in the job queue: asking for one, making its file, deleting it when due.

An export with more detail rows than ATTENDANCE_EXPORT_INLINE_ROWS could keep a web worker past
gunicorn's timeout. It is recorded as an AttendanceExportJob; the worker writes the file with the
same functions as the inline download and keeps it in the media storage (local folder or S3, so
the web server sees what a worker on another machine wrote) under ``exports/``, named by the job's
random id, never by anything a user typed. Files hold names and phone numbers: they are deleted
ATTENDANCE_EXPORT_KEEP_HOURS after they are made.

These functions never commit; the view, the job or the periodic job does.
"""

import secrets
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from lms.accounts.models import Role
from lms.attendance import exports
from lms.attendance.models import AttendanceExportJob, ExportStatus
from lms.core import jobs
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.i18n import gettext as _

MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}
KEY_PREFIX = "exports/attendance"
#: An export still waiting after this long will not be made (its queue was lost); it is marked failed so nobody
#: waits forever. A running one is failed much sooner, when its heartbeat stops (lms.core.jobs).
STALE_AFTER = timedelta(hours=6)
RUNNING = (ExportStatus.QUEUED, ExportStatus.RUNNING)


def exceeds_inline_limit(total_rows: int) -> bool:
    """Tell whether an export of this many detail rows must be made in the job queue."""
    return total_rows > current_app.config["ATTENDANCE_EXPORT_INLINE_ROWS"]


def filters_to_json(*, cohort=None, course_slug: str | None = None, commune_code: int | None = None,
                    date_from: date | None = None, date_to: date | None = None) -> dict:
    """Return make_filter's arguments as JSON values: the class by its code, dates in ISO form."""
    return {
        "cohort_code": cohort.code if cohort is not None else None,
        "course_slug": course_slug or None,
        "commune_code": commune_code,
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }


def filter_arguments(stored: dict) -> dict:
    """Turn stored filters back into make_filter's arguments, the class loaded by its code.

    :raises exports.ExportError: the class no longer exists.
    """
    from lms.cohorts.services import get_cohort_by_code

    cohort = None
    if stored.get("cohort_code"):
        cohort = get_cohort_by_code(stored["cohort_code"])
        if cohort is None:
            raise exports.ExportError(_("The class %(code)s no longer exists.", code=stored["cohort_code"]))
    return {"cohort": cohort, "course_slug": stored.get("course_slug"), "commune_code": stored.get("commune_code"),
            "date_from": _date(stored.get("date_from")), "date_to": _date(stored.get("date_to"))}


def filter_from_json(stored: dict, *, as_of=None) -> exports.AttendanceFilter:
    """Check stored filters again (the class or course may have gone since) and return them.

    :raises exports.ExportError: with a message fit for the organizer.
    """
    return exports.make_filter(**filter_arguments(stored), as_of=as_of)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def start_export_job(stored_filters: dict, *, file_format: str, filename: str, total_rows: int,
                     by) -> tuple[AttendanceExportJob, bool]:
    """Record a request for a large export; return (job, newly created).

    While the same person's same export is waiting or running, that one is returned: a double tap
    or a reload does not make the file twice.
    """
    user_id = getattr(by, "id", None)
    recover_stale_exports()  # a dead worker's export is not "the same export still running"
    waiting = db.session.scalars(sa.select(AttendanceExportJob).where(
        AttendanceExportJob.requested_by_id == user_id, AttendanceExportJob.file_format == file_format,
        AttendanceExportJob.status.in_(RUNNING), AttendanceExportJob.created_at > utcnow() - STALE_AFTER))
    for job in waiting:
        if job.filters == stored_filters:
            return job, False
    job = AttendanceExportJob(public_id=secrets.token_urlsafe(16), requested_by_id=user_id, filters=stored_filters,
                              file_format=file_format, filename=filename, total_rows=total_rows,
                              status=ExportStatus.QUEUED)
    db.session.add(job)
    db.session.flush()
    return job, True


def get_export_job(public_id: str, *, for_user) -> AttendanceExportJob | None:
    """Return an export the user may see: their own (while they organize), or any for an admin."""
    job = db.session.scalar(sa.select(AttendanceExportJob).where(AttendanceExportJob.public_id == public_id))
    if job is None or not for_user.is_authenticated:
        return None
    recover_stale_export(job)
    if for_user.has_role(Role.ADMIN):
        return job
    if for_user.has_role(Role.ORGANIZER) and job.requested_by_id == for_user.id:
        return job
    return None


def recent_export_jobs(user, limit: int = 5) -> list[AttendanceExportJob]:
    """Return the user's exports from the time files are kept, newest first, for the report page."""
    since = utcnow() - timedelta(hours=current_app.config["ATTENDANCE_EXPORT_KEEP_HOURS"])
    return list(db.session.scalars(
        sa.select(AttendanceExportJob)
        .where(AttendanceExportJob.requested_by_id == user.id, AttendanceExportJob.created_at > since)
        .order_by(AttendanceExportJob.created_at.desc(), AttendanceExportJob.id.desc()).limit(limit)))


def write_export_file(job: AttendanceExportJob, *, on_progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Make the job's file in a temporary file, then keep it in the media storage; return (key, size).

    The export is as of the moment it was asked for, so the file agrees with the count shown then.
    """
    from lms.core.storage import get_storage

    f = filter_from_json(job.filters or {}, as_of=job.created_at)
    key = stored_key(job)
    temporary = partial_path(job)
    try:
        with open(temporary, "w+b") as fh:
            if job.file_format == "xlsx":
                exports.write_attendance_xlsx(fh, f, on_progress=on_progress)
            else:
                for chunk in exports.iter_attendance_csv(f, on_progress=on_progress):
                    fh.write(chunk)
        size = get_storage().save_file(key, temporary, MIMETYPES[job.file_format])
    finally:
        temporary.unlink(missing_ok=True)
    return key, size


def stored_key(job: AttendanceExportJob) -> str:
    """Return where an export's file is kept in the media storage, named by its random id."""
    return f"{KEY_PREFIX}/{job.public_id}.{job.file_format}"


def partial_path(job: AttendanceExportJob) -> Path:
    """Return the file an export is written to before it is stored: a known name, so a dead worker's can be found."""
    folder = Path(current_app.instance_path) / "exports-partial"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{job.public_id}.{job.file_format}.part"


def finish_export_job(job: AttendanceExportJob, *, key: str, size: int, rows: int) -> None:
    """Mark an export done with its stored file, to be deleted after ATTENDANCE_EXPORT_KEEP_HOURS."""
    now = utcnow()
    job.status, job.file_key, job.file_size, job.rows_written = ExportStatus.DONE, key, size, rows
    job.finished_at = now
    job.expires_at = now + timedelta(hours=current_app.config["ATTENDANCE_EXPORT_KEEP_HOURS"])


def fail_export_job(job: AttendanceExportJob, reason: str) -> None:
    """Mark an export failed with a message for the organizer; any stored file is deleted."""
    job.status, job.error, job.finished_at = ExportStatus.FAILED, reason[:300], utcnow()
    delete_export_file(job)  # should this fail, expire_export_jobs tries again


def delete_export_file(job: AttendanceExportJob) -> None:
    """Delete an export's stored file, if it has one."""
    from lms.core.storage import get_storage

    if job.file_key:
        get_storage().delete(job.file_key)
        job.file_key = None


def worker_lost_message() -> str:
    return _("The background worker stopped while making the file, and no file was kept. Press Try again.")


def recover_stale_export(job: AttendanceExportJob, now=None) -> bool:
    """Fail a running export whose worker is gone, removing its partial file; return whether it was."""
    if job.status != ExportStatus.RUNNING or not jobs.is_stale(job.heartbeat_at or job.created_at, now):
        return False
    partial_path(job).unlink(missing_ok=True)
    job.file_key = stored_key(job)  # stored just before the worker died, perhaps: fail_export_job deletes it
    fail_export_job(job, worker_lost_message())
    return True


@jobs.recoverer("attendance exports")
def recover_stale_exports(now=None) -> int:
    """Fail every running export whose worker is gone; return how many."""
    running = db.session.scalars(sa.select(AttendanceExportJob).where(
        AttendanceExportJob.status == ExportStatus.RUNNING,
        sa.func.coalesce(AttendanceExportJob.heartbeat_at, AttendanceExportJob.created_at)
        <= jobs.stale_cutoff(now))).all()
    return sum(recover_stale_export(job, now) for job in running)


def expire_export_jobs(now=None) -> int:
    """Delete the files of exports past their time and mark them expired; fail exports whose worker died.

    Return how many files were deleted.
    """
    now = now or utcnow()
    due = db.session.scalars(sa.select(AttendanceExportJob).where(
        AttendanceExportJob.status == ExportStatus.DONE, AttendanceExportJob.expires_at <= now)).all()
    for job in due:
        delete_export_file(job)
        job.status = ExportStatus.EXPIRED
    # A failed export whose file could not be deleted at the time.
    for job in db.session.scalars(sa.select(AttendanceExportJob).where(
            AttendanceExportJob.status == ExportStatus.FAILED, AttendanceExportJob.file_key.is_not(None))):
        delete_export_file(job)
    stale = db.session.scalars(sa.select(AttendanceExportJob).where(
        AttendanceExportJob.status.in_(RUNNING), AttendanceExportJob.created_at <= now - STALE_AFTER)).all()
    for job in stale:
        fail_export_job(job, _("The file was not finished in time. Try again."))
    db.session.flush()
    return len(due)
