"""What the staff home shows: today's sessions, the classes and the courses of the person looking.

The home sits above every domain package (it is the site's shell), so it may ask each of them.
A fixed handful of queries whatever the number of classes: no query per row.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from lms.accounts.models import Role, User
from lms.cohorts.models import ClassSession, Cohort, CohortMember, MemberStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import local_day_bounds, local_today
from lms.courses.models import Course

#: Classes listed on an organizer's or admin's home; the rest are one tap away on the class list.
CLASSES_SHOWN = 8


@dataclass(frozen=True)
class ClassLine:
    cohort: Cohort
    members: int


@dataclass(frozen=True)
class StaffHome:
    day: date
    now: datetime
    sessions: list[ClassSession]
    classes: list[ClassLine]
    #: How many classes are running or coming; more than ``classes`` holds for a busy organizer.
    classes_total: int
    courses: list[Course] = field(default_factory=list)


def _sees_every_class(user) -> bool:
    return user.has_role(Role.ADMIN, Role.ORGANIZER)


def todays_sessions(user, day: date) -> list[ClassSession]:
    """Return the day's sessions (Vietnam time) of the classes the user runs, each with its class loaded."""
    start, end = vietnam_day_bounds(day)
    stmt = (sa.select(ClassSession).options(joinedload(ClassSession.cohort))
            .where(ClassSession.starts_at >= start, ClassSession.starts_at < end)
            .order_by(ClassSession.starts_at, ClassSession.id))
    if not _sees_every_class(user):
        stmt = stmt.where(ClassSession.cohort.has(Cohort.instructors.any(User.id == user.id)))
    return list(db.session.scalars(stmt))


def current_classes(user, day: date, limit: int | None = CLASSES_SHOWN) -> tuple[list[ClassLine], int]:
    """Return the classes running or coming (not ended before ``day``) with their active member counts, and how many there are.

    Instructors get the classes they teach, organizers and admins every class, newest first.
    """
    where = [sa.or_(Cohort.end_date.is_(None), Cohort.end_date >= day)]
    if not _sees_every_class(user):
        where.append(Cohort.instructors.any(User.id == user.id))
        limit = None
    total = db.session.scalar(sa.select(sa.func.count(Cohort.id)).where(*where))
    stmt = (sa.select(Cohort).options(joinedload(Cohort.course)).where(*where)
            .order_by(Cohort.start_date.desc().nulls_last(), Cohort.code).limit(limit))
    cohorts = list(db.session.scalars(stmt))
    counts = dict(db.session.execute(
        sa.select(CohortMember.cohort_id, sa.func.count(CohortMember.id))
        .where(CohortMember.cohort_id.in_([c.id for c in cohorts] or [0]), CohortMember.status == MemberStatus.ACTIVE)
        .group_by(CohortMember.cohort_id)).all())
    return [ClassLine(c, counts.get(c.id, 0)) for c in cohorts], total


def courses_taught_by(user) -> list[Course]:
    """Return the courses the user is an instructor of, by title."""
    return list(db.session.scalars(
        sa.select(Course).where(Course.instructors.any(User.id == user.id)).order_by(Course.title, Course.id)))


def staff_home(user, now: datetime | None = None) -> StaffHome:
    """Gather everything the staff home shows for this user."""
    now = now or utcnow()
    day = today_in_vietnam(now)
    classes, total = current_classes(user, day)
    courses = courses_taught_by(user) if user.has_role(Role.INSTRUCTOR) else []
    return StaffHome(day=day, now=now, sessions=todays_sessions(user, day), classes=classes, classes_total=total,
                     courses=courses)
