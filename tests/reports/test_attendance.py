"""The dashboard's attendance: lms/attendance/figures.py's rule over the sessions held in the period, against a hand count."""

import re
from datetime import timedelta

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.attendance import figures as attendance
from lms.attendance.models import AttendanceRecord, AttendanceStatus, CheckInMethod
from lms.cohorts import services as cohorts
from lms.cohorts.models import SessionStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import local_today, start_of_local_day
from lms.reports import figures
from lms.reports.access import scope_of
from lms.reports.figures import Period
from tests.factories import add_session_at, make_course, make_organizer, make_trainee, make_user

CHUYEN_MY, PHU_XUYEN_HN = 10330, 10273


def _mark(session, trainee, status):
    db.session.add(AttendanceRecord(session_id=session.id, user_id=trainee.id, status=status,
                                    method=CheckInMethod.ROLL_CALL))


def _classes():
    """A class with two sessions held in the period, one cancelled, one to come, one held before; return the period."""
    today = local_today()
    period = Period(today - timedelta(days=30), today + timedelta(days=10))
    now = utcnow()
    course = make_course("khoa-diem-danh")
    cohort = cohorts.create_cohort(code="PX-DD-01", course=course, name="Lớp điểm danh")
    people = {"regular": make_trainee(enrolled_in=course, commune_code=CHUYEN_MY, village="Thôn Chuyên", business_name="Khảm trai"),
              "late_joiner": make_trainee(enrolled_in=course, commune_code=CHUYEN_MY, village="Thôn Chuyên"),
              "sat_in": make_trainee(enrolled_in=course, commune_code=CHUYEN_MY),
              "excused": make_trainee(enrolled_in=course, commune_code=PHU_XUYEN_HN, business_name="Khảm trai"),
              "withdrawn": make_trainee(enrolled_in=course, commune_code=CHUYEN_MY)}
    before = add_session_at(cohort, start_of_local_day(period.first) - timedelta(days=3))
    first = add_session_at(cohort, now - timedelta(days=20))
    second = add_session_at(cohort, now - timedelta(days=5))
    cancelled = add_session_at(cohort, now - timedelta(days=10))
    upcoming = add_session_at(cohort, now + timedelta(days=2))
    for name, trainee in people.items():
        member, _ = cohorts.add_member(cohort, trainee)
        member.joined_at = now - timedelta(days=15) if name in ("late_joiner", "sat_in") else now - timedelta(days=60)
        if name == "withdrawn":
            cohorts.withdraw_member(member)
    cancelled.status = SessionStatus.CANCELLED
    for session in (before, cancelled, upcoming):  # none of these count, whatever is recorded
        _mark(session, people["regular"], AttendanceStatus.ABSENT)
        _mark(session, people["excused"], AttendanceStatus.ABSENT)
    _mark(first, people["regular"], AttendanceStatus.PRESENT)
    _mark(first, people["sat_in"], AttendanceStatus.PRESENT)  # before joining, but marked: it counts
    _mark(first, people["excused"], AttendanceStatus.EXCUSED)
    _mark(first, people["withdrawn"], AttendanceStatus.PRESENT)
    _mark(second, people["regular"], AttendanceStatus.LATE)
    _mark(second, people["late_joiner"], AttendanceStatus.PRESENT)
    _mark(second, people["excused"], AttendanceStatus.ABSENT)
    # "sat_in" has no mark for the second session: held, so missed.
    db.session.commit()
    return period, course, cohort, people


def test_attendance_counts_held_sessions_in_the_period_by_the_one_rule(app):
    period, course, cohort, people = _classes()
    # By hand: regular 2 of 2 (present, late); late_joiner 1 of 1 (the first was before joining, unmarked);
    # sat_in 1 of 2 (marked before joining counts; the second unmarked is missed); excused 0 of 1 (one excused);
    # withdrawn left out; cancelled, upcoming and before-the-period sessions count for nobody.
    whole = figures.attendance(period)
    assert (whole.held, whole.excused, whole.counted, whole.attended) == (7, 1, 6, 4)
    assert whole.percent == 66.7
    assert figures.attendance(period, "course")[course.id] == whole
    assert figures.attendance(period, "class")[cohort.id] == whole
    communes = figures.attendance(period, "commune")
    assert (communes[CHUYEN_MY].attended, communes[CHUYEN_MY].counted) == (4, 5)
    assert (communes[PHU_XUYEN_HN].attended, communes[PHU_XUYEN_HN].counted) == (0, 1)
    villages = figures.attendance(period, "village", commune_code=CHUYEN_MY)
    assert villages["Thôn Chuyên"].percent == 100.0 and villages[""].percent == 50.0
    crafts = figures.attendance(period, "craft")
    assert (crafts["Khảm trai"].attended, crafts["Khảm trai"].counted) == (2, 3)
    # Over every session, the same as the class's own page, which reads the rule one trainee at a time.
    active = [t.id for name, t in people.items() if name != "withdrawn"]
    per_trainee = attendance.figures_of_class(cohort.id, active)
    always = Period(local_today() - timedelta(days=365), local_today() + timedelta(days=365))
    assert figures.attendance(always) == attendance.total(per_trainee.values())
    assert figures.attendance(always).counted == whole.counted + 2  # "before": regular and excused, absent


def test_an_official_s_attendance_counts_their_commune_only(app):
    period, _course, _cohort, _people = _classes()
    official = make_user(Role.OFFICIAL)
    accounts.set_staff_places(official, communes=[CHUYEN_MY], provinces=())
    db.session.commit()
    mine = figures.attendance(period, scope=scope_of(official))
    assert (mine.attended, mine.counted, mine.percent) == (4, 5, 80.0)


def test_the_dashboard_shows_the_rate_with_its_rule(app, client, auth):
    period, _course, cohort, _people = _classes()
    auth.login(make_organizer(phone="0912888101").phone)
    html = client.get(f"/reports?date_from={period.first}&date_to={period.last}").get_data(as_text=True)
    assert re.search(r'class="attendance-rate">66,7%<', html)
    assert "Tỷ lệ chuyên cần = số buổi có mặt" in html  # RULE, in Vietnamese
    row = re.search(r"<th scope=\"row\">PX-DD-01 · Lớp điểm danh</th>.*?</tr>", html, re.S).group(0)
    assert "66,7%" in row
