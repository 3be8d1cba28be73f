import random
import uuid

import sqlalchemy as sa
from flask_login import login_user

from lms.accounts.models import Role
from lms.core.api import openapi_document
from lms.core.extensions import db
from lms.courses import services as courses
from lms.learning.services import get_progress
from lms.quizzes import services
from lms.quizzes.models import Question, QuestionKind, QuizAttempt
from lms.quizzes.views import render_panel
from tests.conftest import csrf_token
from tests.factories import make_trainee, make_user
from tests.quizzes.helpers import (
    ATTEMPT_PAGE,
    COURSE,
    QUIZ_PAGE,
    choice_ids_in_page,
    enrolled_trainee,
    hidden,
    make_quiz,
    question_ids_in_page,
    right_answers,
    sheet,
    wrong_answers,
)

RESULT_PAGE = f"{QUIZ_PAGE}/attempts"


def attempts(user=None) -> list[QuizAttempt]:
    stmt = sa.select(QuizAttempt).order_by(QuizAttempt.id)
    if user is not None:
        stmt = stmt.where(QuizAttempt.user_id == user.id)
    db.session.expire_all()
    return list(db.session.scalars(stmt))


def submit_via_page(client, quiz, answers=None, **extra):
    html = client.get(ATTEMPT_PAGE).get_data(as_text=True)
    return client.post(ATTEMPT_PAGE, data=sheet(html, right_answers(quiz) if answers is None else answers, **extra))


# --- Taking a quiz -------------------------------------------------------------------------


