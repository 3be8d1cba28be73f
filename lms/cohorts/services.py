"""Cohort rules: classes, their trainees and their sessions."""

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from lms.cohorts.models import (
    ClassSession,
    Cohort,
    CohortChange,
    CohortField,
    CohortMember,
    MemberStatus,
    SessionStatus,
)
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.places import get_commune
from lms.core.text import fold_diacritics, name_order, normalize_text, person_matcher
from lms.core.timezone import local_moment
from lms.courses.models import Course
from lms.learning import services as learning
from lms.learning.models import EnrollmentSource

CODE_RULE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")


class CohortError(Exception):
    """A rule about classes was broken; the message is safe to show."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        #: The form field the message belongs beside, if any.
        self.field = field


class CohortFull(CohortError):
    pass


def normalize_code(code: str) -> str:
    """Return a class code as stored: trimmed, upper case."""
    return normalize_text(code).upper()


def get_cohort_by_code(code: str) -> Cohort | None:
    return db.session.scalar(sa.select(Cohort).where(Cohort.code == normalize_code(code)))


def create_cohort(*, code: str, course: Course, name: str, commune_code: int | None = None, venue: str = "",
                  start_date: date | None = None, end_date: date | None = None, capacity: int | None = None,
                  instructors=()) -> Cohort:
    """Create a class of a course; the code must be new and the dates in order."""
    from lms.core.i18n import gettext as _

    code = normalize_code(code)
    if not CODE_RULE.match(code):
        raise CohortError(_("A class code has 2 to 32 letters without accents, digits, - or _."))
    if get_cohort_by_code(code) is not None:
        raise CohortError(_("The class code %(code)s is already used.", code=code))
    if start_date and end_date and end_date < start_date:
        raise CohortError(_("The class cannot end before it starts."))
    if commune_code is not None and get_commune(commune_code) is None:
        raise CohortError(_("Choose a commune from the list."))
    if capacity is not None and capacity < 1:
        raise CohortError(_("The capacity must be at least 1."))
    cohort = Cohort(code=code, course_id=course.id, name=normalize_text(name), commune_code=commune_code,
                    venue=normalize_text(venue), start_date=start_date, end_date=end_date, capacity=capacity,
                    instructors=list(instructors))
    db.session.add(cohort)
    db.session.flush()
    return cohort


def _readable(field: CohortField, value) -> str | None:
    """Return a class detail as people read it in the history, or None for empty."""
    if value is None or value == "":
        return None
    if field == CohortField.COMMUNE:
        commune = get_commune(value)
        return commune.full_name if commune else str(value)
    if field in (CohortField.START_DATE, CohortField.END_DATE):
        return value.strftime("%d/%m/%Y")
    if field == CohortField.INSTRUCTORS:
        return ", ".join(u.full_name for u in sorted(value, key=lambda u: name_order(u.full_name))) or None
    return str(value)


def update_cohort(cohort: Cohort, *, changed_by, name: str, commune_code: int | None, venue: str,
                  start_date: date | None, end_date: date | None, capacity: int | None,
                  instructors) -> list[CohortChange]:
    """Change a class's details and keep each change in its history; return the changes.

    Flushes in the caller's transaction; the caller commits.
    """
    from lms.core.i18n import gettext as _

    name, venue, instructors = normalize_text(name), normalize_text(venue), list(dict.fromkeys(u for u in instructors if u is not None))
    if not name:
        raise CohortError(_("Enter a name."), "name")
    if start_date and end_date and end_date < start_date:
        raise CohortError(_("The class cannot end before it starts."), "end_date")
    if commune_code is not None and get_commune(commune_code) is None:
        raise CohortError(_("Choose a commune from the list."), "commune")
    if capacity is not None:
        if capacity < 1:
            raise CohortError(_("The capacity must be at least 1."), "capacity")
        members = active_member_count(cohort)
        if capacity < members:
            raise CohortError(_("The class already has %(n)d trainees: the capacity cannot be less. Withdraw "
                                "trainees first, or leave the capacity at %(n)d or more.", n=members), "capacity")
    wanted = {CohortField.NAME: name, CohortField.COMMUNE: commune_code, CohortField.VENUE: venue,
              CohortField.START_DATE: start_date, CohortField.END_DATE: end_date, CohortField.CAPACITY: capacity}
    changes = []
    for field, new in wanted.items():
        old = getattr(cohort, _COLUMNS[field])
        if old != new:
            changes.append(CohortChange(field=field, old_value=_readable(field, old), new_value=_readable(field, new)))
            setattr(cohort, _COLUMNS[field], new)
    if {u.id for u in cohort.instructors} != {u.id for u in instructors}:
        changes.append(CohortChange(field=CohortField.INSTRUCTORS,
                                    old_value=_readable(CohortField.INSTRUCTORS, cohort.instructors),
                                    new_value=_readable(CohortField.INSTRUCTORS, instructors)))
        cohort.instructors = instructors
    for change in changes:
        change.cohort_id, change.changed_by_id = cohort.id, changed_by.id if changed_by else None
        db.session.add(change)
    db.session.flush()
    return changes


_COLUMNS = {CohortField.NAME: "name", CohortField.COMMUNE: "commune_code", CohortField.VENUE: "venue",
            CohortField.START_DATE: "start_date", CohortField.END_DATE: "end_date", CohortField.CAPACITY: "capacity"}


def cohort_history(cohort: Cohort) -> list[CohortChange]:
    """Return the changes to a class's details, newest first."""
    return list(db.session.scalars(
        sa.select(CohortChange).where(CohortChange.cohort_id == cohort.id)
        .order_by(CohortChange.changed_at.desc(), CohortChange.id.desc())))


