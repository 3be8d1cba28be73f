"""The one definition of each programme figure: in code, as a condition on an enrolment, and in words.

The unit is an enrolment, a trainee in a course (a trainee in two classes of one course is one
enrolment). Every screen and file counts `Enrollment` rows under `condition(figure, period)`:
the dashboard's number, the course breakdown and the list behind the number are the same query
with a count, a GROUP BY or a page, so they can never disagree.

A period is a range of Vietnam dates, both days included; its weeks are ISO weeks (Monday to
Sunday) in Vietnam, the first and last cut to the period.

Breakdowns (by course, class, province, commune, village, craft) are the same conditions grouped,
and the filters that pick one row (`Filters`) are what the list behind its number uses. Attendance
is not an enrolment figure: it is lms/attendance/figures.py's rule, summed over the trainees of a row.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

import sqlalchemy as sa

from lms.accounts.models import User
from lms.attendance import figures as attendance_figures
from lms.attendance.figures import AttendanceFigure
from lms.attendance.models import ATTENDED, AttendanceRecord
from lms.certificates.models import Certificate
from lms.cohorts.models import ClassSession, Cohort, CohortMember, MemberStatus
from lms.core.db import utcnow
from lms.core.i18n import lazy_gettext as _l
from lms.core.places import communes_of
from lms.core.timezone import start_of_local_day
from lms.learning import figures as learning
from lms.learning.figures import ACTIVE_DAYS, STUCK_DAYS  # noqa: F401 - the days in the words, from the one rule
from lms.learning.models import Enrollment


@dataclass(frozen=True)
class Period:
    """From the first day to the last, both included, in Vietnam; counted as of a moment when `as_of` is given.

    Every figure compares the moments things happened (enrolled, opened, completed, issued, revoked)
    with the period's end: counted as of a moment, a figure leaves out what happened after it, so the
    worker's figures of 10:42 and the list behind one of them, read later, are the same enrolments.
    """

    first: date
    last: date
    as_of: datetime | None = None

    @property
    def start(self) -> datetime:
        return start_of_local_day(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the period (midnight after its last day, or the moment counted at if earlier)."""
        midnight = start_of_local_day(self.last + timedelta(days=1))
        return min(midnight, self.as_of) if self.as_of is not None else midnight


class Figure(Enum):
    ENROLLED = "enrolled"
    STARTED = "started"
    COMPLETED = "completed"
    CERTIFIED = "certified"
    ACTIVE = "active"
    STUCK = "stuck"
    CERTIFIED_IN_PERIOD = "certified_in_period"

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
    Figure.CERTIFIED_IN_PERIOD: (_l("Certified in the period"), _l(
        "Of those certified, the ones whose first certificate for the course that counts was issued during the "
        "period. A certificate counts when it was issued by the end of the period and not revoked by then: one "
        "re-issued to correct it counts once, on the day the first was issued; a revoked one counts for nothing, "
        "and a certificate issued after it counts on its own day. Each week of the period counts the ones first "
        "issued in it (Monday to Sunday, Vietnam time).")),
}

FUNNEL = (Figure.ENROLLED, Figure.STARTED, Figure.COMPLETED, Figure.CERTIFIED)


def _enrolled(period: Period):
    return learning.enrolled_during(period.start, period.end)


def _counting_certificates(period: Period) -> list:
    # Valid or superseded (re-issued) both prove the training; revoked before the end does not.
    return [Certificate.user_id == Enrollment.user_id, Certificate.course_id == Enrollment.course_id,
            Certificate.issued_at < period.end,
            sa.or_(Certificate.revoked_at.is_(None), Certificate.revoked_at >= period.end)]


def _certified(period: Period):
    return sa.exists().where(*_counting_certificates(period))


def first_certified_at(period: Period):
    """Return, per Enrollment row, when its first certificate that counts at the period's end was issued (or NULL)."""
    return sa.select(sa.func.min(Certificate.issued_at)).where(*_counting_certificates(period)).scalar_subquery()


