"""Every programme figure against a hand count, over a programme with every edge case."""

from datetime import timedelta

import sqlalchemy as sa

from lms.certificates import services as certificates
from lms.certificates.models import Certificate
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import local_today
from lms.learning.models import Enrollment, EnrollmentStatus, LessonProgress
from lms.reports.figures import Figure, Period, by_course, count, enrolments
from tests.factories import complete_course, make_course, make_organizer, make_trainee


def _enrolment(trainee, course) -> Enrollment:
    return db.session.scalar(sa.select(Enrollment).where(Enrollment.user_id == trainee.id,
                                                         Enrollment.course_id == course.id))


def _certificate(trainee, course) -> Certificate:
    return db.session.scalar(sa.select(Certificate).where(Certificate.user_id == trainee.id,
                                                          Certificate.course_id == course.id,
                                                          Certificate.superseded_by_id.is_(None)))


def _programme():
    """Build the edge cases; return the period and the trainees by what they are."""
    today = local_today()
    period = Period(today - timedelta(days=40), today - timedelta(days=10))
    inside, before, after = period.start + timedelta(days=5), period.start - timedelta(days=30), \
        period.end + timedelta(days=3)
    course, other_course = make_course("khoa-a"), make_course("khoa-b")
    organizer = make_organizer()
    people = {name: make_trainee(enrolled_in=course) for name in (
        "completed_certified", "left_before", "left_during", "completed_before", "revoked", "reissued",
        "enrolled_after", "stuck", "active", "opened_only")}
    both = make_trainee(enrolled_in=[course, other_course])
    for name in ("completed_certified", "completed_before", "revoked", "reissued"):
        complete_course(people[name], course)
    for name, trainee in people.items():
        enrolment = _enrolment(trainee, course)
        enrolment.enrolled_at = after if name == "enrolled_after" else before
        enrolment.last_activity_at = None
    for enrolment in db.session.scalars(sa.select(Enrollment).where(Enrollment.user_id == both.id)):
        enrolment.enrolled_at = before
    db.session.flush()
    for name in ("completed_certified", "revoked", "reissued"):
        _enrolment(people[name], course).completed_at = inside
        _enrolment(people[name], course).last_activity_at = inside
    _enrolment(people["completed_before"], course).completed_at = before + timedelta(days=1)
    left = _enrolment(people["left_before"], course)
    left.status, left.left_at = EnrollmentStatus.LEFT, before + timedelta(days=2)
    left_during = _enrolment(people["left_during"], course)
    left_during.status, left_during.left_at = EnrollmentStatus.LEFT, inside
    _enrolment(people["active"], course).last_activity_at = period.end - timedelta(days=3)
    _enrolment(people["stuck"], course).last_activity_at = period.end - timedelta(days=20)
    db.session.add(LessonProgress(user_id=people["opened_only"].id, lesson_id=course.modules[0].lessons[0].id,
                                  course_id=course.id, first_opened_at=inside))
    db.session.flush()
    for name in ("completed_certified", "completed_before", "revoked", "reissued"):
        certificate = _certificate(people[name], course) or certificates.issue_certificate(
            _enrolment(people[name], course), by=organizer)[0]
        certificate.issued_at = inside
    revoked = _certificate(people["revoked"], course)
    certificates.revoke_certificate(revoked, by=organizer, reason="Cấp nhầm")
    revoked.revoked_at = inside + timedelta(days=1)
    certificates.reissue_certificate(_certificate(people["reissued"], course), by=organizer,
                                     holder_name="Nguyễn Thị Hường")
    new = _certificate(people["reissued"], course)
    new.issued_at = inside + timedelta(days=2)
    # Progress rows of every lesson were made at completion: they opened lessons inside the period.
    db.session.execute(sa.update(LessonProgress).where(LessonProgress.first_opened_at > period.end)
                       .values(first_opened_at=inside))
    db.session.commit()
    return period, course, other_course, people, both


def test_every_figure_equals_the_hand_count_and_its_list(app):
    period, course, other_course, people, both = _programme()
    # By hand. In the period: all but "left_before" and "enrolled_after", plus "both" in each course.
    enrolled = {"completed_certified", "left_during", "completed_before", "revoked", "reissued", "stuck", "active",
                "opened_only"}
    started = {"completed_certified", "completed_before", "revoked", "reissued", "opened_only"}
    completed = {"completed_certified", "completed_before", "revoked", "reissued"}
    certified = {"completed_certified", "completed_before", "reissued"}  # revoked inside the period: not
    active = {"active"}
    stuck = {"stuck", "opened_only"}  # nothing recorded on the course 14+ days before the end, not completed
    expected = {Figure.ENROLLED: enrolled, Figure.STARTED: started, Figure.COMPLETED: completed,
                Figure.CERTIFIED: certified, Figure.ACTIVE: active, Figure.STUCK: stuck}
    ids = {name: t.id for name, t in people.items()}
    for figure, names in expected.items():
        listed = {e.user_id for e in db.session.scalars(enrolments(figure, period, course_id=course.id))}
        assert listed == {ids[n] for n in names} | ({both.id} if figure in (Figure.ENROLLED, Figure.STUCK) else set()), \
            figure
        assert count(figure, period, course_id=course.id) == len(listed)
    # The whole programme: "both" counts once per course it is in.
    assert count(Figure.ENROLLED, period) == len(enrolled) + 2
    table = by_course(list(Figure), period)
    assert table[course.id][Figure.ENROLLED] == len(enrolled) + 1 and table[other_course.id][Figure.ENROLLED] == 1
    assert all(table[course.id][f] == count(f, period, course_id=course.id) for f in Figure)
    # By commune: every enrolment falls in one row, unknown communes included, and each row is its list.
    from lms.reports.figures import NO_COMMUNE, by_commune

    people["stuck"].commune_code = None
    db.session.commit()
    communes = by_commune(list(Figure), period)
    for figure in Figure:
        assert sum(row[figure] for row in communes.values()) == count(figure, period)
        for code, row in communes.items():
            assert row[figure] == count(figure, period, commune_code=code)
    assert communes[NO_COMMUNE][Figure.STUCK] >= 1


def test_a_period_is_vietnam_days_both_included(app):
    from datetime import date

    period = Period(date(2026, 11, 1), date(2026, 11, 30))
    assert period.start.isoformat() == "2026-10-31T17:00:00+00:00"
    assert period.end.isoformat() == "2026-11-30T17:00:00+00:00"
    assert utcnow() > period.start


def test_counts_side_by_side_equal_each_count(app):
    period, course, _other, _people, _both = _programme()
    from lms.reports import figures

    together = figures.counts(list(Figure), period, course_id=course.id)
    assert together == {f: figures.count(f, period, course_id=course.id) for f in Figure}
    assert together[Figure.ENROLLED] > together[Figure.COMPLETED] > 0
