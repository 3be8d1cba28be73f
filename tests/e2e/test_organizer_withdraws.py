"""The organizer withdraws a trainee from a class on a phone, through the confirmation page, with JavaScript off."""

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def test_organizer_withdraws_a_trainee_after_confirming(live_server, new_phone_page):
    page = new_phone_page(java_script_enabled=False)  # the confirmation must not depend on a script
    page.goto(live_server + "/login")
    page.get_by_label("Số điện thoại").fill("0900000002")
    page.get_by_label("Mật khẩu").fill("demo12345")
    page.get_by_role("button", name="Đăng nhập").click()

    def find_bao():
        page.goto(live_server + "/cohorts/PX-LIVE-02")
        page.get_by_label("Tìm theo tên hoặc số điện thoại").fill("bao")  # tone-insensitive, as typed on a phone
        page.get_by_role("button", name="Tìm kiếm").click()
        return page.locator("#members .card").filter(has_text="Lê Văn Bảo")

    find_bao().get_by_role("link", name="Rút khỏi lớp").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Rút Lê Văn Bảo khỏi lớp PX-LIVE-02?"
    assert page.get_by_text("Tiến độ học và điểm danh vẫn được giữ.").is_visible()
    screenshot(page, "organizer-withdraw-confirm")

    page.get_by_role("link", name="Không, quay lại").click()  # changing one's mind changes nothing
    assert find_bao().count() == 1

    find_bao().get_by_role("link", name="Rút khỏi lớp").click()
    page.get_by_role("button", name="Đồng ý, rút Lê Văn Bảo").click()
    assert page.get_by_text("Lê Văn Bảo đã được rút khỏi lớp.").is_visible()
    screenshot(page, "organizer-withdraw-done")
    assert find_bao().count() == 0
