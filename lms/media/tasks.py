"""Background processing of uploaded media."""

import logging
import time

from huey import crontab

from lms.core import jobs
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.jobs import Heartbeat, beat_row, job, periodic_job
from lms.media.models import AssetStatus

logger = logging.getLogger(__name__)
#: Shown when processing broke for a reason that is not the file's fault.
INTERNAL_FAILURE = "the server could not finish processing; try uploading again"


@job(retries=1, retry_delay=30)
def process_asset_job(asset_id: int) -> str:
    """Process one asset in the worker, saving progress as it goes."""
    from lms.media.models import MediaAsset
    from lms.media.services import process_asset

    asset = db.session.get(MediaAsset, asset_id)
    if asset is None:
        return "missing"
    # Seen at once as processing, with a heartbeat: should this worker die, the page and the
    # periodic job know within minutes (recover_stale_asset) instead of hours.
    asset.status, asset.heartbeat_at = AssetStatus.PROCESSING, utcnow()
    db.session.commit()
    last_saved = [0.0]

    def save_progress(fraction: float) -> None:
        # A short commit every few seconds lets the instructor's page show progress.
        if time.monotonic() - last_saved[0] > 2:
            asset.progress = round(fraction, 3)
            db.session.commit()
            last_saved[0] = time.monotonic()

    try:
        with Heartbeat(beat_row(MediaAsset, asset_id)):
            process_asset(asset, on_progress=save_progress)
    except Exception:
        # Never leave an asset "processing" forever: record the failure, then let huey retry.
        db.session.rollback()
        asset = db.session.get(MediaAsset, asset_id)
        asset.status, asset.failure_reason = AssetStatus.FAILED, INTERNAL_FAILURE
        db.session.commit()
        logger.exception("processing media asset %s failed", asset_id)
        raise
    db.session.commit()
    return asset.status.value


@jobs.recoverer("media processing")
def recover_stale_media() -> int:
    """Queue again (or fail) the assets whose worker died, after the commit the worker must see; return how many."""
    from lms.media.services import queue_processing, recover_stale_assets

    recovered = recover_stale_assets()
    db.session.commit()
    for asset in recovered:
        if asset.status == AssetStatus.QUEUED:  # not those that failed, past their restarts
            queue_processing(asset)
    return len(recovered)


@periodic_job(crontab(minute="*/15"))
def expire_uploads_job() -> int:
    """Delete uploads left unfinished past their time; assets whose worker died are recovered each minute.

    (lms.web.tasks.recover_stale_jobs_job runs lms.media.services.recover_stale_assets.)
    """
    from lms.media.services import expire_uploads

    expired = expire_uploads()
    db.session.commit()
    return expired
