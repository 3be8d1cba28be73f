"""The one definition of a trainee's attendance rate, used by every screen, export and the completion rule.

The rule, as RULE says it to people:

- Only sessions held count: scheduled (not cancelled) and already started. Sessions still to come
  and cancelled sessions count for nothing, whatever was recorded for them.
- A trainee is counted from the moment they joined the class (CohortMember.joined_at): a session
  that started before they joined counts for them only if they were marked for it (they sat in,
  or an instructor recorded them), and then with that mark, whatever it is. A late joiner is not
  held to sessions they could never attend; a mark, once given, is never ignored.
- Attended = present or late.
- Excused absences are not held against the trainee: they leave the count (the denominator) and are
  shown as their own number. A held session with no mark counts as missed, like "absent".
- Rate = attended ÷ (held − excused) × 100, rounded half up to one decimal. With nothing left to
  count (no session held yet, or every one excused) there is no rate.
- The course's attendance requirement is met when the rate, as shown, reaches the course's percentage.

Withdrawn trainees are not in the class any more: class lists, roll calls and exports leave them out,
and their own page no longer lists the class.
"""

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from lms.accounts.models import User
from lms.attendance.models import AttendanceRecord, AttendanceStatus
from lms.cohorts.models import ClassSession, Cohort, CohortMember, MemberStatus, SessionStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l

#: Up to this many trainees are named in the query; for a whole large class, reading all its records is cheaper.
_IN_LIMIT = 500

#: The rule in words, shown on every screen that shows a rate (and, in Vietnamese, in the workbook's notes).
RULE = _l("Attendance rate = sessions attended (present or late) ÷ sessions held. Cancelled and upcoming "
          "sessions are not counted, nor are sessions held before the trainee joined the class unless they were "
          "marked for them. Excused absences are not held against the trainee: they are left out "
          "of the count and shown on their own. A held session with no mark counts as missed.")


