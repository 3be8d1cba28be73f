"""Who may take and edit a quiz: the loaders every quiz route goes through."""

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from lms.core.extensions import db
from lms.courses.access import (
    get_any_lesson_or_404,
    get_course_for_editing_or_404,
    get_course_or_404,
    get_lesson_or_404,
)
from lms.courses.models import Course, Lesson, LessonKind
from lms.quizzes import services
from lms.quizzes.models import Question, Quiz, QuizAttempt

# --- Loaders: every route goes through one, so changing an id never shows someone else's data ---


def get_quiz_lesson_or_404(slug: str, lesson_slug: str) -> tuple[Course, Lesson, Quiz]:
    """Load a quiz lesson the current user may open, and its quiz; 404 when it has none yet."""
    course = get_course_or_404(slug, for_user=current_user)
    lesson = get_lesson_or_404(course, lesson_slug)
    quiz = services.find_quiz(lesson) if lesson.kind == LessonKind.QUIZ else None
    if quiz is None:
        abort(404)
    return course, lesson, quiz


def get_my_attempt_or_404(quiz: Quiz, number: int) -> QuizAttempt:
    """Load one of the current user's own attempts by its number."""
    attempt = db.session.scalar(
        sa.select(QuizAttempt).where(QuizAttempt.quiz_id == quiz.id, QuizAttempt.user_id == current_user.id,
                                     QuizAttempt.number == number)
    )
    if attempt is None:
        abort(404)
    return attempt


def get_quiz_for_editing_or_404(slug: str, lesson_slug: str) -> tuple[Course, Lesson, Quiz]:
    """Load a quiz lesson for its course's editors (others get 403), creating its quiz on first use."""
    course = get_course_for_editing_or_404(slug, current_user)
    lesson = get_any_lesson_or_404(course, lesson_slug)
    if lesson.kind != LessonKind.QUIZ:
        abort(404)
    return course, lesson, services.get_or_create_quiz(lesson)


def get_question_or_404(quiz: Quiz, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.quiz_id != quiz.id:
        abort(404)
    return question
