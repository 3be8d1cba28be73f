"""Background attendance exports, and the periodic deletion of their files."""

import logging

from huey import crontab

from lms.core.extensions import db
from lms.core.jobs import TrackedRun, beat_row, job, periodic_job, run_tracked

logger = logging.getLogger(__name__)


@job(retries=0)
def export_attendance_job(job_id: int) -> dict:
    """Make a large attendance export in the worker, saving progress for the organizer's page."""
    import sqlalchemy as sa

    from lms.attendance import export_jobs, exports
    from lms.attendance.models import AttendanceExportJob, ExportStatus
    from lms.core.db import transactions_that_write, utcnow
    from lms.core.i18n import gettext as _

    written, stored = [0], [None]

    def start() -> bool:
        export = db.session.get(AttendanceExportJob, job_id)
        if export is None or export.status not in export_jobs.RUNNING:
            return False
        export.status, export.rows_written, export.heartbeat_at = ExportStatus.RUNNING, 0, utcnow()
        return True

    def save_progress(rows: int) -> None:
        # In its own short transaction: the export's queries stream on the session's connection
        # (a server-side cursor on PostgreSQL), which a commit there would close.
        written[0] = rows
        with db.engine.begin() as connection:
            connection.execute(sa.update(AttendanceExportJob).where(AttendanceExportJob.id == job_id)
                               .values(rows_written=rows))

    def fail(reason: str) -> None:
        export = db.session.get(AttendanceExportJob, job_id)
        export.file_key = stored[0]  # stored before the failure: delete it, the page offers no half-finished file
        export_jobs.fail_export_job(export, reason)

    def work() -> dict:
        # The rows are read in a reader's transaction while `save_progress` and the heartbeat write
        # beside it; a writer's would hold SQLite's write lock and they would wait for it forever.
        with transactions_that_write(False):
            export = db.session.get(AttendanceExportJob, job_id)
            stored[0], size = export_jobs.write_export_file(export, on_progress=save_progress)
            db.session.rollback()  # end the read: the finish below writes from a fresh snapshot
        export = db.session.get(AttendanceExportJob, job_id)
        export_jobs.finish_export_job(export, key=stored[0], size=size, rows=written[0])
        db.session.commit()
        logger.info("attendance export %s: %d rows, %d bytes", job_id, written[0], size)
        return {"status": "done", "rows": written[0], "size": size}

    run = TrackedRun(
        name=f"attendance export {job_id}", start=start, fail=fail, beat=beat_row(AttendanceExportJob, job_id),
        # The organizer sees why when it is the filters' fault; anything else stays in the log.
        page_errors=(exports.ExportError,),
        failure_text=lambda: _("The server could not finish the file. Try again; if it fails again, "
                               "tell the administrator."))
    return run_tracked(run, work)


@periodic_job(crontab(minute="*/15"))
def expire_attendance_exports_job() -> int:
    """Delete export files past their time (they hold names and phone numbers) and mark them expired."""
    from lms.attendance.export_jobs import expire_export_jobs

    deleted = expire_export_jobs()
    db.session.commit()
    return deleted
