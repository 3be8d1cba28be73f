"""Builders for attendance tests: a class with an instructor and trainees, sessions at chosen times."""

import itertools
from datetime import datetime, time, timedelta

from lms.accounts.models import Role
from lms.cohorts import services as cohorts
from lms.cohorts.services import VIETNAM
from lms.core.db import utcnow
from lms.core.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user

_codes = itertools.count(1)


def make_class(course=None, *, trainees=("Nguyễn Thị Hường", "Trần Văn Bình"), instructor=None, joined_at=None):
    """Create a class with an instructor and active trainees; return (cohort, instructor, [trainees]).

    The trainees joined at `joined_at`, by default a year ago: before any session a test schedules, since a
    session held before a trainee joined does not count for them (lms/attendance/figures.py).
    """
    joined_at = joined_at or utcnow() - timedelta(days=365)
    course = course or make_course(f"khoa-{next(_codes)}", lessons=1)
    instructor = instructor or make_user(Role.INSTRUCTOR, full_name="Lê Văn Giảng")
    cohort = cohorts.create_cohort(code=f"PX-{next(_codes):02d}", course=course, name="Lớp gốm Phú Xuyên",
                                   instructors=[instructor])
    people = []
    for name in trainees:
        trainee = make_trainee(full_name=name)
        member, _ = cohorts.add_member(cohort, trainee)
        member.joined_at = joined_at
        people.append(trainee)
    db.session.commit()
    return cohort, instructor, people


def add_session_at(cohort, starts_at: datetime, *, minutes: int = 120):
    """Schedule a session starting at an exact UTC moment: tests of code windows need times to the second."""
    session = cohorts.add_session(cohort, day=starts_at.astimezone(VIETNAM).date(), start=time(8), end=time(10))
    session.starts_at, session.ends_at = starts_at, starts_at + timedelta(minutes=minutes)
    db.session.commit()
    return session


def session_now(cohort, *, started_minutes_ago: int = 5, minutes: int = 120):
    """Schedule a session that is on now."""
    return add_session_at(cohort, utcnow() - timedelta(minutes=started_minutes_ago), minutes=minutes)


def log_in(client, auth, user) -> str:
    """Log the user in, in English; return a CSRF token for their session."""
    auth.login(user.phone)
    token = csrf_token(client, "/my/attendance" if not user.is_staff else "/")
    client.post("/language/en", data={"csrf_token": token})
    return token
