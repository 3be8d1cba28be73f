"""Work done offline: a replayed "done" counts once, and each phone's outbox report reaches the staff."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses import services as courses
from lms.learning import services
from lms.learning.models import LessonProgress, ProgressEvent, SyncStatus
from tests.conftest import csrf_token
from tests.factories import make_course, make_organizer, make_trainee, make_user


def _report(client, token, body):
    return client.post("/api/v1/sync-status", json=body, headers={"X-CSRFToken": token})


def _count_statements(fetch):
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = fetch()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements), html


def test_done_tapped_offline_and_replayed_twice_counts_once_and_keeps_the_tapped_time(client, auth, app):
    course = make_course(lessons=2)
    trainee = make_trainee(enrolled_in=course)
    services.get_enrollment(trainee, course).enrolled_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    auth.login(trainee.phone)
    html = client.get("/courses/viet-bai-ban-hang/lessons/bai-1").get_data(as_text=True)
    event_id = html.split('name="event_id" value="')[1].split('"')[0]
    token = csrf_token(client, "/courses/viet-bai-ban-hang/lessons/bai-1")
    tapped = (utcnow() - timedelta(minutes=40)).replace(microsecond=0)
    done = {"id": event_id, "lesson_id": courses.ordered_lessons(course)[0].id, "kind": "complete",
            "occurred_at": tapped.isoformat()}
    first = client.post("/api/v1/progress/batch", json={"events": [done]}, headers={"X-CSRFToken": token})
    again = client.post("/api/v1/progress/batch", json={"events": [done, done]}, headers={"X-CSRFToken": token})
    # The page reloaded before the outbox sent and the form went too: still the same one event.
    form = client.post("/courses/viet-bai-ban-hang/lessons/bai-1/done", data={"csrf_token": token, "event_id": event_id})
    assert [r["status"] for r in first.json["results"]] == ["applied"]
    assert [r["status"] for r in again.json["results"]] == ["duplicate", "duplicate"]
    assert form.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEvent)) == 1
    progress = db.session.scalars(sa.select(LessonProgress)).one()
    assert progress.completed_at == tapped  # the moment tapped on the phone, not the moment it synced


def test_a_trainee_reports_their_own_outbox_and_only_their_own(client, auth, app):
    trainee, other = make_trainee(), make_trainee()
    auth.login(trainee.phone)
    token = csrf_token(client, "/learn")
    synced = datetime(2026, 12, 7, 3, 42, tzinfo=UTC)
    answer = _report(client, token, {"waiting": 3, "last_synced_at": "2026-12-07T10:42:00+07:00"})
    assert answer.status_code == 200 and answer.json["waiting"] == 3
    assert _report(client, token, {"waiting": 0}).status_code == 200  # no sync time: the last one stays
    kept = db.session.get(SyncStatus, trainee.id, populate_existing=True)
    assert (kept.waiting, kept.last_synced_at) == (0, synced)
    assert db.session.get(SyncStatus, other.id) is None
    refused = _report(client, token, {"waiting": 1, "user_id": other.id})
    assert refused.status_code == 422 and refused.json["detail"][0]["message"] == "Giá trị này không được phép ở đây."
    assert db.session.get(SyncStatus, other.id) is None


def test_the_sync_report_refuses_bad_input_in_vietnamese_and_needs_a_session_and_its_token(client, auth, app):
    trainee = make_trainee()
    assert client.post("/api/v1/sync-status", json={"waiting": 1}).status_code == 401
    auth.login(trainee.phone)
    token = csrf_token(client, "/learn")
    no_token = client.post("/api/v1/sync-status", json={"waiting": 1})
    assert no_token.status_code == 400 and no_token.json["error"] == "csrf"
    for body in ({"waiting": -1}, {"waiting": "3"}, {"waiting": 10**9}, {}, {"waiting": 1, "last_synced_at": "hôm qua"},
                 {"waiting": 1, "last_synced_at": "2026-12-07T10:42:00"}, [1, 2]):
        answer = _report(client, token, body)
        assert answer.status_code == 422, body
        assert all(p["message"] and p["message"].isascii() is False for p in answer.json["detail"]), body
    not_json = client.post("/api/v1/sync-status", data=b"\xff{", headers={"X-CSRFToken": token,
                                                                            "Content-Type": "application/json"})
    assert not_json.status_code == 422
    assert db.session.get(SyncStatus, trainee.id) is None


def test_a_sync_time_ahead_of_the_server_is_kept_as_now(app):
    trainee = make_trainee()
    now = utcnow()
    status = services.record_sync_status(trainee, 2, now + timedelta(days=3), now=now)
    assert status.last_synced_at == now and status.waiting == 2


def test_the_sync_report_is_rate_limited(client, auth, app):
    app.config["SYNC_STATUS_LIMIT"] = "2 per minute"
    auth.login(make_trainee().phone)
    token = csrf_token(client, "/learn")
    assert [_report(client, token, {"waiting": n}).status_code for n in range(3)] == [200, 200, 429]


def _trainees_reporting(course, count, start=0):
    people = []
    for n in range(start, start + count):
        trainee = make_trainee(enrolled_in=course, full_name=f"Học Viên {n}")
        services.record_sync_status(trainee, n % 3, datetime(2026, 12, 7, 3, 42, tzinfo=UTC))
        people.append(trainee)
    db.session.commit()
    return people


def test_the_instructor_sees_each_trainees_last_sync_in_a_constant_number_of_queries(client, auth, app):
    course = make_course(lessons=1)
    instructor = make_user(Role.INSTRUCTOR)
    courses.set_instructors(course, [instructor])
    _trainees_reporting(course, 2)
    silent = make_trainee(enrolled_in=course, full_name="Chưa Báo")
    auth.login(instructor.phone)
    url = "/courses/viet-bai-ban-hang/learners"
    client.get(url)
    few, html = _count_statements(lambda: client.get(url).get_data(as_text=True))
    assert "Đồng bộ lần cuối: 10:42 7/12/26 · <strong class=\"warn\">còn 1 việc chưa gửi</strong>" in html.replace("\n", "")
    assert html.count("Đồng bộ lần cuối") == 2  # the trainee whose phone never reported shows nothing
    assert silent.full_name in html
    _trainees_reporting(course, 6, start=2)
    many, _html = _count_statements(lambda: client.get(url).get_data(as_text=True))
    assert many == few


def test_the_organizers_list_shows_the_last_sync_in_a_constant_number_of_queries(client, auth, app):
    course = make_course("khoa-dong-bo")
    _trainees_reporting(course, 2)
    auth.login(make_organizer(phone="0912888009").phone)
    url = f"/reports/trainees/enrolled?course={course.id}"
    client.get(url)
    few, html = _count_statements(lambda: client.get(url).get_data(as_text=True))
    assert html.count("Đồng bộ lần cuối: 10:42 7/12/26") == 2
    assert "còn 1 việc chưa gửi" in html
    _trainees_reporting(course, 6, start=2)
    many, html = _count_statements(lambda: client.get(url).get_data(as_text=True))
    assert many == few and html.count("Đồng bộ lần cuối") == 8


def test_a_trainee_finds_their_phones_last_report_in_their_personal_data(app):
    from lms.learning.personal_data import personal_data

    trainee = make_trainee()
    assert [s for s in personal_data(trainee) if s.key == "sync_status"][0].rows == ()
    services.record_sync_status(trainee, 4, datetime(2026, 12, 7, 3, 42, tzinfo=UTC))
    section = [s for s in personal_data(trainee) if s.key == "sync_status"][0]
    assert [row["waiting"] for row in section.rows] == [4]
