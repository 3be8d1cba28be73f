import uuid
from datetime import timedelta

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import local_today
from lms.courses import services as courses
from lms.learning import services
from lms.learning.models import LessonProgress, ProgressEvent
from tests.conftest import csrf_token
from tests.factories import add_video_lesson, make_course, make_trainee, make_user, opened


def api_post(client, url, body, token):
    return client.post(url, json=body, headers={"X-CSRFToken": token})


def iso(minutes_ago=0):
    return (utcnow() - timedelta(minutes=minutes_ago)).isoformat()


def test_trainee_lands_on_continue_learning_with_progress(client, auth, app):
    course = make_course(lessons=2)
    first = courses.ordered_lessons(course)[0]
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    response = client.get("/", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.request.path == "/learn"
    assert f'href="/courses/viet-bai-ban-hang/lessons/{first.slug}"' in html
    assert "0%" in html


def test_opening_a_lesson_is_where_continue_learning_resumes(client, auth, app):
    course = make_course(lessons=3)
    second = courses.ordered_lessons(course)[1]
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    assert client.get(f"/courses/viet-bai-ban-hang/lessons/{second.slug}").status_code == 200
    db.session.rollback()
    with db.engine.connect() as other:  # saved for good, not just flushed in the request's transaction
        assert other.scalar(sa.text("SELECT last_lesson_id FROM enrollments")) == second.id
        assert other.scalar(sa.text("SELECT count(*) FROM lesson_progress WHERE lesson_id = :id"), {"id": second.id}) == 1
    html = client.get("/learn").get_data(as_text=True)
    assert f'href="/courses/viet-bai-ban-hang/lessons/{second.slug}"' in html


def test_self_enrolment_then_lessons_open(client, auth, app):
    course = make_course(lessons=1)
    trainee = make_trainee()
    auth.login(trainee.phone)
    assert client.get("/courses/viet-bai-ban-hang/lessons/bai-1").status_code == 302  # not yet enrolled
    token = csrf_token(client, "/courses/viet-bai-ban-hang")
    response = client.post("/courses/viet-bai-ban-hang/enrol", data={"csrf_token": token})
    assert response.headers["Location"].endswith("/courses/viet-bai-ban-hang/lessons/bai-1")
    assert services.is_enrolled(trainee, course)
    assert client.get("/courses/viet-bai-ban-hang/lessons/bai-1").status_code == 200


def test_done_button_double_tap_counts_once_and_goes_to_next(client, auth, app):
    course = make_course(lessons=2)
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    html = client.get("/courses/viet-bai-ban-hang/lessons/bai-1").get_data(as_text=True)
    event_id = html.split('name="event_id" value="')[1].split('"')[0]
    token = csrf_token(client, "/courses/viet-bai-ban-hang/lessons/bai-1")
    for _ in range(2):
        response = client.post("/courses/viet-bai-ban-hang/lessons/bai-1/done", data={"csrf_token": token, "event_id": event_id})
        assert response.headers["Location"].endswith("/lessons/bai-2")
    rows = db.session.scalars(sa.select(LessonProgress)).all()
    assert len(rows) == 1 and rows[0].completed_by == "marked"


def test_progress_api_applies_once_and_reports(client, auth, app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=60)
    trainee = make_trainee(enrolled_in=course)
    opened(trainee, video)  # a while ago: time to have watched what the events claim
    auth.login(trainee.phone)
    token = csrf_token(client, "/learn")
    body = {"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "position", "occurred_at": iso(),
            "position_s": 30, "segments": [[0, 30]]}
    first = api_post(client, "/api/v1/progress", body, token)
    again = api_post(client, "/api/v1/progress", body, token)
    assert first.status_code == 200 and first.json["status"] == "applied"
    assert again.json["status"] == "duplicate"
    assert first.json["progress"]["watched_percent"] == 50
    state = client.get("/api/v1/courses/viet-bai-ban-hang/progress").json
    assert state["lessons"][0]["position_s"] == 30


def test_progress_api_refuses_bad_input(client, auth, app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=60)
    other = make_course("khoa-khac", lessons=1)
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    token = csrf_token(client, "/learn")
    negative = {"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "position", "occurred_at": iso(), "position_s": -5}
    assert api_post(client, "/api/v1/progress", negative, token).status_code == 422
    too_far = {**negative, "id": str(uuid.uuid4()), "position_s": 4000}
    assert api_post(client, "/api/v1/progress", too_far, token).status_code == 422
    not_mine = {"id": str(uuid.uuid4()), "lesson_id": courses.ordered_lessons(other)[0].id, "kind": "open", "occurred_at": iso()}
    assert api_post(client, "/api/v1/progress", not_mine, token).status_code == 403
    assert api_post(client, "/api/v1/progress", {**negative, "position_s": 1}, "forged").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(LessonProgress.id))) == 0


def test_progress_api_answers_401_in_json_when_logged_out(client, auth, app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=60)
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    auth.logout()
    token = csrf_token(client, "/login")
    body = {"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "complete", "occurred_at": iso()}
    response = api_post(client, "/api/v1/progress", body, token)
    assert response.status_code == 401 and response.is_json  # not a redirect to the login page
    assert response.json["error"] == "unauthenticated" and response.json["detail"]
    assert api_post(client, "/api/v1/progress", {"kind": "nonsense"}, token).status_code == 401  # before validation
    batch = api_post(client, "/api/v1/progress/batch", {"events": [body]}, token)
    assert batch.status_code == 401 and batch.json["error"] == "unauthenticated"
    state = client.get("/api/v1/courses/viet-bai-ban-hang/progress")
    assert state.status_code == 401 and state.json["error"] == "unauthenticated"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(LessonProgress.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(ProgressEvent.id))) == 0
    assert services.get_enrollment(trainee, course).last_activity_at is None


