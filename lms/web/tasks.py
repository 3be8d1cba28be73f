"""Background tasks that belong to no domain."""

import sqlalchemy as sa
from huey import crontab

from lms.core.jobs import job, periodic_job


@job()
def count_accounts_job(note: str) -> dict:
    """Count accounts in the worker: proves the queue, the worker and the database meet."""
    from lms.accounts.models import User
    from lms.core.extensions import db

    return {"note": note, "accounts": db.session.scalar(sa.select(sa.func.count(User.id)))}


@periodic_job(crontab(minute="*"))
def recover_stale_jobs_job() -> dict:
    """Each minute, give back the jobs whose worker died: each kind fails them with a retry or queues them again."""
    import logging

    from lms.core import jobs
    from lms.core.extensions import db

    recovered = {}
    for name, recover in jobs.recoverers().items():
        try:
            recovered[name] = recover()
            db.session.commit()  # each kind on its own: one's trouble does not keep the others' jobs waiting
        except Exception:
            db.session.rollback()
            logging.getLogger(__name__).exception("recovering stale %s jobs failed", name)
    return recovered