def active_member_count(cohort: Cohort) -> int:
    return db.session.scalar(sa.select(sa.func.count(CohortMember.id)).where(
        CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE)) or 0


def get_member(cohort: Cohort, user) -> CohortMember | None:
    return db.session.scalar(sa.select(CohortMember).where(CohortMember.cohort_id == cohort.id,
                                                           CohortMember.user_id == user.id))


def add_member(cohort: Cohort, user, *, check_capacity: bool = True) -> tuple[CohortMember, bool]:
    """Put a trainee in the class and enrol them in its course; return (member, newly added)."""
    from lms.core.i18n import gettext as _

    member = get_member(cohort, user)
    if member is not None and member.status == MemberStatus.ACTIVE:
        return member, False
    if check_capacity and cohort.capacity is not None and active_member_count(cohort) >= cohort.capacity:
        raise CohortFull(_("The class is full (%(n)d trainees).", n=cohort.capacity))
    if member is None:
        member = CohortMember(cohort_id=cohort.id, user_id=user.id, status=MemberStatus.ACTIVE)
        db.session.add(member)
    else:
        member.status, member.withdrawn_at = MemberStatus.ACTIVE, None
    learning.enrol(user, cohort.course, EnrollmentSource.COHORT)
    db.session.flush()
    tell_joined(cohort, [user.id])
    return member, True


def tell_joined(cohort: Cohort, user_ids) -> int:
    """Leave each new member a message that they are in the class."""
    from lms.notifications import messages
    from lms.notifications.services import notify

    return notify(user_ids, messages.CLASS_JOINED, link="/my/attendance", class_code=cohort.code,
                  class_name=cohort.name, course=cohort.course.title)


def _tell_members(cohort: Cohort, kind: str, **params) -> int:
    from lms.notifications.services import notify

    return notify([m.user_id for m in active_members(cohort)], kind, link="/my/attendance",
                  class_code=cohort.code, **params)


def withdraw_member(member: CohortMember) -> None:
    """Take a trainee out of the class; their attendance and progress stay on record."""
    member.status, member.withdrawn_at = MemberStatus.WITHDRAWN, utcnow()


def active_members(cohort: Cohort) -> list[CohortMember]:
    from lms.accounts.models import User

    return list(db.session.scalars(
        sa.select(CohortMember).join(User, User.id == CohortMember.user_id)
        .where(CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE)
        .order_by(User.full_name, User.id)
    ))


