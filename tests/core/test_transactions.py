"""How transactions begin: SQLite writers queue up front, readers never wait, a busy database says so."""

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

import lms
from lms.core.extensions import db
from lms.learning import services
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee
from tests.learning.helpers import add_video_lesson


def _is_sqlite(app) -> bool:
    return db.engine.dialect.name == "sqlite"


def test_a_post_begins_as_a_writer_and_a_get_as_a_reader(app):
    if not _is_sqlite(app):
        pytest.skip("SQLite's BEGIN modes")
    with app.test_request_context("/api/v1/progress/batch", method="POST"):
        db.session.connection()
        # A writer holds SQLite's write lock from BEGIN: another connection cannot write now.
        other = sqlite3.connect(db.engine.url.database, timeout=0.05, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        db.session.rollback()
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    with app.test_request_context("/learn", method="GET"):
        db.session.scalar(sa.text("SELECT 1"))
        other.execute("BEGIN IMMEDIATE")  # a reader blocks no writer
        other.execute("ROLLBACK")
        db.session.rollback()
    other.close()


def test_a_second_writer_waits_for_the_first_to_commit_then_goes(app, monkeypatch):
    """Writers take turns from their BEGIN (the process's lock, then SQLite's): none fails, none overlaps."""
    if not _is_sqlite(app):
        pytest.skip("SQLite's writer queue")
    monkeypatch.setattr(lms, "WRITER_WAIT_S", 10.0)
    first_holds, waited = threading.Event(), []

    def first():
        with app.app_context(), app.test_request_context("/x", method="POST"):
            db.session.execute(sa.text("SELECT 1"))
            first_holds.set()
            time.sleep(0.3)
            db.session.commit()

    def second():
        first_holds.wait()
        with app.app_context(), app.test_request_context("/x", method="POST"):
            started = time.monotonic()
            db.session.execute(sa.text("SELECT 1"))
            waited.append(time.monotonic() - started)
            db.session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(waited) == 1 and waited[0] >= 0.1  # it did wait for the first writer


def test_a_writer_that_waited_too_long_gets_503_and_nothing_is_saved(client, auth, app, monkeypatch):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=60)
    auth.login(make_trainee(enrolled_in=course).phone)
    token = csrf_token(client, "/learn")

    def busy(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(services, "record_event", busy)
    response = client.post("/api/v1/progress/batch", headers={"X-CSRFToken": token}, json={"events": [{
        "id": "0b6f4c1e-8d0a-4c39-9a0e-3f1f4a9b2c11", "lesson_id": video.id, "kind": "position",
        "occurred_at": "2026-12-01T10:00:00+07:00", "position_s": 5}]})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"] == "busy"
    assert "nhiều người" in response.json["detail"]
