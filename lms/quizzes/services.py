"""Quiz rules: authoring questions, starting attempts, grading them once."""

import random
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from lms.core.db import move_in_order, utcnow
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.i18n import ngettext
from lms.courses.models import Lesson, LessonKind
from lms.quizzes.models import Choice, Question, QuestionKind, Quiz, QuizAttempt

#: The choices of a true/false question: stored data, the same in every language.
TRUE_TEXT, FALSE_TEXT = "Đúng", "Sai"
MAX_CHOICES = 6
MAX_POINTS = 100
MAX_ATTEMPTS_LIMIT = 50


class QuizError(Exception):
    """A quiz rule was broken; the message is safe to show."""


class InvalidQuestion(QuizError):
    pass


class NotEnrolled(QuizError):
    """The person is not enrolled in the quiz's course (views answer 403)."""


class NoAttemptsLeft(QuizError):
    pass


class AttemptClosed(QuizError):
    """The attempt was already graded, from another submit."""


class NotYourAttempt(QuizError):
    pass


# --- Authoring ---------------------------------------------------------------------------


def find_quiz(lesson: Lesson) -> Quiz | None:
    """Return the lesson's quiz, or None when nobody has set it up yet."""
    return db.session.scalar(sa.select(Quiz).where(Quiz.lesson_id == lesson.id))


def get_or_create_quiz(lesson: Lesson) -> Quiz:
    """Return the quiz of a quiz lesson, creating it with the default settings."""
    if lesson.kind != LessonKind.QUIZ:
        raise QuizError(_("This lesson is not a quiz."))
    quiz = find_quiz(lesson)
    if quiz is not None:
        return quiz
    try:
        with db.session.begin_nested():
            quiz = Quiz(lesson_id=lesson.id, pass_percent=70, max_attempts=3,
                        shuffle_questions=True, shuffle_choices=True)
            db.session.add(quiz)
    except sa.exc.IntegrityError:
        # Two editors opened the new quiz at the same moment: use the one that won.
        return find_quiz(lesson)
    return quiz


def update_quiz_settings(quiz: Quiz, *, pass_percent: int, max_attempts: int | None,
                         shuffle_questions: bool, shuffle_choices: bool) -> None:
    """Save the pass mark, the number of attempts (None: unlimited) and the shuffle flags."""
    if not 1 <= pass_percent <= 100:
        raise QuizError(_("The pass mark is a percentage from 1 to 100."))
    if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        raise QuizError(_("Allow from 1 to %(n)d attempts, or leave it empty for no limit.", n=MAX_ATTEMPTS_LIMIT))
    quiz.pass_percent = pass_percent
    quiz.max_attempts = max_attempts
    quiz.shuffle_questions = shuffle_questions
    quiz.shuffle_choices = shuffle_choices
    db.session.flush()


def true_false_choices(statement_is_true: bool) -> list[tuple[str, bool]]:
    """Return the two choices of a true/false question whose statement is true or false."""
    return [(TRUE_TEXT, statement_is_true), (FALSE_TEXT, not statement_is_true)]


def _nfc(text: str | None) -> str:
    return unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n")).strip()