def cohorts_of_user(user) -> list[Cohort]:
    """Return the classes a trainee is in."""
    return list(db.session.scalars(
        sa.select(Cohort).join(CohortMember).where(CohortMember.user_id == user.id,
                                                   CohortMember.status == MemberStatus.ACTIVE)
        .order_by(Cohort.start_date.desc().nulls_last(), Cohort.id.desc())
    ))


def add_session(cohort: Cohort, *, day: date, start: time, end: time, venue: str = "", topic: str = "",
                series_id: str | None = None) -> ClassSession:
    """Schedule one class session (times in Vietnam time)."""
    from lms.core.i18n import gettext as _

    if end <= start:
        raise CohortError(_("A session must end after it starts."))
    session = ClassSession(cohort_id=cohort.id, starts_at=local_moment(day, start), ends_at=local_moment(day, end),
                           venue=normalize_text(venue) or cohort.venue, topic=normalize_text(topic),
                           series_id=series_id, check_in_secret=secrets.token_hex(32),
                           status=SessionStatus.SCHEDULED)
    cohort.sessions.append(session)
    db.session.flush()
    return session


def add_weekly_sessions(cohort: Cohort, *, first_day: date, weekdays: set[int], start: time, end: time,
                        count: int, venue: str = "", topic: str = "") -> list[ClassSession]:
    """Schedule `count` sessions on the given weekdays (0 = Monday) from first_day on."""
    from lms.core.i18n import gettext as _

    if not weekdays or not 1 <= count <= 200:
        raise CohortError(_("Choose at least one weekday and from 1 to 200 sessions."))
    series = secrets.token_hex(8)
    made, day = [], first_day
    while len(made) < count:
        if day.weekday() in weekdays:
            made.append(add_session(cohort, day=day, start=start, end=end, venue=venue,
                                    topic=f"{topic} ({len(made) + 1})".strip() if topic else "", series_id=series))
        day += timedelta(days=1)
    return made


def reschedule_session(session: ClassSession, *, day: date, start: time, end: time, venue: str | None = None) -> None:
    """Move a session; the trainees are told."""
    from lms.core.i18n import gettext as _
    from lms.notifications import messages

    if end <= start:
        raise CohortError(_("A session must end after it starts."))
    before = session.starts_at
    session.starts_at, session.ends_at = local_moment(day, start), local_moment(day, end)
    if venue:
        session.venue = normalize_text(venue)
    cohort = session.cohort
    _tell_members(cohort, messages.SESSION_MOVED, before_at=before.isoformat(),
                  starts_at=session.starts_at.isoformat(), venue=session.venue or cohort.venue or "")


def cancel_session(session: ClassSession, reason: str) -> None:
    """Cancel a session, keeping it (and any attendance) on record; the trainees are told."""
    from lms.notifications import messages

    session.status, session.cancel_reason = SessionStatus.CANCELLED, normalize_text(reason) or None
    _tell_members(session.cohort, messages.SESSION_CANCELLED, starts_at=session.starts_at.isoformat(),
                  reason=session.cancel_reason or "")


def sessions_of(cohort: Cohort, *, include_cancelled: bool = True) -> list[ClassSession]:
    stmt = sa.select(ClassSession).where(ClassSession.cohort_id == cohort.id).order_by(ClassSession.starts_at)
    if not include_cancelled:
        stmt = stmt.where(ClassSession.status == SessionStatus.SCHEDULED)
    return list(db.session.scalars(stmt))


# --- The class page's lists ---------------------------------------------------------------

#: Trainees shown per page on the class page.
MEMBERS_PER_PAGE = 50
#: Sessions the class page shows before it offers "all sessions".
SESSIONS_SHOWN = 12


@dataclass(frozen=True)
class MemberRow:
    member_id: int
    user_id: int
    full_name: str
    phone: str
    village: str


