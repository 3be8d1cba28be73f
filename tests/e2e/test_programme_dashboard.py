"""On a phone-sized Chromium, an organizer opens the programme dashboard and follows a number to its list."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, log_in_with_the_form, screenshot

pytestmark = pytest.mark.e2e


def test_an_organizer_follows_each_funnel_number_to_a_list_as_long(demo_site, phone_page):
    from playwright.sync_api import expect

    page = phone_page
    log_in_with_the_form(page, demo_site.base_url, "0900000002", demo_site.password)
    page.goto(demo_site.base_url + "/reports")
    expect(page.get_by_role("heading", name="Chương trình")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "reports-dashboard")
    numbers = page.locator("a.funnel-number")
    assert numbers.count() == 7  # the funnel's four, active, stuck, certified in the period
    for i in range(numbers.count()):
        number = int(numbers.nth(i).inner_text().replace(".", ""))
        numbers.nth(i).click()
        expect(page.locator(".list-count")).to_have_text(re.compile(rf"^{number} lượt ghi danh$"))
        assert page.locator("ul.cards > li.card").count() == min(number, 50)
        page.go_back()
    screenshot(page, "reports-dashboard-after")


def test_a_commune_official_lands_on_their_commune_s_figures_and_sees_no_staff_pages(demo_site, phone_page):
    from playwright.sync_api import expect

    page = phone_page
    log_in_with_the_form(page, demo_site.base_url, demo_site.accounts["official"], demo_site.password)
    page.goto(demo_site.base_url + "/")
    assert page.url.startswith(demo_site.base_url + "/reports")
    expect(page.locator(".scope-note")).to_have_text("Học viên sống tại: Xã Chuyên Mỹ")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "reports-official")
    provinces = page.locator("#by-place-table tbody tr")
    assert provinces.count() == 1 and "Thành phố Hà Nội" in provinces.first.inner_text()
    provinces.first.locator("a.drill").click()
    communes = page.locator("#by-place-table tbody tr")
    assert communes.count() == 1 and "Xã Chuyên Mỹ" in communes.first.inner_text()
    page.goto(demo_site.base_url + "/reports")
    enrolled = int(page.locator("a.funnel-number").first.inner_text().replace(".", ""))
    assert enrolled > 0
    page.locator("a.funnel-number").first.click()
    expect(page.locator(".list-count")).to_have_text(re.compile(rf"^{enrolled} lượt ghi danh$"))
    assert "***" in page.locator("ul.cards > li.card").first.inner_text()  # phones masked for an official
    for path in ("/cohorts", "/users", "/reports/attendance", "/courses/manage"):
        assert page.goto(demo_site.base_url + path).status == 403, path


def _number(locator) -> int:
    return int(locator.inner_text().replace(".", ""))


def test_an_organizer_reads_the_charts_sorts_a_table_and_drills_down_to_a_village_s_list(demo_site, phone_page):
    from playwright.sync_api import expect

    page = phone_page
    log_in_with_the_form(page, demo_site.base_url, demo_site.accounts["organizer"], demo_site.password)
    page.goto(demo_site.base_url + "/reports")
    expect(page.locator(".attendance-rate")).to_have_text(re.compile(r"^\d+(,\d)?%$"))
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() >= 6  # the weeks, the certificates, courses, classes, places, crafts
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, chart.get_attribute("aria-label")
        assert chart.get_attribute("aria-label")
    screenshot(page, "reports-charts")
    page.locator("#weeks").screenshot(path=str(ARTIFACTS / "reports-weeks.png"))

    # Sort the classes by enrolments, largest first: the header says so, and the numbers go down.
    header = page.locator("#by-class-table thead th").nth(1)
    header.get_by_role("link").click()
    expect(page.locator("#by-class-table thead th").nth(1)).to_have_attribute("aria-sort", "descending")
    assert "sort=enrolled" in page.url and "dir=desc" in page.url
    enrolled = [_number(row.locator("td a").first) for row in page.locator("#by-class-table tbody tr").all()]
    assert len(enrolled) >= 2 and enrolled == sorted(enrolled, reverse=True)
    page.locator("#by-class-table thead th").nth(1).get_by_role("link").click()
    expect(page.locator("#by-class-table thead th").nth(1)).to_have_attribute("aria-sort", "ascending")
    enrolled = [_number(row.locator("td a").first) for row in page.locator("#by-class-table tbody tr").all()]
    assert enrolled == sorted(enrolled)

    # From the province to a commune to a village, then the village's number to its list.
    page.locator("#by-place-table a.drill", has_text="Thành phố Hà Nội").click()
    expect(page.locator("#by-place-title")).to_have_text("Các xã/phường của Thành phố Hà Nội")
    page.locator("#by-place-table a.drill", has_text="Xã Chuyên Mỹ").click()
    expect(page.locator("#by-place-title")).to_have_text("Các thôn/xóm của Xã Chuyên Mỹ")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#by-place").screenshot(path=str(ARTIFACTS / "reports-villages.png"))
    village = page.locator("#by-place-table tbody tr").first
    name = village.locator("th").inner_text()
    number = _number(village.locator("td a").first)
    assert number > 0
    village.locator("td a").first.click()
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator(".list-count")).to_have_text(re.compile(rf"^{number} lượt ghi danh$"))
    assert page.locator("ul.cards > li.card").count() == min(number, 50)
    assert name in page.locator("ul.cards > li.card").first.inner_text()  # "Xã Chuyên Mỹ · <village>"


def test_an_organizer_finds_a_trainee_in_a_list_without_tone_marks_and_downloads_the_list(demo_site, phone_page, tmp_path):
    import openpyxl
    from playwright.sync_api import expect

    page = phone_page
    log_in_with_the_form(page, demo_site.base_url, demo_site.accounts["organizer"], demo_site.password)
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
