import random
import uuid

import pytest
import sqlalchemy as sa

from lms.core.extensions import db
from lms.courses.models import LessonKind
from lms.learning.services import get_progress
from lms.media.models import AssetStatus, MediaAsset, MediaType
from lms.quizzes import services
from lms.quizzes.models import Choice, QuestionKind, QuizAttempt
from tests.factories import make_course, make_trainee
from tests.quizzes.helpers import enrolled_trainee, make_quiz, right_answers, wrong_answers


def new_id() -> str:
    return str(uuid.uuid4())


class Reversing:
    """Stands in for random.SystemRandom: 'shuffles' by reversing, so the test knows the order."""

    def shuffle(self, items):
        items.reverse()


# --- Authoring ---------------------------------------------------------------------------


def test_single_choice_needs_exactly_one_correct_answer_among_two(app):
    _course, _lesson, quiz = make_quiz()
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.SINGLE, "Hai đáp án đúng?", [("A", True), ("B", True)])
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.SINGLE, "Không đáp án đúng?", [("A", False), ("B", False)])
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.SINGLE, "Một lựa chọn?", [("A", True), ("  ", False)])
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.SINGLE, "   ", [("A", True), ("B", False)])
    assert len(quiz.questions) == 3
    question = services.add_question(quiz, QuestionKind.SINGLE, "Đúng một?", [("A", True), ("", False), ("B", False)])
    assert [(c.text, c.is_correct) for c in question.choices] == [("A", True), ("B", False)]  # empty rows dropped
    assert question.position == 3


def test_multiple_choice_needs_at_least_one_correct_answer(app):
    _course, _lesson, quiz = make_quiz()
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.MULTIPLE, "Chọn các ý đúng", [("A", False), ("B", False)])
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.MULTIPLE, "Quá nhiều", [(str(i), True) for i in range(7)])
    question = services.add_question(quiz, QuestionKind.MULTIPLE, "Chọn các ý đúng", [("A", True), ("B", True)])
    assert question.correct_choice_ids == {c.id for c in question.choices}


def test_true_false_questions_get_dung_and_sai_with_one_correct(app):
    _course, _lesson, quiz = make_quiz()
    false_statement = services.add_question(quiz, QuestionKind.TRUE_FALSE, "Ảnh mờ bán chạy hơn.",
                                            services.true_false_choices(False))
    assert [(c.text, c.is_correct) for c in false_statement.choices] == [("Đúng", False), ("Sai", True)]
    by_text = services.add_question(quiz, QuestionKind.TRUE_FALSE, "Giá nên ghi rõ.", [("Sai", False), ("Đúng", True)])
    assert [(c.text, c.is_correct) for c in by_text.choices] == [("Đúng", True), ("Sai", False)]
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.TRUE_FALSE, "Cả hai?", [("Đúng", True), ("Sai", True)])
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.TRUE_FALSE, "Không chọn?", [])


def test_updating_a_question_keeps_its_choice_ids_row_by_row(app):
    _course, _lesson, quiz = make_quiz()
    question = quiz.questions[0]
    first, second, third = (c.id for c in question.choices)
    services.update_question(question, kind=QuestionKind.SINGLE, text="Giá ghi ở đâu?",
                             choices=[("Trong bài đăng", False), ("Dưới ảnh", True)], explanation="Vì sao")
    db.session.commit()
    assert [(c.id, c.text, c.is_correct) for c in question.choices] == [
        (first, "Trong bài đăng", False), (second, "Dưới ảnh", True)]
    assert db.session.get(Choice, third) is None
    assert question.text == "Giá ghi ở đâu?" and question.explanation == "Vì sao"
    with pytest.raises(services.InvalidQuestion):
        services.update_question(question, kind=QuestionKind.SINGLE, text="X", choices=[("A", True), ("B", True)])


def test_questions_move_and_are_renumbered_after_a_delete(app):
    _course, _lesson, quiz = make_quiz()
    single, multiple, true_false = quiz.questions
    assert services.move_question(single, "up") is False
    assert services.move_question(single, "down") is True
    assert [q.id for q in sorted(quiz.questions, key=lambda q: q.position)] == [multiple.id, single.id, true_false.id]
    services.delete_question(multiple)
    db.session.commit()
    db.session.expire_all()
    assert [(q.id, q.position) for q in quiz.questions] == [(single.id, 0), (true_false.id, 1)]