@dataclass
class MemberPage:
    """One page of a class's trainee list, shaped for the pager macro (page, pages, has_prev …)."""

    rows: list[MemberRow]
    page: int
    pages: int
    #: Active trainees matching the search (all of them without one).
    matching: int
    #: Active trainees in the class.
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def member_page(cohort: Cohort, *, query: str = "", page: int = 1, per_page: int = MEMBERS_PER_PAGE) -> MemberPage:
    """Return one page of the class's active trainees in class-list order, those matching the query.

    One query of plain columns; sorting in Python by name_order (4,500 trainees: a few
    milliseconds) keeps the order the same as the roll call's, the slips' and the exports'.
    A page past the end shows the last page.
    """
    from lms.accounts.models import User

    # Core rows (plain tuples), not ORM ones: 4,500 of them load several times faster.
    rows = db.session.connection().execute(
        sa.select(CohortMember.id, User.id, User.full_name, User.phone, sa.func.coalesce(User.village, ""))
        .join(User, User.id == CohortMember.user_id)
        .where(CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE)).all()
    total = len(rows)
    matches = person_matcher(query)
    if matches is not None:
        rows = [row for row in rows if matches(fold_diacritics(row[2]), row[3])]
    rows.sort(key=lambda row: (name_order(row[2]), row[1]))
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), pages)
    return MemberPage(rows=[MemberRow(*row) for row in rows[(page - 1) * per_page: page * per_page]], page=page,
                      pages=pages, matching=len(rows), total=total)


def sessions_shown(sessions: list[ClassSession], *, now: datetime | None = None,
                   limit: int = SESSIONS_SHOWN) -> list[ClassSession]:
    """Return the sessions the class page lists by default: the two last held and the next ones, `limit` in all.

    A class with a session every day for a year would otherwise list hundreds of cards.
    """
    if len(sessions) <= limit:
        return sessions
    now = now or utcnow()
    upcoming = next((i for i, s in enumerate(sessions) if s.ends_at > now), len(sessions))
    first = max(0, min(upcoming - 2, len(sessions) - limit))
    return sessions[first: first + limit]


# --- Moving and withdrawing trainees, one or many at a time ---------------------------------

#: Most trainees one move or withdrawal takes: a page of the class list is 50.
MOST_CHOSEN = 500


def chosen_members(cohort: Cohort, member_ids) -> list[CohortMember]:
    """Return the class's active members with these ids, in class-list order.

    A choice is taken whole or not at all: an empty one, ids of nobody or of another class's
    members (a tampered form), and trainees withdrawn since the page was shown are refused
    with a message, so that nothing is ever done to part of what the organizer ticked.
    """
    from lms.core.i18n import gettext as _

    ids = list(dict.fromkeys(member_ids))
    if not ids:
        raise CohortError(_("Tick at least one trainee first."))
    if len(ids) > MOST_CHOSEN:
        raise CohortError(_("Choose at most %(n)d trainees at a time.", n=MOST_CHOSEN))
    members = list(db.session.scalars(
        sa.select(CohortMember).options(joinedload(CohortMember.user))
        .where(CohortMember.id.in_(ids), CohortMember.cohort_id == cohort.id)))
    if len(members) < len(ids):
        # Ids of another class's members get the same answer as ids of nobody: nothing about them is told.
        raise CohortError(_("Some of the trainees chosen are not in class %(code)s. Nothing was changed: "
                            "tick them again on the class page.", code=cohort.code))
    gone = _in_class_order([m for m in members if m.status != MemberStatus.ACTIVE])
    if gone:
        raise CohortError(_("No longer in class %(code)s: %(names)s. Nothing was changed: tick the trainees "
                            "again on the class page.", code=cohort.code, names=_names(gone, ", ")))
    return _in_class_order(members)


def _in_class_order(members: list[CohortMember]) -> list[CohortMember]:
    return sorted(members, key=lambda m: (name_order(m.user.full_name), m.user_id))


def _names(members: list[CohortMember], separator: str = "\n") -> str:
    return separator.join(m.user.full_name for m in members)


def _class_as_read(cohort: Cohort) -> str:
    """Return a class as its history names it, readable after the class is renamed or deleted."""
    return f"{cohort.code} · {cohort.name}"


def _record_member_change(cohort: Cohort, field: CohortField, members: list[CohortMember], *, changed_by,
                          other: Cohort | None = None, reason: str | None = None) -> CohortChange:
    change = CohortChange(cohort_id=cohort.id, field=field, changed_by_id=changed_by.id if changed_by else None,
                          old_value=_class_as_read(other) if other else None, new_value=_names(members),
                          other_cohort_id=other.id if other else None, member_count=len(members),
                          reason=normalize_text(reason) or None)
    db.session.add(change)
    return change


