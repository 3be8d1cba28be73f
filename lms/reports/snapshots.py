"""The dashboard's figures counted live, or read from the worker's last count (a snapshot) when counting takes long.

Why summary tables the worker fills rather than PostgreSQL materialized views: the same code runs
on SQLite (a district) and PostgreSQL (a province); the figures are lms.reports.figures's own
queries, not a second definition in SQL that could drift from them; and a snapshot is counted as
of one moment (figures.Period.as_of), so the lists behind its numbers, read minutes later, count
the same enrolments. A REFRESH of a view cannot be incremental for these figures anyway: "stuck"
and "active" change with the clock, not only with writes.

How fresh: the worker counts every REFRESH_MINUTES minutes (lms.reports.tasks); the page says when
("Số liệu tính lúc 10:42"). A count that took under FIGURES_LIVE_UNDER_S seconds (a district's) is
not worth waiting for: the dashboard counts live, as of the moment it is asked.
"""

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from lms.attendance.figures import AttendanceFigure
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning.models import Enrollment
from lms.reports import figures
from lms.reports.figures import FUNNEL, Figure, Period, Scope, Week
from lms.reports.models import FigureMember, FigureRow, FigureSnapshot, Grain

#: The figures that move with the clock: a snapshot keeps their enrolments, for the lists behind its numbers.
MOVING = (Figure.ACTIVE, Figure.STUCK)
#: The worker counts the default period this often.
REFRESH_MINUTES = 10
#: A snapshot older than this many refreshes is shown with a warning: the worker may have stopped.
STALE_AFTER_REFRESHES = 3

_COUNTS = tuple(f.value for f in Figure)
_ATTENDANCE = ("held", "present", "late", "absent", "excused")
_NUMBERS = (*_COUNTS, *_ATTENDANCE, "checked_in")
_KEYS = ("course_id", "cohort_id", "village", "craft", "week")

#: Each grain's key beside the commune: the enrolment breakdown's and the attendance breakdown's names for it.
_GRAINS = {Grain.COURSE: ("course_id", "course", tuple(Figure)), Grain.VILLAGE: ("village", "village", FUNNEL),
           Grain.CRAFT: ("craft", "craft", FUNNEL), Grain.CLASS: ("cohort_id", "class", FUNNEL)}


#: A count asked for and not finished within this is taken as lost (its worker died): it may be asked for again.
PENDING_FOR = timedelta(hours=1)
#: Counts of periods other than the default one (asked for from the dashboard) are kept this long.
KEEP_OTHER_PERIODS = timedelta(days=1)


def take_snapshot(period: Period, now: datetime | None = None) -> FigureSnapshot:
    """Count every breakdown of the period as of now, by commune, into a new snapshot; drop the older ones.

    Never commits: the job or command does, once, so a half-written snapshot is never read.
    """
    read_one_moment()
    snapshot = start_snapshot(period, now)
    db.session.flush()
    return fill_snapshot(snapshot)


def read_one_moment() -> None:
    """Make the transaction about to begin read one moment of the database (PostgreSQL's REPEATABLE READ).

    Called before a count's first query: its tables then agree with each other and with the members
    it keeps, whatever trainees do meanwhile. SQLite's transactions already do; a transaction under
    way is left as it is.
    """
    session = db.session()
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def start_snapshot(period: Period, now: datetime | None = None) -> FigureSnapshot:
    """Add a count of the period as of now, not made yet (fill_snapshot makes it); never commits."""
    snapshot = FigureSnapshot(period_first=period.first, period_last=period.last, as_of=now or utcnow())
    db.session.add(snapshot)
    return snapshot


