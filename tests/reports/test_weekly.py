"""Week by week: enrolments, completions, certificates and check-ins per ISO week in Vietnam, against a hand count."""

import re
from datetime import date, datetime

import sqlalchemy as sa

from lms.attendance.models import AttendanceRecord, AttendanceStatus, CheckInMethod
from lms.certificates import services as certificates
from lms.certificates.models import Certificate
from lms.cohorts import services as cohorts
from lms.cohorts.models import SessionStatus
from lms.core.extensions import db
from lms.core.timezone import VIETNAM
from lms.learning.models import Enrollment
from lms.reports import figures
from lms.reports.figures import Figure, Period
from tests.factories import (
    add_session_at,
    complete_course,
    make_course,
    make_organizer,
    make_trainee,
)

#: Wednesday 4 to Tuesday 24 November 2026: four weeks, the first and last cut short.
PERIOD = Period(date(2026, 11, 4), date(2026, 11, 24))


def _vn(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Vietnam time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=VIETNAM)


def _enrolment(trainee, course) -> Enrollment:
    return db.session.scalar(sa.select(Enrollment).where(Enrollment.user_id == trainee.id,
                                                         Enrollment.course_id == course.id))


def _certificate(trainee, course) -> Certificate:
    return db.session.scalar(sa.select(Certificate).where(Certificate.user_id == trainee.id,
                                                          Certificate.course_id == course.id,
                                                          Certificate.superseded_by_id.is_(None)))


def _issue(trainee, course, organizer, at: datetime) -> Certificate:
    certificate = _certificate(trainee, course) or certificates.issue_certificate(
        _enrolment(trainee, course), by=organizer)[0]
    certificate.issued_at = at
    db.session.flush()
    return certificate


def _weeks():
    """Build a month of enrolments, completions, certificates and check-ins; return the trainees by name."""
    course = make_course("khoa-tuan")
    organizer = make_organizer()
    enrolled_at = {"e1": _vn(5, 10), "e2": _vn(8, 23, 30), "e3": _vn(9, 0, 10), "e4": _vn(24, 20),
                   "after": _vn(25, 0, 5), "before": _vn(3, 9)}
    completed_at = {"e1": _vn(5, 12), "e2": _vn(7, 9), "e3": _vn(9, 12), "e4": _vn(24, 21), "before": _vn(17, 9)}
    people = {name: make_trainee(enrolled_in=course) for name in enrolled_at}
    for name in completed_at:
        complete_course(people[name], course)
    for name, trainee in people.items():
        enrolment = _enrolment(trainee, course)
        enrolment.enrolled_at = enrolled_at[name]
        enrolment.completed_at = completed_at.get(name)
    db.session.flush()
    _issue(people["e1"], course, organizer, _vn(6, 9))
    # Re-issued to correct the name: counts once, in the week of the first.
    first = _issue(people["before"], course, organizer, _vn(18, 9))
    certificates.reissue_certificate(first, by=organizer, holder_name="Nguyễn Thị Sửa Tên")
    _certificate(people["before"], course).issued_at = _vn(23, 9)
    # Revoked in the period: counts for nothing.
    revoked = _issue(people["e3"], course, organizer, _vn(10, 9))
    certificates.revoke_certificate(revoked, by=organizer, reason="Cấp nhầm")
    revoked.revoked_at = _vn(12, 9)
    # Revoked, then issued again: the new one counts, in its own week.
    wrong = _issue(people["e2"], course, organizer, _vn(11, 9))
    certificates.revoke_certificate(wrong, by=organizer, reason="Sai khoá")
    wrong.revoked_at = _vn(12, 9)
    certificates.reissue_certificate(wrong, by=organizer)
    _certificate(people["e2"], course).issued_at = _vn(20, 9)
    # Revoked after the period's end: it counted then.
    late = _issue(people["e4"], course, organizer, _vn(24, 21, 30))
    certificates.revoke_certificate(late, by=organizer, reason="Sau kỳ")
    late.revoked_at = _vn(28, 9)
    # Check-ins: present or late at held sessions, by when the session started.
    cohort = cohorts.create_cohort(code="PX-TUAN-01", course=course, name="Lớp theo tuần")
    for trainee in people.values():
        cohorts.add_member(cohort, trainee)
    sessions = {name: add_session_at(cohort, at.astimezone(VIETNAM)) for name, at in (
        ("w0", _vn(6, 8)), ("w1_cancelled", _vn(10, 8)), ("w2", _vn(19, 8)), ("before", _vn(3, 8)),
        ("w1_sunday_night", _vn(15, 23, 30)))}
    sessions["w1_cancelled"].status = SessionStatus.CANCELLED
    marks = [("w0", "e1", AttendanceStatus.PRESENT), ("w0", "e2", AttendanceStatus.LATE),
             ("w0", "e3", AttendanceStatus.ABSENT), ("w0", "e4", AttendanceStatus.EXCUSED),
             ("w1_cancelled", "e1", AttendanceStatus.PRESENT), ("w2", "e1", AttendanceStatus.PRESENT),
             ("before", "e1", AttendanceStatus.PRESENT), ("w1_sunday_night", "e3", AttendanceStatus.LATE)]
    for session, name, status in marks:
        db.session.add(AttendanceRecord(session_id=sessions[session].id, user_id=people[name].id, status=status,
                                        method=CheckInMethod.ROLL_CALL))
    db.session.commit()
    return course, people


