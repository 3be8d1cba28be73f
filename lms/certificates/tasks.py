"""Background issuing of a whole class's certificates."""

from lms.core.extensions import db
from lms.core.jobs import TrackedRun, beat_row, job, run_tracked


@job(retries=0)
def issue_cohort_certificates_job(batch_id: int) -> dict:
    """Issue a class's certificates in the worker, saving progress after every chunk for the organizer's page."""
    from lms.certificates import services
    from lms.certificates.models import BatchStatus, CertificateBatch
    from lms.core.db import utcnow
    from lms.core.i18n import gettext as _

    def start() -> bool:
        batch = db.session.get(CertificateBatch, batch_id)
        if batch is None or batch.status not in {BatchStatus.QUEUED, BatchStatus.RUNNING}:
            return False
        batch.status, batch.heartbeat_at = BatchStatus.RUNNING, utcnow()
        return True

    def fail(reason: str) -> None:
        batch = db.session.get(CertificateBatch, batch_id)
        batch.status, batch.error, batch.finished_at = BatchStatus.FAILED, reason, utcnow()

    def save_progress(summary: services.IssueSummary) -> None:
        # Committing each chunk also releases the serial counter's lock for other issuers.
        batch = db.session.get(CertificateBatch, batch_id)
        batch.total, batch.processed = summary.total, summary.processed
        batch.issued, batch.skipped = summary.issued, summary.skipped
        db.session.commit()

    def work() -> dict:
        batch = db.session.get(CertificateBatch, batch_id)
        if batch.cohort is None:
            raise services.CertificateError(_("The class no longer exists."))
        summary = services.issue_for_cohort(batch.cohort, by=batch.requested_by_id and _user(batch.requested_by_id),
                                            on_progress=save_progress)
        save_progress(summary)
        batch.status, batch.finished_at = BatchStatus.DONE, utcnow()
        db.session.commit()
        return {"status": "done", "issued": summary.issued, "skipped": summary.skipped}

    run = TrackedRun(
        name=f"issuing the certificates of batch {batch_id}", start=start, fail=fail,
        beat=beat_row(CertificateBatch, batch_id), page_errors=(services.CertificateError,),
        # The organizer sees a rule's message; anything else stays in the log.
        failure_text=lambda: _("The server could not finish issuing the certificates. Try again."))
    return run_tracked(run, work)


def _user(user_id: int):
    from lms.accounts.models import User

    return db.session.get(User, user_id)

