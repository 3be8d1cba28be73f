"""The worker's count of the programme's figures for the dashboard's default period (lms/reports/snapshots.py)."""

from huey import crontab

from lms.core.jobs import periodic_job
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