def test_question_pictures_must_be_images_of_the_same_course(app):
    _course, _lesson, quiz = make_quiz()
    other = make_course("khoa-khac", lessons=0)

    def asset(course, media_type=MediaType.IMAGE):
        item = MediaAsset(course_id=course.id, media_type=media_type, mime="image/jpeg", original_filename="a.jpg",
                          storage_key="media/x/original.jpg", status=AssetStatus.READY)
        db.session.add(item)
        db.session.flush()
        return item

    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.SINGLE, "Ảnh lạ", [("A", True), ("B", False)],
                              image_asset=asset(other))
    with pytest.raises(services.InvalidQuestion):
        services.add_question(quiz, QuestionKind.SINGLE, "Video?", [("A", True), ("B", False)],
                              image_asset=asset(quiz.lesson.course, MediaType.VIDEO))
    mine = asset(quiz.lesson.course)
    question = services.add_question(quiz, QuestionKind.SINGLE, "Ảnh này", [("A", True), ("B", False)],
                                     image_asset=mine)
    assert question.image_asset_id == mine.id


def test_get_or_create_quiz_refuses_other_lesson_kinds_and_is_created_once(app):
    course, lesson, quiz = make_quiz()
    assert services.get_or_create_quiz(lesson).id == quiz.id
    reading = next(item for item in course.modules[0].lessons if item.kind == LessonKind.TEXT)
    with pytest.raises(services.QuizError):
        services.get_or_create_quiz(reading)


# --- Attempts ----------------------------------------------------------------------------


def test_shuffled_order_is_stored_on_the_attempt_and_kept(app, monkeypatch):
    course, _lesson, quiz = make_quiz(shuffle=True)
    trainee = enrolled_trainee(course)
    monkeypatch.setattr(random, "SystemRandom", Reversing)
    attempt = services.start_attempt(quiz, trainee)
    db.session.commit()
    single, multiple, true_false = quiz.questions
    assert attempt.question_order == [true_false.id, multiple.id, single.id]
    assert attempt.choice_order[str(single.id)] == [c.id for c in reversed(single.choices)]
    # True/false keeps "Đúng" before "Sai".
    assert attempt.choice_order[str(true_false.id)] == [c.id for c in true_false.choices]

    monkeypatch.setattr(random, "SystemRandom", lambda: pytest.fail("an open attempt is never shuffled again"))
    again = services.start_attempt(quiz, trainee)
    assert again.id == attempt.id
    items = services.attempt_questions(again)
    assert [item.question.id for item in items] == [true_false.id, multiple.id, single.id]
    assert [c.id for c in items[2].choices] == [c.id for c in reversed(single.choices)]


def test_without_shuffling_the_author_order_is_used(app):
    course, _lesson, quiz = make_quiz(shuffle=False)
    attempt = services.start_attempt(quiz, enrolled_trainee(course))
    assert attempt.question_order == [q.id for q in quiz.questions]
    assert attempt.choice_order == {str(q.id): [c.id for c in q.choices] for q in quiz.questions}


def test_all_right_passes_and_completes_the_lesson_once(app):
    course, lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    attempt = services.start_attempt(quiz, trainee)
    graded = services.submit_attempt(attempt, right_answers(quiz), new_id(), user=trainee)
    db.session.commit()
    assert (graded.score, graded.max_score, graded.percent, graded.passed) == (3, 3, 100, True)
    progress = get_progress(trainee, lesson)
    assert progress.completed_at is not None and progress.completed_by == "quiz"
    first_completion = progress.completed_at

    # Passed trainees may try again to improve; the lesson stays complete with its first date.
    retry = services.start_attempt(quiz, trainee)
    assert retry.number == 2
    services.submit_attempt(retry, wrong_answers(quiz), new_id(), user=trainee)
    db.session.commit()
    db.session.expire_all()
    assert retry.passed is False
    assert get_progress(trainee, lesson).completed_at == first_completion
    assert services.best_attempt(quiz, trainee).number == 1


def test_a_partly_right_multiple_choice_answer_scores_nothing(app):
    course, lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    single, multiple, true_false = quiz.questions
    answers = right_answers(quiz)
    answers[multiple.id] = answers[multiple.id][:1]  # one of the two right answers
    attempt = services.submit_attempt(services.start_attempt(quiz, trainee), answers, new_id(), user=trainee)
    db.session.commit()
    assert (attempt.score, attempt.max_score, attempt.percent) == (2, 3, 66)
    assert attempt.passed is False  # 66 < 70
    progress = get_progress(trainee, lesson)
    assert progress is None or progress.completed_at is None
    items = {item.question.id: item for item in services.attempt_questions(attempt)}
    assert items[single.id].is_right and items[true_false.id].is_right and not items[multiple.id].is_right


