"""Taking a quiz, its result, the quiz API, the lesson-page panel and the quiz editor."""

import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from lms.accounts.forms import ConfirmForm
from lms.core.api import ErrorBody, api_error, api_login_required, api_operation
from lms.core.db import writes_database
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.courses.access import can_edit_course
from lms.courses.forms import MoveForm
from lms.courses.models import Course, Lesson, LessonKind
from lms.courses.services import neighbours
from lms.courses.views import (
    find_course_media,
    get_any_lesson_or_404,
    get_course_for_editing_or_404,
    get_course_or_404,
    get_lesson_or_404,
)
from lms.learning.panels import register_lesson_panel
from lms.learning.services import get_enrollment
from lms.quizzes import services
from lms.quizzes.forms import (
    AttemptForm,
    QuestionForm,
    QuestionResultOut,
    QuizSettingsForm,
    SubmissionIn,
    SubmissionOut,
)
from lms.quizzes.models import Question, QuestionKind, Quiz, QuizAttempt

bp = Blueprint("quizzes", __name__)


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


# --- Taking a quiz ---------------------------------------------------------------------------


def lesson_url(course: Course, lesson: Lesson) -> str:
    return url_for("learning.lesson", slug=course.slug, lesson_slug=lesson.slug)


@bp.route("/courses/<slug>/lessons/<lesson_slug>/quiz/attempt", methods=["GET", "POST"])
@writes_database
@login_required
def take_quiz(slug: str, lesson_slug: str):
    """Show the open attempt's questions on one page; grade them when sent."""
    course, lesson, quiz = get_quiz_lesson_or_404(slug, lesson_slug)
    form = AttemptForm()
    if request.method == "POST":
        if not form.validate():
            abort(400)
        attempt = get_my_attempt_or_404(quiz, int(form.attempt.data))
        return _submit_answer_sheet(course, lesson, quiz, attempt, form)
    try:
        attempt = services.start_attempt(quiz, current_user)
    except services.NotEnrolled:
        abort(403)
    except services.NoAttemptsLeft as exc:
        flash(str(exc), "error")
        last = services.attempts_of(quiz, current_user)[-1]
        return redirect(url_for("quizzes.attempt_result", slug=slug, lesson_slug=lesson_slug, number=last.number))
    except services.QuizError as exc:
        flash(str(exc), "error")
        return redirect(lesson_url(course, lesson))
    db.session.commit()
    form.attempt.data, form.submission_id.data = str(attempt.number), str(uuid.uuid4())
    return render_template("quizzes/attempt.html", course=course, lesson=lesson, quiz=quiz, attempt=attempt,
                           items=services.attempt_questions(attempt), form=form, unanswered=[])


def _submit_answer_sheet(course, lesson, quiz, attempt, form):
    items = services.attempt_questions(attempt)
    answers = form.answers(request.form, [item.question.id for item in items])
    unanswered = [item.number for item in items if not answers.get(item.question.id)]
    if unanswered and not attempt.is_submitted and form.confirm_unanswered.data != "1":
        # Warn once, keeping what was chosen; the same submission id is sent again after.
        for item in items:
            item.chosen = set(answers.get(item.question.id, []))
        form.confirm_unanswered.data = "1"
        return render_template("quizzes/attempt.html", course=course, lesson=lesson, quiz=quiz, attempt=attempt,
                               items=items, form=form, unanswered=unanswered)
    try:
        graded = services.submit_attempt(attempt, answers, form.submission_id.data, user=current_user)
    except (services.NotEnrolled, services.NotYourAttempt):
        abort(403)
    except services.AttemptClosed as exc:
        flash(str(exc), "info")
        graded = attempt
    db.session.commit()
    return redirect(url_for("quizzes.attempt_result", slug=course.slug, lesson_slug=lesson.slug,
                            number=graded.number))


@bp.route("/courses/<slug>/lessons/<lesson_slug>/quiz/attempts/<int:number>")
@login_required
def attempt_result(slug: str, lesson_slug: str, number: int):
    """Show a graded attempt: the score, and each question with the right answer and why."""
    course, lesson, quiz = get_quiz_lesson_or_404(slug, lesson_slug)
    attempt = get_my_attempt_or_404(quiz, number)
    if not attempt.is_submitted:
        return redirect(url_for("quizzes.take_quiz", slug=slug, lesson_slug=lesson_slug))
    _before, after = neighbours(course, lesson)
    return render_template(
        "quizzes/result.html", course=course, lesson=lesson, quiz=quiz, attempt=attempt,
        items=services.attempt_questions(attempt), attempts_left=services.attempts_left(quiz, current_user),
        open_attempt=services.open_attempt(quiz, current_user), best=services.best_attempt(quiz, current_user),
        after=after,
    )