def _checked_choices(kind: QuestionKind, choices: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Return the choices to store, or raise InvalidQuestion with what is wrong."""
    if kind == QuestionKind.TRUE_FALSE:
        # Accept the rows by their text ("Sai" first is fine), else "Đúng" then "Sai".
        rows = [(_nfc(text).casefold(), bool(correct)) for text, correct in choices]
        by_text = dict(rows)
        if len(rows) == 2 and set(by_text) == {TRUE_TEXT.casefold(), FALSE_TEXT.casefold()}:
            flags = [by_text[TRUE_TEXT.casefold()], by_text[FALSE_TEXT.casefold()]]
        else:
            flags = [correct for _text, correct in rows]
        if len(flags) != 2 or sum(flags) != 1:
            raise InvalidQuestion(_("Say whether the statement is true or false."))
        return true_false_choices(flags[0])
    kept = [(_nfc(text), bool(correct)) for text, correct in choices if _nfc(text)]
    if len(kept) < 2:
        raise InvalidQuestion(_("Give at least two answers to choose from."))
    if len(kept) > MAX_CHOICES:
        raise InvalidQuestion(_("Give at most %(n)d answers to choose from.", n=MAX_CHOICES))
    correct = sum(1 for _text, flag in kept if flag)
    if kind == QuestionKind.SINGLE and correct != 1:
        raise InvalidQuestion(_("A single-choice question needs exactly one correct answer."))
    if kind == QuestionKind.MULTIPLE and correct < 1:
        raise InvalidQuestion(_("Mark at least one correct answer."))
    return kept


def _check_image(quiz: Quiz, asset) -> None:
    if asset is None:
        return
    if asset.course_id != quiz.lesson.course_id:
        raise InvalidQuestion(_("This picture belongs to another course."))
    if asset.media_type.value != "image":
        raise InvalidQuestion(_("Only photos can be shown with a question."))


def _check_text(text: str, points: int) -> str:
    text = _nfc(text)
    if not text:
        raise InvalidQuestion(_("Write the question."))
    if not 1 <= points <= MAX_POINTS:
        raise InvalidQuestion(_("A question is worth from 1 to %(n)d points.", n=MAX_POINTS))
    return text


def add_question(quiz: Quiz, kind: QuestionKind, text: str, choices: Sequence[tuple[str, bool]],
                 explanation: str = "", image_asset=None, *, points: int = 1) -> Question:
    """Append a question with its choices to the quiz.

    :param choices: (text, is_correct) rows; empty rows are ignored. For a
        true/false question the two choices "Đúng" and "Sai" are made here:
        pass them by text, or two rows for "Đúng" then "Sai" (see true_false_choices).
    """
    text = _check_text(text, points)
    rows = _checked_choices(kind, choices)
    _check_image(quiz, image_asset)
    question = Question(kind=kind, text=text, explanation=_nfc(explanation), points=points,
                        position=len(quiz.questions), image=image_asset)
    question.choices = [Choice(text=choice_text, is_correct=flag, position=index)
                        for index, (choice_text, flag) in enumerate(rows)]
    quiz.questions.append(question)
    db.session.flush()
    return question


def update_question(question: Question, *, kind: QuestionKind, text: str, choices: Sequence[tuple[str, bool]],
                    explanation: str = "", image_asset=None, remove_image: bool = False,
                    points: int | None = None) -> None:
    """Save a question; choices keep their ids row by row, so an attempt in progress still matches.

    :param image_asset: a new picture; None keeps the current one unless remove_image.
    """
    text = _check_text(text, question.points if points is None else points)
    rows = _checked_choices(kind, choices)
    _check_image(question.quiz, image_asset)
    question.kind, question.text, question.explanation = kind, text, _nfc(explanation)
    if points is not None:
        question.points = points
    if image_asset is not None:
        question.image = image_asset
    elif remove_image:
        question.image = None
    existing = sorted(question.choices, key=lambda c: c.position)
    for index, (choice_text, flag) in enumerate(rows):
        if index < len(existing):
            existing[index].text, existing[index].is_correct, existing[index].position = choice_text, flag, index
        else:
            question.choices.append(Choice(text=choice_text, is_correct=flag, position=index))
    for surplus in existing[len(rows):]:
        question.choices.remove(surplus)
    db.session.flush()


def delete_question(question: Question) -> None:
    """Remove a question; graded attempts keep their scores."""
    quiz = question.quiz
    quiz.questions.remove(question)
    for position, each in enumerate(sorted(quiz.questions, key=lambda q: q.position)):
        each.position = position
    db.session.flush()


def move_question(question: Question, direction: str) -> bool:
    """Move a question one place up or down; return False at either end."""
    if not move_in_order(sorted(question.quiz.questions, key=lambda q: q.position), question, direction):
        return False
    db.session.flush()
    return True


# --- Attempts ----------------------------------------------------------------------------


def _require_enrollment(quiz: Quiz, user) -> None:
    from lms.learning.services import get_enrollment

    if get_enrollment(user, quiz.lesson.course) is None:
        raise NotEnrolled(_("You are not enrolled in this course."))


def attempts_of(quiz: Quiz, user) -> list[QuizAttempt]:
    """Return the user's attempts at the quiz, first one first."""
    return list(db.session.scalars(
        sa.select(QuizAttempt).where(QuizAttempt.quiz_id == quiz.id, QuizAttempt.user_id == user.id)
        .order_by(QuizAttempt.number)
    ))


def open_attempt(quiz: Quiz, user) -> QuizAttempt | None:
    """Return the attempt the user started and has not submitted, if any."""
    return db.session.scalar(
        sa.select(QuizAttempt).where(QuizAttempt.quiz_id == quiz.id, QuizAttempt.user_id == user.id,
                                     QuizAttempt.submitted_at.is_(None))
    )


def attempts_left(quiz: Quiz, user) -> int | None:
    """Return how many more attempts the user may start; None when there is no limit."""
    if quiz.max_attempts is None:
        return None
    used = db.session.scalar(
        sa.select(sa.func.count(QuizAttempt.id)).where(QuizAttempt.quiz_id == quiz.id,
                                                       QuizAttempt.user_id == user.id)
    )
    return max(0, quiz.max_attempts - used)


def best_attempt(quiz: Quiz, user) -> QuizAttempt | None:
    """Return the user's highest-scoring graded attempt (the earliest of equals), or None."""
    return db.session.scalar(
        sa.select(QuizAttempt)
        .where(QuizAttempt.quiz_id == quiz.id, QuizAttempt.user_id == user.id, QuizAttempt.submitted_at.is_not(None))
        .order_by(QuizAttempt.percent.desc(), QuizAttempt.number)
        .limit(1)
    )


def start_attempt(quiz: Quiz, user) -> QuizAttempt:
    """Return the user's open attempt, or start a new one in a freshly shuffled, stored order.

    A trainee who passed may try again to improve while attempts remain; the
    lesson stays complete whatever the new score.
    """
    _require_enrollment(quiz, user)
    current = open_attempt(quiz, user)
    if current is not None:
        return current
    questions = sorted(quiz.questions, key=lambda q: q.position)
    if not questions:
        raise QuizError(_("This quiz has no questions yet."))
    left = attempts_left(quiz, user)
    if left == 0:
        raise NoAttemptsLeft(_no_attempts_left(quiz.max_attempts))
    number = (db.session.scalar(
        sa.select(sa.func.max(QuizAttempt.number)).where(QuizAttempt.quiz_id == quiz.id,
                                                         QuizAttempt.user_id == user.id)
    ) or 0) + 1
    rng = random.SystemRandom()
    if quiz.shuffle_questions:
        rng.shuffle(questions)
    choice_order = {}
    for question in questions:
        ids = [c.id for c in sorted(question.choices, key=lambda c: c.position)]
        # "Đúng" before "Sai" reads naturally; shuffling two fixed words only confuses.
        if quiz.shuffle_choices and question.kind != QuestionKind.TRUE_FALSE:
            rng.shuffle(ids)
        choice_order[str(question.id)] = ids
    attempt = QuizAttempt(quiz_id=quiz.id, user_id=user.id, number=number, started_at=utcnow(),
                          question_order=[q.id for q in questions], choice_order=choice_order, answers={})
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except sa.exc.IntegrityError:
        # The same page was opened twice at once: both continue the attempt that won.
        current = open_attempt(quiz, user)
        if current is None:
            raise
        return current
    return attempt


def _no_attempts_left(count: int) -> str:
    return ngettext("You have used your only attempt at this quiz.",
                    "You have used all %(num)d attempts at this quiz.", count)


@dataclass
class AttemptQuestion:
    """One question of an attempt as the trainee saw it, with what they chose."""

    number: int
    question: Question
    choices: list[Choice]
    chosen: set[int]

    @property
    def correct(self) -> set[int]:
        return self.question.correct_choice_ids

    @property
    def answered(self) -> bool:
        return bool(self.chosen)

    @property
    def is_right(self) -> bool:
        return self.chosen == self.correct


def _shown(quiz: Quiz, question_order: list, choice_order: dict) -> list[tuple[Question, list[Choice]]]:
    """Return (question, choices) in a stored order; deleted questions drop out, new choices come last."""
    questions = {q.id: q for q in quiz.questions}
    shown = []
    for question_id in question_order or []:
        question = questions.get(question_id)
        if question is None:
            continue
        by_id = {c.id: c for c in question.choices}
        stored = [by_id[cid] for cid in (choice_order or {}).get(str(question_id), []) if cid in by_id]
        shown.append((question, stored + [c for c in question.choices if c not in stored]))
    return shown


def attempt_questions(attempt: QuizAttempt) -> list[AttemptQuestion]:
    """Return the attempt's questions and choices in the order its trainee saw them."""
    return [
        AttemptQuestion(number, question, choices, set(attempt.chosen_ids(question.id)) & {c.id for c in choices})
        for number, (question, choices) in enumerate(
            _shown(attempt.quiz, attempt.question_order, attempt.choice_order), start=1)
    ]


def _clean_answers(attempt: QuizAttempt, answers: dict) -> dict[str, list[int]]:
    """Keep, for each question of the attempt, only ids of that question's choices."""
    cleaned = {}
    for question, choices in _shown(attempt.quiz, attempt.question_order, attempt.choice_order):
        valid = {c.id for c in choices}
        given = answers.get(question.id, answers.get(str(question.id))) or []
        cleaned[str(question.id)] = sorted({int(cid) for cid in given if _is_int(cid) and int(cid) in valid})
    return cleaned


def _is_int(value) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def _normal_submission_id(submission_id: str) -> str:
    try:
        return str(uuid.UUID(str(submission_id)))
    except ValueError:
        raise QuizError(_("The answer sheet has no valid id. Reload the page and send it again.")) from None


def submit_attempt(attempt: QuizAttempt, answers: dict, submission_id: str, *, user) -> QuizAttempt:
    """Grade an attempt once; sending the same submission id again returns the graded attempt unchanged.

    :param answers: question id -> chosen choice ids; ids that do not belong are ignored.
    :param user: who is submitting; only the attempt's own trainee may.
    """
    submission_id = _normal_submission_id(submission_id)
    if attempt.user_id != user.id:
        raise NotYourAttempt(_("This attempt belongs to someone else."))
    already = db.session.scalar(sa.select(QuizAttempt).where(QuizAttempt.submission_id == submission_id))
    if already is not None:
        if already.user_id != user.id:
            raise NotYourAttempt(_("This attempt belongs to someone else."))
        return already
    quiz = attempt.quiz
    _require_enrollment(quiz, user)
    if attempt.is_submitted:
        raise AttemptClosed(_("This attempt has already been submitted."))
    # Claim the attempt in one statement: of two different submits racing, only one grades it.
    now = utcnow()
    claimed = db.session.execute(
        sa.update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.submitted_at.is_(None))
        .values(submitted_at=now, submission_id=submission_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    if not claimed:
        if attempt.submission_id == submission_id:
            return attempt
        raise AttemptClosed(_("This attempt has already been submitted."))
    attempt.answers = _clean_answers(attempt, answers)
    items = attempt_questions(attempt)
    attempt.max_score = sum(item.question.points for item in items)
    attempt.score = sum(item.question.points for item in items if item.is_right)
    attempt.percent = 100 * attempt.score // attempt.max_score if attempt.max_score else 0
    attempt.passed = attempt.percent >= quiz.pass_percent
    db.session.flush()
    if attempt.passed:
        from lms.learning.services import complete_lesson

        complete_lesson(user, quiz.lesson, by="quiz", when=now)
    return attempt
