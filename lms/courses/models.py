"""Courses, their modules and lessons."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


class CourseStatus(LabelledEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @classmethod
    def labels(cls):
        return {cls.DRAFT: _l("Draft"), cls.PUBLISHED: _l("Published"), cls.ARCHIVED: _l("Archived")}


class CourseLevel(LabelledEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"

    @classmethod
    def labels(cls):
        return {
            cls.BEGINNER: _l("Beginner"),
            cls.INTERMEDIATE: _l("Intermediate"),
            cls.ADVANCED: _l("Advanced"),
        }


class LessonKind(LabelledEnum):
    TEXT = "text"
    VIDEO = "video"
    DOCUMENT = "document"
    QUIZ = "quiz"
    ASSIGNMENT = "assignment"

    @classmethod
    def labels(cls):
        return {
            cls.TEXT: _l("Reading"),
            cls.VIDEO: _l("Video"),
            cls.DOCUMENT: _l("Document"),
            cls.QUIZ: _l("Quiz"),
            cls.ASSIGNMENT: _l("Practical work"),
        }


course_instructors = sa.Table(
    "course_instructors",
    db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class EnrollmentMode(LabelledEnum):
    OPEN = "open"
    RESTRICTED = "restricted"

    @classmethod
    def labels(cls):
        return {
            cls.OPEN: _l("Open: trainees enrol themselves"),
            cls.RESTRICTED: _l("Restricted: organizers enrol trainees by class"),
        }


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Part of the course's address; stays the same when the title changes.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[CourseStatus] = mapped_column(
        enum_column_type(CourseStatus), default=CourseStatus.DRAFT
    )
    level: Mapped[CourseLevel] = mapped_column(
        enum_column_type(CourseLevel), default=CourseLevel.BEGINNER
    )
    estimated_hours: Mapped[int | None] = mapped_column(sa.Integer)
    cover_asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL", use_alter=True)
    )
    enrollment_mode: Mapped[EnrollmentMode] = mapped_column(
        enum_column_type(EnrollmentMode), default=EnrollmentMode.OPEN, server_default=EnrollmentMode.OPEN.value
    )
    #: Share of a class's sessions a trainee must attend to complete the course; None = no rule.
    attendance_required_percent: Mapped[int | None] = mapped_column(sa.Integer)
    #: A video lesson is complete once this share of it has been watched.
    video_completion_percent: Mapped[int] = mapped_column(default=90, server_default="90")
    #: Set the first time the course is published; from then on lessons are archived, never deleted.
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    modules: Mapped[list["Module"]] = relationship(
        back_populates="course", order_by="Module.position", cascade="all, delete-orphan"
    )
    instructors: Mapped[list["User"]] = relationship(  # noqa: F821 - resolved by name
        secondary=course_instructors, order_by="User.full_name"
    )
    cover: Mapped["MediaAsset | None"] = relationship(foreign_keys=[cover_asset_id])  # noqa: F821

    def __repr__(self) -> str:
        return f"<Course {self.slug}>"

    @property
    def is_published(self) -> bool:
        return self.status == CourseStatus.PUBLISHED


class Module(db.Model):
    __tablename__ = "course_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)

    course: Mapped[Course] = relationship(back_populates="modules")
    lessons: Mapped[list["Lesson"]] = relationship(
        back_populates="module",
        order_by="Lesson.position",
        cascade="all, delete-orphan",
        primaryjoin="and_(Module.id == Lesson.module_id, Lesson.archived_at.is_(None))",
        overlaps="all_lessons",
    )
    all_lessons: Mapped[list["Lesson"]] = relationship(
        order_by="Lesson.position", viewonly=True, overlaps="lessons"
    )


class Lesson(db.Model):
    __tablename__ = "lessons"
    __table_args__ = (sa.UniqueConstraint("course_id", "slug", name="uq_lessons_course_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Kept beside module_id so a lesson's address is unique within its course.
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(
        sa.ForeignKey("course_modules.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(sa.String(80))
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[LessonKind] = mapped_column(enum_column_type(LessonKind), default=LessonKind.TEXT)
    position: Mapped[int] = mapped_column(default=0)
    body_markdown: Mapped[str] = mapped_column(sa.Text, default="")
    #: Sanitised HTML rendered from body_markdown when it is saved.
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    #: The video or PDF of a video/document lesson.
    media_asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL"), index=True
    )
    #: Counts towards course completion (the learning rules read it).
    required: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: Removed from the course but kept, so trainees' progress on it is never lost.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    module: Mapped[Module] = relationship(back_populates="lessons", overlaps="all_lessons")
    course: Mapped[Course] = relationship()
    media: Mapped["MediaAsset | None"] = relationship()  # noqa: F821


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _touch_course_on_content_change(session, flush_context, instances) -> None:
    """Move a course's updated_at whenever one of its parts or lessons changes.

    updated_at is the course's content revision (as Moodle's course cacherev):
    the per-process lesson outline is cached under it.
    """
    course_ids = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Lesson | Module) and (obj not in session.dirty or session.is_modified(obj)):
            course_id = obj.course_id if obj.course_id is not None else getattr(obj.course, "id", None)
            if course_id is not None:
                course_ids.add(course_id)
    if not course_ids:
        return
    now = utcnow()
    with session.no_autoflush:
        for course_id in course_ids:
            course = session.get(Course, course_id)
            if course is not None and course not in session.deleted:
                course.updated_at = now