def places_left(cohort: Cohort) -> int | None:
    """Return how many more trainees the class takes, or None when it has no limit."""
    if cohort.capacity is None:
        return None
    return max(0, cohort.capacity - active_member_count(cohort))


def move_members(members: list[CohortMember], target: Cohort, *, moved_by) -> list[CohortMember]:
    """Move trainees of one class into another class of the same course; return their memberships there.

    All or nothing: every rule is checked before anything changes. Each old membership is withdrawn,
    its attendance staying with the old class (it is of that class's sessions); each trainee gets
    an active membership in the target, their earlier one there made active again if they had one;
    the course enrolment is left as it is. Both classes' histories record the move, and the
    trainees are told. Flushes in the caller's transaction; the caller commits.
    """
    from lms.core.i18n import gettext as _

    if not members:
        raise CohortError(_("Tick at least one trainee first."))
    source = members[0].cohort
    if any(m.cohort_id != source.id or m.status != MemberStatus.ACTIVE for m in members):
        raise CohortError(_("Move trainees of one class at a time, from its own class page."))
    if target.id == source.id:
        raise CohortError(_("The trainees are already in class %(code)s: choose another class.", code=target.code),
                          "target")
    if target.course_id != source.course_id:
        raise CohortError(_("Class %(code)s teaches another course (%(course)s): trainees can only move to a class "
                            "of the same course.", code=target.code, course=target.course.title), "target")
    # Lock the target's row (PostgreSQL) so that two moves into one class cannot both pass the capacity check.
    db.session.execute(sa.select(Cohort.id).where(Cohort.id == target.id).with_for_update())
    theirs = {m.user_id: m for m in db.session.scalars(sa.select(CohortMember).where(
        CohortMember.cohort_id == target.id, CohortMember.user_id.in_([m.user_id for m in members])))}
    already = [m for m in members if m.user_id in theirs and theirs[m.user_id].status == MemberStatus.ACTIVE]
    if already:
        raise CohortError(_("Already in class %(code)s: %(names)s. Nothing was moved: untick them and try again.",
                            code=target.code, names=_names(already, ", ")), "target")
    left = places_left(target)
    if left is not None and len(members) > left:
        if left == 0:
            raise CohortFull(_("Class %(code)s is full (%(n)d trainees). Nothing was moved: choose another class, "
                               "or raise its capacity first.", code=target.code, n=target.capacity), "target")
        raise CohortFull(_("Class %(code)s has only %(left)d place(s) left and you chose %(n)d trainees. Nothing was "
                           "moved: choose fewer trainees or another class.", code=target.code, left=left,
                           n=len(members)), "target")
    now = utcnow()
    moved = []
    for member in members:
        withdraw_member(member)
        there = theirs.get(member.user_id)
        if there is None:
            there = CohortMember(cohort_id=target.id, user_id=member.user_id, status=MemberStatus.ACTIVE, joined_at=now)
            db.session.add(there)
        else:
            # Counted from the move on: the target's sessions while they were away were not theirs to attend.
            there.status, there.withdrawn_at, there.joined_at = MemberStatus.ACTIVE, None, now
        moved.append(there)
    _record_member_change(source, CohortField.MOVED_OUT, members, changed_by=moved_by, other=target)
    _record_member_change(target, CohortField.MOVED_IN, members, changed_by=moved_by, other=source)
    db.session.flush()
    tell_joined(target, [m.user_id for m in members])
    return moved


def withdraw_members(members: list[CohortMember], *, withdrawn_by, reason: str = "") -> CohortChange:
    """Withdraw trainees of one class with withdraw_member, and keep it in the class's history with the reason.

    Flushes in the caller's transaction; the caller commits.
    """
    from lms.core.i18n import gettext as _

    if not members:
        raise CohortError(_("Tick at least one trainee first."))
    cohort = members[0].cohort
    if any(m.cohort_id != cohort.id or m.status != MemberStatus.ACTIVE for m in members):
        raise CohortError(_("Withdraw trainees of one class at a time, from its own class page."))
    for member in members:
        withdraw_member(member)
    change = _record_member_change(cohort, CohortField.WITHDRAWN, _in_class_order(members), changed_by=withdrawn_by,
                                   reason=reason)
    db.session.flush()
    return change