def attendance_percent(attended: int, counted: int) -> float | None:
    """Return attended/counted as a percentage rounded half up to one decimal (None when nothing counts)."""
    if counted <= 0:
        return None
    return float((Decimal(attended * 100) / Decimal(counted)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def format_percent(percent: float | None) -> str:
    """Show a rate as people read it: 71.4% (71,4% in Vietnamese), 70%; "—" when there is none."""
    from flask_babel import format_decimal

    return "—" if percent is None else format_decimal(percent, format="#,##0.#") + "%"


@dataclass(frozen=True)
class AttendanceFigure:
    """One trainee's attendance over the sessions held so far (see the module's rule).

    ``held`` is the sessions held that count for this trainee: those since they joined, and earlier ones
    they were marked for.
    """

    held: int = 0
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0

    @classmethod
    def from_statuses(cls, held: int, statuses: Iterable[AttendanceStatus | None]) -> "AttendanceFigure":
        """Count the statuses of the held sessions (None or a missing one: not marked)."""
        counts = dict.fromkeys(AttendanceStatus, 0)
        for status in statuses:
            if status is not None:
                counts[AttendanceStatus(status)] += 1
        return cls(held=held, present=counts[AttendanceStatus.PRESENT], late=counts[AttendanceStatus.LATE],
                   absent=counts[AttendanceStatus.ABSENT], excused=counts[AttendanceStatus.EXCUSED])

    @property
    def attended(self) -> int:
        return self.present + self.late

    @property
    def not_marked(self) -> int:
        return self.held - self.present - self.late - self.absent - self.excused

    @property
    def missed(self) -> int:
        """Held sessions counted against the trainee: marked absent, or not marked at all."""
        return self.absent + self.not_marked

    @property
    def counted(self) -> int:
        """The sessions the rate is over: held, less the excused ones."""
        return self.held - self.excused

    @property
    def percent(self) -> float | None:
        return attendance_percent(self.attended, self.counted)

    def meets(self, required: int | None) -> bool:
        """Whether the rate, as shown, reaches a course's required percentage (no requirement: always)."""
        if required is None or required <= 0:
            return True
        return self.percent is not None and self.percent >= required


# --- Which sessions are held ----------------------------------------------------------------


def is_held(session: ClassSession, now: datetime | None = None) -> bool:
    """A session counts once it has started, unless it was cancelled."""
    return session.status == SessionStatus.SCHEDULED and session.starts_at <= (now or utcnow())


def held_conditions(as_of: datetime) -> list:
    """The same as is_held, as SQL conditions on ClassSession."""
    return [ClassSession.status == SessionStatus.SCHEDULED, ClassSession.starts_at <= as_of]


def counts_for_member(starts_at: datetime, status: AttendanceStatus | None, joined_at: datetime | None) -> bool:
    """Whether a held session counts for a member: it started once they were in the class, or they were marked."""
    return status is not None or joined_at is None or starts_at >= joined_at


def joined_at_of(user_id: int, cohort_ids: Iterable[int]) -> dict[int, datetime]:
    """Return cohort id -> when the trainee joined that class."""
    cohort_ids = list(cohort_ids)
    if not cohort_ids:
        return {}
    return dict(db.session.execute(sa.select(CohortMember.cohort_id, CohortMember.joined_at).where(
        CohortMember.user_id == user_id, CohortMember.cohort_id.in_(cohort_ids))).all())


# --- Figures from the database ----------------------------------------------------------------


def figure_of(sessions: Iterable[ClassSession], statuses: Mapping[int, AttendanceStatus],
              joined: Mapping[int, datetime], now: datetime | None = None) -> AttendanceFigure:
    """Figure one trainee's attendance.

    :param statuses: session id -> their status (any session, held or not).
    :param joined: cohort id -> when they joined that class (see joined_at_of).
    """
    now = now or utcnow()
    held = [session.id for session in sessions if is_held(session, now) and counts_for_member(
        session.starts_at, statuses.get(session.id), joined.get(session.cohort_id))]
    return AttendanceFigure.from_statuses(len(held), (statuses.get(session_id) for session_id in held))


def figures_of_class(cohort_id: int, user_ids: Iterable[int],
                     now: datetime | None = None) -> dict[int, AttendanceFigure]:
    """Return user id -> figure in one class, for the given trainees (three queries, whatever their number)."""
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return {}
    conditions = [ClassSession.cohort_id == cohort_id, *held_conditions(now or utcnow())]
    starts = sorted(db.session.scalars(sa.select(ClassSession.starts_at).where(*conditions)))
    if not starts:
        return {uid: AttendanceFigure() for uid in user_ids}
    named = len(user_ids) <= _IN_LIMIT
    joined_stmt = sa.select(CohortMember.user_id, CohortMember.joined_at).where(CohortMember.cohort_id == cohort_id)
    joined = dict(db.session.execute(joined_stmt.where(CohortMember.user_id.in_(user_ids)) if named
                                     else joined_stmt).all())
    # Every record of a held session counts; those from before joining are what counts_for_member adds
    # to the sessions held since joining.
    before_joining = sa.func.coalesce(ClassSession.starts_at < CohortMember.joined_at, sa.false())
    stmt = (sa.select(AttendanceRecord.user_id, AttendanceRecord.status, before_joining,
                      sa.func.count(AttendanceRecord.id))
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .outerjoin(CohortMember, sa.and_(CohortMember.cohort_id == ClassSession.cohort_id,
                                             CohortMember.user_id == AttendanceRecord.user_id))
            .where(*conditions)
            .group_by(AttendanceRecord.user_id, AttendanceRecord.status, before_joining))
    if named:
        stmt = stmt.where(AttendanceRecord.user_id.in_(user_ids))
    counts: dict[int, dict[AttendanceStatus, int]] = {uid: {} for uid in user_ids}
    marked_before: dict[int, int] = dict.fromkeys(user_ids, 0)
    for user_id, status, before, number in db.session.execute(stmt):
        if user_id in counts:
            status = AttendanceStatus(status)
            counts[user_id][status] = counts[user_id].get(status, 0) + number
            if before:
                marked_before[user_id] += number
    result = {}
    for uid, c in counts.items():
        since = joined.get(uid)
        held = len(starts) - (bisect.bisect_left(starts, since) if since is not None else 0) + marked_before[uid]
        result[uid] = AttendanceFigure(held=held, present=c.get(AttendanceStatus.PRESENT, 0),
                                       late=c.get(AttendanceStatus.LATE, 0), absent=c.get(AttendanceStatus.ABSENT, 0),
                                       excused=c.get(AttendanceStatus.EXCUSED, 0))
    return result


def total(figures: Iterable[AttendanceFigure]) -> AttendanceFigure:
    """Add figures up: a group's rate is its attended sessions over its counted ones, never an average of rates."""
    held = present = late = absent = excused = 0
    for f in figures:
        held, present, late = held + f.held, present + f.present, late + f.late
        absent, excused = absent + f.absent, excused + f.excused
    return AttendanceFigure(held=held, present=present, late=late, absent=absent, excused=excused)


def figures_by(keys: Iterable, *conditions, since: datetime, until: datetime,
               now: datetime | None = None) -> dict[tuple, AttendanceFigure]:
    """Return the summed figure of each group of class members over the sessions held in [since, until): one query.

    The module's rule, set-based: every active member of a class is held to the class's held sessions
    starting in the window from the moment they joined, and to earlier ones they were marked for
    (counts_for_member); their marks are counted by status. Withdrawn members are left out, as in the
    class lists and exports.

    :param keys: SQL expressions on Cohort, CohortMember or User to group by (none: one group, key ``()``).
    :param conditions: more conditions on those tables, e.g. the communes a reader may see.
    """
    keys = list(keys)
    statuses = {status: sa.func.count(AttendanceRecord.id).filter(AttendanceRecord.status == status)
                for status in AttendanceStatus}
    stmt = (sa.select(*keys, sa.func.count(ClassSession.id), *statuses.values())
            .select_from(CohortMember)
            .join(Cohort, Cohort.id == CohortMember.cohort_id)
            .join(User, User.id == CohortMember.user_id)
            .join(ClassSession, ClassSession.cohort_id == CohortMember.cohort_id)
            .outerjoin(AttendanceRecord, sa.and_(AttendanceRecord.session_id == ClassSession.id,
                                                 AttendanceRecord.user_id == CohortMember.user_id))
            .where(CohortMember.status == MemberStatus.ACTIVE, *held_conditions(now or utcnow()),
                   ClassSession.starts_at >= since, ClassSession.starts_at < until,
                   # counts_for_member: since they joined, or marked for it.
                   sa.or_(ClassSession.starts_at >= CohortMember.joined_at, AttendanceRecord.id.is_not(None)),
                   *conditions))
    if keys:
        stmt = stmt.group_by(*keys)
    result = {}
    for row in db.session.execute(stmt):
        key, (held, *marks) = tuple(row[:len(keys)]), row[len(keys):]
        counts = dict(zip(statuses, marks, strict=True))
        result[key] = AttendanceFigure(held=held, present=counts[AttendanceStatus.PRESENT],
                                       late=counts[AttendanceStatus.LATE], absent=counts[AttendanceStatus.ABSENT],
                                       excused=counts[AttendanceStatus.EXCUSED])
    return result