def test_each_week_counts_by_hand(app):
    _course, people = _weeks()
    weeks = figures.weekly(PERIOD)
    assert [(w.monday, w.first, w.last) for w in weeks] == [
        (date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 8)),
        (date(2026, 11, 9), date(2026, 11, 9), date(2026, 11, 15)),
        (date(2026, 11, 16), date(2026, 11, 16), date(2026, 11, 22)),
        (date(2026, 11, 23), date(2026, 11, 23), date(2026, 11, 24))]
    assert [w.number for w in weeks] == [45, 46, 47, 48]
    # e2 enrolled at 23:30 on Sunday 8 (Vietnam), e3 at 00:10 on Monday 9: different weeks.
    assert [w.enrolled for w in weeks] == [2, 1, 0, 1]
    assert [w.completed for w in weeks] == [2, 1, 1, 1]
    # e1 in week 45; "before" once, in 47 (its correction in 48 is not another); e2's second certificate in 47;
    # e4's, revoked after the period, in 48; e3's, revoked in the period, nowhere.
    assert [w.certified for w in weeks] == [1, 0, 2, 1]
    assert [w.checked_in for w in weeks] == [2, 1, 1, 0]
    assert figures.count(Figure.CERTIFIED_IN_PERIOD, PERIOD) == sum(w.certified for w in weeks)
    listed = {e.user_id for e in db.session.scalars(figures.enrolments(Figure.CERTIFIED_IN_PERIOD, PERIOD,
                                                                       week=date(2026, 11, 16)))}
    assert listed == {people["before"].id, people["e2"].id}
    # Certified at the period's end includes e4 and those certified before it; in the period, only the weeks'.
    assert figures.count(Figure.CERTIFIED, PERIOD) == 4


def test_each_week_s_certificates_link_to_a_list_as_long(app, client, auth):
    _weeks()
    auth.login(make_organizer(phone="0912888201").phone)
    html = client.get("/reports?date_from=2026-11-04&date_to=2026-11-24").get_data(as_text=True)
    links = re.findall(r'href="(/reports/trainees/certified_in_period\?[^"]*week=[^"]+)">(\d+)</a>', html)
    assert sorted(int(n) for _, n in links) == [1, 1, 2]
    for href, number in links:
        listed = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert re.search(r'class="list-count">(\d+)', listed).group(1) == number
        assert listed.count('<li class="card">') == int(number)
    hidden = re.search(r'<table class="figures" id="weeks-table">.*?</table>', html, re.S).group(0)
    # Per week: new enrolments, completions, check-ins, certificates.
    assert re.findall(r"<td>(\d+)</td>", hidden) == ["2", "2", "2", "1", "1", "1", "1", "0", "0", "1", "1", "2",
                                                      "1", "1", "0", "1"]
    for bad in ("2026-11-17", "2026-12-07", "tuần-trước"):  # not a Monday of the period, or not a date
        assert client.get(f"/reports/trainees/certified_in_period?date_from=2026-11-04&date_to=2026-11-24"
                          f"&week={bad}").status_code == 404
    assert client.get("/reports/trainees/enrolled?date_from=2026-11-04&date_to=2026-11-24"
                      "&week=2026-11-16").status_code == 404
