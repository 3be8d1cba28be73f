"""On a phone-sized Chromium, an organizer opens the programme dashboard and follows a number to its list."""

import re

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def test_an_organizer_follows_each_funnel_number_to_a_list_as_long(demo_site, phone_page):
    from playwright.sync_api import expect

    from tests.conftest import wait_until_logged_in

    page = phone_page
    page.goto(demo_site.base_url + "/login")
    page.get_by_label("Số điện thoại").fill("0900000002")
    page.get_by_label("Mật khẩu").fill(demo_site.password)
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)
    page.goto(demo_site.base_url + "/reports")
    expect(page.get_by_role("heading", name="Chương trình")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "reports-dashboard")
    numbers = page.locator("a.funnel-number")
    assert numbers.count() == 6
    for i in range(numbers.count()):
        number = int(numbers.nth(i).inner_text().replace(".", ""))
        numbers.nth(i).click()
        expect(page.locator(".list-count")).to_have_text(re.compile(rf"^{number} lượt ghi danh$"))
        assert page.locator("ul.cards > li.card").count() == min(number, 50)
        page.go_back()
    screenshot(page, "reports-dashboard-after")


def test_a_commune_official_lands_on_their_commune_s_figures_and_sees_no_staff_pages(demo_site, phone_page):
    from playwright.sync_api import expect

    from tests.conftest import wait_until_logged_in

    page = phone_page
    page.goto(demo_site.base_url + "/login")
    page.get_by_label("Số điện thoại").fill(demo_site.accounts["official"])
    page.get_by_label("Mật khẩu").fill(demo_site.password)
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)
    page.goto(demo_site.base_url + "/")
    assert page.url.startswith(demo_site.base_url + "/reports")
    expect(page.locator(".scope-note")).to_have_text("Học viên sống tại: Xã Chuyên Mỹ")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "reports-official")
    communes = page.locator("#by-commune tbody tr")
    assert communes.count() == 1 and "Xã Chuyên Mỹ" in communes.first.inner_text()
    enrolled = int(page.locator("a.funnel-number").first.inner_text().replace(".", ""))
    assert enrolled > 0
    page.locator("a.funnel-number").first.click()
    expect(page.locator(".list-count")).to_have_text(re.compile(rf"^{enrolled} lượt ghi danh$"))
    assert "***" in page.locator("ul.cards > li.card").first.inner_text()  # phones masked for an official
    for path in ("/cohorts", "/users", "/reports/attendance", "/courses/manage"):
        assert page.goto(demo_site.base_url + path).status == 403, path


def test_an_organizer_finds_a_trainee_in_a_list_without_tone_marks_and_downloads_the_list(demo_site, phone_page, tmp_path):
    import openpyxl
    from playwright.sync_api import expect

    from tests.conftest import wait_until_logged_in

    page = phone_page
    page.goto(demo_site.base_url + "/login")
    page.get_by_label("Số điện thoại").fill(demo_site.accounts["organizer"])
    page.get_by_label("Mật khẩu").fill(demo_site.password)
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)
    page.goto(demo_site.base_url + "/reports")
    page.locator("a.funnel-number").first.click()
    total = page.locator(".list-count").inner_text()
    page.get_by_placeholder("Tên hoặc số điện thoại").fill("le thi huong")  # the demo trainee, Lê Thị Hường
    page.get_by_role("button", name="Tìm").click()
    expect(page.locator(".search-count")).to_contain_text("khớp với “le thi huong”")
    assert page.locator(".list-count").inner_text() == total  # the figure's number stays the figure's
    cards = page.locator("ul.cards > li.card")
    assert cards.count() >= 1 and all("Lê Thị Hường" in cards.nth(i).inner_text() for i in range(cards.count()))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "reports-list-search")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải về (Excel)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0][0] == "Họ và tên" and len(rows) - 1 == cards.count()
    assert all(row[0] == "Lê Thị Hường" for row in rows[1:])
