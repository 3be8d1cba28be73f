"""Progress under races and crashes: events sent at once merge, and an acknowledged event is never lost."""

import multiprocessing
import os
import threading
import uuid
from datetime import timedelta
from functools import partial

import pytest
import sqlalchemy as sa

from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses.models import LessonKind
from lms.learning import services
from lms.learning.models import Enrollment, LessonProgress, ProgressEvent
from tests.conftest import csrf_token
from tests.factories import add_video_lesson, make_course, make_trainee, opened

BATCH = "/api/v1/progress/batch"
ROUNDS = 12


def _event(lesson_id, **fields):
    return {"id": str(uuid.uuid4()), "lesson_id": lesson_id, "kind": "position",
            "occurred_at": utcnow().isoformat(), **fields}


class Phone:
    """One logged-in device of the trainee: its own cookies and token."""

    def __init__(self, app, phone_number):
        from tests.conftest import AuthActions

        self.client = app.test_client()
        AuthActions(self.client).login(phone_number)
        self.token = csrf_token(self.client, "/learn")

    def send(self, *events):
        return self.client.post(BATCH, json={"events": list(events)}, headers={"X-CSRFToken": self.token})


def _at_once(*calls):
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # a 500 inside the test client re-raises here
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _forget_what_this_thread_read():
    """End the test's own transaction and forget its objects: read what the requests committed."""
    db.session.rollback()
    db.session.expire_all()


@pytest.fixture
def two_phones(app):
    course = make_course(lessons=0)
    trainee = make_trainee(enrolled_in=course)
    return course, trainee, Phone(app, trainee.phone), Phone(app, trainee.phone)


def test_first_events_on_a_lesson_sent_at_once_both_apply_and_their_seconds_merge(app, two_phones):
    """Two tabs' first events: no unique-violation 500, one progress row, the union of both stretches."""
    course, trainee, tab, other_tab = two_phones
    for round_ in range(ROUNDS):
        lesson = add_video_lesson(course, slug=f"v{round_}", duration_s=60)
        # One tab's stretch was watched a minute earlier: 20 s of video take real time to watch.
        one = _event(lesson.id, segments=[[0, 10]], position_s=10,
                     occurred_at=(utcnow() - timedelta(minutes=1)).isoformat())
        two = _event(lesson.id, segments=[[20, 30]])
        first, second = _at_once(partial(tab.send, one), partial(other_tab.send, two))
        assert [getattr(r, "status_code", r) for r in (first, second)] == [200, 200], round_
        assert {r.json["results"][0]["status"] for r in (first, second)} == {"applied"}
        _forget_what_this_thread_read()
        rows = db.session.scalars(sa.select(LessonProgress).where(LessonProgress.lesson_id == lesson.id)).all()
        assert len(rows) == 1
        assert rows[0].watched_fraction == pytest.approx(20 / 60), round_


def test_position_events_sent_at_once_merge_watched_seconds(app, two_phones):
    """Once a lesson has progress, concurrent events still add up: no last-write-wins."""
    course, trainee, tab, other_tab = two_phones
    lesson = add_video_lesson(course, duration_s=600)
    started = (utcnow() - timedelta(minutes=30)).isoformat()  # time enough for what the rounds watch
    assert tab.send(_event(lesson.id, segments=[[0, 1]], position_s=1, occurred_at=started)).status_code == 200
    for round_ in range(ROUNDS):
        start = 10 + round_ * 40
        one = _event(lesson.id, segments=[[start, start + 10]])
        two = _event(lesson.id, segments=[[start + 20, start + 30]])
        results = _at_once(partial(tab.send, one), partial(other_tab.send, two))
        assert [getattr(r, "status_code", r) for r in results] == [200, 200], round_
    _forget_what_this_thread_read()
    progress = services.get_progress(trainee, lesson)
    assert progress.watched_fraction == pytest.approx((1 + ROUNDS * 20) / 600)


