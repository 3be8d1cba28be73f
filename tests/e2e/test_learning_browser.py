"""On a phone-sized Chromium: a lesson page whose session ended elsewhere keeps its progress and asks to log in.

The events are put where the player kept them before the IndexedDB outbox (localStorage): the outbox
takes them over on its next try, so these also check that nothing kept there is lost."""

import uuid

import pytest

from lms.core.extensions import db
from lms.learning.models import LessonProgress
from tests.conftest import wait_until_logged_in
from tests.factories import DEFAULT_PASSWORD, make_course, make_trainee

pytestmark = pytest.mark.e2e

OUTBOX = "() => window.LmsOutbox.items()"
LEGACY = "localStorage.getItem('lms-progress-outbox')"


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
    wait_until_logged_in(page)
    page.goto(f"{served}/courses/{course.slug}/lessons/{lesson.slug}")
    message = page.locator("[data-outbox-status]").get_attribute("data-msg-login")
    assert message

    trainee.auth_epoch += 1  # the password changed on another phone: this session is over, its cookie stays
    db.session.commit()
    page.evaluate(f"""() => {{
        localStorage.setItem('lms-progress-outbox', JSON.stringify([{{id: '{uuid.uuid4()}',
            lesson_id: {lesson.id}, kind: 'complete', occurred_at: new Date().toISOString()}}]));
        window.dispatchEvent(new Event('online'));
    }}""")

    status = page.locator("[data-outbox-login]")
    status.wait_for()
    assert status.inner_text() == message
    assert answers == [401]
    assert len(page.evaluate(OUTBOX)) == 1  # kept, to be sent after logging in again
    assert page.evaluate(LEGACY) is None  # moved, not copied: it is sent once
    db.session.expire_all()
    assert db.session.query(LessonProgress).filter(LessonProgress.completed_at.is_not(None)).count() == 0


def _wait_until_outbox_is_empty(page, seconds=15):
    # wait_for_function evaluates a string, which the app's CSP forbids: poll instead.
    for _ in range(seconds * 4):
        if not [item for item in page.evaluate(OUTBOX) if item["status"] == "waiting"]:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the outbox still holds {page.evaluate(OUTBOX)}")


def _log_in(page, served, phone):
    page.goto(served + "/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    wait_until_logged_in(page)


def test_after_the_session_expired_the_player_asks_to_log_in_then_resumes(served, phone_page, app):
    course = make_course(lessons=1)
    lesson = course.modules[0].lessons[0]
    trainee = make_trainee(enrolled_in=course)
    db.session.commit()
    page = phone_page
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/v1/progress/batch") else None)
    _log_in(page, served, trainee.phone)
    url = f"{served}/courses/{course.slug}/lessons/{lesson.slug}"
    page.goto(url)
    page.context.clear_cookies()  # the session cookie expired (no remembered login either)
    page.evaluate(f"""() => {{
        localStorage.setItem('lms-progress-outbox', JSON.stringify([{{id: '{uuid.uuid4()}',
            lesson_id: {lesson.id}, kind: 'complete', occurred_at: new Date().toISOString()}}]));
        window.dispatchEvent(new Event('online'));
    }}""")
    link = page.locator("[data-outbox-login]")
    link.wait_for()
    assert answers == [401] and len(page.evaluate(OUTBOX)) == 1
    link.click()
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=phone]", trainee.phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(url)
    _wait_until_outbox_is_empty(page)
    assert answers == [401, 200]
    db.session.expire_all()
    assert db.session.query(LessonProgress).filter(LessonProgress.completed_at.is_not(None)).count() == 1


def test_a_refused_event_is_set_aside_and_the_others_are_sent(served, phone_page, app):
    course = make_course(lessons=1)
    lesson = course.modules[0].lessons[0]
    trainee = make_trainee(enrolled_in=course)
    db.session.commit()
    page = phone_page
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/v1/progress/batch") else None)
    _log_in(page, served, trainee.phone)
    page.goto(f"{served}/courses/{course.slug}/lessons/{lesson.slug}")
    bad = str(uuid.uuid4())
    page.evaluate(f"""() => {{
        localStorage.setItem('lms-progress-outbox', JSON.stringify([
            {{id: '{bad}', lesson_id: {lesson.id}, kind: 'open', occurred_at: '0018-03-01T10:00:00+07:00'}},
            {{id: '{uuid.uuid4()}', lesson_id: {lesson.id}, kind: 'complete', occurred_at: new Date().toISOString()}}]));
        window.dispatchEvent(new Event('online'));
    }}""")
    _wait_until_outbox_is_empty(page)
    assert answers == [422, 200]
    rejected = page.evaluate(OUTBOX)
    assert [(e["id"], e["status"]) for e in rejected] == [(bad, "refused")]
    assert "ngày" in rejected[0]["last_error"]  # the server's reason, kept with the item and shown
    assert "máy chủ không nhận" in page.locator("[data-outbox-status] .outbox-refused").inner_text()
    db.session.expire_all()
    assert db.session.query(LessonProgress).filter(LessonProgress.completed_at.is_not(None)).count() == 1