def condition(figure: Figure, period: Period):
    """Return the SQL condition on an Enrollment row that puts it in the figure for the period."""
    enrolled = _enrolled(period)
    if figure is Figure.ENROLLED:
        return enrolled
    if figure is Figure.STARTED:
        return sa.and_(enrolled, learning.started_by(period.end))
    if figure is Figure.COMPLETED:
        return sa.and_(enrolled, learning.completed_by(period.end))
    if figure is Figure.CERTIFIED:
        return sa.and_(enrolled, _certified(period))
    if figure is Figure.ACTIVE:
        return sa.and_(enrolled, learning.active_before(period.end))
    if figure is Figure.STUCK:
        return sa.and_(enrolled, learning.stuck_at(period.end))
    if figure is Figure.CERTIFIED_IN_PERIOD:
        # NULL (no certificate that counts) compares false: those not certified are left out.
        return sa.and_(enrolled, first_certified_at(period) >= period.start)
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
        if not self.communes:
            return sa.false()
        named = User.commune_code.in_(sorted(self.communes))
        # As allows(): NO_COMMUNE in the set stands for the trainees with no commune recorded.
        return sa.or_(named, User.commune_code.is_(None)) if NO_COMMUNE in self.communes else named


#: The whole programme: every trainee.
WHOLE = Scope()




@dataclass(frozen=True)
class Filters:
    """The enrolments one row of a breakdown counts, beyond its figure; the list behind the row's number uses the same.

    ``cohort_id``: the trainee is an active member of that class and the enrolment is in the class's course (a
    trainee in two classes of one course is in both classes' rows). ``province_code``: the trainee lives in one
    of its communes. ``commune_code`` NO_COMMUNE, ``village`` "" and ``craft`` "": none recorded. The craft is
    the trainee's business name (User.business_name) as the attendance exports' "Nghề/cơ sở" column gives it.
    ``week``: for CERTIFIED_IN_PERIOD only, the Monday of the week the first certificate was issued in.
    """

    course_id: int | None = None
    cohort_id: int | None = None
    province_code: int | None = None
    commune_code: int | None = None
    village: str | None = None
    craft: str | None = None
    week: date | None = None


_EMPTY = sa.literal_column("''")
#: The keys of the breakdowns by place and craft: what is not recorded is grouped as NO_COMMUNE or "".
COMMUNE_KEY = sa.func.coalesce(User.commune_code, sa.literal_column(str(NO_COMMUNE)))
VILLAGE_KEY = sa.func.coalesce(User.village, _EMPTY)
CRAFT_KEY = sa.func.coalesce(User.business_name, _EMPTY)


def _user_conditions(filters: Filters, scope: Scope) -> list:
    """Return the conditions on User that pick the scope's and the filters' trainees (places and craft)."""
    conditions = [scope.condition()]
    if filters.province_code is not None:
        conditions.append(User.commune_code.in_([c.code for c in communes_of(filters.province_code)] or [-1]))
    if filters.commune_code is not None:
        conditions.append(User.commune_code.is_(None) if filters.commune_code == NO_COMMUNE
                          else User.commune_code == filters.commune_code)
    if filters.village is not None:
        conditions.append(sa.func.coalesce(User.village, _EMPTY) == filters.village)
    if filters.craft is not None:
        conditions.append(sa.func.coalesce(User.business_name, _EMPTY) == filters.craft)
    return conditions


def _in_class(cohort_id):
    """The enrolment's trainee is an active member of this class (a column or an id) of the enrolment's course."""
    return sa.exists().where(CohortMember.user_id == Enrollment.user_id, CohortMember.cohort_id == cohort_id,
                             CohortMember.status == MemberStatus.ACTIVE, Cohort.id == CohortMember.cohort_id,
                             Cohort.course_id == Enrollment.course_id)


def _narrowed(query: sa.Select, filters: Filters, scope: Scope, period: Period) -> sa.Select:
    query = query.join(User, User.id == Enrollment.user_id).where(*_user_conditions(filters, scope))
    if filters.course_id is not None:
        query = query.where(Enrollment.course_id == filters.course_id)
    if filters.cohort_id is not None:
        query = query.where(_in_class(filters.cohort_id))
    if filters.week is not None:
        first, end = _week_bounds(period, filters.week)
        at = first_certified_at(period)
        query = query.where(at >= first, at < end)
    return query


