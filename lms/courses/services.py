"""Course rules: creating courses, modules and lessons, and finding them."""

import re
import time
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm

from lms.core.db import move_in_order
from lms.core.extensions import db
from lms.core.text import fold_diacritics, normalize_text
from lms.courses.markdown import render_markdown
from lms.courses.models import Course, CourseLevel, CourseStatus, Lesson, LessonKind, Module

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
    from lms.core.i18n import gettext as _

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
    from lms.core.i18n import gettext as _

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
    """Return the course's lessons in reading order across modules, in one query."""
    db.session.flush()  # moves made earlier in this session count
    return list(db.session.scalars(_in_reading_order(
        # An outline: lesson bodies load only where a lesson is shown.
        sa.select(Lesson).options(sa.orm.defer(Lesson.body_markdown), sa.orm.defer(Lesson.body_html)), course)))


def _in_reading_order(stmt, course: Course):
    """Limit a select of lessons to the course's current ones, in reading order across its parts."""
    return (stmt.join(Module, Module.id == Lesson.module_id)
            .where(Lesson.course_id == course.id, Lesson.archived_at.is_(None))
            .order_by(Module.position, Lesson.position, Lesson.id))


@dataclass(frozen=True, slots=True)
class LessonOutline:
    """A lesson's place in its course, without its body: enough for menus and progress."""

    id: int
    slug: str
    title: str
    kind: LessonKind
    required: bool


#: course id -> (course.updated_at it was read at, when it was read, the outline)
_outlines: dict[int, tuple[object, float, tuple[LessonOutline, ...]]] = {}
#: Also re-read now and then, in case a lesson was changed outside the app (SQL by hand).
OUTLINE_MAX_AGE_S = 300.0


def lesson_outline(course: Course) -> tuple[LessonOutline, ...]:
    """Return the course's lessons in reading order, cached in this process until the course changes."""
    db.session.flush()  # a change made earlier in this request moves updated_at first
    now = time.monotonic()
    cached = _outlines.get(course.id)
    if cached is not None and cached[0] == course.updated_at and now - cached[1] < OUTLINE_MAX_AGE_S:
        return cached[2]
    rows = db.session.execute(
        _in_reading_order(sa.select(Lesson.id, Lesson.slug, Lesson.title, Lesson.kind, Lesson.required), course))
    outline = tuple(LessonOutline(*row) for row in rows)
    if len(_outlines) > 1000:  # courses are few; this only bounds a pathological process
        _outlines.clear()
    _outlines[course.id] = (course.updated_at, now, outline)
    return outline


def neighbours(course: Course, lesson: Lesson, lessons=None) -> tuple:
    """Return the lessons before and after this one (in `lessons`, Lessons or an outline, if the caller has them)."""
    lessons = lessons if lessons is not None else ordered_lessons(course)
    index = next(i for i, item in enumerate(lessons) if item.id == lesson.id)
    before = lessons[index - 1] if index > 0 else None
    after = lessons[index + 1] if index + 1 < len(lessons) else None
    return before, after


def courses_editable_by(user) -> list[Course]:
    """Return the courses this person may edit, newest first."""
    from lms.accounts.models import Role
    from lms.courses.models import course_instructors

    stmt = sa.select(Course).order_by(Course.updated_at.desc(), Course.id.desc())
    if not user.has_role(Role.ADMIN, Role.ORGANIZER):
        stmt = stmt.join(course_instructors).where(course_instructors.c.user_id == user.id)
    return list(db.session.scalars(stmt))


def update_course(
    course: Course,
    *,
    title: str,
    summary: str,
    level: CourseLevel,
    estimated_hours: int | None,
    slug: str | None = None,
) -> None:
    """Save a course's settings; its address may change only until it is first published."""
    from lms.core.i18n import gettext as _

    course.title = normalize_text(title)
    course.summary = normalize_text_block(summary or "")
    course.level = level
    course.estimated_hours = estimated_hours
    if slug and slug != course.slug:
        if course.first_published_at is not None:
            raise CourseError(_("A published course keeps its web address, so links to it keep working."))
        if db.session.scalar(sa.select(Course.id).where(Course.slug == slug, Course.id != course.id)):
            raise SlugTaken(_("Another course already uses the address “%(slug)s”.", slug=slug))
        course.slug = slug


def set_course_status(course: Course, status: CourseStatus) -> None:
    """Publish, unpublish or archive a course."""
    from lms.core.db import utcnow

    course.status = status
    if status == CourseStatus.PUBLISHED and course.first_published_at is None:
        course.first_published_at = utcnow()


