"""Background attendance exports, and the periodic deletion of their files."""

import logging

from huey import crontab

from lms.core.extensions import db
from lms.core.jobs import job, periodic_job

logger = logging.getLogger(__name__)


@job(retries=0)
def export_attendance_job(job_id: int) -> dict:
    """Make a large attendance export in the worker, saving progress for the organizer's page."""
    import sqlalchemy as sa

    from lms.attendance import export_jobs, exports
    from lms.attendance.models import AttendanceExportJob, ExportStatus
    from lms.core.db import transactions_that_write, utcnow
    from lms.core.i18n import gettext as _
    from lms.core.jobs import Heartbeat, beat_row

    export = db.session.get(AttendanceExportJob, job_id)
    if export is None or export.status not in export_jobs.RUNNING:
        return {"status": "missing"}
    export.status, export.rows_written, export.heartbeat_at = ExportStatus.RUNNING, 0, utcnow()
    db.session.commit()
    written = [0]

    def save_progress(rows: int) -> None:
        # In its own short transaction: the export's queries stream on the session's connection
        # (a server-side cursor on PostgreSQL), which a commit there would close.
        written[0] = rows
        with db.engine.begin() as connection:
            connection.execute(sa.update(AttendanceExportJob).where(AttendanceExportJob.id == job_id)
                               .values(rows_written=rows))

    key = None
    try:
        # The rows are read in a reader's transaction while `save_progress` and the heartbeat write
        # beside it; a writer's would hold SQLite's write lock and they would wait for it forever.
        with Heartbeat(beat_row(AttendanceExportJob, job_id)), transactions_that_write(False):
            key, size = export_jobs.write_export_file(export, on_progress=save_progress)
            db.session.rollback()  # end the read: the finish below writes from a fresh snapshot
        export = db.session.get(AttendanceExportJob, job_id)
        export_jobs.finish_export_job(export, key=key, size=size, rows=written[0])
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        export = db.session.get(AttendanceExportJob, job_id)
        export.file_key = key  # stored before the failure: delete it, the page offers no half-finished file
        # The organizer sees why when it is the filters' fault; anything else stays in the log.
        reason = str(exc) if isinstance(exc, exports.ExportError) else _(
            "The server could not finish the file. Try again; if it fails again, tell the administrator.")
        try:
            export_jobs.fail_export_job(export, reason)
        finally:
            db.session.commit()
        logger.exception("attendance export %s failed", job_id)
        raise
    logger.info("attendance export %s: %d rows, %d bytes", job_id, written[0], size)
    return {"status": "done", "rows": written[0], "size": size}


@periodic_job(crontab(minute="*/15"))
def expire_attendance_exports_job() -> int:
    """Delete export files past their time (they hold names and phone numbers) and mark them expired."""
    from lms.attendance.export_jobs import expire_export_jobs

    deleted = expire_export_jobs()
    db.session.commit()
    return deleted
