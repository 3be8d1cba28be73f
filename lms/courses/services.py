"""Course rules: creating courses, modules and lessons, and finding them."""

import re

import sqlalchemy as sa

from lms.courses.markdown import render_markdown
from lms.courses.models import Course, CourseLevel, CourseStatus, Lesson, LessonKind, Module
from lms.extensions import db
from lms.text import fold_diacritics, normalize_text

_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


class CourseError(Exception):
    """A rule about courses was broken; the message is safe to show."""


class SlugTaken(CourseError):
    pass


def slugify(text: str) -> str:
    """Return an ASCII address part for a Vietnamese title ('Viết bài' -> 'viet-bai')."""
    return _SLUG_CHARS.sub("-", fold_diacritics(text)).strip("-")[:80] or "bai"


def create_course(
    *,
    title: str,
    slug: str | None = None,
    summary: str = "",
    level: CourseLevel = CourseLevel.BEGINNER,
    estimated_hours: int | None = None,
    status: CourseStatus = CourseStatus.DRAFT,
) -> Course:
    """Create a course; raise SlugTaken if its address is in use."""
    from lms.i18n import gettext as _

    slug = slugify(slug or title)
    if db.session.scalar(sa.select(Course.id).where(Course.slug == slug)) is not None:
        raise SlugTaken(_("Another course already uses the address “%(slug)s”.", slug=slug))
    course = Course(
        slug=slug,
        title=normalize_text(title),
        summary=normalize_text(summary),
        level=level,
        estimated_hours=estimated_hours,
        status=status,
    )
    db.session.add(course)
    db.session.flush()
    return course


def add_module(course: Course, title: str) -> Module:
    """Append a module at the end of the course."""
    module = Module(title=normalize_text(title), position=len(course.modules))
    course.modules.append(module)
    db.session.flush()
    return module


def add_lesson(
    module: Module,
    *,
    title: str,
    slug: str | None = None,
    kind: LessonKind = LessonKind.TEXT,
    body_markdown: str = "",
) -> Lesson:
    """Append a lesson at the end of the module."""
    from lms.i18n import gettext as _

    slug = slugify(slug or title)
    taken = db.session.scalar(
        sa.select(Lesson.id).where(Lesson.course_id == module.course_id, Lesson.slug == slug)
    )
    if taken is not None:
        raise SlugTaken(_("Another lesson in this course already uses the address “%(slug)s”.", slug=slug))
    lesson = Lesson(
        course_id=module.course_id,
        title=normalize_text(title),
        slug=slug,
        kind=kind,
        position=len(module.lessons),
    )
    set_lesson_body(lesson, body_markdown)
    module.lessons.append(lesson)
    db.session.flush()
    return lesson


def set_lesson_body(lesson: Lesson, body_markdown: str) -> None:
    """Store the lesson's Markdown and its sanitised HTML."""
    text = (body_markdown or "").replace("\r\n", "\n")
    lesson.body_markdown = normalize_text_block(text)
    lesson.body_html = render_markdown(lesson.body_markdown)


def normalize_text_block(text: str) -> str:
    """Return multi-line text in NFC, keeping its line breaks."""
    import unicodedata

    return unicodedata.normalize("NFC", text).strip()


def published_courses() -> list[Course]:
    """Return the courses in the public catalogue, by title."""
    return list(
        db.session.scalars(
            sa.select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.id)
        )
    )


def ordered_lessons(course: Course) -> list[Lesson]:
    """Return the course's lessons in reading order across modules."""
    return [lesson for module in course.modules for lesson in module.lessons]


def neighbours(course: Course, lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    """Return the lessons before and after this one."""
    lessons = ordered_lessons(course)
    index = next(i for i, item in enumerate(lessons) if item.id == lesson.id)
    before = lessons[index - 1] if index > 0 else None
    after = lessons[index + 1] if index + 1 < len(lessons) else None
    return before, after