def test_offline_batch_replays_in_any_order(client, auth, app):
    course = make_course(lessons=1)
    video = add_video_lesson(course, duration_s=100)
    text = courses.ordered_lessons(course)[0]
    other = make_course("khoa-khac", lessons=1)
    trainee = make_trainee(enrolled_in=course)
    opened(trainee, video)  # a while ago: time to have watched what the events claim
    auth.login(trainee.phone)
    token = csrf_token(client, "/learn")
    events = [
        {"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "position", "occurred_at": iso(5), "position_s": 95, "segments": [[50, 95]]},
        {"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "position", "occurred_at": iso(20), "position_s": 50, "segments": [[0, 50]]},
        {"id": str(uuid.uuid4()), "lesson_id": text.id, "kind": "complete", "occurred_at": iso(30)},
        {"id": str(uuid.uuid4()), "lesson_id": courses.ordered_lessons(other)[0].id, "kind": "open", "occurred_at": iso(1)},
    ]
    response = api_post(client, "/api/v1/progress/batch", {"events": events}, token)
    statuses = {r["id"]: r["status"] for r in response.json["results"]}
    assert [statuses[e["id"]] for e in events] == ["applied", "applied", "applied", "forbidden"]
    assert services.get_progress(trainee, video).position_s == 95
    assert services.get_progress(trainee, video).completed_at is not None
    replay = api_post(client, "/api/v1/progress/batch", {"events": events[:3]}, token)
    assert {r["status"] for r in replay.json["results"]} == {"duplicate"}


def test_openapi_document_describes_the_progress_api(client, app):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/api/v1/progress"]
    schema_ref = doc["paths"]["/api/v1/progress"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert {"id", "lesson_id", "kind", "occurred_at"} <= set(schema["required"])
    assert "/api/v1/progress/batch" in doc["paths"] and "/api/v1/courses/{slug}/progress" in doc["paths"]
    assert "401" in doc["paths"]["/api/v1/progress"]["post"]["responses"]
    assert "401" in doc["paths"]["/api/v1/progress/batch"]["post"]["responses"]
    assert "401" in doc["paths"]["/api/v1/courses/{slug}/progress"]["get"]["responses"]


def test_no_one_sees_another_trainees_progress(client, auth, app):
    course = make_course(lessons=1)
    mine, other = make_trainee(enrolled_in=course), make_trainee(enrolled_in=course, full_name="Người khác")
    services.record_event(other, services.ProgressEventData(
        id=str(uuid.uuid4()), lesson_id=courses.ordered_lessons(course)[0].id, kind="complete", occurred_at=utcnow()))
    db.session.commit()
    auth.login(mine.phone)
    state = client.get("/api/v1/courses/viet-bai-ban-hang/progress").json
    assert state["percent"] == 0 and not state["lessons"][0]["completed"]
    assert client.get("/courses/viet-bai-ban-hang/learners").status_code == 403


def test_instructor_sees_progress_and_who_is_stuck(client, auth, app):
    course = make_course(lessons=2)
    instructor = make_user(Role.INSTRUCTOR)
    courses.set_instructors(course, [instructor])
    active = make_trainee(enrolled_in=course, full_name="Chăm Chỉ")
    stuck = make_trainee(enrolled_in=course, full_name="Bỏ Dở")
    services.open_lesson(active, courses.ordered_lessons(course)[0])
    resting = make_trainee(enrolled_in=course, full_name="Nghỉ Ít")
    services.get_enrollment(stuck, course).last_activity_at = utcnow() - timedelta(days=15)
    services.get_enrollment(stuck, course).enrolled_at = utcnow() - timedelta(days=30)
    services.get_enrollment(resting, course).last_activity_at = utcnow() - timedelta(days=9)  # under the 14 days
    services.get_enrollment(resting, course).enrolled_at = utcnow() - timedelta(days=30)
    db.session.commit()
    auth.login(instructor.phone)
    html = client.get("/courses/viet-bai-ban-hang/learners").get_data(as_text=True)
    assert "Chăm Chỉ" in html and "Bỏ Dở" in html
    assert "<strong>1</strong> dừng học: không học gì từ 14 ngày trở lên" in html
    only_stuck = client.get("/courses/viet-bai-ban-hang/learners?stuck=1").get_data(as_text=True)
    assert "Bỏ Dở" in only_stuck and "Chăm Chỉ" not in only_stuck and "Nghỉ Ít" not in only_stuck


def test_the_learners_page_counts_the_stuck_as_the_programme_dashboard_does(client, auth, app):
    from lms.reports import figures as programme
    from lms.reports.figures import Figure, Period

    course = make_course(lessons=2)
    for days in (3, 13, 15, 40):
        trainee = make_trainee(enrolled_in=course)
        services.get_enrollment(trainee, course).enrolled_at = utcnow() - timedelta(days=60)
        services.get_enrollment(trainee, course).last_activity_at = utcnow() - timedelta(days=days)
    db.session.commit()
    today = local_today()
    stuck = programme.count(Figure.STUCK, Period(today.replace(month=1, day=1), today), course_id=course.id)
    assert stuck == 2
    auth.login(make_user(Role.ORGANIZER).phone)
    html = client.get(f"/courses/{course.slug}/learners").get_data(as_text=True)
    assert f"<strong>{stuck}</strong> dừng học" in html
