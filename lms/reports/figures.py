"""The one definition of each programme figure: in code, as a condition on an enrolment, and in words.

The unit is an enrolment, a trainee in a course (a trainee in two classes of one course is one
enrolment). Every screen and file counts `Enrollment` rows under `condition(figure, period)`:
the dashboard's number, the course breakdown and the list behind the number are the same query
with a count, a GROUP BY or a page, so they can never disagree.

A period is a range of Vietnam dates, both days included.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

import sqlalchemy as sa

from lms.accounts.models import User
from lms.certificates.models import Certificate
from lms.core.i18n import lazy_gettext as _l
from lms.core.timezone import start_of_local_day
from lms.learning.models import Enrollment, EnrollmentStatus, LessonProgress

#: A trainee is active when they worked on the course in this many days before the period's end.
ACTIVE_DAYS = 7
#: Stuck: not completed, and nothing done on the course for this many days before the period's end.
STUCK_DAYS = 14


@dataclass(frozen=True)
class Period:
    """From the first day to the last, both included, in Vietnam."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return start_of_local_day(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the period (midnight after its last day)."""
        return start_of_local_day(self.last + timedelta(days=1))


class Figure(Enum):
    ENROLLED = "enrolled"
    STARTED = "started"
    COMPLETED = "completed"
    CERTIFIED = "certified"
    ACTIVE = "active"
    STUCK = "stuck"

    @property
    def label(self) -> str:
        return str(LABELS[self][0])

    @property
    def definition(self) -> str:
        return str(LABELS[self][1])


LABELS = {
    Figure.ENROLLED: (_l("Enrolments"), _l(
        "Enrolments in a course during the period: enrolled on or before its last day, and not left "
        "before its first. A trainee in two classes of one course counts once.")),
    Figure.STARTED: (_l("Started learning"), _l(
        "Of those enrolled, the ones who had opened at least one lesson of the course by the end of the period.")),
    Figure.COMPLETED: (_l("Completed"), _l(
        "Of those enrolled, the ones who had met the course's completion rules by the end of the period "
        "(including those who completed before it began).")),
    Figure.CERTIFIED: (_l("Certified"), _l(
        "Of those enrolled, the ones holding a certificate for the course issued by the end of the period "
        "and not revoked by then; a certificate re-issued to correct it counts once.")),
    Figure.ACTIVE: (_l("Active in the last 7 days"), _l(
        "Of those enrolled, the ones who worked on the course in the 7 days up to the end of the period.")),
    Figure.STUCK: (_l("Stuck for 14 days or more"), _l(
        "Of those enrolled and still in the course, the ones who had not completed it and had done nothing "
        "on it (or, having never started, had enrolled) 14 days or more before the end of the period.")),
}

FUNNEL = (Figure.ENROLLED, Figure.STARTED, Figure.COMPLETED, Figure.CERTIFIED)


def _enrolled(period: Period):
    left_before = sa.and_(Enrollment.status == EnrollmentStatus.LEFT, Enrollment.left_at < period.start)
    return sa.and_(Enrollment.enrolled_at < period.end, sa.not_(left_before))


def _started(period: Period):
    return sa.exists().where(LessonProgress.user_id == Enrollment.user_id,
                             LessonProgress.course_id == Enrollment.course_id,
                             LessonProgress.first_opened_at < period.end)


def _completed(period: Period):
    return sa.and_(Enrollment.completed_at.is_not(None), Enrollment.completed_at < period.end)


def _certified(period: Period):
    # Valid or superseded (re-issued) both prove the training; revoked before the end does not.
    return sa.exists().where(Certificate.user_id == Enrollment.user_id, Certificate.course_id == Enrollment.course_id,
                             Certificate.issued_at < period.end,
                             sa.or_(Certificate.revoked_at.is_(None), Certificate.revoked_at >= period.end))


def condition(figure: Figure, period: Period):
    """Return the SQL condition on an Enrollment row that puts it in the figure for the period."""
    enrolled = _enrolled(period)
    if figure is Figure.ENROLLED:
        return enrolled
    if figure is Figure.STARTED:
        return sa.and_(enrolled, _started(period))
    if figure is Figure.COMPLETED:
        return sa.and_(enrolled, _completed(period))
    if figure is Figure.CERTIFIED:
        return sa.and_(enrolled, _certified(period))
    if figure is Figure.ACTIVE:
        since = period.end - timedelta(days=ACTIVE_DAYS)
        return sa.and_(enrolled, Enrollment.last_activity_at >= since, Enrollment.last_activity_at < period.end)
    if figure is Figure.STUCK:
        before = period.end - timedelta(days=STUCK_DAYS)
        last_touch = sa.func.coalesce(Enrollment.last_activity_at, Enrollment.enrolled_at)
        return sa.and_(enrolled, Enrollment.status == EnrollmentStatus.ACTIVE, sa.not_(_completed(period)),
                       last_touch < before)
    raise ValueError(figure)


