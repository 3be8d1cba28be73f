"""What learning holds about a person: enrolments, progress on each lesson, and the activity history."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.courses.models import Course, Lesson
from lms.learning.models import Enrollment, LessonProgress, ProgressEvent, SyncStatus

#: What each kind of progress event means to the person who sent it.
EVENT_KINDS = {"open": _l("Opened the lesson"), "position": _l("Watched or read up to a point"),
               "complete": _l("Finished the lesson")}


def personal_data(user) -> list[DataSection]:
    """Return the user's enrolments, lesson progress, activity history and what their phone last reported."""
    enrolments = db.session.execute(
        sa.select(Enrollment, Course.title).join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.user_id == user.id).order_by(Enrollment.enrolled_at))
    progress = db.session.execute(
        sa.select(LessonProgress, Course.title, Lesson.title).join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .join(Course, Course.id == LessonProgress.course_id)
        .where(LessonProgress.user_id == user.id).order_by(LessonProgress.first_opened_at))
    events = db.session.execute(
        sa.select(ProgressEvent, Lesson.title).join(Lesson, Lesson.id == ProgressEvent.lesson_id)
        .where(ProgressEvent.user_id == user.id).order_by(ProgressEvent.occurred_at))
    return [
        DataSection("enrolments", _l("Courses you are enrolled in"),
                    (("course", _l("Course")), ("status", _l("Status")), ("enrolled_at", _l("Enrolled on")),
                     ("completed_at", _l("Completed on")), ("last_activity_at", _l("Last activity"))),
                    tuple({"course": title, "status": e.status.label, "enrolled_at": e.enrolled_at,
                           "completed_at": e.completed_at, "last_activity_at": e.last_activity_at}
                          for e, title in enrolments)),
        DataSection("lesson_progress", _l("Progress in each lesson"),
                    (("course", _l("Course")), ("lesson", _l("Lesson")), ("watched_percent", _l("Watched (%)")),
                     ("first_opened_at", _l("First opened")), ("completed_at", _l("Completed on"))),
                    tuple({"course": course, "lesson": lesson, "watched_percent": round(p.watched_fraction * 100),
                           "first_opened_at": p.first_opened_at, "completed_at": p.completed_at}
                          for p, course, lesson in progress)),
        DataSection("activity", _l("Activity history"),
                    (("lesson", _l("Lesson")), ("kind", _l("What happened")), ("occurred_at", _l("When"))),
                    tuple({"lesson": lesson, "kind": EVENT_KINDS.get(e.kind, e.kind), "occurred_at": e.occurred_at}
                          for e, lesson in events)),
        DataSection("sync_status", _l("Work not sent from your phone"),
                    (("waiting", _l("Items not sent yet")), ("last_synced_at", _l("Last sync")),
                     ("reported_at", _l("Reported on"))),
                    tuple({"waiting": s.waiting, "last_synced_at": s.last_synced_at, "reported_at": s.reported_at}
                          for s in [db.session.get(SyncStatus, user.id)] if s is not None)),
    ]
