"""An organizer on a phone edits a class (commune and instructors), reads its history and schedules a Mon + Thu series."""

import re

import pytest

from tests.conftest import wait_until_logged_in
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

CLASS = "PX-QVQC-01"  # the demo trainee and classmates are in it: more than one trainee


def login(page, base, phone):
    page.goto(base + "/login")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill("demo12345")
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)


def test_organizer_edits_a_class_reads_its_history_and_schedules_a_weekly_series(live_server, phone_page):
    page = phone_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    login(page, live_server, "0900000002")

    # Edit: another province's Phú Xuyên, and the instructors ticked the other way round.
    page.goto(f"{live_server}/cohorts/{CLASS}")
    page.get_by_role("link", name="Sửa thông tin lớp").click()
    page.wait_for_url(re.compile(rf"/cohorts/{CLASS}/edit$"))
    page.get_by_label("Tỉnh / thành phố").select_option(label="Thái Nguyên")
    page.wait_for_function("document.querySelector('select[name=commune]').options.length > 5")
    page.get_by_label("Xã / phường").select_option(label="Xã Phú Xuyên")
    boxes = page.locator("input[name=instructors]")
    before = [boxes.nth(i).is_checked() for i in range(boxes.count())]
    assert before, "the demo has instructors to choose from"
    for i, checked in enumerate(before):
        boxes.nth(i).set_checked(not checked)
    page.get_by_label("Sĩ số tối đa").fill("1")  # fewer than the class's trainees
    page.get_by_role("button", name="Lưu thay đổi").click()
    assert page.get_by_text(re.compile(r"Lớp đã có \d+ học viên: sĩ số tối đa không thể ít hơn")).is_visible()
    assert page.get_by_label("Xã / phường").input_value() != "0"  # what was chosen is still there
    page.get_by_label("Sĩ số tối đa").fill("")
    page.get_by_role("button", name="Lưu thay đổi").click()
    page.wait_for_url(re.compile(rf"/cohorts/{CLASS}$"))
    assert page.get_by_text(re.compile(r"Đã lưu: Xã / phường, .*Giảng viên\.")).is_visible()
    assert page.get_by_text("Xã Phú Xuyên", exact=True).is_visible()
    screenshot(page, "organizer-class-edited")

    # History: readable old and new values, the organizer's name, Vietnam time.
    page.get_by_role("link", name="Lịch sử thay đổi").click()
    page.wait_for_url(re.compile(rf"/cohorts/{CLASS}/history$"))
    cards = page.locator(".card")
    assert cards.filter(has_text="Xã Phú Xuyên, Thái Nguyên").count() == 1
    assert cards.filter(has_text="Giảng viên").count() == 1
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d · ", cards.first.inner_text())
    screenshot(page, "organizer-class-history")

    # A weekly series: nothing ticked is refused in Vietnamese with the inputs kept, then Mon + Thu.
    page.goto(f"{live_server}/cohorts/{CLASS}")
    page.get_by_text("+ Thêm các buổi học hằng tuần").click()
    form = page.locator("form:has(input[name=kind][value=series])")
    form.get_by_label("Ngày").fill("2027-01-04")
    form.get_by_label("Giờ bắt đầu").fill("19:00")
    form.get_by_label("Giờ kết thúc").fill("21:00")
    form.get_by_label("Số buổi học").fill("4")
    form.get_by_label("Chủ đề").fill("Dựng video")
    form.get_by_role("button", name="Xếp lịch các buổi học").click()
    assert page.get_by_text("Hãy chọn ít nhất một ngày trong tuần.").is_visible()
    assert page.get_by_label("Chủ đề").input_value() == "Dựng video"
    assert page.get_by_label("Số buổi học").input_value() == "4"
    page.get_by_label("Thứ Hai").check()
    page.get_by_label("Thứ Năm").check()
    page.get_by_role("button", name="Xếp lịch các buổi học").click()
    page.wait_for_url(re.compile(rf"/cohorts/{CLASS}(#sessions)?$"))
    assert page.get_by_text("Đã xếp lịch 4 buổi học.").count() == 1
    days = page.locator("#sessions .card strong").all_inner_texts()
    new = [d for d in days if "/01/2027" in d]
    assert new == ["Thứ Hai 04/01/2027 19:00 – 21:00", "Thứ Năm 07/01/2027 19:00 – 21:00",
                   "Thứ Hai 11/01/2027 19:00 – 21:00", "Thứ Năm 14/01/2027 19:00 – 21:00"]
    screenshot(page, "organizer-weekly-series")
    assert problems == []
