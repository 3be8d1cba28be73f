import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from lms.accounts.models import Role
from lms.cohorts import services
from lms.cohorts.models import ClassSession, SessionStatus
from lms.core.extensions import db
from lms.learning import services as learning
from lms.notifications.messages import text_of
from lms.notifications.models import Notification
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user


def make_cohort(code="PX-VBBH-01", **fields):
    course = fields.pop("course", None) or make_course(code.lower())
    cohort = services.create_cohort(code=code, course=course, name="Lớp Chuyên Mỹ", commune_code=10330,
                                    venue="Nhà văn hoá thôn Chuôn Ngọ", **fields)
    db.session.commit()
    return cohort


def test_adding_a_member_enrols_them_and_counts_once(app):
    cohort = make_cohort()
    trainee = make_trainee()
    member, added = services.add_member(cohort, trainee)
    again, added_again = services.add_member(cohort, trainee)
    assert added and not added_again and member is again
    assert learning.is_enrolled(trainee, cohort.course)
    services.withdraw_member(member)
    assert services.active_member_count(cohort) == 0


def test_capacity_is_enforced(app):
    cohort = make_cohort(capacity=1)
    services.add_member(cohort, make_trainee())
    with pytest.raises(services.CohortFull):
        services.add_member(cohort, make_trainee())


def test_codes_are_unique_and_dates_in_order(app):
    first = make_cohort("PX-01")
    with pytest.raises(services.CohortError):
        make_cohort("px-01", course=first.course)
    with pytest.raises(services.CohortError):
        make_cohort("PX-02", course=first.course, start_date=date(2026, 12, 1), end_date=date(2026, 11, 1))


def test_sessions_are_stored_in_utc_from_vietnam_time(app):
    cohort = make_cohort()
    session = services.add_session(cohort, day=date(2026, 11, 28), start=time(6, 30), end=time(8, 0))
    assert session.starts_at.isoformat() == "2026-11-27T23:30:00+00:00"
    assert session.check_in_secret and len(session.check_in_secret) == 64


def test_weekly_series_falls_on_the_chosen_weekdays(app):
    cohort = make_cohort()
    made = services.add_weekly_sessions(cohort, first_day=date(2026, 12, 1), weekdays={1, 4}, start=time(19, 0),
                                        end=time(21, 0), count=6, topic="Buổi học")
    local_days = [s.starts_at.astimezone(services.VIETNAM).date() for s in made]
    assert [d.weekday() for d in local_days] == [1, 4, 1, 4, 1, 4]
    assert local_days[0] == date(2026, 12, 1) and local_days[-1] == date(2026, 12, 1) + timedelta(days=17)
    assert len({s.series_id for s in made}) == 1


def test_organizer_creates_a_class_and_schedules_a_series(client, auth, app):
    course = make_course()
    organizer = make_user(Role.ORGANIZER)
    auth.login(organizer.phone)
    token = csrf_token(client, "/cohorts/new")
    response = client.post("/cohorts/new", data={"code": "px-vbbh-02", "course": str(course.id), "name": "Lớp Phú Xuyên",
                                                 "province": "1", "commune": "10273", "csrf_token": token})
    assert response.status_code == 302
    cohort = services.get_cohort_by_code("PX-VBBH-02")
    assert cohort.commune_code == 10273
    token = csrf_token(client, "/cohorts")
    client.post("/cohorts/PX-VBBH-02/sessions", data={
        "kind": "series", "series-day": "2026-12-07", "series-start": "19:00", "series-end": "21:00",
        "series-weekdays": ["0", "2"], "series-count": "4", "csrf_token": token})
    assert db.session.scalar(sa.select(sa.func.count(ClassSession.id))) == 4


def test_moving_and_cancelling_a_session_tells_the_trainees(client, auth, app):
    cohort = make_cohort()
    trainees = [make_trainee(), make_trainee()]
    for trainee in trainees:
        services.add_member(cohort, trainee)
    session = services.add_session(cohort, day=date(2026, 12, 10), start=time(8, 0), end=time(10, 0))
    db.session.commit()
    auth.login(make_user(Role.ORGANIZER).phone)
    page = f"/cohorts/{cohort.code}/sessions/{session.id}/edit"
    token = csrf_token(client, page)
    client.post(page, data={"day": "2026-12-11", "start": "14:00", "end": "16:00", "venue": "Hội trường xã",
                            "csrf_token": token})
    assert session.starts_at.astimezone(services.VIETNAM).isoformat().startswith("2026-12-11T14:00")
    client.post(f"/cohorts/{cohort.code}/sessions/{session.id}/cancel", data={"reason": "Mưa bão", "csrf_token": token})
    assert session.status == SessionStatus.CANCELLED and session.cancel_reason == "Mưa bão"
    for trainee in trainees:
        notes = db.session.scalars(sa.select(Notification).where(Notification.user_id == trainee.id)
                                   .order_by(Notification.id)).all()
        # Joining the class is told too; moving and cancelling follow it.
        assert [n.kind for n in notes] == ["class_joined", "session_moved", "session_cancelled"]
        assert "Mưa bão" in text_of(notes[2]).body
    auth.logout()
    auth.login(trainees[0].phone)
    html = client.get("/learn").get_data(as_text=True)
    assert "2" in html and "/notifications" in html


