"""The organizer's journey through a big class on a phone: import, search without tones, turn the page."""

import re

import pytest

from lms.core.text import fold_diacritics, name_order
from tests.conftest import wait_until_logged_in
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Đỗ", "Dương"]
GIVEN = ["Hường", "Lan", "Ánh", "Bình", "Đức", "Thảo", "Yến", "Cường", "Mai", "Sơn"]


def trainee_list(count: int) -> bytes:
    lines = ["Họ và tên,Số điện thoại"]
    lines += [f"{FAMILY[n % 6]} Thị {GIVEN[n // 6 % 10]},0975{n:06d}" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


def names_listed(page) -> list[str]:
    return page.locator("#members .card > strong").all_inner_texts()


def test_organizer_finds_a_trainee_without_tones_and_turns_to_page_two(live_server, phone_page, tmp_path):
    page = phone_page
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/login")
    page.get_by_label("Số điện thoại").fill("0900000002")
    page.get_by_label("Mật khẩu").fill("demo12345")
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)

    # A class of more than one page: the organizer imports 70 trainees into it first.
    page.goto(live_server + "/cohorts")
    page.get_by_role("link", name=re.compile("PX-VBBH-02")).first.click()
    page.get_by_role("link", name="Nhập danh sách học viên từ Excel").click()
    upload = tmp_path / "danh-sach.csv"
    upload.write_bytes(trainee_list(70))
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="Kiểm tra danh sách").click()
    page.locator("form button[type=submit]", has_text="Nhập 70").click()
    page.wait_for_load_state()
    page.goto(live_server + "/cohorts/PX-VBBH-02")
    screenshot(page, "class-01-top")
    first_page = names_listed(page)
    assert len(first_page) == 50
    assert first_page == sorted(first_page, key=name_order)
    assert page.locator(".pager").inner_text().count("Trang 1 /") == 1

    # Typed without tone marks, as on a phone keyboard.
    page.locator("#q").fill("huong")
    page.locator("form.search button").click()
    page.wait_for_url(re.compile(r"q=huong"))
    found = names_listed(page)
    assert found and len(found) >= 7 and all("huong" in fold_diacritics(name).split() for name in found)
    assert "Dương Thị Hường" in found and "Đỗ Thị Hường" in found
    assert found.index("Dương Thị Hường") < found.index("Đỗ Thị Hường")  # D before Đ
    screenshot(page, "class-02-search-huong")

    page.get_by_role("link", name="Hiện tất cả").click()
    page.get_by_role("link", name=re.compile("Tiếp")).click()
    page.wait_for_url(re.compile(r"page=2"))
    second_page = names_listed(page)
    assert second_page and not set(second_page) & set(first_page)
    assert name_order(first_page[-1]) <= name_order(second_page[0])
    screenshot(page, "class-03-page-2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