def fill_snapshot(snapshot: FigureSnapshot) -> FigureSnapshot:
    """Count every breakdown of the snapshot's period as of its moment; drop the older counts of the same period."""
    as_of = snapshot.as_of
    period = Period(snapshot.period_first, snapshot.period_last)
    counted = replace(period, as_of=as_of)
    began = time.perf_counter()
    rows: dict[tuple, dict] = {}

    def row(grain: Grain, commune: int, **key) -> dict:
        found = rows.get((grain, commune, *key.items()))
        if found is None:
            found = rows[(grain, commune, *key.items())] = {
                "snapshot_id": snapshot.id, "grain": grain, "commune_code": commune, **dict.fromkeys(_KEYS),
                **dict.fromkeys(_NUMBERS, 0), **key}
        return found

    for grain, (column, name, shown) in _GRAINS.items():
        for (commune, key), counts in figures.breakdown(shown, counted, ("commune", name)).items():
            row(grain, commune, **{column: key}).update({f.value: n for f, n in counts.items()})
        for (commune, key), attendance in figures.attendance(counted, ("commune", name)).items():
            row(grain, commune, **{column: key}).update({n: getattr(attendance, n) for n in _ATTENDANCE})
    for commune, weeks in figures.weekly_by_commune(counted).items():
        for week in weeks:
            if week.enrolled or week.completed or week.certified or week.checked_in:
                row(Grain.WEEK, commune, week=week.monday).update(
                    enrolled=week.enrolled, completed=week.completed, certified_in_period=week.certified,
                    checked_in=week.checked_in)
    if rows:
        db.session.execute(sa.insert(FigureRow), list(rows.values()))
    for figure in MOVING:
        members = sa.select(sa.literal(snapshot.id), sa.literal(figure.value), Enrollment.id).where(
            figures.condition(figure, counted))
        db.session.execute(sa.insert(FigureMember).from_select(["snapshot_id", "figure", "enrollment_id"], members))
    snapshot.finished_at = utcnow()
    snapshot.seconds = round(time.perf_counter() - began, 3)
    same_period = sa.and_(FigureSnapshot.period_first == period.first, FigureSnapshot.period_last == period.last,
                          FigureSnapshot.finished_at.is_not(None), FigureSnapshot.as_of < as_of)
    older = sa.select(FigureSnapshot.id).where(FigureSnapshot.id != snapshot.id, sa.or_(
        same_period, FigureSnapshot.created_at < utcnow() - KEEP_OTHER_PERIODS))
    db.session.execute(sa.delete(FigureRow).where(FigureRow.snapshot_id.in_(older)))
    db.session.execute(sa.delete(FigureMember).where(FigureMember.snapshot_id.in_(older)))
    db.session.execute(sa.delete(FigureSnapshot).where(FigureSnapshot.id.in_(older.scalar_subquery())))
    return snapshot


def _slow(snapshot: FigureSnapshot | None) -> bool:
    return snapshot is not None and (snapshot.seconds or 0) >= current_app.config["FIGURES_LIVE_UNDER_S"]


def _newest_count() -> FigureSnapshot | None:
    return db.session.scalar(sa.select(FigureSnapshot).where(FigureSnapshot.finished_at.is_not(None))
                             .order_by(FigureSnapshot.as_of.desc()).limit(1))


def ask_for_count(period: Period) -> FigureSnapshot:
    """Return the count of the period the worker is making, or ask it for one; commits that request.

    Asking twice while one is under way asks once. The read before it is ended first, so that on
    SQLite the request's transaction begins as a writer.
    """
    from lms.reports.tasks import count_snapshot_job

    pending = db.session.scalar(sa.select(FigureSnapshot).where(
        FigureSnapshot.period_first == period.first, FigureSnapshot.period_last == period.last,
        FigureSnapshot.finished_at.is_(None), FigureSnapshot.created_at >= utcnow() - PENDING_FOR)
        .order_by(FigureSnapshot.created_at.desc()).limit(1))
    if pending is not None:
        return pending
    db.session.rollback()
    snapshot = start_snapshot(period)
    db.session.commit()
    count_snapshot_job(snapshot.id)
    return snapshot


