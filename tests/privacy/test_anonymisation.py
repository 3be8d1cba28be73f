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