def enrolments(figure: Figure, period: Period, *, scope: Scope = WHOLE, members: sa.Select | None = None,
               **filters) -> sa.Select:
    """Return the enrolments in the figure (the list behind its number), newest first; filters as in `Filters`.

    members: the ids of the enrolments a snapshot found in the figure at the period's moment, taken instead
    of the figure's condition (for "active" and "stuck", which later work would move; lms/reports/snapshots.py).
    """
    chosen = Filters(**filters)
    if chosen.week is not None and figure is not Figure.CERTIFIED_IN_PERIOD:
        raise ValueError("a week picks the certified in the period only")
    picked = condition(figure, period) if members is None else Enrollment.id.in_(members)
    query = _narrowed(sa.select(Enrollment).where(picked), chosen, scope, period)
    return query.order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())


def count(figure: Figure, period: Period, *, scope: Scope = WHOLE, **filters) -> int:
    """Return how many enrolments are in the figure: the length of its list."""
    from lms.core.extensions import db

    return db.session.scalar(sa.select(sa.func.count()).select_from(enrolments(figure, period, scope=scope,
                                                                               **filters).order_by(None).subquery()))


def counts(figures, period: Period, *, scope: Scope = WHOLE, **filters) -> dict[Figure, int]:
    """Return count() of each figure, in one query: the same conditions and filters, counted side by side."""
    from lms.core.extensions import db

    chosen = Filters(**filters)
    columns = [sa.func.count().filter(condition(f, period)).label(f.value) for f in figures]
    row = db.session.execute(_narrowed(sa.select(*columns).select_from(Enrollment), chosen, scope, period)).one()
    return {f: getattr(row, f.value) for f in figures}


def by_course(figures, period: Period, *, scope: Scope = WHOLE, **filters) -> dict[int, dict[Figure, int]]:
    """Return each course's count of each figure, from the same conditions."""
    return _breakdown(figures, period, Enrollment.course_id, scope=scope, filters=Filters(**filters))


def by_commune(figures, period: Period, *, scope: Scope = WHOLE, **filters) -> dict[int, dict[Figure, int]]:
    """Return each trainee commune's count of each figure (NO_COMMUNE for those with none recorded)."""
    return _breakdown(figures, period, COMMUNE_KEY, scope=scope, filters=Filters(**filters))


def by_commune_and_course(figures, period: Period, *, scope: Scope = WHOLE,
                          **filters) -> dict[tuple[int, int], dict[Figure, int]]:
    """Return the count of each figure for each (trainee commune, course) pair that has enrolments.

    Each enrolment falls in exactly one pair: a row of by_commune is the sum of its pairs, and so is
    a row of by_course.
    """
    return _breakdown(figures, period, (COMMUNE_KEY, Enrollment.course_id), scope=scope, filters=Filters(**filters))


def by_province(commune_counts: dict[int, dict[Figure, int]]) -> dict[int, dict[Figure, int]]:
    """Add a by_commune table up by province (NO_COMMUNE stays its own row): every commune is in one province."""
    from lms.core.places import get_commune

    provinces: dict[int, dict[Figure, int]] = {}
    for code, counts in commune_counts.items():
        commune = get_commune(code) if code != NO_COMMUNE else None
        row = provinces.setdefault(commune.province_code if commune else NO_COMMUNE, dict.fromkeys(counts, 0))
        for figure, n in counts.items():
            row[figure] += n
    return provinces


def by_village(figures, period: Period, commune_code: int, *, scope: Scope = WHOLE) -> dict[str, dict[Figure, int]]:
    """Return each village's count of each figure in one commune ("" for trainees with no village recorded)."""
    return _breakdown(figures, period, VILLAGE_KEY, scope=scope, filters=Filters(commune_code=commune_code))


def by_craft(figures, period: Period, *, scope: Scope = WHOLE) -> dict[str, dict[Figure, int]]:
    """Return each craft's (business name's) count of each figure ("" for trainees with none recorded)."""
    return _breakdown(figures, period, CRAFT_KEY, scope=scope)


def by_class(figures, period: Period, *, scope: Scope = WHOLE) -> dict[int, dict[Figure, int]]:
    """Return each class's count of each figure: the enrolments in its course of its active members.

    A trainee in two classes of one course is one enrolment, counted in both classes' rows; an enrolment
    of a trainee in no class is in no row.
    """
    return _breakdown(figures, period, CohortMember.cohort_id, scope=scope, classes=True)


#: What an enrolment breakdown may group by, by name ("class": the enrolments in a class's course of its active members).
BREAKDOWN_KEYS = {"course": Enrollment.course_id, "commune": COMMUNE_KEY, "village": VILLAGE_KEY, "craft": CRAFT_KEY,
                  "class": CohortMember.cohort_id}


