"""The catalogue, course pages and lesson pages."""

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from lms.accounts.models import Role
from lms.courses import services
from lms.courses.models import Course, Lesson
from lms.extensions import db

bp = Blueprint("courses", __name__, url_prefix="/courses")


def can_see_unpublished(user) -> bool:
    return user.is_authenticated and user.has_role(Role.ADMIN, Role.ORGANIZER, Role.INSTRUCTOR)


def get_course_or_404(slug: str, for_user) -> Course:
    """Load a course the user may see: published, or any to staff."""
    course = db.session.scalar(sa.select(Course).where(Course.slug == slug))
    if course is None or (not course.is_published and not can_see_unpublished(for_user)):
        abort(404)
    return course


def get_lesson_or_404(course: Course, slug: str) -> Lesson:
    """Load a lesson of this course by its address."""
    lesson = db.session.scalar(
        sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == slug)
    )
    if lesson is None:
        abort(404)
    return lesson


@bp.route("")
def catalogue():
    """List the published courses."""
    return render_template("courses/catalogue.html", courses=services.published_courses())


@bp.route("/<slug>")
def course_detail(slug: str):
    """Show a course's summary and its lessons by module."""
    course = get_course_or_404(slug, for_user=current_user)
    lessons = services.ordered_lessons(course)
    return render_template("courses/course.html", course=course, first_lesson=lessons[0] if lessons else None)


@bp.route("/<slug>/lessons/<lesson_slug>")
@login_required
def lesson_detail(slug: str, lesson_slug: str):
    """Show one lesson with links to the previous and next ones."""
    course = get_course_or_404(slug, for_user=current_user)
    lesson = get_lesson_or_404(course, lesson_slug)
    before, after = services.neighbours(course, lesson)
    return render_template(
        "courses/lesson.html", course=course, lesson=lesson, before=before, after=after
    )
