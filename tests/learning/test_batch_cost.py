"""What one POST /api/v1/progress/batch costs the database: the phone's outbox sends one every few seconds."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning import services
from tests.conftest import csrf_token
from tests.factories import add_video_lesson, make_course, make_trainee

BATCH = "/api/v1/progress/batch"


def _position(lesson_id, start, end, minutes_ago=0):
    return {"id": str(uuid.uuid4()), "lesson_id": lesson_id, "kind": "position",
            "occurred_at": (utcnow() - timedelta(minutes=minutes_ago)).isoformat(), "position_s": end,
            "segments": [[start, end]]}


@pytest.mark.parametrize("events", [1, 5])
def test_a_batch_on_a_warm_lesson_costs_a_few_statements_plus_one_per_event(client, auth, app, events):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=300)
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    token = csrf_token(client, "/learn")
    first = client.post(BATCH, json={"events": [_position(video.id, 0, 5, minutes_ago=5)]}, headers={"X-CSRFToken": token})
    assert first.json["results"][0]["status"] == "applied"  # the lesson is warm: its progress row exists
    db.session.remove()

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        body = {"events": [_position(video.id, 10 * n, 10 * n + 5) for n in range(1, events + 1)]}
        response = client.post(BATCH, json=body, headers={"X-CSRFToken": token})
    finally:
        db.session.remove()
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert [r["status"] for r in response.json["results"]] == ["applied"] * events
    assert services.get_progress(trainee, video).watched_fraction == pytest.approx(5 * (events + 1) / 300)

    # Per request: the user, the lesson with its course, enrolment and video length, the progress row,
    # and one write each of the enrolment and the progress. Per event: its id. On PostgreSQL each event
    # also locks the enrolment row (after writing the previous event's changes, which the lock re-reads).
    per_event = 1 if db.engine.dialect.name == "sqlite" else 4
    assert len(statements) <= 5 + per_event * events, "\n".join(statements)


def test_a_replayed_event_is_a_duplicate_even_if_it_would_be_refused_today(client, auth, app):
    """The id is the duplicate check; an event applied before is never answered "invalid" (its video got shorter)."""
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=300)
    auth.login(make_trainee(enrolled_in=course).phone)
    token = csrf_token(client, "/learn")
    event = _position(video.id, 200, 250)
    assert client.post(BATCH, json={"events": [event]}, headers={"X-CSRFToken": token}).json[
        "results"][0]["status"] == "applied"
    video.media.duration_s = 100.0  # replaced by a shorter cut: 250 s is past its end now
    db.session.commit()
    replay = client.post(BATCH, json={"events": [event, _position(video.id, 0, 500)]}, headers={"X-CSRFToken": token})
    assert [r["status"] for r in replay.json["results"]] == ["duplicate", "invalid"]
