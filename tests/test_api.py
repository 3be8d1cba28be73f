"""The JSON API's contract: a valid OpenAPI document, honest security, JSON errors, and no 500 for any body."""

import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from lms.accounts.models import Role
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses import services as courses
from lms.learning.models import LessonProgress, ProgressEvent
from tests.conftest import csrf_token
from tests.factories import add_video_lesson, make_course, make_trainee, make_user, meta

BATCH = "/api/v1/progress/batch"


def test_the_openapi_document_is_valid(client):
    doc = client.get("/api/v1/openapi.json").json
    validate(doc)  # raises on any fault, e.g. the parameter once named "code}.jso"
    verify = doc["paths"]["/verify/{code}.json"]["get"]
    assert [p["name"] for p in verify["parameters"]] == ["code"]
    quiz = doc["paths"]["/api/v1/quizzes/{lesson_id}/submissions"]["post"]
    assert quiz["parameters"][0]["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def test_quiz_and_assignment_submissions_have_their_own_schemas(client):
    doc = client.get("/api/v1/openapi.json").json

    def body_schema(path):
        ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]

    quiz = body_schema("/api/v1/quizzes/{lesson_id}/submissions")
    assignment = body_schema("/api/v1/assignments/{lesson_id}/submissions")
    assert {"attempt", "answers"} <= set(quiz["properties"])
    assert {"client_id", "text", "links"} <= set(assignment["properties"])