def members_at(figure: Figure, period: Period) -> sa.Select | None:
    """Return the ids of the enrolments a snapshot kept in a moving figure at the period's moment (None: none did)."""
    if figure not in MOVING or period.as_of is None:
        return None
    snapshot = latest_snapshot(period)
    if snapshot is None or snapshot.as_of != period.as_of:
        return None
    return sa.select(FigureMember.enrollment_id).where(FigureMember.snapshot_id == snapshot.id,
                                                       FigureMember.figure == figure.value)


def latest_snapshot(period: Period) -> FigureSnapshot | None:
    """Return the newest finished snapshot of exactly this period, if any."""
    return db.session.scalar(sa.select(FigureSnapshot).where(
        FigureSnapshot.period_first == period.first, FigureSnapshot.period_last == period.last,
        FigureSnapshot.finished_at.is_not(None)).order_by(FigureSnapshot.as_of.desc()).limit(1))


def figures_for(period: Period, scope: Scope, now: datetime | None = None,
                default: Period | None = None) -> "LiveFigures | SnapshotFigures | Counting":
    """Return the figures the dashboard shows for the period: the worker's, when counting takes long; else live.

    Either way they are counted as of one moment (`as_of`), which the page shows and the list links carry.
    When counting takes long and the worker has no count of the period: the default period (a new day
    began) shows the newest count, with its own period; another period is counted by the worker, and
    the page says so (Counting) instead of keeping the reader waiting minutes.
    """
    snapshot = latest_snapshot(period)
    if _slow(snapshot):
        return SnapshotFigures(snapshot, replace(period, as_of=snapshot.as_of), scope)
    newest = _newest_count()
    if not _slow(newest):
        return LiveFigures(replace(period, as_of=now or utcnow()), scope)
    if period == default:
        return SnapshotFigures(newest, Period(newest.period_first, newest.period_last, as_of=newest.as_of), scope)
    return Counting(ask_for_count(period), newest.seconds)


@dataclass(frozen=True)
class Counting:
    """The worker is counting the period asked for; `seconds`: how long the last count took."""

    snapshot: FigureSnapshot
    seconds: float


@dataclass(frozen=True)
class LiveFigures:
    """The dashboard's figures counted now, by lms.reports.figures."""

    period: Period
    scope: Scope
    snapshot = None

    @property
    def stale(self) -> bool:
        return False

    def by_course(self, shown) -> dict:
        return figures.by_course(shown, self.period, scope=self.scope)

    def by_commune_and_course(self, shown, *, course_id: int | None = None) -> dict:
        return figures.by_commune_and_course(shown, self.period, scope=self.scope, course_id=course_id)

    def by_class(self, shown) -> dict:
        return figures.by_class(shown, self.period, scope=self.scope)

    def by_commune(self, shown) -> dict:
        return figures.by_commune(shown, self.period, scope=self.scope)

    def by_village(self, shown, commune_code: int) -> dict:
        return figures.by_village(shown, self.period, commune_code, scope=self.scope)

    def by_craft(self, shown) -> dict:
        return figures.by_craft(shown, self.period, scope=self.scope)

    def attendance(self, by: str | None = None, **filters):
        return figures.attendance(self.period, by, scope=self.scope, **filters)

    def weekly(self) -> list[Week]:
        return figures.weekly(self.period, scope=self.scope)


