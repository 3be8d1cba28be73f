"""On a phone-sized Chromium: a lesson page whose session ended elsewhere keeps its progress and asks to log in."""

import uuid

import pytest

from lms.extensions import db
from lms.learning.models import LessonProgress
from tests.factories import DEFAULT_PASSWORD, make_course, make_trainee

pytestmark = pytest.mark.e2e

OUTBOX = "JSON.parse(localStorage.getItem('lms-progress-outbox') || '[]')"


def test_progress_sent_after_the_session_ended_stays_on_the_phone_with_a_log_in_message(served, phone_page, app):
    course = make_course(lessons=1)
    lesson = course.modules[0].lessons[0]
    trainee = make_trainee(enrolled_in=course)
    db.session.commit()  # nothing left open: the server thread works with its own sessions from here on

    page = phone_page
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/v1/progress/batch") else None)
    page.goto(served + "/login")
    page.fill("input[name=phone]", trainee.phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{served}/courses/{course.slug}/lessons/{lesson.slug}")
    message = page.locator("[data-lesson]").get_attribute("data-msg-login")
    assert message

    trainee.auth_epoch += 1  # the password changed on another phone: this session is over, its cookie stays
    db.session.commit()
    page.evaluate(f"""() => {{
        localStorage.setItem('lms-progress-outbox', JSON.stringify([{{id: '{uuid.uuid4()}',
            lesson_id: {lesson.id}, kind: 'complete', occurred_at: new Date().toISOString()}}]));
        window.dispatchEvent(new Event('online'));
    }}""")

    status = page.locator("[data-sync-status]")
    status.wait_for()
    assert status.inner_text() == message
    assert answers == [401]
    assert len(page.evaluate(OUTBOX)) == 1  # kept, to be sent after logging in again
    db.session.expire_all()
    assert db.session.query(LessonProgress).filter(LessonProgress.completed_at.is_not(None)).count() == 0
