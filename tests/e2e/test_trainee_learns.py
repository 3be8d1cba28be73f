"""The demo trainee continues learning on a phone: resume, video position, done button, offline outbox."""

import re

import pytest

from tests.conftest import wait_until_logged_in
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def login(page, base, phone="0900000004"):
    page.goto(base + "/login")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill("demo12345")
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)


def _wait_until_outbox_is_empty(page, seconds=15):
    for _ in range(seconds * 4):
        if not page.evaluate("() => window.LmsOutbox.items()"):
            return
        page.wait_for_timeout(250)
    raise AssertionError("the outbox did not empty")


def test_continue_button_video_resume_and_done(live_server, phone_page):
    page = phone_page
    login(page, live_server)
    assert page.url.endswith("/learn")
    screenshot(page, "20-learn-home")
    continue_button = page.locator("a.continue")
    assert continue_button.is_visible()
    course_title = page.locator(".continue-course").inner_text()
    continue_button.click()
    page.wait_for_load_state()
    assert "/lessons/" in page.url

    # Open the intro video of the livestream course, watch a little, pause: the position is saved.
    page.goto(live_server + "/courses/livestream-ban-hang/lessons/video-gioi-thieu")
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    posted = []
    page.on("request", lambda r: posted.append(r.post_data) if r.url.endswith("/api/v1/progress/batch") else None)
    page.evaluate("""async () => { const v = document.querySelector('video'); v.muted = true;
        await v.play(); await new Promise(r => setTimeout(r, 2500)); v.pause(); }""")
    _wait_until_outbox_is_empty(page)
    assert posted and '"kind":"position"' in posted[-1].replace(" ", "")
    page.reload()
    page.wait_for_function("document.querySelector('[data-lesson]').dataset.position > 1")
    screenshot(page, "21-video-lesson")
    assert course_title

    # A text lesson: "Nghe bài" is offered, its "Dừng" only while reading aloud.
    page.goto(live_server + "/courses/livestream-ban-hang/lessons/dung-goc-live")
    assert page.get_by_role("button", name=re.compile("Nghe bài")).is_visible()
    assert not page.get_by_role("button", name=re.compile("Dừng")).is_visible()
    # "Tôi đã học xong" moves on and the lesson shows as done in the course.
    page.get_by_role("button", name=re.compile("Tôi đã học xong")).click()
    page.wait_for_load_state()
    page.goto(live_server + "/courses/livestream-ban-hang")
    assert page.locator("li.done", has_text="Dựng góc livestream").count() == 1
    screenshot(page, "22-course-progress")


def test_done_while_offline_is_sent_when_back_online(live_server, phone_page):
    page, context = phone_page, phone_page.context
    login(page, live_server)
    page.goto(live_server + "/courses/quay-video-quang-cao/lessons/kich-ban-30-giay")
    context.set_offline(True)
    page.get_by_role("button", name=re.compile("Tôi đã học xong")).click()
    page.locator("[data-done-pending]").wait_for()
    outbox = page.evaluate("() => window.LmsOutbox.items()")
    assert len(outbox) == 1 and outbox[0]["kind"] == "done" and outbox[0]["body"]["kind"] == "complete"
    context.set_offline(False)
    page.goto(live_server + "/courses/quay-video-quang-cao/lessons/dung-video-capcut")
    _wait_until_outbox_is_empty(page)
    page.goto(live_server + "/courses/quay-video-quang-cao")
    assert page.locator("li.done", has_text="Viết kịch bản cho video 30 giây").count() == 1
