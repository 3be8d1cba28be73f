"""Who may hand in and see practical work, and the loaders that apply it in every route."""

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from lms.assignments.models import Assignment, RubricCriterion, Submission
from lms.core.extensions import db
from lms.core.sniff import MediaKind
from lms.courses.access import (
    can_edit_course,
    can_view_course,
    get_any_lesson_or_404,
    get_course_for_editing_or_404,
    get_course_or_404,
    get_lesson_or_404,
)
from lms.courses.models import Course, Lesson, LessonKind
from lms.learning.services import is_enrolled
from lms.media.hooks import UploadPurpose

# --- Who may upload and see hand-in photos and videos ----------------------------------------


def may_upload_submission(user, course) -> bool:
    """Enrolled trainees upload their work; the course's editors may try the form out."""
    if not getattr(user, "is_authenticated", False):
        return False
    return can_edit_course(user, course) or is_enrolled(user, course)


def may_view_submission(user, asset, course) -> bool:
    """Only the trainee who uploaded it and the course's editors: never another trainee."""
    if not getattr(user, "is_authenticated", False):
        return False
    return asset.owner_id == user.id or can_edit_course(user, course)


#: The "submission" upload purpose, connected to media in `lms.register_hooks`.
SUBMISSION_UPLOAD = UploadPurpose(
    kinds=frozenset({MediaKind.IMAGE, MediaKind.VIDEO}),
    can_upload=may_upload_submission,
    can_view=may_view_submission,
)


# --- Loaders ---------------------------------------------------------------------------------


def get_assignment_lesson_or_404(slug: str, lesson_slug: str, for_user) -> Lesson:
    """Load a practical-work lesson the user may open."""
    course = get_course_or_404(slug, for_user)
    if not can_view_course(for_user, course):
        abort(403)
    lesson = get_lesson_or_404(course, lesson_slug)
    if lesson.kind != LessonKind.ASSIGNMENT:
        abort(404)
    return lesson


def get_my_submission_or_404(assignment: Assignment | None, user, number: int) -> Submission:
    """Load one of the user's own hand-ins by its number; anyone else's is not there."""
    submission = None
    if assignment is not None:
        submission = db.session.scalar(sa.select(Submission).where(
            Submission.assignment_id == assignment.id, Submission.user_id == user.id, Submission.number == number))
    if submission is None:
        abort(404)
    return submission


def get_submission_for_review_or_404(submission_id: int, for_user) -> Submission:
    """Load a hand-in for a reviewer who edits its course; 403 for anyone else."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        abort(404)
    if not can_edit_course(for_user, submission.assignment.lesson.course):
        abort(403)
    return submission


def get_criterion_or_404(assignment: Assignment, criterion_id: int) -> RubricCriterion:
    criterion = db.session.get(RubricCriterion, criterion_id)
    if criterion is None or criterion.assignment_id != assignment.id:
        abort(404)
    return criterion


def get_assignment_for_editing_or_404(slug: str, lesson_slug: str) -> tuple[Course, Lesson]:
    course = get_course_for_editing_or_404(slug, current_user)
    lesson = get_any_lesson_or_404(course, lesson_slug)
    if lesson.kind != LessonKind.ASSIGNMENT:
        abort(404)
    return course, lesson