def test_grading_single_true_false_and_points(app):
    course, _lesson, quiz = make_quiz(pass_percent=50)
    single, multiple, true_false = quiz.questions
    single.points = 2
    trainee = enrolled_trainee(course)
    answers = wrong_answers(quiz)
    answers[single.id] = sorted(single.correct_choice_ids)
    answers[true_false.id] = [next(c.id for c in true_false.choices if c.text == "Sai")]  # the statement is true
    # A second choice on a single-choice question (a tampered form) cannot be right.
    answers[multiple.id] = sorted(multiple.correct_choice_ids) + [next(c.id for c in single.choices)]
    attempt = services.submit_attempt(services.start_attempt(quiz, trainee), answers, new_id(), user=trainee)
    assert (attempt.score, attempt.max_score, attempt.percent, attempt.passed) == (3, 4, 75, True)
    # Choice ids of another question are dropped from what is stored.
    assert attempt.answers[str(multiple.id)] == sorted(multiple.correct_choice_ids)


def test_unanswered_questions_score_nothing(app):
    course, _lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    attempt = services.submit_attempt(services.start_attempt(quiz, trainee), {}, new_id(), user=trainee)
    assert (attempt.score, attempt.percent, attempt.passed) == (0, 0, False)
    assert attempt.answers == {str(q.id): [] for q in quiz.questions}


def test_the_same_submission_id_is_graded_once(app):
    course, _lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    attempt = services.start_attempt(quiz, trainee)
    submission = new_id()
    first = services.submit_attempt(attempt, wrong_answers(quiz), submission, user=trainee)
    db.session.commit()
    submitted_at = first.submitted_at
    again = services.submit_attempt(attempt, right_answers(quiz), submission, user=trainee)
    db.session.commit()
    assert again.id == first.id
    assert (again.score, again.passed, again.submitted_at) == (0, False, submitted_at)
    assert db.session.scalar(sa.select(sa.func.count(QuizAttempt.id))) == 1
    with pytest.raises(services.AttemptClosed):
        services.submit_attempt(attempt, right_answers(quiz), new_id(), user=trainee)
    assert attempt.score == 0


def test_max_attempts_are_enforced(app):
    course, _lesson, quiz = make_quiz(max_attempts=2)
    trainee = enrolled_trainee(course)
    for _ in range(2):
        services.submit_attempt(services.start_attempt(quiz, trainee), wrong_answers(quiz), new_id(), user=trainee)
    db.session.commit()
    assert services.attempts_left(quiz, trainee) == 0
    with pytest.raises(services.NoAttemptsLeft) as refused:
        services.start_attempt(quiz, trainee)
    assert str(refused.value)
    assert db.session.scalar(sa.select(sa.func.count(QuizAttempt.id))) == 2


def test_unlimited_attempts(app):
    course, _lesson, quiz = make_quiz(max_attempts=None)
    trainee = enrolled_trainee(course)
    for _ in range(4):
        services.submit_attempt(services.start_attempt(quiz, trainee), {}, new_id(), user=trainee)
    assert services.attempts_left(quiz, trainee) is None
    assert services.start_attempt(quiz, trainee).number == 5


def test_only_enrolled_trainees_take_the_quiz(app):
    course, _lesson, quiz = make_quiz()
    with pytest.raises(services.NotEnrolled):
        services.start_attempt(quiz, make_trainee())
    trainee = enrolled_trainee(course)
    attempt = services.start_attempt(quiz, trainee)
    from lms.learning.services import get_enrollment, leave_course

    leave_course(get_enrollment(trainee, course))
    with pytest.raises(services.NotEnrolled):
        services.submit_attempt(attempt, right_answers(quiz), new_id(), user=trainee)
    assert not attempt.is_submitted


def test_nobody_submits_someone_elses_attempt(app):
    course, _lesson, quiz = make_quiz()
    mine, other = enrolled_trainee(course), enrolled_trainee(course)
    attempt = services.start_attempt(quiz, mine)
    with pytest.raises(services.NotYourAttempt):
        services.submit_attempt(attempt, right_answers(quiz), new_id(), user=other)
    # Nor by replaying my submission id against their own attempt.
    submission = new_id()
    services.submit_attempt(attempt, right_answers(quiz), submission, user=mine)
    with pytest.raises(services.NotYourAttempt):
        services.submit_attempt(services.start_attempt(quiz, other), {}, submission, user=other)
    assert not services.open_attempt(quiz, other).is_submitted


def test_a_question_deleted_during_an_attempt_is_left_out(app):
    course, _lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    attempt = services.start_attempt(quiz, trainee)
    answers = right_answers(quiz)
    services.delete_question(quiz.questions[1])
    graded = services.submit_attempt(attempt, answers, new_id(), user=trainee)
    assert (graded.score, graded.max_score) == (2, 2)
    with pytest.raises(services.QuizError):
        services.submit_attempt(services.start_attempt(quiz, trainee), {}, "not-a-uuid", user=trainee)


def test_a_quiz_without_questions_cannot_be_started(app):
    course, _lesson, quiz = make_quiz()
    for question in list(quiz.questions):
        services.delete_question(question)
    with pytest.raises(services.QuizError):
        services.start_attempt(quiz, enrolled_trainee(course))
