"""Issuing a class's certificates whose worker died fails within minutes, says so, and Try again issues the rest."""

from datetime import timedelta

import sqlalchemy as sa

from lms.certificates import services
from lms.certificates.models import BatchStatus, Certificate, CertificateBatch
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning.models import Enrollment
from lms.web.tasks import recover_stale_jobs_job
from tests.certificates.helpers import completed_trainee, make_cohort, make_organizer
from tests.conftest import csrf_token
from tests.factories import make_course

LOST = "Bộ xử lý nền đã dừng giữa chừng khi đang cấp chứng chỉ. Các chứng chỉ đã cấp vẫn được giữ"


def dead_batch(*, silent_for: timedelta):
    """Leave what a worker killed mid-batch leaves: a running batch, one chunk's certificates committed."""
    course = make_course()
    services.save_template(course, auto_issue=False)
    done = [completed_trainee(course) for _ in range(3)]
    cohort = make_cohort(course, members=done)
    organizer = make_organizer()
    batch, _ = services.start_cohort_batch(cohort, by=organizer)
    enrollment = db.session.scalar(sa.select(Enrollment).where(Enrollment.user_id == done[0].id))
    services.issue_certificate(enrollment, by=organizer)
    batch.status, batch.processed, batch.issued = BatchStatus.RUNNING, 1, 1
    batch.heartbeat_at = utcnow() - silent_for
    db.session.commit()
    return cohort, batch, organizer


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_batch_whose_worker_died_says_so_and_try_again_issues_the_rest(client, auth):
    cohort, batch, organizer = dead_batch(silent_for=timedelta(minutes=3))
    auth.login(organizer.phone)
    batch_url = f"/cohorts/{cohort.code}/certificates/batches/{batch.public_id}"
    page = client.get(batch_url).get_data(as_text=True)
    assert LOST in page and "Làm lại" in page and '<meta http-equiv="refresh"' not in page
    db.session.expire_all()
    assert db.session.get(CertificateBatch, batch.id).status == BatchStatus.FAILED

    start = f"/cohorts/{cohort.code}/certificates"
    response = client.post(start, data={"csrf_token": csrf_token(client, batch_url)})  # the Try again button
    assert not response.headers["Location"].endswith(batch.public_id)  # a new batch, not the dead one
    status = client.get(response.headers["Location"] + ".json").get_json()
    assert status["status"] == "done" and status["issued"] == 2 and status["skipped"] == 1
    assert count(Certificate) == 3  # the dead run's certificate kept, nobody's issued twice


def test_a_batch_still_beating_is_left_alone_until_it_falls_silent(app):
    _, batch, _ = dead_batch(silent_for=timedelta(seconds=30))
    assert recover_stale_jobs_job.call_local()["certificate batches"] == 0
    app.config["JOBS_STALE_AFTER_S"] = 10
    assert recover_stale_jobs_job.call_local()["certificate batches"] == 1  # the periodic job, with no page open
    db.session.expire_all()
    assert db.session.get(CertificateBatch, batch.id).status == BatchStatus.FAILED
