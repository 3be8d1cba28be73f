"""Build quiz lessons for tests, and read the quiz pages back."""

import re

from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import LessonKind
from lms.learning.services import enrol
from lms.quizzes import services as quizzes
from lms.quizzes.models import QuestionKind
from tests.factories import make_course, make_trainee

COURSE = "ban-hang-online"
QUIZ = "kiem-tra"
QUIZ_PAGE = f"/courses/{COURSE}/lessons/{QUIZ}/quiz"
ATTEMPT_PAGE = f"{QUIZ_PAGE}/attempt"


def make_quiz(*, slug: str = QUIZ, course=None, max_attempts: int | None = 3, shuffle: bool = False,
              pass_percent: int = 70):
    """Create (or extend) a published course with a three-question quiz lesson followed by a reading."""
    if course is None:
        course = make_course(COURSE, lessons=1, commit=False)
    module = course.modules[0]
    lesson = courses.add_lesson(module, title=f"Bài kiểm tra {slug}", slug=slug, kind=LessonKind.QUIZ)
    quiz = quizzes.get_or_create_quiz(lesson)
    quizzes.update_quiz_settings(quiz, pass_percent=pass_percent, max_attempts=max_attempts,
                                 shuffle_questions=shuffle, shuffle_choices=shuffle)
    quizzes.add_question(quiz, QuestionKind.SINGLE, "Nên ghi giá bán ở đâu?",
                         [("Ngay trong bài đăng", True), ("Không cần ghi", False), ("Chỉ báo qua điện thoại", False)],
                         "Khách hàng hay bỏ qua bài đăng không có giá.")
    quizzes.add_question(quiz, QuestionKind.MULTIPLE, "Ảnh sản phẩm tốt cần gì?",
                         [("Đủ ánh sáng", True), ("Nền gọn gàng", True), ("Chụp thật xa", False)],
                         "Ánh sáng và nền gọn làm sản phẩm nổi bật.")
    quizzes.add_question(quiz, QuestionKind.TRUE_FALSE, "Có thể bán hàng qua Zalo.",
                         quizzes.true_false_choices(True), "Nhiều làng nghề đã bán hàng qua Zalo.")
    if slug == QUIZ:
        courses.add_lesson(module, title="Bài sau", slug="bai-sau")
    db.session.commit()
    return course, lesson, quiz


def enrolled_trainee(course, **fields):
    trainee = make_trainee(**fields)
    enrol(trainee, course)
    db.session.commit()
    return trainee


def right_answers(quiz) -> dict[int, list[int]]:
    return {q.id: sorted(q.correct_choice_ids) for q in quiz.questions}


def wrong_answers(quiz) -> dict[int, list[int]]:
    return {q.id: [next(c.id for c in q.choices if not c.is_correct)] for q in quiz.questions}


def hidden(html: str, name: str) -> str:
    """Return the value of a hidden input in a page."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def question_ids_in_page(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'<fieldset class="question[^"]*" id="question-(\d+)"', html)]


def choice_ids_in_page(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'name="q\d+" value="(\d+)"', html)]


def sheet(html: str, answers: dict[int, list[int]], **extra) -> dict:
    """Return the form data of the answer sheet in a page, with these answers ticked."""
    data = {name: hidden(html, name) for name in ("csrf_token", "attempt", "submission_id", "confirm_unanswered")}
    for question_id, choice_ids in answers.items():
        data[f"q{question_id}"] = [str(c) for c in choice_ids]
    return {**data, **extra}