def test_instructors_see_only_their_classes_and_trainees_none(client, auth, app):
    mine = make_cohort("LOP-A")
    make_cohort("LOP-B")
    instructor = make_user(Role.INSTRUCTOR)
    mine.instructors = [instructor]
    db.session.commit()
    auth.login(instructor.phone)
    html = client.get("/cohorts").get_data(as_text=True)
    assert "LOP-A" in html and "LOP-B" not in html
    assert client.get("/cohorts/LOP-B").status_code == 403
    auth.logout()
    auth.login(make_trainee().phone)
    assert client.get("/cohorts").status_code == 403


def test_add_member_by_phone(client, auth, app):
    cohort = make_cohort()
    trainee = make_trainee(phone="0912888777")
    auth.login(make_user(Role.ORGANIZER).phone)
    token = csrf_token(client, "/cohorts")
    client.post(f"/cohorts/{cohort.code}/members", data={"phone": "+84 912 888 777", "csrf_token": token})
    assert services.get_member(cohort, trainee) is not None


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ORGANIZER, Role.INSTRUCTOR])
def test_class_page_renders_for_everyone_who_runs_the_class(client, auth, app, role):
    cohort = make_cohort()
    services.add_member(cohort, make_trainee())
    services.add_session(cohort, day=date(2026, 12, 10), start=time(8, 0), end=time(10, 0))
    user = make_user(role)
    if role == Role.INSTRUCTOR:
        cohort.instructors = [user]
    db.session.commit()
    auth.login(user.phone)
    response = client.get(f"/cohorts/{cohort.code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if role != Role.INSTRUCTOR:
        assert f"/cohorts/{cohort.code}/attendance.xlsx" in html and f"/cohorts/{cohort.code}/attendance.csv" in html


def test_series_form_lets_some_weekdays_be_ticked(client, auth, app):
    cohort = make_cohort()
    auth.login(make_user(Role.ORGANIZER).phone)
    html = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    boxes = re.findall(r"<input[^>]*name=\"series-weekdays\"[^>]*>", html)
    assert len(boxes) == 7
    assert not [box for box in boxes if re.search(r"\brequired\b", box)]
    token = csrf_token(client, f"/cohorts/{cohort.code}")
    response = client.post(f"/cohorts/{cohort.code}/sessions", data={
        "kind": "series", "series-day": "2026-12-01", "series-start": "19:00", "series-end": "21:00",
        "series-weekdays": ["0", "3"], "series-count": "4", "csrf_token": token})
    assert response.status_code == 302
    days = [s.starts_at.astimezone(services.VIETNAM).date() for s in services.sessions_of(cohort)]
    assert days == [date(2026, 12, 3), date(2026, 12, 7), date(2026, 12, 10), date(2026, 12, 14)]


def test_series_without_a_weekday_says_so_in_vietnamese_and_keeps_the_inputs(client, auth, app):
    cohort = make_cohort()
    auth.login(make_user(Role.ORGANIZER).phone)
    token = csrf_token(client, f"/cohorts/{cohort.code}")
    response = client.post(f"/cohorts/{cohort.code}/sessions", data={
        "kind": "series", "series-day": "2026-12-01", "series-start": "19:00", "series-end": "21:00",
        "series-count": "5", "series-topic": "Chụp ảnh sản phẩm", "csrf_token": token})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Hãy chọn ít nhất một ngày trong tuần." in html
    for kept in ('value="2026-12-01"', 'value="19:00"', 'value="21:00"', 'value="5"', 'value="Chụp ảnh sản phẩm"'):
        assert kept in html
    assert services.sessions_of(cohort) == []


def test_a_session_ending_before_it_starts_keeps_the_inputs(client, auth, app):
    cohort = make_cohort()
    auth.login(make_user(Role.ORGANIZER).phone)
    token = csrf_token(client, f"/cohorts/{cohort.code}")
    response = client.post(f"/cohorts/{cohort.code}/sessions", data={
        "kind": "one", "one-day": "2026-12-01", "one-start": "19:00", "one-end": "18:00",
        "one-venue": "Nhà văn hoá", "csrf_token": token})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="Nhà văn hoá"' in html and 'value="2026-12-01"' in html
    assert services.sessions_of(cohort) == []