def breakdown(figures, period: Period, by: tuple[str, ...], *, scope: Scope = WHOLE, **filters) -> dict[tuple, dict]:
    """Return the count of each figure per combination of `by` (names of BREAKDOWN_KEYS): rows keyed by tuples."""
    keys = tuple(BREAKDOWN_KEYS[name] for name in by)
    found = _breakdown(figures, period, keys, scope=scope, filters=Filters(**filters), classes="class" in by)
    return found if len(keys) > 1 else {(key,): counts for key, counts in found.items()}


def _breakdown(figures, period: Period, key, *, scope: Scope = WHOLE, filters: Filters = Filters(),
               classes: bool = False) -> dict:
    """Count each figure per value of the key (a column, or a tuple of columns: then the rows' keys are tuples)."""
    from lms.core.extensions import db

    keys = key if isinstance(key, tuple) else (key,)
    columns = [sa.func.count().filter(condition(f, period)).label(f.value) for f in figures]
    query = sa.select(*(k.label(f"key{n}") for n, k in enumerate(keys)), *columns).select_from(Enrollment)
    if classes:
        query = query.join(CohortMember, sa.and_(CohortMember.user_id == Enrollment.user_id,
                                                 CohortMember.status == MemberStatus.ACTIVE)) \
            .join(Cohort, sa.and_(Cohort.id == CohortMember.cohort_id, Cohort.course_id == Enrollment.course_id))
    query = _narrowed(query, filters, scope, period)
    rows = db.session.execute(query.group_by(*keys))
    width = len(keys)
    return {(row[0] if width == 1 else tuple(row[:width])): {f: getattr(row, f.value) for f in figures}
            for row in rows}


# --- Attendance, by lms/attendance/figures.py's rule -------------------------------------------------

#: What the breakdowns of attendance group by: the class's course, the class, the trainee's places and craft.
ATTENDANCE_KEYS = {"course": Cohort.course_id, "class": Cohort.id, "commune": COMMUNE_KEY, "village": VILLAGE_KEY,
                   "craft": CRAFT_KEY}

#: The attendance figure in words, beside lms/attendance/figures.py's RULE.
ATTENDANCE_DEFINITION = _l(
    "Attendance of the period: the sessions held during the period (not cancelled, already started) of every "
    "class, for each trainee still in the class, added up over the trainees of the row: sessions attended ÷ "
    "sessions counted. A class belongs to the row of its course; a trainee, to the rows of their commune, "
    "village and craft.")


def attendance(period: Period, by: str | None = None, *, scope: Scope = WHOLE, now: datetime | None = None,
               **filters) -> dict:
    """Return the attendance figure of the period (by=None) or of each row of a breakdown (`ATTENDANCE_KEYS`).

    One query: the class members in the scope and filters, their sessions held in the period (as of
    its moment, if it has one). `by` may be a tuple of names: then the rows' keys are tuples.
    """
    now = now or period.as_of
    chosen = Filters(**filters)
    conditions = _user_conditions(chosen, scope)
    if chosen.course_id is not None:
        conditions.append(Cohort.course_id == chosen.course_id)
    if chosen.cohort_id is not None:
        conditions.append(Cohort.id == chosen.cohort_id)
    names = by if isinstance(by, tuple) else ((by,) if by else ())
    found = attendance_figures.figures_by([ATTENDANCE_KEYS[name] for name in names], *conditions,
                                          since=period.start, until=period.end, now=now)
    if by is None:
        return found.get((), AttendanceFigure())
    return found if isinstance(by, tuple) else {key[0]: figure for key, figure in found.items()}


# --- Week by week ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """One ISO week of a period (cut to the period at both ends) and what happened in it."""

    monday: date
    first: date
    last: date
    enrolled: int = 0
    completed: int = 0
    certified: int = 0
    checked_in: int = 0

    @property
    def number(self) -> int:
        return self.monday.isocalendar().week


#: What each weekly count counts, in words.
WEEKLY_DEFINITIONS = {
    "enrolled": _l("New enrolments: enrolments made during the week."),
    "completed": _l("Completions: enrolments whose course was completed during the week."),
    "certified": _l("Certificates issued: as “Certified in the period”, each counted in the week its first "
                    "certificate was issued."),
    "checked_in": _l("Check-ins: attendance marks “present” or “late” of the sessions held (not cancelled) that "
                     "started during the week."),
}


