"""Background tasks that belong to no domain."""

import sqlalchemy as sa

from lms.jobs import job


@job()
def count_accounts_job(note: str) -> dict:
    """Count accounts in the worker: proves the queue, the worker and the database meet."""
    from lms.accounts.models import User
    from lms.extensions import db

    return {"note": note, "accounts": db.session.scalar(sa.select(sa.func.count(User.id)))}
