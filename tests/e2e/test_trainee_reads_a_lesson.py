import re

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def test_demo_trainee_logs_in_on_a_phone_and_reads_a_lesson(live_server, phone_page):
    page = phone_page
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/")
    screenshot(page, "01-welcome")
    page.get_by_role("link", name="Đăng nhập").first.click()
    page.get_by_label("Số điện thoại").fill("0900 000 004")
    page.get_by_label("Mật khẩu").fill("demo12345")
    screenshot(page, "02-login")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/learn$"))
    page.goto(live_server + "/courses")
    assert page.get_by_role("heading", name="Viết bài bán hàng trên mạng xã hội").is_visible()
    screenshot(page, "03-catalogue")

    page.get_by_role("link", name="Viết bài bán hàng trên mạng xã hội").click()
    screenshot(page, "04-course")
    page.locator("ol.lessons a").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Video: Giới thiệu khoá học"
    assert page.locator("video source").get_attribute("src").endswith("/360p")
    screenshot(page, "04b-intro-video")
    page.get_by_role("link", name=re.compile("Tiếp")).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Ai là người mua hàng của tôi?"
    body = page.locator(".prose")
    assert len(body.inner_text().split()) > 300
    screenshot(page, "05-lesson")
    page.get_by_role("link", name=re.compile("Tiếp")).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Kể câu chuyện sản phẩm và làng nghề"

    # Nothing on the page is too small to tap or read on a phone.
    font_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.prose p')).fontSize)")
    assert font_size >= 16
    tap_heights = page.evaluate(
        "[...document.querySelectorAll('.prev-next a, .topbar summary')].map(e => e.getBoundingClientRect().height)"
    )
    assert tap_heights and min(tap_heights) >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []


def test_wrong_password_shows_a_message_and_the_menu_switches_language(live_server, phone_page):
    page = phone_page
    page.goto(live_server + "/login")
    page.get_by_label("Số điện thoại").fill("0900000004")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.get_by_role("alert").inner_text().startswith("Số điện thoại hoặc mật khẩu không đúng")
    page.locator("summary").click()
    screenshot(page, "06-menu")
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Log in"