#: commune_code given as this means "no commune recorded" (a deleted trainee's, or never given).
NO_COMMUNE = 0


@dataclass(frozen=True)
class Scope:
    """The trainees whose figures someone may see: those living in `communes`, or everyone when None.

    An official's or a placed organizer's scope is their communes; an empty set sees nobody (fail closed).
    """

    communes: frozenset[int] | None = None

    @property
    def whole(self) -> bool:
        return self.communes is None

    def allows(self, commune_code: int | None) -> bool:
        """Return True if a trainee living in this commune (NO_COMMUNE: none recorded) is in the scope."""
        return self.communes is None or (commune_code or NO_COMMUNE) in self.communes

    def condition(self) -> sa.ColumnElement[bool]:
        """Return the condition on User that keeps the trainees in the scope."""
        if self.communes is None:
            return sa.true()
        return User.commune_code.in_(sorted(self.communes)) if self.communes else sa.false()


#: The whole programme: every trainee.
WHOLE = Scope()


def _narrowed(query: sa.Select, course_id: int | None, commune_code: int | None, scope: Scope) -> sa.Select:
    if course_id is not None:
        query = query.where(Enrollment.course_id == course_id)
    if commune_code is not None or not scope.whole:
        query = query.join(User, User.id == Enrollment.user_id).where(scope.condition())
    if commune_code is not None:
        query = query.where(User.commune_code.is_(None) if commune_code == NO_COMMUNE else User.commune_code == commune_code)
    return query


def enrolments(figure: Figure, period: Period, *, course_id: int | None = None,
               commune_code: int | None = None, scope: Scope = WHOLE) -> sa.Select:
    """Return the enrolments in the figure (the list behind its number), newest first."""
    query = _narrowed(sa.select(Enrollment).where(condition(figure, period)), course_id, commune_code, scope)
    return query.order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())


def count(figure: Figure, period: Period, *, course_id: int | None = None, commune_code: int | None = None,
          scope: Scope = WHOLE) -> int:
    """Return how many enrolments are in the figure: the length of its list."""
    from lms.core.extensions import db

    query = sa.select(sa.func.count()).select_from(Enrollment).where(condition(figure, period))
    return db.session.scalar(_narrowed(query, course_id, commune_code, scope))


def by_course(figures, period: Period, *, scope: Scope = WHOLE,
              course_id: int | None = None) -> dict[int, dict[Figure, int]]:
    """Return each course's count of each figure, from the same conditions."""
    return _breakdown(figures, period, (Enrollment.course_id,), scope=scope, course_id=course_id)


def by_commune(figures, period: Period, *, scope: Scope = WHOLE,
               course_id: int | None = None) -> dict[int, dict[Figure, int]]:
    """Return each trainee commune's count of each figure (NO_COMMUNE for those with none recorded)."""
    return _breakdown(figures, period, (_COMMUNE,), join_users=True, scope=scope, course_id=course_id)


def by_commune_and_course(figures, period: Period, *, scope: Scope = WHOLE,
                          course_id: int | None = None) -> dict[tuple[int, int], dict[Figure, int]]:
    """Return the count of each figure for each (trainee commune, course) pair that has enrolments.

    Each enrolment falls in exactly one pair: a row of by_commune is the sum of its pairs, and so is
    a row of by_course.
    """
    return _breakdown(figures, period, (_COMMUNE, Enrollment.course_id), join_users=True, scope=scope,
                      course_id=course_id)


_COMMUNE = sa.func.coalesce(User.commune_code, NO_COMMUNE)


def _breakdown(figures, period: Period, keys, *, join_users: bool = False, scope: Scope = WHOLE,
               course_id: int | None = None) -> dict:
    from lms.core.extensions import db

    columns = [sa.func.count().filter(condition(f, period)).label(f.value) for f in figures]
    labelled = [key.label(f"key{n}") for n, key in enumerate(keys)]
    query = sa.select(*labelled, *columns).select_from(Enrollment)
    if join_users or not scope.whole:
        query = query.join(User, User.id == Enrollment.user_id).where(scope.condition())
    if course_id is not None:
        query = query.where(Enrollment.course_id == course_id)
    rows = db.session.execute(query.group_by(*keys))
    width = len(keys)
    return {(row[0] if width == 1 else tuple(row[:width])): {f: getattr(row, f.value) for f in figures}
            for row in rows}
