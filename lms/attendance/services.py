"""Attendance rules: one way to record it, three ways in (roll call, self check-in, card scan), every change kept."""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from lms.accounts.models import User
from lms.attendance import figures
from lms.attendance.checkin import (
    LATE_AFTER,
    OPEN_AFTER,
    OPEN_BEFORE,
    CheckInRefused,
    CodeExpired,
    InvalidCode,
    SessionCancelled,
    ensure_open,
    is_open,
    match_code,
    verify_scanned_token,
    verify_token,
)
from lms.attendance.figures import AttendanceFigure
from lms.attendance.models import (
    ATTENDED,
    AttendanceCard,
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    CheckInMethod,
)
from lms.cohorts.access import classes_run_by, runs_every_class
from lms.cohorts.models import ClassSession, Cohort, CohortMember, MemberStatus
from lms.cohorts.services import (
    active_members,
    cohorts_of_user,
    get_member,
    sessions_of,
)
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.core.text import fold_diacritics, name_order, person_matcher
from lms.core.timezone import local_day_bounds, local_today
from lms.learning import services as learning
from lms.learning.models import Enrollment

#: Version prefix of a trainee's card token; a new format gets a new prefix.
CARD_PREFIX = "LSC1."


class NotInClass(CheckInRefused):
    message = _l("You are not on the list of this class.")


class UnknownCard(CheckInRefused):
    message = _l("This card is not known. Ask the trainee to open their card in the app again.")


class CardRevoked(CheckInRefused):
    message = _l("This card has been replaced by a newer one and no longer works.")


# --- The one way to record attendance -----------------------------------------------------


def get_record(session: ClassSession, user) -> AttendanceRecord | None:
    return db.session.scalar(sa.select(AttendanceRecord).where(
        AttendanceRecord.session_id == session.id, AttendanceRecord.user_id == user.id))


def record_attendance(session: ClassSession, trainee, status: AttendanceStatus, *, by,
                      method: CheckInMethod) -> AttendanceRecord:
    """Set a trainee's status for a session, writing who changed what; the same status again writes nothing.

    The trainee must be (or have been) in the class. Every way of taking attendance comes through here.
    """
    status = AttendanceStatus(status)
    if session.is_cancelled:
        raise SessionCancelled()
    if get_member(session.cohort, trainee) is None:
        raise NotInClass()
    by_id = getattr(by, "id", None)
    record = get_record(session, trainee)
    if record is not None and record.status == status:
        return record
    now = utcnow()
    old = record.status if record is not None else None
    if record is None:
        record = AttendanceRecord(session_id=session.id, user_id=trainee.id, status=status, method=method,
                                  recorded_at=now, recorded_by_id=by_id)
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except sa.exc.IntegrityError:
            # Two taps at once (the trainee's scan and the instructor's roll call): the other one won.
            record = get_record(session, trainee)
            if record.status == status:
                return record
            old = record.status
    if old is not None:
        record.status, record.method, record.recorded_at, record.recorded_by_id = status, method, now, by_id
    db.session.add(AttendanceChange(record=record, changed_by_id=by_id, changed_at=now, old_status=old,
                                    new_status=status, method=method))
    db.session.flush()
    if status != AttendanceStatus.ABSENT:
        # Attending, or being excused (one session fewer to count), may complete the course.
        enrollment = learning.get_enrollment(trainee, session.cohort.course)
        if enrollment is not None:
            learning.refresh_course_completion(enrollment)
    return record


def history(record: AttendanceRecord) -> list[AttendanceChange]:
    """Return the changes of a record, oldest first."""
    return list(db.session.scalars(sa.select(AttendanceChange).where(AttendanceChange.record_id == record.id)
                                   .order_by(AttendanceChange.changed_at, AttendanceChange.id)))


# --- Roll call ----------------------------------------------------------------------------


@dataclass
class Counts:
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0
    not_marked: int = 0

    @property
    def total(self) -> int:
        return self.present + self.late + self.absent + self.excused + self.not_marked

    @property
    def attended(self) -> int:
        return self.present + self.late

    def add(self, status: AttendanceStatus | None) -> None:
        name = status.value if status is not None else "not_marked"
        setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        return {"present": self.present, "late": self.late, "absent": self.absent, "excused": self.excused,
                "not_marked": self.not_marked, "attended": self.attended, "total": self.total}


@dataclass
class RollCallRow:
    user: User
    status: AttendanceStatus | None
    #: The name without tone marks, lower case: what the search box matches.
    folded_name: str
    #: False for a trainee who joined the class after this session began and is not marked: the
    #: session does not count for them (figures.counts_for_member), so nobody need mark them.
    counts: bool = True


def statuses_of(session: ClassSession) -> dict[int, AttendanceStatus]:
    """Return user id -> status for everyone marked in the session."""
    return dict(db.session.execute(sa.select(AttendanceRecord.user_id, AttendanceRecord.status)
                                   .where(AttendanceRecord.session_id == session.id)).all())


