"""The hand-in API the offline mode replays: idempotent on client_id and published in OpenAPI."""

import uuid

from lms.assignments.models import SubmissionStatus
from lms.core.api import openapi_document
from tests.assignments.helpers import (
    enrolled_trainee,
    log_in,
    make_practical_course,
    submissions,
    upload_photo,
)
from tests.conftest import csrf_token
from tests.factories import make_trainee

PATH = "/api/v1/assignments/{lesson_id}/submissions"


def post(client, token, lesson, body):
    return client.post(PATH.format(lesson_id=lesson.id), json=body, headers={"X-CSRFToken": token})


def test_hand_in_by_api_is_idempotent_on_client_id(client, auth, app):
    course, lesson, _assignment = make_practical_course()
    token = log_in(client, auth, enrolled_trainee(course))
    photo = upload_photo(client, token, course)
    body = {"client_id": str(uuid.uuid4()), "text": "Bình gốm men lam",
            "links": ["https://www.youtube.com/watch?v=1"], "media_ids": [photo]}
    first = post(client, token, lesson, body)
    assert first.status_code == 201, first.json
    assert first.json["number"] == 1 and first.json["status"] == "submitted"
    assert first.json["links"] == [{"url": "https://www.youtube.com/watch?v=1", "platform": "youtube"}]
    assert first.json["media_ids"] == [photo]
    replay = post(client, token, lesson, body)
    assert replay.status_code == 200
    assert replay.json["id"] == first.json["id"]
    assert [(s.number, s.status) for s in submissions()] == [(1, SubmissionStatus.SUBMITTED)]


def test_api_refuses_bad_links_outsiders_and_a_second_waiting_hand_in(client, auth, app):
    course, lesson, _assignment = make_practical_course()
    token = log_in(client, auth, enrolled_trainee(course))
    bad = post(client, token, lesson, {"client_id": str(uuid.uuid4()), "links": ["https://zalo.me/1", "javascript:alert(1)"]})
    assert bad.status_code == 422 and bad.json["detail"][0]["field"] == "links.1"
    assert post(client, token, lesson, {"client_id": "not-a-uuid", "text": "Bài"}).status_code == 422
    assert post(client, token, lesson, {"client_id": str(uuid.uuid4()), "text": "Bài"}).status_code == 201
    waiting = post(client, token, lesson, {"client_id": str(uuid.uuid4()), "text": "Bài nữa"})
    assert waiting.status_code == 409
    assert post(client, token, course.modules[0].lessons[0], {"client_id": str(uuid.uuid4()), "text": "B"}).status_code == 404

    outsider_token = log_in(client, auth, make_trainee())
    assert post(client, outsider_token, lesson, {"client_id": str(uuid.uuid4()), "text": "Bài"}).status_code == 403
    auth.logout()
    anonymous = post(client, csrf_token(client, "/login"), lesson, {"client_id": str(uuid.uuid4()), "text": "Bài"})
    assert anonymous.status_code == 401 and anonymous.json["error"] == "unauthenticated"
    assert len(submissions()) == 1


def test_the_hand_in_api_is_in_the_openapi_document(app):
    doc = openapi_document("x")
    operation = doc["paths"][PATH]["post"]
    # Named apart from the quizzes' SubmissionIn, which once replaced it in the document.
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AssignmentsSubmissionIn"}
    assert "client_id" in doc["components"]["schemas"]["AssignmentsSubmissionIn"]["properties"]
    assert {"200", "201", "403", "409", "422"} <= set(operation["responses"])
    assert operation["parameters"][0]["name"] == "lesson_id"
