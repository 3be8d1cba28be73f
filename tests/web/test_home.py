"""The staff home: today's sessions (Vietnam time), the classes and courses of the person, and the reports."""

import contextlib
from datetime import time, timedelta

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.cohorts import services as cohorts
from lms.core.extensions import db
from lms.core.timezone import local_today
from tests.factories import make_course, make_trainee, make_user


def make_class(code, *, instructors=(), members=0, ended=False, session_at=None, venue="Nhà văn hoá thôn Chuôn Ngọ"):
    today = local_today()
    start = today - timedelta(weeks=10 if ended else 2)
    cohort = cohorts.create_cohort(code=code, course=make_course(code.lower()), name=f"Lớp {code}", commune_code=10330,
                                   venue=venue, start_date=start, end_date=start + timedelta(weeks=8),
                                   instructors=list(instructors))
    for _ in range(members):
        cohorts.add_member(cohort, make_trainee())
    if session_at is not None:
        cohorts.add_session(cohort, day=today, start=session_at, end=time(session_at.hour + 2, session_at.minute))
    db.session.commit()
    return cohort


@contextlib.contextmanager
def counting_queries():
    seen = []

    def count(*_args):
        seen.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_organizer_home_shows_today_s_sessions_classes_and_reports(client, auth, app):
    early = make_class("PX-01", members=3, session_at=time(6, 30))  # 06:30 in Vietnam is 23:30 UTC the day before
    make_class("PX-02", members=1)
    make_class("PX-OLD", ended=True)
    tomorrow = make_class("PX-03")
    cohorts.add_session(tomorrow, day=local_today() + timedelta(days=1), start=time(8, 0), end=time(10, 0))
    db.session.commit()
    auth.login(make_user(Role.ORGANIZER).phone)
    html = client.get("/overview").get_data(as_text=True)
    assert "06:30–08:30 · Lớp PX-01" in html
    assert "Nhà văn hoá thôn Chuôn Ngọ" in html
    session = early.sessions[0]
    assert f'href="/sessions/{session.id}/roll-call"' in html
    assert "10:00" not in html.split('id="home-classes"')[0]  # tomorrow's session is not today's
    assert "Các lớp đang học" in html and "PX-02 · Lớp PX-02" in html and "3 học viên" in html
    assert "PX-OLD" not in html  # ended weeks ago
    assert 'href="/reports/attendance"' in html and 'href="/cohorts/new"' in html
    assert 'href="/users/new"' not in html  # adding staff is the admin's


def test_admin_home_has_the_organizer_view_and_staff_creation(client, auth, app):
    make_class("PX-01", members=2, session_at=time(19, 0))
    auth.login(make_user(Role.ADMIN).phone)
    html = client.get("/overview").get_data(as_text=True)
    assert "19:00–21:00 · Lớp PX-01" in html and "2 học viên" in html
    assert 'href="/reports/attendance"' in html and 'href="/users/new"' in html


def test_instructor_home_shows_only_their_sessions_classes_and_courses(client, auth, app):
    instructor = make_user(Role.INSTRUCTOR)
    mine = make_class("PX-MINE", instructors=[instructor], members=2, session_at=time(14, 0))
    make_class("PX-OTHER", members=5, session_at=time(15, 0))
    mine.course.instructors.append(instructor)
    db.session.commit()
    auth.login(instructor.phone)
    html = client.get("/overview").get_data(as_text=True)
    assert "14:00–16:00 · Lớp PX-MINE" in html and "PX-OTHER" not in html
    assert "Lớp của bạn" in html and "2 học viên" in html
    assert "Khoá học của bạn" in html and f'href="/courses/{mine.course.slug}/edit"' in html
    assert 'href="/reports/attendance"' not in html


def test_instructor_home_says_when_there_is_nothing_today(client, auth, app):
    auth.login(make_user(Role.INSTRUCTOR).phone)
    html = client.get("/overview").get_data(as_text=True)
    assert "Hôm nay không có buổi học." in html
    assert "Bạn chưa dạy khoá học nào." in html


def test_staff_home_runs_the_same_few_queries_for_one_class_or_many(client, auth, app):
    organizer = make_user(Role.ORGANIZER)
    make_class("PX-00", members=2, session_at=time(6, 0))
    auth.login(organizer.phone)
    client.get("/overview")
    db.session.expunge_all()  # the request must load what it shows, not find it left over from the set-up
    with counting_queries() as one:
        assert client.get("/overview").status_code == 200
    for i in range(1, 12):  # more than the home lists, so some sessions belong to classes not listed
        make_class(f"PX-{i:02d}", members=2, session_at=time(6 + i, 0))
    db.session.expunge_all()
    with counting_queries() as many:
        html = client.get("/overview").get_data(as_text=True)
    assert "PX-11" in html
    assert len(many) == len(one), f"{len(one)} queries for one class, {len(many)} for twelve"
