"""A video counts as watched only as fast as it can be watched: forged coverage does not complete a lesson."""

import uuid
from datetime import datetime, timedelta

import pytest

from lms.core.db import utcnow
from lms.learning import services
from tests.conftest import csrf_token
from tests.factories import add_video_lesson, event, make_course, make_trainee, opened


@pytest.fixture
def video_lesson(app):
    course = make_course(lessons=0)
    return course, add_video_lesson(course, duration_s=100)


def every_ten_seconds(video, started_minutes_ago: float, length: int = 100) -> list[dict]:
    """What the player sends while the whole video plays: a position and the stretch since the last one, every 10 s."""
    start = utcnow() - timedelta(minutes=started_minutes_ago)
    return [{"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "position",
             "occurred_at": (start + timedelta(seconds=s)).isoformat(), "position_s": s, "segments": [[s - 10, s]]}
            for s in range(10, length + 1, 10)]


def post_batch(client, events):
    token = csrf_token(client, "/learn")
    return client.post("/api/v1/progress/batch", json={"events": events}, headers={"X-CSRFToken": token})


def test_one_forged_event_claiming_the_whole_video_does_not_complete_it(client, auth, video_lesson):
    course, video = video_lesson
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    forged = {"id": str(uuid.uuid4()), "lesson_id": video.id, "kind": "position", "occurred_at": utcnow().isoformat(),
              "position_s": 100, "segments": [[0, 100]]}
    response = post_batch(client, [forged])
    assert response.json["results"][0]["status"] == "applied"
    progress = services.get_progress(trainee, video)
    assert progress.completed_at is None
    assert progress.watched_fraction <= services.REAL_TIME_SLACK_S / 100
    assert progress.position_s == 100  # the place to resume from is kept: only the credit is bounded


def test_a_forged_event_right_after_opening_the_page_does_not_complete_it(app, video_lesson):
    course, video = video_lesson
    trainee = make_trainee(enrolled_in=course)
    opened(trainee, video, minutes_ago=0.25)  # 15 s ago
    services.record_event(trainee, event(video, position_s=100, segments=((0, 100),)))
    progress = services.get_progress(trainee, video)
    assert progress.completed_at is None and progress.watched_fraction < 0.5


def test_events_every_ten_seconds_complete_the_video(app, video_lesson):
    course, video = video_lesson
    trainee = make_trainee(enrolled_in=course)
    for sent in every_ten_seconds(video, started_minutes_ago=100 / 60):
        services.record_event(trainee, services.ProgressEventData(
            id=sent["id"], lesson_id=video.id, kind="position", occurred_at=datetime.fromisoformat(sent["occurred_at"]),
            position_s=sent["position_s"], segments=tuple(map(tuple, sent["segments"]))))
        assert services.get_progress(trainee, video).completed_at is None or sent["position_s"] >= 90
    progress = services.get_progress(trainee, video)
    assert progress.watched_fraction == pytest.approx(1.0)
    assert progress.completed_by == "watched"


@pytest.mark.parametrize("order", ["as sent", "reversed"])
def test_a_burst_queued_offline_and_replayed_later_completes(client, auth, video_lesson, order):
    course, video = video_lesson
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    events = every_ten_seconds(video, started_minutes_ago=3 * 60)  # watched three hours ago, sent now
    if order == "reversed":
        events.reverse()
    response = post_batch(client, events)
    assert {r["status"] for r in response.json["results"]} == {"applied"}
    progress = services.get_progress(trainee, video)
    assert progress.watched_fraction == pytest.approx(1.0) and progress.completed_at is not None
    assert progress.completed_by == "watched"


def test_events_squeezed_into_less_time_than_the_video_lasts_do_not_complete_it(client, auth, video_lesson):
    course, video = video_lesson
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    events = every_ten_seconds(video, started_minutes_ago=60)
    squeeze = utcnow() - timedelta(minutes=60)
    for n, sent in enumerate(events):  # ten stretches of 10 s, claimed one second apart
        sent["occurred_at"] = (squeeze + timedelta(seconds=n)).isoformat()
    post_batch(client, events)
    progress = services.get_progress(trainee, video)
    assert progress.completed_at is None and progress.watched_fraction < 0.3


def test_seconds_refused_once_can_be_watched_again_and_count(app, video_lesson):
    course, video = video_lesson
    trainee = make_trainee(enrolled_in=course)
    services.record_event(trainee, event(video, minutes_ago=2, position_s=60, segments=((0, 60),)))
    assert services.get_progress(trainee, video).watched_fraction == pytest.approx(0.10)
    services.record_event(trainee, event(video, minutes_ago=0, position_s=100, segments=((0, 100),)))
    progress = services.get_progress(trainee, video)
    assert progress.watched_fraction == pytest.approx(1.0) and progress.completed_at is not None
