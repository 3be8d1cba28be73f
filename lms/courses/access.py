"""Who may see and edit a course, and the loaders that apply it in every route."""

import sqlalchemy as sa
from flask import abort

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.courses import hooks
from lms.courses.models import Course, Lesson, Module


def can_edit_course(user, course) -> bool:
    """Return True for admins, organizers and the course's own instructors."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(Role.ADMIN, Role.ORGANIZER):
        return True
    return user.has_role(Role.INSTRUCTOR) and any(i.id == user.id for i in course.instructors)


def can_author_courses(user) -> bool:
    """Return True for people who may create courses."""
    return getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN, Role.ORGANIZER, Role.INSTRUCTOR)


def can_view_course(user, course) -> bool:
    """Return True if the user may open the course's lessons and media.

    Editors always may; others only in a published course, and only if a connected rule
    (learning: enrolment) lets them. No rule connected means no one else: closed, not open.
    """
    if can_edit_course(user, course):
        return True
    if not course.is_published or not getattr(user, "is_authenticated", False):
        return False
    return any(rule(user, course) for rule in hooks.view_rules())


# --- Loaders: seeing ------------------------------------------------------------------------


def get_course_or_404(slug: str, for_user) -> Course:
    """Load a course the user may see: published, or a draft to its editors."""
    return visible_course_or_404(db.session.scalar(sa.select(Course).where(Course.slug == slug)), for_user)


def visible_course_or_404(course: Course | None, for_user) -> Course:
    """Return the course if the user may see it (published, or a draft to its editors), else 404."""
    if course is None or (not course.is_published and not can_edit_course(for_user, course)):
        abort(404)
    return course


def get_lesson_or_404(course: Course, slug: str) -> Lesson:
    """Load a lesson of this course by its address; archived lessons are gone for trainees."""
    lesson = db.session.scalar(
        sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == slug, Lesson.archived_at.is_(None))
    )
    if lesson is None:
        abort(404)
    return lesson


# --- Loaders: authoring ---------------------------------------------------------------------


def get_course_for_editing_or_404(slug: str, for_user) -> Course:
    """Load a course the user may edit; others get 404 (or 403 when they may see it)."""
    course = db.session.scalar(sa.select(Course).where(Course.slug == slug))
    if course is None:
        abort(404)
    if not can_edit_course(for_user, course):
        abort(403)
    return course


def get_module_or_404(course: Course, module_id: int) -> Module:
    module = db.session.get(Module, module_id)
    if module is None or module.course_id != course.id:
        abort(404)
    return module


def get_any_lesson_or_404(course: Course, slug: str) -> Lesson:
    """Load a lesson of this course, archived ones included."""
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == slug))
    if lesson is None:
        abort(404)
    return lesson
