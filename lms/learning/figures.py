"""What counts as an enrolment started, completed, active or stuck: conditions on Enrollment that every screen uses.

lms/reports/figures.py builds the programme's figures on these (adding certificates, which learning
does not know), and a course's learners page counts with them: a course's stuck trainees are the
programme's stuck trainees, by the same rule and the same number of days.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa

from lms.learning.models import Enrollment, EnrollmentStatus, LessonProgress

#: A trainee is active when they worked on the course in this many days before the moment looked at.
ACTIVE_DAYS = 7
#: Stuck: still in the course, not completed, and nothing done on it for this many days before the moment.
STUCK_DAYS = 14


def enrolled_during(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    """Enrolled before `end`, and not left before `start`."""
    left_before = sa.and_(Enrollment.status == EnrollmentStatus.LEFT, Enrollment.left_at < start)
    return sa.and_(Enrollment.enrolled_at < end, sa.not_(left_before))


def started_by(end: datetime) -> sa.ColumnElement[bool]:
    """Opened at least one lesson of the course before `end`."""
    return sa.exists().where(LessonProgress.user_id == Enrollment.user_id,
                             LessonProgress.course_id == Enrollment.course_id,
                             LessonProgress.first_opened_at < end)


def completed_by(end: datetime) -> sa.ColumnElement[bool]:
    """Met the course's completion rules before `end`."""
    return sa.and_(Enrollment.completed_at.is_not(None), Enrollment.completed_at < end)


def active_before(end: datetime) -> sa.ColumnElement[bool]:
    """Worked on the course in the ACTIVE_DAYS days before `end`."""
    since = end - timedelta(days=ACTIVE_DAYS)
    return sa.and_(Enrollment.last_activity_at >= since, Enrollment.last_activity_at < end)


def stuck_at(end: datetime) -> sa.ColumnElement[bool]:
    """Still in the course, not completed by `end`, and nothing done (or, never started, enrolled) STUCK_DAYS before it."""
    last_touch = sa.func.coalesce(Enrollment.last_activity_at, Enrollment.enrolled_at)
    return sa.and_(Enrollment.status == EnrollmentStatus.ACTIVE, sa.not_(completed_by(end)),
                   last_touch < end - timedelta(days=STUCK_DAYS))
