"""The worker's count of the programme's figures for the dashboard's default period (lms/reports/snapshots.py)."""

from huey import crontab

from lms.core.jobs import job, periodic_job
from lms.reports.snapshots import REFRESH_MINUTES


@periodic_job(crontab(minute=f"*/{REFRESH_MINUTES}"))
def count_figures_job() -> int:
    """Every REFRESH_MINUTES, count the default period's figures as of now into a new snapshot."""
    from lms.core.extensions import db
    from lms.reports.forms import default_period
    from lms.reports.snapshots import take_snapshot

    snapshot = take_snapshot(default_period())
    db.session.commit()
    return snapshot.id


@job()
def count_snapshot_job(snapshot_id: int) -> int | None:
    """Count a period the dashboard asked for (ask_for_count made its snapshot, not yet filled)."""
    from lms.core.extensions import db
    from lms.reports.models import FigureSnapshot
    from lms.reports.snapshots import fill_snapshot, read_one_moment

    read_one_moment()
    snapshot = db.session.get(FigureSnapshot, snapshot_id)
    if snapshot is None or snapshot.finished_at is not None:
        return None  # dropped, or made by another worker already
    fill_snapshot(snapshot)
    db.session.commit()
    return snapshot.id