def roll_call(session: ClassSession) -> list[RollCallRow]:
    """Return the class's active trainees in class-list order, each with their status (three queries in all)."""
    members = active_members(session.cohort)
    # Loading the users in one query fills the identity map: member.user then costs no query.
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_([m.user_id for m in members])))}
    statuses = statuses_of(session)
    rows = [RollCallRow(users[m.user_id], statuses.get(m.user_id), fold_diacritics(users[m.user_id].full_name),
                        figures.counts_for_member(session.starts_at, statuses.get(m.user_id), m.joined_at))
            for m in members]
    return sorted(rows, key=lambda row: (name_order(row.user.full_name), row.user.id))


def count(rows: list[RollCallRow]) -> Counts:
    """Count the rows by status; a late joiner not marked is no one to mark."""
    counts = Counts()
    for row in rows:
        if row.counts:
            counts.add(row.status)
    return counts


def session_counts(session: ClassSession) -> Counts:
    """Count the class's active trainees by status for a session (two small queries: screens poll this)."""
    counts = Counts()
    marked = db.session.execute(
        sa.select(AttendanceRecord.status, sa.func.count(AttendanceRecord.id))
        .join(CohortMember, sa.and_(CohortMember.user_id == AttendanceRecord.user_id,
                                    CohortMember.cohort_id == session.cohort_id))
        .where(AttendanceRecord.session_id == session.id, CohortMember.status == MemberStatus.ACTIVE)
        .group_by(AttendanceRecord.status)).all()
    for status, number in marked:
        setattr(counts, AttendanceStatus(status).value, number)
    # Who is still to mark: active trainees without a record who were in the class when it began.
    counts.not_marked = db.session.scalar(
        sa.select(sa.func.count(CohortMember.id))
        .where(CohortMember.cohort_id == session.cohort_id, CohortMember.status == MemberStatus.ACTIVE,
               CohortMember.joined_at <= session.starts_at,
               ~sa.exists().where(AttendanceRecord.session_id == session.id,
                                  AttendanceRecord.user_id == CohortMember.user_id)))
    return counts


def search_rows(rows: list[RollCallRow], query: str) -> list[RollCallRow]:
    """Keep the rows whose name contains the query, ignoring case and tone marks ("huong" finds "Hường"), or whose phone ends with it."""
    matches = person_matcher(query)
    if matches is None:
        return rows
    return [row for row in rows if matches(row.folded_name, row.user.phone)]


def mark_unmarked_absent(session: ClassSession, *, by) -> int:
    """Mark as absent every active trainee not yet marked who was in the class when it began; return how many."""
    rows = [row for row in roll_call(session) if row.status is None and row.counts]
    for row in rows:
        record_attendance(session, row.user, AttendanceStatus.ABSENT, by=by, method=CheckInMethod.ROLL_CALL)
    return len(rows)


# --- Checking in --------------------------------------------------------------------------


@dataclass
class CheckIn:
    session: ClassSession
    record: AttendanceRecord
    #: True when the trainee was already checked in: nothing changed.
    already: bool


def arrival_status(session: ClassSession, at: datetime) -> AttendanceStatus:
    """Return present, or late when arriving more than LATE_AFTER after the start."""
    return AttendanceStatus.LATE if at > session.starts_at + LATE_AFTER else AttendanceStatus.PRESENT


def check_in(session: ClassSession, trainee, *, method: CheckInMethod, by=None,
             at: datetime | None = None) -> CheckIn:
    """Check an active trainee in to an open session, once: checking in again changes nothing."""
    at = at or utcnow()
    ensure_open(session, at)
    member = get_member(session.cohort, trainee)
    if member is None or member.status != MemberStatus.ACTIVE:
        raise NotInClass()
    record = get_record(session, trainee)
    if record is not None and record.status in ATTENDED:
        return CheckIn(session, record, already=True)
    record = record_attendance(session, trainee, arrival_status(session, at), by=by or trainee, method=method)
    return CheckIn(session, record, already=False)


def check_in_with_token(token: str, trainee, *, at: datetime | None = None,
                        scanned_at: datetime | None = None) -> CheckIn:
    """Check the trainee in with the token of the class's QR code, current at `at`.

    With `scanned_at` (this browser scanned it logged out, checkin.scanned_at), the token must have been
    current then and `at` within its redeem deadline; the trainee checks in as of the scan.
    """
    if scanned_at is None:
        return check_in(verify_token(token, at), trainee, method=CheckInMethod.SELF_QR, at=at)
    session = verify_scanned_token(token, scanned_at, at)
    return check_in(session, trainee, method=CheckInMethod.SELF_QR, at=scanned_at)


