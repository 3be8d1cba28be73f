"""On a phone-sized Chromium: "Tôi đã học xong" tapped offline waits on the phone, shown as not sent,
reaches the server exactly once when the network is back (after logging in again if the session ended),
and the instructor sees when the phone last synced."""

import re

import pytest
import sqlalchemy as sa

from lms.core.extensions import db
from lms.courses import services as courses
from lms.learning.models import LessonProgress, ProgressEvent, SyncStatus
from tests.e2e.conftest import log_in_with_the_form, screenshot
from tests.factories import DEFAULT_PASSWORD, instructor_of, make_course, make_trainee

pytestmark = pytest.mark.e2e

ITEMS = "() => window.LmsOutbox.items()"


def _wait_for(page, check, seconds=15):
    # wait_for_function evaluates a string, which the app's CSP forbids: poll instead.
    for _ in range(seconds * 4):
        if check():
            return
        page.wait_for_timeout(250)
    raise AssertionError("waited in vain")


def _completions(lesson):
    db.session.rollback()  # a fresh read: the server thread committed in its own sessions
    events = db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEvent)
                               .where(ProgressEvent.lesson_id == lesson.id, ProgressEvent.kind == "complete"))
    done = db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)
                             .where(LessonProgress.lesson_id == lesson.id, LessonProgress.completed_at.is_not(None)))
    return events, done


def _tap_done_offline(page):
    page.context.set_offline(True)
    page.get_by_role("button", name=re.compile("Tôi đã học xong")).click()
    pending = page.locator("[data-done-pending]")
    pending.wait_for()
    assert "chưa gửi" in pending.inner_text()
    count = page.locator("[data-outbox-status] .outbox-count")
    count.wait_for()
    assert count.inner_text() == "1 việc chưa gửi"


def test_done_offline_waits_on_the_phone_then_reaches_the_server_once_and_the_instructor_sees_the_sync(
        served, phone_page, new_phone_page, app):
    course = make_course(lessons=2)
    lesson = courses.ordered_lessons(course)[0]
    trainee = make_trainee(enrolled_in=course, full_name="Nguyễn Thị Hường")
    instructor = instructor_of(course)
    db.session.commit()
    page = phone_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in_with_the_form(page, served, trainee.phone)
    page.goto(f"{served}/courses/{course.slug}/lessons/{lesson.slug}")

    _tap_done_offline(page)
    assert len(page.evaluate(ITEMS)) == 1
    screenshot(page, "60-done-offline-not-sent")
    assert _completions(lesson) == (0, 0)

    page.context.set_offline(False)  # the browser fires "online": the outbox drains by itself
    synced = page.locator("[data-outbox-status] .outbox-synced")
    synced.wait_for()
    assert re.fullmatch(r"Đã đồng bộ lúc \d\d:\d\d", synced.inner_text())
    assert page.evaluate(ITEMS) == []
    assert page.locator("[data-done-pending]").is_hidden()
    screenshot(page, "61-done-synced")
    assert _completions(lesson) == (1, 1)
    _wait_for(page, lambda: db.session.rollback() or db.session.get(SyncStatus, trainee.id) is not None)
    status = db.session.get(SyncStatus, trainee.id)
    assert status.waiting == 0 and status.last_synced_at is not None

    # Sending again (another page open, another "online") changes nothing on the server.
    page.evaluate("() => window.LmsOutbox.drain()")
    page.goto(f"{served}/courses/{course.slug}")
    assert page.locator("li.done").count() == 1
    assert _completions(lesson) == (1, 1)
    assert errors == []

    staff = new_phone_page()
    log_in_with_the_form(staff, served, instructor.phone)
    staff.goto(f"{served}/courses/{course.slug}/learners")
    card = staff.locator(".card", has_text="Nguyễn Thị Hường")
    assert re.search(r"Đồng bộ lần cuối: \d\d:\d\d \d+/\d+/\d\d", card.inner_text())
    assert "chưa gửi" not in card.inner_text()
    screenshot(staff, "62-learners-last-sync")


