"""Importing a stored upload into its class: inline for a small file, in the background worker for a big one."""

import logging
import time

from lms.cohorts.importing.store import (
    INTERNAL_FAILURE,
    ImportState,
    beat,
    delete_upload_data,
    load_upload,
    read_upload_data,
    save_report,
    write_status,
)
from lms.core import jobs
from lms.core.extensions import db
from lms.core.jobs import job

logger = logging.getLogger(__name__)

#: Files with more rows than this are imported by the background worker.
INLINE_ROW_LIMIT = 1_000


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
        with jobs.Heartbeat(lambda: beat(token)):  # stops with the process: the pages then say so
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
    delete_upload_data(token)  # imported: the file with its personal data is no longer needed
    logger.info("imported %d rows into class %s: %s", len(report.rows), cohort.code, report.counts)
    return write_status(token, ImportState.DONE, progress=1.0, counts=report.counts, joining=report.joining)


@job()
def import_trainees_job(token: str) -> str:
    """Import a large stored upload in the worker."""
    return run_import(token).get("state", ImportState.FAILED)