@dataclass(frozen=True)
class SnapshotFigures:
    """The same figures, added up from a snapshot's rows for the reader's scope (the same methods as LiveFigures)."""

    snapshot: FigureSnapshot
    period: Period
    scope: Scope
    #: Sums already read: a table's counts and its attendance are one query.
    _read: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def stale(self) -> bool:
        """Whether the worker has not counted for several refreshes (it may have stopped)."""
        return utcnow() - self.snapshot.as_of > timedelta(minutes=REFRESH_MINUTES * STALE_AFTER_REFRESHES)

    def _rows_of(self, grain: Grain) -> list:
        """Return the conditions that pick this snapshot's rows of a grain in the reader's communes."""
        scope = sa.true() if self.scope.whole else FigureRow.commune_code.in_(sorted(self.scope.communes) or [-1])
        return [FigureRow.snapshot_id == self.snapshot.id, FigureRow.grain == grain, scope]

    def _sums(self, grain: Grain, key: str | None, *where, commune_code: int | None = None) -> dict:
        asked = (grain, key, commune_code, tuple(str(w) for w in where))
        if asked not in self._read:
            group = [getattr(FigureRow, key)] if key else []
            if commune_code is not None:
                where = (*where, FigureRow.commune_code == commune_code)
            query = sa.select(*group, *(sa.func.sum(getattr(FigureRow, n)).label(n) for n in _NUMBERS)).where(
                *self._rows_of(grain), *where)
            self._read[asked] = {(row[0] if key else None): row for row in db.session.execute(query.group_by(*group))}
        return self._read[asked]

    def _counts(self, grain: Grain, key: str | None, shown, *where, commune_code: int | None = None) -> dict:
        # By position, not by name: a province's class table is ten thousand rows.
        offset = 1 if key else 0
        places = [(f, offset + _NUMBERS.index(f.value)) for f in shown]
        return {k: {f: int(row[i] or 0) for f, i in places}
                for k, row in self._sums(grain, key, *where, commune_code=commune_code).items()}

    def by_course(self, shown) -> dict:
        return {k: n for k, n in self._counts(Grain.COURSE, "course_id", shown).items() if k is not None}

    def by_commune_and_course(self, shown, *, course_id: int | None = None) -> dict:
        where = [FigureRow.course_id == course_id] if course_id is not None else [FigureRow.course_id.is_not(None)]
        query = sa.select(FigureRow.commune_code, FigureRow.course_id, *(FigureRow.__table__.c[f.value] for f in shown)) \
            .where(*self._rows_of(Grain.COURSE), *where)
        # Rows with attendance only (no enrolment of that course in that commune) are not pairs of the report.
        return {(row[0], row[1]): dict(zip(shown, row[2:], strict=True)) for row in db.session.execute(query)
                if any(row[2:])}

    def by_class(self, shown) -> dict:
        return {k: n for k, n in self._counts(Grain.CLASS, "cohort_id", shown).items() if k is not None}

    def by_commune(self, shown) -> dict:
        return self._counts(Grain.COURSE, "commune_code", shown)

    def by_village(self, shown, commune_code: int) -> dict:
        return self._counts(Grain.VILLAGE, "village", shown, commune_code=commune_code)

    def by_craft(self, shown) -> dict:
        return self._counts(Grain.CRAFT, "craft", shown)

    def attendance(self, by: str | None = None, *, commune_code: int | None = None):
        grain, key = {None: (Grain.COURSE, None), "course": (Grain.COURSE, "course_id"),
                      "commune": (Grain.COURSE, "commune_code"), "class": (Grain.CLASS, "cohort_id"),
                      "village": (Grain.VILLAGE, "village"), "craft": (Grain.CRAFT, "craft")}[by]
        offset = 1 if key else 0
        first = offset + _NUMBERS.index(_ATTENDANCE[0])
        found = {k: AttendanceFigure(*(int(n or 0) for n in row[first:first + len(_ATTENDANCE)]))
                 for k, row in self._sums(grain, key, commune_code=commune_code).items()}
        if by is None:
            return found.get(None) or AttendanceFigure()
        # As live: a row with no session held has no attendance figure at all.
        return {k: figure for k, figure in found.items() if figure.held}

    def weekly(self) -> list[Week]:
        found = self._sums(Grain.WEEK, "week")
        weeks = []
        for monday in figures.mondays(self.period):
            row = found.get(monday)
            weeks.append(Week(monday=monday, first=max(monday, self.period.first),
                              last=min(monday + timedelta(days=6), self.period.last),
                              enrolled=int(row.enrolled) if row else 0, completed=int(row.completed) if row else 0,
                              certified=int(row.certified_in_period) if row else 0,
                              checked_in=int(row.checked_in) if row else 0))
        return weeks
