"""Enrolments, lesson progress and the log of progress events."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


class EnrollmentStatus(LabelledEnum):
    ACTIVE = "active"
    LEFT = "left"

    @classmethod
    def labels(cls):
        return {cls.ACTIVE: _l("Enrolled"), cls.LEFT: _l("Left the course")}


class EnrollmentSource(LabelledEnum):
    SELF = "self"
    COHORT = "cohort"
    STAFF = "staff"

    @classmethod
    def labels(cls):
        return {cls.SELF: _l("Enrolled themselves"), cls.COHORT: _l("Through a class"), cls.STAFF: _l("By staff")}


class Enrollment(db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (sa.UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(enum_column_type(EnrollmentStatus), default=EnrollmentStatus.ACTIVE)
    source: Mapped[EnrollmentSource] = mapped_column(enum_column_type(EnrollmentSource), default=EnrollmentSource.SELF)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Recorded once, when the course's rules are first met; never moved by a later event.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Where "Học tiếp" continues: the lesson last opened or worked on.
    last_lesson_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lessons.id", ondelete="SET NULL"))
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    user: Mapped["User"] = relationship()  # noqa: F821
    course: Mapped["Course"] = relationship()  # noqa: F821
    last_lesson: Mapped["Lesson | None"] = relationship()  # noqa: F821

    @property
    def is_active(self) -> bool:
        return self.status == EnrollmentStatus.ACTIVE


class LessonProgress(db.Model):
    """One trainee's progress on one lesson. Only ever grows: coverage is a union, completion is set once."""

    __tablename__ = "lesson_progress"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "lesson_id", name="uq_lesson_progress_user_lesson"),
        # "My progress in this course" is the hottest query; without this SQLite scans a whole course.
        sa.Index("ix_lesson_progress_user_course", "user_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    #: Where to resume a video, in seconds, from the newest event (by the time on the phone).
    position_s: Mapped[float] = mapped_column(default=0.0)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: One bit per second of video watched; merged with OR, so replays and reorders cannot lower it.
    coverage: Mapped[bytes] = mapped_column(sa.LargeBinary, default=b"")
    duration_s: Mapped[float | None] = mapped_column()
    watched_fraction: Mapped[float] = mapped_column(default=0.0)
    #: The earliest moment known on the lesson: the page opened (server time) or an event (the phone's time).
    first_opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The newest event's time (the phone's, never past the server's): with first_opened_at, how long the
    #: trainee has been on the lesson, which bounds the seconds of video credited as watched.
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What completed it: "watched", "marked", "quiz", "assignment" or "staff".
    completed_by: Mapped[str | None] = mapped_column(sa.String(16))

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class ProgressEvent(db.Model):
    """Every progress event received, by the id the phone gave it: a replay is recognised and ignored."""

    __tablename__ = "progress_events"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncStatus(db.Model):
    """What a trainee's phone last said about its outbox: shown to staff, never used to decide anything."""

    __tablename__ = "sync_statuses"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    #: Items still waiting on the phone (not sent, or refused by the server) when it last reported.
    waiting: Mapped[int] = mapped_column(default=0)
    #: When the phone last emptied its queue, by the server's clock as the phone was told it.
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the report arrived (the server's clock).
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