def sessions_open_at(at: datetime) -> list[ClassSession]:
    """Return every session whose check-in is open at `at` (cancelled ones too, to say so)."""
    return list(db.session.scalars(sa.select(ClassSession).where(
        ClassSession.starts_at <= at + OPEN_BEFORE, ClassSession.ends_at >= at - OPEN_AFTER)
        .order_by(ClassSession.starts_at, ClassSession.id)))


def _session_for_code(code: str, trainee, at: datetime) -> ClassSession:
    """Return the session whose screen showed this code at `at`: the trainee's own classes first."""
    open_then = sessions_open_at(at)
    mine = set(db.session.scalars(sa.select(CohortMember.cohort_id).where(
        CohortMember.user_id == trainee.id, CohortMember.status == MemberStatus.ACTIVE)))
    ordered = [s for s in open_then if s.cohort_id in mine] + [s for s in open_then if s.cohort_id not in mine]
    session, current = match_code(code, ordered, at)
    if session is None:
        raise InvalidCode(_l("This code is not right. Check the 6 digits on the instructor's screen."))
    if not current:
        raise CodeExpired(_l("This code has expired. Type the code the screen shows now."))
    if session.cohort_id not in mine:
        raise NotInClass()
    return session


def check_in_with_code(code: str, trainee, *, at: datetime | None = None) -> CheckIn:
    """Check the trainee in with the 6-digit code on the instructor's screen.

    The code does not name the session: look among the sessions open now, the trainee's own classes first.
    """
    at = at or utcnow()
    return check_in(_session_for_code(code, trainee, at), trainee, method=CheckInMethod.SELF_CODE, at=at)


#: A code typed offline must reach the server within this long after the session's check-in closed.
#: The phone's clock is all that dates it: without a bound, a code read off a friend's screen could be
#: sent weeks later, dated back to when it was shown.
OFFLINE_SYNC_GRACE = timedelta(hours=24)


def check_in_with_typed_code(code: str, trainee, *, typed_at: datetime, now: datetime | None = None) -> CheckIn:
    """Check the trainee in with a code typed offline at `typed_at` (the phone's clock) and sent later.

    The code must be the one the screen showed at `typed_at` (so not typed before it was shown), within
    the session's check-in window then; `typed_at` is never taken as later than now, and the code must
    arrive within OFFLINE_SYNC_GRACE of the window's close. Flush in the caller's transaction.
    """
    now = now or utcnow()
    typed_at = min(typed_at, now)
    session = _session_for_code(code, trainee, typed_at)
    if now > session.ends_at + OPEN_AFTER + OFFLINE_SYNC_GRACE:
        raise CodeExpired(_l("This code arrived more than a day after the session's check-in closed. "
                             "Ask the instructor to mark you present."))
    return check_in(session, trainee, method=CheckInMethod.SELF_CODE, at=typed_at)


# --- Trainees' cards ----------------------------------------------------------------------


def card_of(user) -> AttendanceCard | None:
    """Return the trainee's card in use, if any."""
    return db.session.scalar(sa.select(AttendanceCard).where(
        AttendanceCard.user_id == user.id, AttendanceCard.revoked_at.is_(None)).order_by(AttendanceCard.id.desc()))


def issue_card(user) -> AttendanceCard:
    """Return the trainee's card, making one the first time."""
    card = card_of(user)
    if card is None:
        card = AttendanceCard(user_id=user.id, token=CARD_PREFIX + secrets.token_urlsafe(24))
        db.session.add(card)
        db.session.flush()
    return card


def replace_card(user) -> AttendanceCard:
    """Revoke the trainee's card (lost, photographed by someone) and issue a new one."""
    old = card_of(user)
    if old is not None:
        old.revoked_at = utcnow()
        db.session.flush()
    return issue_card(user)


def check_in_with_card(session: ClassSession, card_token: str, *, by, at: datetime | None = None) -> CheckIn:
    """Check in the trainee whose card the instructor scanned."""
    card_token = (card_token or "").strip()
    card = None
    if card_token.startswith(CARD_PREFIX) and len(card_token) <= 64:
        card = db.session.scalar(sa.select(AttendanceCard).where(AttendanceCard.token == card_token))
    if card is None:
        raise UnknownCard()
    if card.revoked_at is not None:
        raise CardRevoked()
    trainee = db.session.get(User, card.user_id)
    return check_in(session, trainee, method=CheckInMethod.CARD_SCAN, by=by, at=at)


# --- What trainees see ----------------------------------------------------------------------


# The figures themselves (what counts, the rate, the requirement) are defined once, in figures.py.
is_held = figures.is_held


def _statuses_of_user(user_id: int, session_ids) -> dict[int, AttendanceStatus]:
    if not session_ids:
        return {}
    return dict(db.session.execute(sa.select(AttendanceRecord.session_id, AttendanceRecord.status).where(
        AttendanceRecord.user_id == user_id, AttendanceRecord.session_id.in_(list(session_ids)))).all())


