"""An organizer moves a session on a phone; the trainee finds the message under "Tin nhắn" and opens it."""

from datetime import date, time

import pytest

from lms.accounts.models import Role
from lms.cohorts import services as cohorts
from lms.core.extensions import db
from tests.conftest import wait_until_logged_in
from tests.e2e.conftest import screenshot
from tests.factories import DEFAULT_PASSWORD, make_course, make_trainee, make_user

pytestmark = pytest.mark.e2e


def login(page, base, phone):
    page.goto(base + "/login")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)


def test_a_moved_session_reaches_the_trainees_messages(app, served, new_phone_page):
    trainee = make_trainee(full_name="Phạm Thị Lan")
    organizer = make_user(Role.ORGANIZER, full_name="Nguyễn Văn Tổ")
    cohort = cohorts.create_cohort(code="PX-01", course=make_course(), name="Lớp Chuyên Mỹ", commune_code=10330,
                                   venue="Nhà văn hoá thôn Chuôn Ngọ")
    cohorts.add_member(cohort, trainee)
    session = cohorts.add_session(cohort, day=date(2026, 12, 10), start=time(8, 0), end=time(10, 0))
    db.session.commit()

    staff = new_phone_page()
    login(staff, served, organizer.phone)
    staff.goto(f"{served}/cohorts/PX-01/sessions/{session.id}/edit")
    staff.get_by_label("Giờ bắt đầu").fill("14:00")
    staff.get_by_label("Giờ kết thúc").fill("16:00")
    staff.get_by_role("button", name="Lưu thời gian mới").click()
    staff.wait_for_load_state()
    assert "/cohorts/PX-01" in staff.url

    page = new_phone_page()
    login(page, served, trainee.phone)
    menu = page.locator("summary")
    assert menu.locator(".badge").inner_text().split()[0] == "2"  # joined the class, then the session moved
    menu.click()
    page.locator(".menu nav").get_by_role("link", name="Tin nhắn 2 mới").click()
    page.wait_for_load_state()
    assert page.locator(".card.unread").count() == 2
    page.reload()
    assert page.locator(".card.unread").count() == 2  # looking is not reading
    moved = page.locator(".card", has_text="đã đổi lịch")
    assert "10/12/2026 08:00" in moved.inner_text() and "14:00" in moved.inner_text()
    screenshot(page, "60-messages")
    moved.get_by_role("button", name="Mở").click()
    page.wait_for_load_state()
    assert page.url.endswith("/my/attendance")
    assert page.locator("summary .badge").inner_text().split()[0] == "1"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