def test_trainee_takes_the_quiz_and_sees_the_result(client, auth, app):
    course, lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    auth.login(trainee.phone)
    page = client.get(ATTEMPT_PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Nên ghi giá bán ở đâu?" in html and 'type="checkbox"' in html and 'type="radio"' in html
    uuid.UUID(hidden(html, "submission_id"))

    response = client.post(ATTEMPT_PAGE, data=sheet(html, right_answers(quiz)))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{RESULT_PAGE}/1")
    result = client.get(f"{RESULT_PAGE}/1").get_data(as_text=True)
    assert "100%" in result and 'data-passed="yes"' in result
    assert result.count('data-correct="yes"') == 3
    assert "Khách hàng hay bỏ qua bài đăng không có giá." in result  # the explanation
    assert "/courses/ban-hang-online/lessons/bai-sau" in result  # the next lesson
    assert 'data-quiz-action="retry"' in result  # 2 of 3 attempts left
    progress = get_progress(trainee, lesson)
    assert progress.completed_at is not None and progress.completed_by == "quiz"


def test_a_failed_quiz_shows_the_right_answers_and_does_not_complete_the_lesson(client, auth, app):
    course, lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    auth.login(trainee.phone)
    submit_via_page(client, quiz, wrong_answers(quiz))
    result = client.get(f"{RESULT_PAGE}/1").get_data(as_text=True)
    assert "0%" in result and 'data-passed="no"' in result and result.count('data-correct="no"') == 3
    # Each question shows what I chose and the correct answer.
    assert result.count('class=" is-chosen"') == 3 and result.count('class="is-correct"') == 4
    # The labels are tags of their own, not the roll call's outlined buttons (which looked like empty inputs).
    assert result.count('class="answer-tag answer-tag-chosen"') == 3
    assert result.count('class="answer-tag answer-tag-correct"') == 4
    assert 'class="mark"' not in result
    assert get_progress(trainee, lesson) is None or get_progress(trainee, lesson).completed_at is None


def test_a_reload_shows_the_same_shuffled_order(client, auth, app):
    course, _lesson, quiz = make_quiz(shuffle=True)
    for number in range(4):
        services.add_question(quiz, QuestionKind.SINGLE, f"Câu thêm {number}", [("A", True), ("B", False), ("C", False)])
    db.session.commit()
    auth.login(enrolled_trainee(course).phone)
    first = client.get(ATTEMPT_PAGE).get_data(as_text=True)
    second = client.get(ATTEMPT_PAGE).get_data(as_text=True)
    (attempt,) = attempts()
    assert question_ids_in_page(first) == question_ids_in_page(second) == attempt.question_order
    assert sorted(attempt.question_order) == sorted(q.id for q in quiz.questions)
    shown_choices = [cid for qid in attempt.question_order for cid in attempt.choice_order[str(qid)]]
    assert choice_ids_in_page(first) == choice_ids_in_page(second) == shown_choices
    # Each page gets a fresh submission id; the attempt stays the same.
    assert hidden(first, "submission_id") != hidden(second, "submission_id")
    assert hidden(first, "attempt") == hidden(second, "attempt") == "1"


def test_the_order_comes_from_the_system_random_generator(client, auth, app, monkeypatch):
    course, _lesson, quiz = make_quiz(shuffle=True)

    class Reversing:
        def shuffle(self, items):
            items.reverse()

    monkeypatch.setattr(random, "SystemRandom", Reversing)
    auth.login(enrolled_trainee(course).phone)
    html = client.get(ATTEMPT_PAGE).get_data(as_text=True)
    assert question_ids_in_page(html) == [q.id for q in reversed(quiz.questions)]


def test_a_double_submitted_form_counts_once(client, auth, app):
    course, _lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    auth.login(trainee.phone)
    html = client.get(ATTEMPT_PAGE).get_data(as_text=True)
    first = client.post(ATTEMPT_PAGE, data=sheet(html, right_answers(quiz)))
    # The second tap (or a resent form) carries the same submission id, whatever it says.
    second = client.post(ATTEMPT_PAGE, data=sheet(html, wrong_answers(quiz)))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    (attempt,) = attempts()
    assert attempt.is_submitted and attempt.score == 3 and attempt.submission_id == hidden(html, "submission_id")
    assert services.attempts_left(quiz, trainee) == 2


def test_unanswered_questions_are_warned_about_then_accepted(client, auth, app):
    course, _lesson, quiz = make_quiz()
    auth.login(enrolled_trainee(course).phone)
    single, multiple, true_false = quiz.questions
    html = client.get(ATTEMPT_PAGE).get_data(as_text=True)
    answers = {single.id: sorted(single.correct_choice_ids)}
    warned = client.post(ATTEMPT_PAGE, data=sheet(html, answers))
    assert warned.status_code == 200
    page = warned.get_data(as_text=True)
    assert 'id="unanswered"' in page and f'href="#question-{multiple.id}"' in page
    assert hidden(page, "confirm_unanswered") == "1"
    assert hidden(page, "submission_id") == hidden(html, "submission_id")
    assert f'value="{next(iter(single.correct_choice_ids))}" checked' in page  # my answer is kept
    assert not attempts()[0].is_submitted

    sent = client.post(ATTEMPT_PAGE, data=sheet(page, answers))
    assert sent.status_code == 302
    (attempt,) = attempts()
    assert attempt.is_submitted and attempt.score == 1
    assert attempt.answers[str(true_false.id)] == []


def test_max_attempts_are_enforced_with_a_message(client, auth, app):
    course, _lesson, quiz = make_quiz(max_attempts=1)
    auth.login(enrolled_trainee(course).phone)
    submit_via_page(client, quiz, wrong_answers(quiz))
    response = client.get(ATTEMPT_PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{RESULT_PAGE}/1")
    page = client.get(f"{RESULT_PAGE}/1").get_data(as_text=True)
    assert 'class="flash flash-error"' in page and 'data-quiz-action="none"' in page
    assert 'data-quiz-action="retry"' not in page
    assert len(attempts()) == 1


def test_a_trainee_who_is_not_enrolled_gets_403(client, auth, app):
    course, lesson, quiz = make_quiz()
    outsider = make_trainee()
    auth.login(outsider.phone)
    assert client.get(ATTEMPT_PAGE).status_code == 403
    token = csrf_token(client, "/")
    response = client.post(ATTEMPT_PAGE, data={"csrf_token": token, "attempt": "1", "submission_id": str(uuid.uuid4())})
    assert response.status_code in {403, 404}
    api = client.post(f"/api/v1/quizzes/{lesson.id}/submissions", headers={"X-CSRFToken": token},
                      json={"id": str(uuid.uuid4()), "attempt": 1, "answers": {}})
    assert api.status_code == 403 and api.get_json()["error"] == "not_enrolled"
    assert attempts() == []


def test_nobody_sees_another_trainees_attempt(client, auth, app):
    course, _lesson, quiz = make_quiz()
    make_quiz(slug="kiem-tra-2", course=course)
    mine, other = enrolled_trainee(course), enrolled_trainee(course)
    auth.login(mine.phone)
    submit_via_page(client, quiz)
    auth.logout()

    auth.login(other.phone)
    assert client.get(f"{RESULT_PAGE}/1").status_code == 404
    assert client.get(f"{RESULT_PAGE}/2").status_code == 404
    assert client.get(f"/courses/{COURSE}/lessons/kiem-tra-2/quiz/attempts/1").status_code == 404
    # Posting answers to my attempt's number from their session grades nothing of mine.
    token = csrf_token(client, "/")
    response = client.post(ATTEMPT_PAGE, data={"csrf_token": token, "attempt": "1",
                                               "submission_id": str(uuid.uuid4())})
    assert response.status_code == 404
    # Their own attempt 1 is theirs, not mine.
    submit_via_page(client, quiz, wrong_answers(quiz))
    assert 'data-passed="no"' in client.get(f"{RESULT_PAGE}/1").get_data(as_text=True)
    assert [a.score for a in attempts(mine)] == [3]


def test_an_open_attempt_has_no_result_page_yet(client, auth, app):
    course, _lesson, _quiz = make_quiz()
    auth.login(enrolled_trainee(course).phone)
    client.get(ATTEMPT_PAGE)
    response = client.get(f"{RESULT_PAGE}/1")
    assert response.status_code == 302 and response.headers["Location"].endswith(ATTEMPT_PAGE)


# --- JSON API --------------------------------------------------------------------------------


def test_the_json_api_grades_a_submission_once(client, auth, app):
    course, lesson, quiz = make_quiz()
    trainee = enrolled_trainee(course)
    services.start_attempt(quiz, trainee)
    db.session.commit()
    auth.login(trainee.phone)
    url = f"/api/v1/quizzes/{lesson.id}/submissions"
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    body = {"id": str(uuid.uuid4()), "attempt": 1,
            "answers": {str(qid): ids for qid, ids in right_answers(quiz).items()}}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 200
    data = first.get_json()
    assert (data["score"], data["max_score"], data["percent"], data["passed"]) == (3, 3, 100, True)
    assert data["attempts_left"] == 2
    assert {q["question_id"]: q["correct"] for q in data["questions"]} == {q.id: True for q in quiz.questions}
    assert data["questions"][0]["explanation"]

    again = client.post(url, json={**body, "answers": {}}, headers=headers)
    assert again.status_code == 200 and again.get_json() == data
    (attempt,) = attempts()
    assert attempt.score == 3
    assert get_progress(trainee, lesson).completed_by == "quiz"

    other_id = client.post(url, json={**body, "id": str(uuid.uuid4())}, headers=headers)
    assert other_id.status_code == 409
    assert client.post(url, json={**body, "id": str(uuid.uuid4()), "attempt": 7}, headers=headers).status_code == 404
    assert client.post(url, json={**body, "id": "twice"}, headers=headers).status_code == 422
    assert client.post(url, json=body).status_code == 400  # no CSRF token
    auth.logout()
    anonymous = client.post(url, json=body, headers={"X-CSRFToken": csrf_token(client, "/")})
    assert anonymous.status_code == 401 and anonymous.is_json


def test_the_json_api_is_in_the_openapi_document(app):
    path = openapi_document("x")["paths"]["/api/v1/quizzes/{lesson_id}/submissions"]
    assert path["post"]["tags"] == ["quizzes"]
    assert {"200", "403", "404", "409", "422"} <= set(path["post"]["responses"])
    assert path["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("SubmissionIn")


# --- Lesson-page panel ----------------------------------------------------------------------


def panel_for(app, lesson, user) -> str:
    with app.test_request_context():
        login_user(user)
        return render_panel(lesson, user)


def test_the_panel_offers_one_button_for_where_the_trainee_is(app):
    course, lesson, quiz = make_quiz(max_attempts=2)
    trainee = enrolled_trainee(course)
    take = f'href="{ATTEMPT_PAGE}"'
    start = panel_for(app, lesson, trainee)
    assert 'data-quiz-action="start"' in start and take in start and QUIZ_PAGE + '"' not in start
    attempt = services.start_attempt(quiz, trainee)
    assert 'data-quiz-action="continue"' in panel_for(app, lesson, trainee)
    services.submit_attempt(attempt, right_answers(quiz), str(uuid.uuid4()), user=trainee)
    retry = panel_for(app, lesson, trainee)
    assert 'data-quiz-action="retry"' in retry and "100%" in retry and 'data-attempts-used="1"' in retry
    services.submit_attempt(services.start_attempt(quiz, trainee), {}, str(uuid.uuid4()), user=trainee)
    done = panel_for(app, lesson, trainee)
    assert 'data-quiz-action="none"' in done and take not in done
    assert 'data-quiz-action="start"' not in panel_for(app, lesson, make_trainee())  # not enrolled


def test_the_panel_links_editors_to_the_quiz_editor(app):
    course, lesson, _quiz = make_quiz()
    editor = panel_for(app, lesson, make_user(Role.ORGANIZER))
    assert f'href="{QUIZ_PAGE}"' in editor
    assert f'href="{QUIZ_PAGE}"' not in panel_for(app, lesson, enrolled_trainee(course))


# --- Authoring ------------------------------------------------------------------------------


def question_data(client, page, **fields) -> dict:
    data = {"csrf_token": csrf_token(client, page), "kind": "single", "text": "Câu hỏi", "points": "1",
            "explanation": ""}
    for index in range(6):
        data[f"choices-{index}-text"] = ""
    data.update(fields)
    return data


def test_a_trainee_cannot_open_the_editor(client, auth, app):
    course, _lesson, quiz = make_quiz()
    auth.login(enrolled_trainee(course).phone)
    question_id = quiz.questions[0].id
    assert client.get(QUIZ_PAGE).status_code == 403
    assert client.get(f"{QUIZ_PAGE}/questions/new").status_code == 403
    assert client.get(f"{QUIZ_PAGE}/questions/{question_id}/edit").status_code == 403
    token = csrf_token(client, "/")
    response = client.post(f"{QUIZ_PAGE}/questions/{question_id}/arrange", data={"csrf_token": token,
                                                                                "action": "delete"})
    assert response.status_code == 403
    assert db.session.get(Question, question_id) is not None


def test_an_instructor_of_another_course_cannot_edit_the_quiz(client, auth, app):
    course, _lesson, _quiz = make_quiz()
    courses.set_instructors(course, [make_user(Role.INSTRUCTOR)])
    db.session.commit()
    auth.login(make_user(Role.INSTRUCTOR).phone)
    assert client.get(QUIZ_PAGE).status_code == 403


def test_an_editor_sets_up_a_quiz(client, auth, app):
    course, lesson, quiz = make_quiz()
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get(QUIZ_PAGE).status_code == 200

    response = client.post(QUIZ_PAGE, data={"csrf_token": csrf_token(client, QUIZ_PAGE), "pass_percent": "80",
                                            "max_attempts": "", "shuffle_choices": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (quiz.pass_percent, quiz.max_attempts, quiz.shuffle_questions, quiz.shuffle_choices) == (80, None, False, True)

    new = f"{QUIZ_PAGE}/questions/new"
    refused = client.post(new, data=question_data(client, new, **{
        "choices-0-text": "A", "choices-0-is_correct": "y", "choices-1-text": "B", "choices-1-is_correct": "y"}))
    assert refused.status_code == 200 and 'class="flash flash-error"' in refused.get_data(as_text=True)
    assert len(quiz.questions) == 3

    added = client.post(new, data=question_data(client, new, text="Nên đăng bài lúc nào?", explanation="Buổi tối.",
                                                **{"choices-0-text": "Buổi tối", "choices-0-is_correct": "y",
                                                   "choices-2-text": "Nửa đêm"}))
    assert added.status_code == 302
    db.session.expire_all()
    question = quiz.questions[-1]
    assert (question.text, question.explanation, question.position) == ("Nên đăng bài lúc nào?", "Buổi tối.", 3)
    assert [(c.text, c.is_correct) for c in question.choices] == [("Buổi tối", True), ("Nửa đêm", False)]

    client.post(new, data=question_data(client, new, kind="true_false", text="Ảnh đẹp giúp bán hàng.",
                                        statement_is_true="true"))
    db.session.expire_all()
    assert [(c.text, c.is_correct) for c in quiz.questions[-1].choices] == [("Đúng", True), ("Sai", False)]

    edit = f"{QUIZ_PAGE}/questions/{question.id}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="Buổi tối"' in form
    client.post(edit, data=question_data(client, edit, kind="multiple", text="Khi nào?", points="2", **{
        "choices-0-text": "Buổi tối", "choices-0-is_correct": "y", "choices-1-text": "Buổi trưa",
        "choices-1-is_correct": "y"}))
    db.session.expire_all()
    assert (question.kind, question.points, len(question.correct_choice_ids)) == (QuestionKind.MULTIPLE, 2, 2)

    arrange = f"{QUIZ_PAGE}/questions/{question.id}/arrange"
    client.post(arrange, data={"csrf_token": csrf_token(client, QUIZ_PAGE), "action": "move", "direction": "up"})
    db.session.expire_all()
    assert sorted(quiz.questions, key=lambda q: q.position)[2].id == question.id
    client.post(arrange, data={"csrf_token": csrf_token(client, QUIZ_PAGE), "action": "delete"})
    db.session.expire_all()
    assert question.id not in [q.id for q in quiz.questions]
    assert [q.position for q in quiz.questions] == [0, 1, 2, 3]


def test_the_editor_makes_the_quiz_of_a_new_quiz_lesson(client, auth, app):
    course, _lesson, _quiz = make_quiz()
    lesson = courses.add_lesson(course.modules[0], title="Kiểm tra mới", slug="kiem-tra-moi",
                                kind=_lesson.kind)
    db.session.commit()
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get(f"/courses/{COURSE}/lessons/kiem-tra-moi/quiz").status_code == 200
    assert services.find_quiz(lesson) is not None
    # A reading lesson has no quiz editor.
    assert client.get(f"/courses/{COURSE}/lessons/bai-1/quiz").status_code == 404