def test_the_last_two_lessons_completed_at_once_complete_the_course_once(app, two_phones):
    """Each of two concurrent completions must see the other's lesson: the course ends up completed."""
    course, trainee, tab, other_tab = two_phones
    first = add_video_lesson(course, slug="a", duration_s=10)
    second = add_video_lesson(course, slug="b", duration_s=10)
    results = _at_once(partial(tab.send, _event(first.id, segments=[[0, 10]], position_s=10)),
                       partial(other_tab.send, _event(second.id, segments=[[0, 10]], position_s=10)))
    assert [getattr(r, "status_code", r) for r in results] == [200, 200]
    _forget_what_this_thread_read()
    enrollment = db.session.scalar(sa.select(Enrollment).where(Enrollment.user_id == trainee.id))
    assert enrollment.completed_at is not None
    # The course's completion listeners ran once: one certificate, one message.
    from lms.certificates.models import Certificate
    from lms.notifications.models import Notification

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.user_id == trainee.id)) == 1


def test_the_same_event_sent_twice_at_once_is_applied_once(app, two_phones):
    course, trainee, tab, other_tab = two_phones
    lesson = add_video_lesson(course, duration_s=60)
    event = _event(lesson.id, segments=[[0, 30]], position_s=30)
    results = _at_once(partial(tab.send, event), partial(other_tab.send, event))
    assert sorted(r.json["results"][0]["status"] for r in results) == ["applied", "duplicate"]
    _forget_what_this_thread_read()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEvent)) == 1


# --- A crash between the event's id and its effect ------------------------------------------


def _record_then_die(database_uri: str, instance: str, user_id: int, event: dict) -> None:
    """In a child process: apply the event up to its effect, then die as a killed worker does."""
    from lms import create_app
    from lms.accounts.models import User
    from tests.conftest import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_uri, "INSTANCE_PATH": instance})
    with app.test_request_context("/api/v1/progress/batch", method="POST"):
        original = services._apply_position

        def killed_here(*args, **kwargs):
            db.session.flush()  # the id is written; the worker dies before the request commits
            os._exit(9)

        services._apply_position = killed_here
        try:
            services.record_event(db.session.get(User, user_id), services.ProgressEventData(
                id=event["id"], lesson_id=event["lesson_id"], kind="position", occurred_at=utcnow(),
                position_s=event["position_s"], segments=tuple(map(tuple, event["segments"]))))
            db.session.commit()
        finally:
            services._apply_position = original
    os._exit(0)


def test_an_event_whose_worker_died_before_its_effect_is_applied_when_sent_again(app, tmp_path):
    course = make_course(lessons=0)
    lesson = add_video_lesson(course, duration_s=60)
    trainee = make_trainee(enrolled_in=course)
    opened(trainee, lesson)
    event = _event(lesson.id, segments=[[0, 30]], position_s=30)
    db.session.commit()
    child = multiprocessing.get_context("fork").Process(target=_record_then_die, args=(
        app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path / "child"), trainee.id, event))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 9  # it died where it was meant to
    _forget_what_this_thread_read()
    assert db.session.get(ProgressEvent, event["id"]) is None  # nothing of it was kept

    phone = Phone(app, trainee.phone)
    result = phone.send(event).json["results"][0]
    assert result["status"] == "applied"
    assert result["progress"]["watched_percent"] == 50


def test_a_refused_event_keeps_no_id_and_can_be_sent_again_once_fixed(app, two_phones):
    """A completion button event on a video is refused (422): its id is not taken."""
    course, trainee, tab, _ = two_phones
    lesson = add_video_lesson(course, duration_s=60)
    event = _event(lesson.id, kind="complete")
    response = tab.send(event, _event(lesson.id, position_s=5))
    assert [r["status"] for r in response.json["results"]] == ["invalid", "applied"]
    _forget_what_this_thread_read()
    assert db.session.get(ProgressEvent, event["id"]) is None


def test_a_refused_single_event_keeps_no_id(app, two_phones):
    course, trainee, tab, _ = two_phones
    lesson = add_video_lesson(course, duration_s=60)
    event = _event(lesson.id, kind="complete")
    response = tab.client.post("/api/v1/progress", json=event, headers={"X-CSRFToken": tab.token})
    assert response.status_code == 422
    _forget_what_this_thread_read()
    assert db.session.get(ProgressEvent, event["id"]) is None
    assert lesson.kind == LessonKind.VIDEO