def set_instructors(course: Course, users: list) -> None:
    """Make exactly these people the course's instructors."""
    course.instructors = sorted({u.id: u for u in users}.values(), key=lambda u: u.full_name)


def rename_module(module: Module, title: str) -> None:
    """Give a part a new title (the form has refused an empty one)."""
    module.title = normalize_text(title)


def move_module(module: Module, direction: str) -> bool:
    """Move a module one place up or down; return False at either end."""
    modules = sorted(module.course.modules, key=lambda m: m.position)
    return move_in_order(modules, module, direction)


def move_lesson(lesson: Lesson, direction: str) -> bool:
    """Move a lesson one place up or down, into the neighbouring part at either end of its own."""
    lessons = sorted(lesson.module.lessons, key=lambda item: item.position)
    if move_in_order(lessons, lesson, direction):
        return True
    modules = sorted(lesson.module.course.modules, key=lambda m: m.position)
    index = modules.index(lesson.module)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(modules):
        return False
    place_lesson(lesson, modules[target], at_end=direction == "up")
    return True


def place_lesson(lesson: Lesson, module: Module, *, at_end: bool = True) -> None:
    """Put a lesson into a module, at its end or its start."""
    old = lesson.module
    if old is module:
        return
    siblings = sorted(module.lessons, key=lambda item: item.position)
    lesson.module = module  # the relationship moves it between both parts' lists
    for position, each in enumerate(sorted(old.lessons, key=lambda item: item.position)):
        each.position = position
    ordered = [*siblings, lesson] if at_end else [lesson, *siblings]
    for position, each in enumerate(ordered):
        each.position = position


def update_lesson(lesson: Lesson, *, title: str, body_markdown: str, required: bool) -> None:
    """Save a lesson's text and settings; its identity (and trainees' progress on it) stays."""
    lesson.title = normalize_text(title)
    lesson.required = required
    set_lesson_body(lesson, body_markdown)


def attach_media(lesson: Lesson, asset) -> None:
    """Use an uploaded video or PDF as the lesson's content."""
    from lms.core.i18n import gettext as _

    expected = {LessonKind.VIDEO: "video", LessonKind.DOCUMENT: "document"}.get(lesson.kind)
    if asset.course_id != lesson.course_id:
        raise CourseError(_("This file belongs to another course."))
    if expected is None or asset.media_type.value != expected:
        raise CourseError(_("This file does not fit a lesson of this kind."))
    lesson.media = asset


def archive_lesson(lesson: Lesson) -> None:
    """Take a lesson out of the course without deleting it or anyone's progress on it."""
    from lms.core.db import utcnow

    lesson.archived_at = utcnow()
    module = lesson.module
    for position, each in enumerate(sorted((item for item in module.lessons if item is not lesson),
                                           key=lambda item: item.position)):
        each.position = position
    lesson.position = 10_000
    db.session.flush()
    # Reload the part's lesson list without the archived one (never remove it from the
    # list by hand: the list deletes orphans, and the lesson must survive).
    db.session.expire(module, ["lessons"])


def restore_lesson(lesson: Lesson) -> None:
    """Put an archived lesson back at the end of its part."""
    lesson.archived_at = None
    lesson.position = len(lesson.module.lessons)
    db.session.flush()
    db.session.expire(lesson.module, ["lessons"])


def delete_module(module: Module) -> None:
    """Delete an empty part; a part with lessons must be emptied first."""
    from lms.core.i18n import gettext as _

    if module.lessons:
        raise CourseError(_("Move or remove the lessons of this part first."))
    if module.all_lessons:
        # Archived lessons keep trainees' progress: they move to the first other part.
        others = [m for m in module.course.modules if m is not module]
        if not others:
            raise CourseError(_("A course needs at least one part."))
        for lesson in module.all_lessons:
            lesson.module = others[0]
    course = module.course
    course.modules.remove(module)
    for position, each in enumerate(sorted(course.modules, key=lambda m: m.position)):
        each.position = position


def archived_lessons(course: Course) -> list[Lesson]:
    return list(db.session.scalars(
        sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.archived_at.is_not(None)).order_by(Lesson.title)
    ))


def place_first(lesson: Lesson) -> None:
    """Put a lesson at the top of its part."""
    others = sorted((item for item in lesson.module.lessons if item is not lesson), key=lambda item: item.position)
    for position, each in enumerate([lesson, *others]):
        each.position = position