@dataclass
class SessionLine:
    session: ClassSession
    status: AttendanceStatus | None
    held: bool
    open_now: bool
    #: Held before the trainee joined the class and not marked for them: it does not count.
    before_joining: bool = False


@dataclass
class ClassAttendance:
    cohort: Cohort
    lines: list[SessionLine] = field(default_factory=list)
    figure: AttendanceFigure = field(default_factory=AttendanceFigure)

    @property
    def required(self) -> int | None:
        return self.cohort.course.attendance_required_percent


def attendance_of(user, now: datetime | None = None) -> list[ClassAttendance]:
    """Return the trainee's own attendance in each class they are in."""
    now = now or utcnow()
    result = []
    cohorts = cohorts_of_user(user)
    joined = figures.joined_at_of(user.id, [cohort.id for cohort in cohorts])
    for cohort in cohorts:
        sessions = sessions_of(cohort)
        statuses = _statuses_of_user(user.id, [s.id for s in sessions])
        lines = [SessionLine(s, statuses.get(s.id), is_held(s, now), not s.is_cancelled and is_open(s, now),
                             is_held(s, now) and not figures.counts_for_member(s.starts_at, statuses.get(s.id),
                                                                               joined.get(cohort.id)))
                 for s in sessions]
        result.append(ClassAttendance(cohort, lines, figures.figure_of(sessions, statuses, joined, now)))
    return result


def todays_sessions(user, now: datetime | None = None) -> list[SessionLine]:
    """Return the sessions of the trainee's classes held during today (one begun last night and still on counts), each with their status and whether check-in is open."""
    now = now or utcnow()
    start, end = local_day_bounds(local_today(now))
    sessions = list(db.session.scalars(
        sa.select(ClassSession).join(CohortMember, CohortMember.cohort_id == ClassSession.cohort_id)
        .where(CohortMember.user_id == user.id, CohortMember.status == MemberStatus.ACTIVE,
               ClassSession.starts_at < end, ClassSession.ends_at > start)
        .order_by(ClassSession.starts_at)))
    statuses = _statuses_of_user(user.id, [s.id for s in sessions])
    return [SessionLine(s, statuses.get(s.id), is_held(s, now), not s.is_cancelled and is_open(s, now))
            for s in sessions]


def sessions_for_staff(user, day: date) -> list[ClassSession]:
    """Return the sessions held during a day (Vietnam time) of the classes the user may take attendance for."""
    start, end = local_day_bounds(day)
    stmt = (sa.select(ClassSession).where(ClassSession.starts_at < end, ClassSession.ends_at > start)
            .order_by(ClassSession.starts_at, ClassSession.id))
    if not runs_every_class(user):
        stmt = stmt.join(Cohort).where(classes_run_by(user))
    return list(db.session.scalars(stmt))


# --- The course-completion rule -----------------------------------------------------------


def attendance_rule(enrollment: Enrollment) -> learning.RuleOutcome | None:
    """Whether the trainee attended enough of their class's sessions for the course.

    The rate is figures.AttendanceFigure's, over the sessions of the trainee's active classes for
    this course (each counted from when they joined it); met when it reaches the course's percentage. Does not apply (None) when the course
    sets no percentage.
    """
    from lms.core.i18n import gettext as _

    required = enrollment.course.attendance_required_percent
    if required is None:
        return None
    label = _("Attend at least %(percent)d%% of the class sessions", percent=required)
    cohort_ids = list(db.session.scalars(
        sa.select(CohortMember.cohort_id).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.user_id == enrollment.user_id, CohortMember.status == MemberStatus.ACTIVE,
               Cohort.course_id == enrollment.course_id)))
    if not cohort_ids:
        return learning.RuleOutcome(required <= 0, label, _("You are not in a class of this course yet."))
    sessions = list(db.session.scalars(sa.select(ClassSession).where(ClassSession.cohort_id.in_(cohort_ids))))
    figure = figures.figure_of(sessions, _statuses_of_user(enrollment.user_id, [s.id for s in sessions]),
                               figures.joined_at_of(enrollment.user_id, cohort_ids))
    return learning.RuleOutcome(figure.meets(required), label, describe_figure(figure))


def describe_figure(figure: AttendanceFigure) -> str:
    """Say a figure in words: "71.4% · Attended 5 of 7 sessions counted · 1 excused, not counted"."""
    from lms.core.i18n import gettext as _

    text = _("Attended %(attended)d of %(counted)d sessions counted", attended=figure.attended,
             counted=figure.counted)
    if figure.excused:
        text += " · " + _("%(excused)d excused, not counted", excused=figure.excused)
    if figure.percent is not None:
        text = figures.format_percent(figure.percent) + " · " + text
    return text

