"""Background issuing of a whole class's certificates."""

import logging

from lms.core.extensions import db
from lms.core.jobs import job

logger = logging.getLogger(__name__)


@job(retries=0)
def issue_cohort_certificates_job(batch_id: int) -> dict:
    """Issue a class's certificates in the worker, saving progress after every chunk for the organizer's page."""
    from lms.certificates import services
    from lms.certificates.models import BatchStatus, CertificateBatch
    from lms.core.db import utcnow
    from lms.core.i18n import gettext as _
    from lms.core.jobs import Heartbeat, beat_row

    batch = db.session.get(CertificateBatch, batch_id)
    if batch is None or batch.status not in {BatchStatus.QUEUED, BatchStatus.RUNNING}:
        return {"status": "missing"}
    batch.status, batch.heartbeat_at = BatchStatus.RUNNING, utcnow()
    db.session.commit()

    def save_progress(summary: services.IssueSummary) -> None:
        # Committing each chunk also releases the serial counter's lock for other issuers.
        batch.total, batch.processed = summary.total, summary.processed
        batch.issued, batch.skipped = summary.issued, summary.skipped
        db.session.commit()

    try:
        if batch.cohort is None:
            raise services.CertificateError(_("The class no longer exists."))
        with Heartbeat(beat_row(CertificateBatch, batch_id)):  # stops with the worker: the page then says so
            summary = services.issue_for_cohort(batch.cohort, by=batch.requested_by_id and _user(batch.requested_by_id),
                                                on_progress=save_progress)
    except Exception as exc:
        db.session.rollback()
        batch = db.session.get(CertificateBatch, batch_id)
        # The organizer sees a rule's message; anything else stays in the log.
        reason = str(exc) if isinstance(exc, services.CertificateError) else _(
            "The server could not finish issuing the certificates. Try again.")
        batch.status, batch.error, batch.finished_at = BatchStatus.FAILED, reason[:300], utcnow()
        db.session.commit()
        logger.exception("issuing the certificates of batch %s failed", batch_id)
        raise
    save_progress(summary)
    batch.status, batch.finished_at = BatchStatus.DONE, utcnow()
    db.session.commit()
    return {"status": "done", "issued": summary.issued, "skipped": summary.skipped}


def _user(user_id: int):
    from lms.accounts.models import User

    return db.session.get(User, user_id)
