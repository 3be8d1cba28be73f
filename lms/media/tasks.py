"""Background processing of uploaded media."""

import logging
import time

from huey import crontab

from lms.extensions import db
from lms.jobs import job, periodic_job
from lms.media.models import AssetStatus

logger = logging.getLogger(__name__)
#: Shown when processing broke for a reason that is not the file's fault.
INTERNAL_FAILURE = "the server could not finish processing; try uploading again"
STUCK_AFTER_HOURS = 6


@job(retries=1, retry_delay=30)
def process_asset_job(asset_id: int) -> str:
    """Process one asset in the worker, saving progress as it goes."""
    from lms.media.models import MediaAsset
    from lms.media.services import process_asset

    asset = db.session.get(MediaAsset, asset_id)
    if asset is None:
        return "missing"
    last_saved = [0.0]

    def save_progress(fraction: float) -> None:
        # A short commit every few seconds lets the instructor's page show progress.
        if time.monotonic() - last_saved[0] > 2:
            asset.progress = round(fraction, 3)
            db.session.commit()
            last_saved[0] = time.monotonic()

    try:
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


@periodic_job(crontab(minute="*/15"))
def recover_stuck_assets_job() -> int:
    """Mark assets stuck in processing (a killed worker) as failed, so nobody waits forever."""
    from datetime import timedelta

    import sqlalchemy as sa

    from lms.database import utcnow
    from lms.media.models import MediaAsset
    from lms.media.services import expire_uploads

    cutoff = utcnow() - timedelta(hours=STUCK_AFTER_HOURS)
    stuck = db.session.scalars(
        sa.select(MediaAsset).where(MediaAsset.status == AssetStatus.PROCESSING, MediaAsset.created_at < cutoff)
    ).all()
    for asset in stuck:
        asset.status, asset.failure_reason = AssetStatus.FAILED, INTERNAL_FAILURE
    expire_uploads()
    db.session.commit()
    return len(stuck)