@dataclass(frozen=True)
class MoveTarget:
    """A class trainees may be moved into, as the move page lists it."""

    cohort: Cohort
    commune_name: str
    members: int
    #: Places left; None = no limit.
    left: int | None


def move_targets(cohort: Cohort) -> list[MoveTarget]:
    """Return the other classes of the class's course, by code, with their commune and size."""
    others = list(db.session.scalars(sa.select(Cohort).where(Cohort.course_id == cohort.course_id,
                                                             Cohort.id != cohort.id).order_by(Cohort.code)))
    counts = dict(db.session.execute(
        sa.select(CohortMember.cohort_id, sa.func.count(CohortMember.id))
        .where(CohortMember.cohort_id.in_([c.id for c in others]), CohortMember.status == MemberStatus.ACTIVE)
        .group_by(CohortMember.cohort_id)).all())
    targets = []
    for other in others:
        commune = get_commune(other.commune_code) if other.commune_code else None
        n = counts.get(other.id, 0)
        targets.append(MoveTarget(cohort=other, commune_name=commune.name if commune else "", members=n,
                                  left=None if other.capacity is None else max(0, other.capacity - n)))
    return targets


# --- Finding a trainee in any class ------------------------------------------------------------

#: Trainees a page of the search across classes shows.
FOUND_PER_PAGE = 25


@dataclass(frozen=True)
class Membership:
    cohort_code: str
    cohort_name: str
    course_title: str
    status: MemberStatus


@dataclass(frozen=True)
class FoundTrainee:
    user_id: int
    full_name: str
    phone: str
    commune_code: int | None
    #: Every class they are or were in: active ones first, then by class code.
    memberships: list[Membership]


@dataclass
class FoundPage:
    """One page of a search across classes, shaped for the pager macro (page, pages, has_prev …)."""

    rows: list[FoundTrainee]
    page: int
    pages: int
    #: Trainees matching the search, on every page.
    matching: int

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1)
    next_num = property(lambda self: self.page + 1)


def find_trainees(query: str, *, page: int = 1, per_page: int = FOUND_PER_PAGE) -> FoundPage:
    """Return one page of the people in any class (now or before) whose name or phone matches, in class-list order.

    Matches as the class page does (the same rule in SQL: lms.accounts.services.matching_people): the
    name from the start of a word, tone marks ignored; the phone by its last digits. The database finds
    the matches (a programme of a million trainees is never read whole), Python sorts them in
    class-list order, and the page's memberships come in one more query. An empty query finds
    nobody; a page past the end shows the last page.
    """
    from lms.accounts.models import User
    from lms.accounts.services import matching_people

    matching = matching_people(query)
    if matching is None:
        return FoundPage(rows=[], page=1, pages=1, matching=0)
    in_a_class = sa.select(CohortMember.id).where(CohortMember.user_id == User.id).exists()
    rows = db.session.connection().execute(
        sa.select(User.id, User.full_name, User.phone, User.commune_code).where(in_a_class, matching)).all()
    rows.sort(key=lambda row: (name_order(row[1]), row[0]))
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * per_page: page * per_page]
    memberships: dict[int, list[Membership]] = {row[0]: [] for row in shown}
    for user_id, code, name, title, status in db.session.execute(
            sa.select(CohortMember.user_id, Cohort.code, Cohort.name, Course.title, CohortMember.status)
            .join(Cohort, Cohort.id == CohortMember.cohort_id).join(Course, Course.id == Cohort.course_id)
            .where(CohortMember.user_id.in_(list(memberships)))
            .order_by(CohortMember.status, Cohort.code)):
        memberships[user_id].append(Membership(code, name, title, MemberStatus(status)))
    return FoundPage(rows=[FoundTrainee(row[0], row[1], row[2], row[3], memberships[row[0]]) for row in shown],
                     page=page, pages=pages, matching=len(rows))
