"""The worker's privacy duties: anonymise accounts whose deletion cool-off ended, fold old lesson activity."""

from huey import crontab

from lms.core.jobs import periodic_job


@periodic_job(crontab(minute="*/15"))
def carry_out_deletions_job() -> list[int]:
    """Every quarter hour, anonymise the accounts whose deletion request has waited out its cool-off."""
    from lms.audit.models import AuditAction, AuditObject
    from lms.audit.services import record_event
    from lms.core.extensions import db
    from lms.privacy.models import PrivacyRequest
    from lms.privacy.services import carry_out_due_deletions

    done = carry_out_due_deletions()
    for request_id in done:  # by the system: no actor
        record_event(AuditAction.HANDLED_DATA_REQUEST, None, subject_id=db.session.get(PrivacyRequest, request_id).user_id,
                     object_kind=AuditObject.PRIVACY_REQUEST, object_ref=f"{request_id} · anonymised")
    db.session.commit()
    return done


@periodic_job(crontab(hour="19", minute="40"))  # 02:40 in Vietnam, when nobody learns
def fold_old_activity_job() -> int:
    """Each night, fold lesson-activity detail older than LMS_ACTIVITY_RETENTION_DAYS into totals."""
    from lms.core.extensions import db
    from lms.privacy.services import activity_cutoff, fold_old_activity

    cutoff, folded = activity_cutoff(), 0
    while batch := fold_old_activity(cutoff):
        db.session.commit()  # batch by batch: the site's progress writes wait for one batch at most
        folded += batch
    return folded
