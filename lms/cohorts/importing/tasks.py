"""Importing a stored upload into its class: inline for a small file, in the background worker for a big one."""

import logging
import time

from lms.cohorts.importing.store import (
    INTERNAL_FAILURE,
    ImportState,
    beat,
    delete_upload_data,
    load_upload,
    read_status,
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

    def fail(reason: str) -> None:
        write_status(token, ImportState.FAILED, message=reason)

    def work() -> dict:
        try:
            report = commit_import(cohort, data, on_progress=save_progress)
            db.session.commit()
        except ImportBlocked as blocked:  # rows to correct: not a failure, the page lists them
            db.session.rollback()
            save_report(token, blocked.report.to_dict())
            return write_status(token, ImportState.BLOCKED, message=blocked.report.all_error_texts()[0])
        save_report(token, report.to_dict())
        delete_upload_data(token)  # imported: the file with its personal data is no longer needed
        logger.info("imported %d rows into class %s: %s", len(report.rows), cohort.code, report.counts)
        return write_status(token, ImportState.DONE, progress=1.0, counts=report.counts, joining=report.joining)

    # Nothing half-written on failure: the import's one transaction rolls back whole.
    run = jobs.TrackedRun(
        name=f"importing trainees from upload {token}", start=lambda: True, beat=lambda: beat(token), fail=fail,
        failure_text=lambda: INTERNAL_FAILURE, page_errors=(ImportFileError,), reraise=False)
    status = jobs.run_tracked(run, work)
    return status if status is not None else read_status(token)


@job()
def import_trainees_job(token: str) -> str:
    """Import a large stored upload in the worker."""
    return run_import(token).get("state", ImportState.FAILED)