def mondays(period: Period) -> list[date]:
    """Return the Monday of each ISO week the period touches, in order."""
    monday = period.first - timedelta(days=period.first.weekday())
    found = []
    while monday <= period.last:
        found.append(monday)
        monday += timedelta(days=7)
    return found


def _week_bounds(period: Period, monday: date) -> tuple[datetime, datetime]:
    return max(start_of_local_day(monday), period.start), min(start_of_local_day(monday + timedelta(days=7)), period.end)


def _week_index(column, period: Period):
    """Return the SQL index of the week a moment inside the period falls in (0 for the first)."""
    bounds = [start_of_local_day(monday) for monday in mondays(period)[1:]]
    if not bounds:
        return sa.literal_column("0")
    return sa.case(*((column < bound, index) for index, bound in enumerate(bounds)), else_=len(bounds))


def _per_week(inner: sa.Select, period: Period, keyed: bool = False) -> dict:
    """Count the rows of `inner` (a column "at", a moment inside the period) per week index.

    keyed: `inner` also has a column "key", and the counts are per (key, week index).
    """
    from lms.core.extensions import db

    # Materialized: "at" may be a correlated subquery (the first certificate), which the week's CASE
    # would otherwise run once per week it compares (seconds per query, minutes at a province).
    moments = inner.cte("moments").prefix_with("MATERIALIZED")
    # Bucketed in a subquery and grouped by its column: the same on SQLite and PostgreSQL.
    keys = [moments.c.key.label("key")] if keyed else []
    weeks = sa.select(*keys, _week_index(moments.c.at, period).label("week")).subquery()
    groups = [weeks.c.key, weeks.c.week] if keyed else [weeks.c.week]
    rows = db.session.execute(sa.select(*groups, sa.func.count()).group_by(*groups)).all()
    return {(row[0], row[1]) if keyed else row[0]: row[-1] for row in rows}


def weekly(period: Period, *, scope: Scope = WHOLE, now: datetime | None = None) -> list[Week]:
    """Return each week of the period with its new enrolments, completions, certificates and check-ins (four queries)."""
    return weekly_by_commune(period, scope=scope, now=now, by_commune=False)[None]


def weekly_by_commune(period: Period, *, scope: Scope = WHOLE, now: datetime | None = None,
                      by_commune: bool = True) -> dict[int | None, list[Week]]:
    """Return weekly() for each trainee commune (NO_COMMUNE: none recorded), or for all under the key None."""
    now = now or period.as_of
    enrolled_in_period = condition(Figure.ENROLLED, period)

    def in_period(column):
        return [column >= period.start, column < period.end]

    def keyed(*columns):
        return (*columns, COMMUNE_KEY.label("key")) if by_commune else columns

    def of_enrolments(column, *where):
        return _narrowed(sa.select(*keyed(column.label("at"))).select_from(Enrollment).where(*where), Filters(),
                         scope, period)

    enrolled = _per_week(of_enrolments(Enrollment.enrolled_at, *in_period(Enrollment.enrolled_at)), period, by_commune)
    completed = _per_week(of_enrolments(Enrollment.completed_at, enrolled_in_period,
                                        *in_period(Enrollment.completed_at)), period, by_commune)
    certified = _per_week(of_enrolments(first_certified_at(period),
                                        condition(Figure.CERTIFIED_IN_PERIOD, period)), period, by_commune)
    checked_in = _per_week(
        sa.select(*keyed(ClassSession.starts_at.label("at"))).select_from(AttendanceRecord)
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .join(User, User.id == AttendanceRecord.user_id)
        .where(AttendanceRecord.status.in_(sorted(ATTENDED)), *attendance_figures.held_conditions(now or utcnow()),
               *in_period(ClassSession.starts_at), scope.condition()), period, by_commune)
    communes = {key for found in (enrolled, completed, certified, checked_in) for key, _ in found} if by_commune \
        else {None}
    result = {}
    for commune in communes:
        def got(found, index, commune=commune):
            return found.get((commune, index) if by_commune else index, 0)

        result[commune] = [
            Week(monday=monday, first=max(monday, period.first), last=min(monday + timedelta(days=6), period.last),
                 enrolled=got(enrolled, index), completed=got(completed, index), certified=got(certified, index),
                 checked_in=got(checked_in, index))
            for index, monday in enumerate(mondays(period))]
    return result