def test_a_session_ended_offline_keeps_the_queue_asks_to_log_in_and_never_sends_it_as_someone_else(
        served, phone_page, app):
    course = make_course(lessons=2)
    lesson = courses.ordered_lessons(course)[0]
    trainee = make_trainee(enrolled_in=course)
    neighbour = make_trainee(enrolled_in=course)  # borrows the phone while the trainee is logged out
    db.session.commit()
    page = phone_page
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/v1/progress/batch") else None)
    log_in_with_the_form(page, served, trainee.phone)
    url = f"{served}/courses/{course.slug}/lessons/{lesson.slug}"
    page.goto(url)

    _tap_done_offline(page)
    page.context.clear_cookies()  # the session expired while offline
    page.context.set_offline(False)
    link = page.locator("[data-outbox-login]")
    link.wait_for()
    assert link.inner_text() == "Vui lòng đăng nhập lại để lưu kết quả học."
    assert answers == [401] and len(page.evaluate(ITEMS)) == 1
    screenshot(page, "63-session-ended-log-in-again")

    # Someone else logs in on this phone: the trainee's item is neither sent as theirs nor shown to them.
    log_in_with_the_form(page, served, neighbour.phone)
    page.goto(url)
    page.wait_for_timeout(1000)
    assert page.locator("[data-outbox-status]").is_hidden()
    assert page.evaluate(ITEMS) == [] and answers == [401]
    assert _completions(lesson) == (0, 0)
    page.context.clear_cookies()

    page.goto(url)  # the lesson asks for the login and comes back here
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=phone]", trainee.phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(url)
    page.locator("[data-outbox-status] .outbox-synced").wait_for()
    assert page.evaluate(ITEMS) == [] and answers == [401, 200]
    assert _completions(lesson) == (1, 1)
    screenshot(page, "64-sent-after-logging-in")


def test_a_code_typed_offline_checks_in_as_of_the_moment_typed_and_a_wrong_one_stays_with_the_reason(
        served, phone_page, app):
    from lms.attendance import checkin
    from lms.attendance.models import AttendanceRecord, AttendanceStatus
    from tests.factories import make_class, session_now

    cohort, _instructor, (huong, _binh) = make_class()
    session = session_now(cohort, started_minutes_ago=2)
    page = phone_page
    log_in_with_the_form(page, served, huong.phone)
    page.goto(f"{served}/check-in")
    page.context.set_offline(True)
    page.locator("input[name=code]").fill("000000" if checkin.make_code(session) != "000000" else "111111")
    page.locator("main form.checkin-form button[type=submit]").click()
    page.locator("input[name=code]").fill(checkin.make_code(session))
    page.locator("main form.checkin-form button[type=submit]").click()
    page.locator("[data-check-in-pending]").wait_for()
    from playwright.sync_api import expect

    # The counter is redrawn once IndexedDB has stored the second code: wait for it, as a person would.
    expect(page.locator("[data-outbox-status] .outbox-count")).to_have_text("2 việc chưa gửi")
    screenshot(page, "65-check-in-code-offline")

    page.context.set_offline(False)
    refused = page.locator("[data-outbox-status] .outbox-refused")
    refused.wait_for()
    assert "Mã này không đúng" in refused.inner_text()  # the wrong one stays, with the server's reason
    _wait_for(page, lambda: [i["status"] for i in page.evaluate(ITEMS)] == ["refused"])
    page.locator("[data-check-in-pending]").wait_for(state="hidden")
    assert page.locator("[data-outbox-status] .outbox-count").inner_text() == "1 việc chưa gửi"
    screenshot(page, "66-check-in-refused-kept")
    db.session.rollback()
    record = db.session.scalars(sa.select(AttendanceRecord)).one()
    assert record.status == AttendanceStatus.PRESENT and record.user_id == huong.id
