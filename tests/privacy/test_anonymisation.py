"""An anonymised holder's certificate stays verifiable with name and course only; counts stay exact."""

from datetime import date, timedelta

import sqlalchemy as sa

from lms.accounts.models import User
from lms.certificates.models import Certificate
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import normalize_phone
from lms.learning.models import Enrollment, LessonProgress
from lms.privacy import services
from lms.privacy.tasks import carry_out_deletions_job
from tests.factories import certificate_of, completed_trainee, make_course


def _delete_now(user):
    req = services.request_deletion(user)
    req.cool_off_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert carry_out_deletions_job.call_local() == [req.id]
    db.session.expire_all()


def test_a_certificate_stays_verifiable_after_its_holder_is_anonymised(app, client):
    app.config["CERTIFICATE_VERIFY_LIMIT"] = "10000 per minute"
    course = make_course()
    trainee = completed_trainee(course, full_name="Nguyễn Thị Hường")
    certificate = certificate_of(trainee, course)
    trainee.date_of_birth, trainee.village = date(1980, 5, 17), "Thôn Chuôn Ngọ"
    db.session.commit()
    phone = trainee.phone
    completed = db.session.scalar(sa.select(sa.func.count(Enrollment.id)).where(Enrollment.completed_at.is_not(None)))
    done_lessons = db.session.scalar(sa.select(sa.func.count(LessonProgress.id))
                                     .where(LessonProgress.completed_at.is_not(None)))

    _delete_now(trainee)

    html = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "cert-valid" in html and "Nguyễn Thị Hường" in html and certificate.course_title in html
    assert phone not in html and "1980" not in html and "Chuôn Ngọ" not in html and "đã xoá" not in html
    assert client.get(f"/verify/{certificate.code}.json").status_code == 200
    assert db.session.get(Certificate, certificate.id).holder_commune_code is None
    assert db.session.scalar(sa.select(sa.func.count(Enrollment.id))
                             .where(Enrollment.completed_at.is_not(None))) == completed
    assert db.session.scalar(sa.select(sa.func.count(LessonProgress.id))
                             .where(LessonProgress.completed_at.is_not(None))) == done_lessons


def test_the_placeholder_phone_is_unique_and_no_phone_at_all(app):
    import pytest

    from lms.core.text import InvalidPhoneNumber

    course = make_course()
    first, second = completed_trainee(course), completed_trainee(course)
    _delete_now(first)
    _delete_now(second)
    phones = [db.session.get(User, u.id).phone for u in (first, second)]
    assert len(set(phones)) == 2
    for phone in phones:
        with pytest.raises(InvalidPhoneNumber):
            normalize_phone(phone)


def test_what_the_person_wrote_showed_and_was_told_is_erased_but_the_hand_in_still_counts(app, client):
    from lms.assignments import services as assignments
    from lms.assignments.models import Submission, SubmissionMedia, SubmissionStatus
    from lms.learning.services import enrol
    from lms.media.models import MediaAsset
    from lms.notifications import services as notifications
    from lms.notifications.messages import CERTIFICATE_ISSUED
    from lms.notifications.models import Notification
    from tests.factories import make_asset, make_practical_course, make_trainee

    course, _lesson, assignment = make_practical_course()
    trainee, other = make_trainee(), make_trainee()
    enrol(trainee, course)
    enrol(other, course)
    photo = make_asset(trainee, course)
    theirs = make_asset(other, course)
    mine = assignments.submit_work(assignment, trainee, text="Nhà tôi ở thôn Chuôn Ngọ, gọi 0912 345 678",
                                   links=["https://www.facebook.com/huong/posts/1"], media_ids=[photo.public_id])
    assignments.submit_work(assignment, other, text="Bài của người khác", media_ids=[theirs.public_id])
    mine.comment = "Chị Hường làm rất đẹp"
    notifications.notify([trainee.id, other.id], CERTIFICATE_ISSUED)
    db.session.commit()

    _delete_now(trainee)

    erased = db.session.get(Submission, mine.id)
    assert (erased.text, erased.links, erased.comment) == ("", [], "")
    assert erased.status == SubmissionStatus.SUBMITTED  # still handed in, still counted
    assert db.session.get(MediaAsset, photo.id) is None
    assert db.session.scalar(sa.select(sa.func.count(SubmissionMedia.id)).where(
        SubmissionMedia.submission_id == mine.id)) == 0
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(Notification.user_id == trainee.id)) == 0
    # Nobody else's work or messages are touched.
    assert db.session.get(MediaAsset, theirs.id) is not None
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(Notification.user_id == other.id)) == 1