# --- JSON API --------------------------------------------------------------------------------


@bp.route("/api/v1/quizzes/<int:lesson_id>/submissions", methods=["POST"])
@api_operation(
    path="/api/v1/quizzes/{lesson_id}/submissions", method="POST",
    summary="Submit the answers of a quiz attempt; the same id is graded once",
    body=SubmissionIn,
    responses={200: ("The graded attempt (also when this id was sent before)", SubmissionOut),
               401: ("Not logged in", ErrorBody),
               403: ("Not enrolled in the course, or not the trainee's attempt", ErrorBody),
               404: ("No such quiz or attempt", ErrorBody),
               409: ("The attempt was already submitted with another id", ErrorBody)},
    tags=["quizzes"],
)
@api_login_required
def api_submit(lesson_id: int, payload: SubmissionIn):
    """Grade an answer sheet sent as JSON (the offline mode sends it when the network is back)."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.archived_at is not None:
        abort(404)
    _course, lesson, quiz = get_quiz_lesson_or_404(lesson.course.slug, lesson.slug)
    if get_enrollment(current_user, lesson.course) is None:
        return api_error(403, "not_enrolled", _("You are not enrolled in this course."))
    attempt = get_my_attempt_or_404(quiz, payload.attempt)
    try:
        graded = services.submit_attempt(attempt, payload.answers, str(payload.id), user=current_user)
    except (services.NotEnrolled, services.NotYourAttempt) as exc:
        return api_error(403, "forbidden", str(exc))
    except services.AttemptClosed as exc:
        return api_error(409, "already_submitted", str(exc))
    db.session.commit()
    return jsonify(submission_json(graded).model_dump(mode="json"))


def submission_json(attempt: QuizAttempt) -> SubmissionOut:
    items = services.attempt_questions(attempt)
    return SubmissionOut(
        id=attempt.submission_id, attempt=attempt.number, score=attempt.score, max_score=attempt.max_score,
        percent=attempt.percent, pass_percent=attempt.quiz.pass_percent, passed=attempt.passed,
        attempts_left=services.attempts_left(attempt.quiz, attempt.user),
        questions=[QuestionResultOut(
            question_id=item.question.id, correct=item.is_right, points=item.question.points if item.is_right else 0,
            max_points=item.question.points, chosen=sorted(item.chosen), correct_choices=sorted(item.correct),
            explanation=item.question.explanation,
        ) for item in items],
    )


# --- The panel on the lesson page --------------------------------------------------------------


def render_panel(lesson: Lesson, user) -> str:
    """Draw the quiz part of a quiz lesson's page: the facts, the trainee's results, one big button."""
    quiz = services.find_quiz(lesson)
    is_editor = can_edit_course(user, lesson.course)
    enrolled = get_enrollment(user, lesson.course) is not None if getattr(user, "is_authenticated", False) else False
    context = {"lesson": lesson, "course": lesson.course, "quiz": quiz, "is_editor": is_editor,
               "enrolled": enrolled, "attempts": [], "open": None, "best": None, "left": None}
    if quiz is not None and enrolled:
        context.update(attempts=[a for a in services.attempts_of(quiz, user) if a.is_submitted],
                       open=services.open_attempt(quiz, user), best=services.best_attempt(quiz, user),
                       left=services.attempts_left(quiz, user))
    return render_template("quizzes/_panel.html", **context)


register_lesson_panel(LessonKind.QUIZ, render_panel)


# --- Authoring: the course's editors --------------------------------------------------------


@bp.route("/courses/<slug>/lessons/<lesson_slug>/quiz", methods=["GET", "POST"])
@login_required
def edit_quiz(slug: str, lesson_slug: str):
    """Edit a quiz's settings and see its questions, in order."""
    course, lesson, quiz = get_quiz_for_editing_or_404(slug, lesson_slug)
    form = QuizSettingsForm(obj=quiz if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_quiz_settings(
                quiz, pass_percent=form.pass_percent.data, max_attempts=form.max_attempts.data,
                shuffle_questions=form.shuffle_questions.data, shuffle_choices=form.shuffle_choices.data)
        except services.QuizError as exc:
            form.pass_percent.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The quiz settings have been saved."), "success")
            return redirect(url_for("quizzes.edit_quiz", slug=slug, lesson_slug=lesson_slug))
    db.session.commit()  # the quiz row made on first visit
    return render_template("quizzes/edit.html", course=course, lesson=lesson, quiz=quiz, form=form,
                           move_form=MoveForm(), delete_form=ConfirmForm())


def _question_image(course: Course, form: QuestionForm):
    asset = find_course_media(course, form.image_media_id.data)
    return asset if asset is not None and asset.media_type.value == "image" else None


@bp.route("/courses/<slug>/lessons/<lesson_slug>/quiz/questions/new", methods=["GET", "POST"])
@login_required
def new_question(slug: str, lesson_slug: str):
    """Add a question to a quiz."""
    course, lesson, quiz = get_quiz_for_editing_or_404(slug, lesson_slug)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            services.add_question(quiz, QuestionKind(form.kind.data), form.text.data, form.choice_rows(),
                                  form.explanation.data or "", _question_image(course, form),
                                  points=form.points.data)
        except services.InvalidQuestion as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The question has been added."), "success")
            if request.form.get("then") == "another":
                return redirect(url_for("quizzes.new_question", slug=slug, lesson_slug=lesson_slug))
            return redirect(url_for("quizzes.edit_quiz", slug=slug, lesson_slug=lesson_slug, _anchor="questions"))
    db.session.commit()
    return render_template("quizzes/question_form.html", course=course, lesson=lesson, quiz=quiz, form=form,
                           question=None)


@bp.route("/courses/<slug>/lessons/<lesson_slug>/quiz/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def edit_question(slug: str, lesson_slug: str, question_id: int):
    """Edit a question, its answers, explanation and picture."""
    course, lesson, quiz = get_quiz_for_editing_or_404(slug, lesson_slug)
    question = get_question_or_404(quiz, question_id)
    form = QuestionForm()
    if request.method == "GET":
        _fill_question_form(form, question)
    if form.validate_on_submit():
        try:
            services.update_question(question, kind=QuestionKind(form.kind.data), text=form.text.data,
                                     choices=form.choice_rows(), explanation=form.explanation.data or "",
                                     image_asset=_question_image(course, form),
                                     remove_image=form.remove_image.data, points=form.points.data)
        except services.InvalidQuestion as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The question has been saved."), "success")
            return redirect(url_for("quizzes.edit_quiz", slug=slug, lesson_slug=lesson_slug,
                                    _anchor=f"question-{question.id}"))
    return render_template("quizzes/question_form.html", course=course, lesson=lesson, quiz=quiz, form=form,
                           question=question)


def _fill_question_form(form: QuestionForm, question: Question) -> None:
    form.kind.data, form.text.data = question.kind.value, question.text
    form.explanation.data, form.points.data = question.explanation, question.points
    choices = sorted(question.choices, key=lambda c: c.position)
    if question.kind == QuestionKind.TRUE_FALSE:
        form.statement_is_true.data = "true" if choices and choices[0].is_correct else "false"
        return
    for row, choice in zip(form.choices, choices, strict=False):
        row.form.text.data, row.form.is_correct.data = choice.text, choice.is_correct


@bp.route("/courses/<slug>/lessons/<lesson_slug>/quiz/questions/<int:question_id>/arrange", methods=["POST"])
@login_required
def arrange_question(slug: str, lesson_slug: str, question_id: int):
    """Move a question up or down, or delete it."""
    _course, _lesson, quiz = get_quiz_for_editing_or_404(slug, lesson_slug)
    question = get_question_or_404(quiz, question_id)
    action = request.form.get("action")
    form = MoveForm()
    if action == "delete":
        form.direction.data = "delete"
    if not form.validate_on_submit():
        abort(400)
    if action == "move" and form.direction.data in {"up", "down"}:
        services.move_question(question, form.direction.data)
        anchor = f"question-{question.id}"
    elif action == "delete":
        services.delete_question(question)
        flash(_("The question has been deleted."), "info")
        anchor = "questions"
    else:
        abort(400)
    db.session.commit()
    return redirect(url_for("quizzes.edit_quiz", slug=slug, lesson_slug=lesson_slug, _anchor=anchor))