def test_public_operations_need_no_session(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert paths["/verify/{code}.json"]["get"]["security"] == []
    assert paths["/.well-known/lang-so-keys.json"]["get"]["security"] == []
    assert "401" not in paths["/verify/{code}.json"]["get"]["responses"]
    assert paths["/api/v1/courses/{slug}/progress"]["get"]["security"] == [{"session": []}]
    assert "security" not in paths["/api/v1/progress"]["post"]  # the document's default: session and CSRF token


def _expire_session(client):
    client.delete_cookie("session")


def test_an_expired_session_gets_401_json_not_a_csrf_page(client, auth, app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=60)
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    token = csrf_token(client, "/learn")
    _expire_session(client)
    event = {"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "position",
             "occurred_at": utcnow().isoformat(), "position_s": 5}
    for url, body in [("/api/v1/progress", event), (BATCH, {"events": [event]}),
                      (f"/api/v1/quizzes/{video.id}/submissions", {"id": str(uuid.uuid4()), "attempt": 1}),
                      (f"/api/v1/assignments/{video.id}/submissions", {"client_id": str(uuid.uuid4())})]:
        response = client.post(url, json=body, headers={"X-CSRFToken": token})
        assert response.status_code == 401 and response.is_json, url
        assert response.json == {"error": "unauthenticated", "detail": "Vui lòng đăng nhập lại."}
    assert db.session.scalar(sa.select(sa.func.count(ProgressEvent.id))) == 0


def test_a_logged_out_quiz_submission_gets_401_before_its_body_is_judged(client, auth, app):
    token = csrf_token(client, "/login")
    response = client.post("/api/v1/quizzes/1/submissions", json={"nonsense": True}, headers={"X-CSRFToken": token})
    assert response.status_code == 401


def test_an_expired_session_gets_401_on_tus_post_and_patch(client, auth, app):
    course = make_course(lessons=1)
    instructor = make_user(Role.INSTRUCTOR)
    courses.set_instructors(course, [instructor])
    db.session.commit()
    auth.login(instructor.phone)
    token = csrf_token(client, "/courses/manage")
    headers = {"Tus-Resumable": "1.0.0", "X-CSRFToken": token}
    created = client.post("/api/v1/uploads/", headers={
        **headers, "Upload-Length": "100", "Upload-Metadata": meta(filename="a.pdf", course=course.slug)})
    assert created.status_code == 201
    _expire_session(client)
    again = client.post("/api/v1/uploads/", headers={**headers, "Upload-Length": "100"})
    patch = client.patch(created.headers["Location"], data=b"%PDF-" + b"0" * 10, headers={
        **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    for response in (again, patch):
        assert response.status_code == 401 and response.is_json
        assert response.headers["Tus-Resumable"] == "1.0.0"
        assert "đăng nhập lại" in response.json["detail"]


def test_a_stale_csrf_token_while_logged_in_is_a_400_in_json(client, auth, app):
    auth.login(make_trainee().phone)
    response = client.post(BATCH, json={"events": []}, headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400 and response.json["error"] == "csrf"


def test_errors_under_the_api_are_json_and_405_says_what_is_allowed(client):
    wrong_method = client.get(BATCH)
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert "POST" in wrong_method.headers["Allow"]
    assert wrong_method.json["error"] == "method_not_allowed"
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    unknown_course = client.get("/api/v1/courses/khong-co/progress")
    assert unknown_course.status_code == 401 and unknown_course.is_json


@pytest.fixture
def trainee_api(client, auth, app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=60)
    auth.login(make_trainee(enrolled_in=course).phone)
    token = csrf_token(client, "/learn")

    def post(body, raw=False):
        if raw:
            return client.post(BATCH, data=body, headers={"X-CSRFToken": token, "Content-Type": "application/json"})
        return client.post(BATCH, json=body, headers={"X-CSRFToken": token})

    post.video = video
    return post


def _event(lesson_id, **fields):
    return {"id": str(uuid.uuid4()), "lesson_id": lesson_id, "kind": "position",
            "occurred_at": utcnow().isoformat(), "position_s": 10, **fields}


def test_the_batch_answers_4xx_for_any_impossible_body(trainee_api):
    lesson = trainee_api.video.id
    bodies = [
        {"events": [_event(2**63 + 5)]}, {"events": [_event(99999999999999999999)]}, {"events": [_event(-1)]},
        {"events": [_event(2**31)]},
        {"events": [_event(lesson, occurred_at="0018-03-01T10:00:00+07:00")]},
        {"events": [_event(lesson, occurred_at="8027-03-01T10:00:00+07:00")]},
        {"events": [_event(lesson, occurred_at="0001-01-01T00:00:00+14:00")]},
        {"events": [_event(lesson, occurred_at="9999-12-31T23:59:59-14:00")]},
        {"events": [_event(lesson, occurred_at="2026-03-01T10:00:00")]},  # no offset
        {"events": [_event(lesson, position_s=1e308)]}, {"events": [_event(lesson, position_s=-1e308)]},
        {"events": [_event(lesson, segments=[[-5, 3]])]},
        {"events": [_event(lesson, segments=[[0, 1e308]])]}, {"events": [_event(lesson, segments=[[1, 2, 3]])]},
        {"events": [{**_event(lesson), "lesson_id": str(lesson)}]}, {"events": [_event(lesson, kind=None)]},
        {"events": [_event(lesson, id="not-a-uuid")]}, {"events": [_event(lesson, position_s=True)]},
        {"events": [_event(lesson)] * 101}, {"events": []}, {"events": "all"}, {"events": None}, [], "x", 5, None,
        {"events": [_event(lesson, segments=[[0, 1]] * 501)]}, {"events": [_event(lesson, extra=1)]},
    ]
    for body in bodies:
        response = trainee_api(body)
        assert 400 <= response.status_code < 500 and response.is_json, (str(body)[:120], response.status_code)
    raw = [b"not json", b"", b"{", b'{"events": [NaN]}', b'{"events": [{"position_s": NaN}]}',
           json.dumps({"events": [_event(lesson)]}).replace("10", "NaN").encode(),
           json.dumps({"events": [_event(lesson)]}).replace("10", "Infinity").encode(),
           json.dumps({"events": [_event(lesson, segments=[[1, 2]])]}).replace("[1, 2]", "[1, -Infinity]").encode(),
           b"\xff\xfe", b'{"events": [{"id": "\\u0000"}]}']
    for body in raw:
        response = trainee_api(body, raw=True)
        assert 400 <= response.status_code < 500 and response.is_json, (body[:80], response.status_code)
    assert db.session.scalar(sa.select(sa.func.count(LessonProgress.id))) == 0


def test_batch_problems_are_told_in_vietnamese_and_name_the_event(trainee_api):
    lesson = trainee_api.video.id
    good = _event(lesson)
    response = trainee_api({"events": [good, _event(lesson, position_s=-1), {"id": str(uuid.uuid4())}]})
    assert response.status_code == 422
    problems = {p["field"]: p["message"] for p in response.json["detail"]}
    assert problems["events.1.position_s"] == "Con số nằm ngoài khoảng cho phép."
    assert problems["events.2.lesson_id"] == "Thiếu một giá trị bắt buộc."
    old = trainee_api({"events": [_event(lesson, occurred_at="0018-03-01T10:00:00+07:00")]})
    assert "ngày" in old.json["detail"][0]["message"]
    for message in [p["message"] for p in response.json["detail"] + old.json["detail"]]:
        assert not any(word in message for word in ("Field", "required", "Input", "should", "Value error")), message


def test_a_stretch_that_ends_before_it_starts_refuses_the_batch_naming_the_event(trainee_api):
    """A reversed stretch is malformed, like a negative one: 422 naming it, so the outbox sets only it aside."""
    lesson = trainee_api.video.id
    reversed_stretch, good = _event(lesson, segments=[[30, 10]]), _event(lesson, segments=[[0, 6]], position_s=6)
    response = trainee_api({"events": [good, reversed_stretch]})
    assert response.status_code == 422
    problems = {p["field"]: p["message"] for p in response.json["detail"]}
    assert problems == {"events.1.segments": "Đoạn đã xem có điểm kết thúc nằm trước điểm bắt đầu."}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEvent)) == 0


def test_rules_a_schema_cannot_state_are_judged_per_event(trainee_api):
    """A position past the video's end needs the video's length: the batch is taken, that event is refused."""
    lesson = trainee_api.video.id
    good = _event(lesson, segments=[[0, 6]], position_s=6)
    response = trainee_api({"events": [good, _event(lesson, position_s=4000)]})
    assert response.status_code == 200
    results = response.json["results"]
    assert [r["status"] for r in results] == ["applied", "invalid"]


def test_whole_numbers_written_with_a_decimal_point_are_integers(trainee_api):
    lesson = trainee_api.video.id
    body = json.dumps({"events": [_event(lesson)]}).replace(f'"lesson_id": {lesson}', f'"lesson_id": {lesson}.0')
    assert trainee_api(body.encode(), raw=True).status_code == 200
    assert trainee_api({"events": [{**_event(lesson), "lesson_id": f"{lesson}"}]}).status_code == 422


def test_a_good_batch_still_applies(trainee_api):
    lesson = trainee_api.video.id
    yesterday = (utcnow() - timedelta(days=1)).isoformat()
    response = trainee_api({"events": [_event(lesson, occurred_at=yesterday, segments=[[0, 6]], position_s=6)]})
    assert response.status_code == 200 and response.json["results"][0]["status"] == "applied"
    assert response.json["results"][0]["progress"]["watched_percent"] == 10


def test_the_same_event_twice_in_one_batch_counts_once(trainee_api):
    event = _event(trainee_api.video.id, segments=[[0, 6]], position_s=6)
    response = trainee_api({"events": [event] * 3})
    assert [r["status"] for r in response.json["results"]] == ["applied", "duplicate", "duplicate"]
    assert db.session.scalar(sa.select(sa.func.count(ProgressEvent.id))) == 1
