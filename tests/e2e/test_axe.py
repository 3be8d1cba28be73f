"""axe-core finds no accessibility violation on the main pages of the trainee, instructor and organizer at 390×844.

axe is injected by Playwright in a context that bypasses the CSP: the app's own CSP stays as strict as it is.
"""

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import wait_until_logged_in
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
QUIZ = "/courses/viet-bai-ban-hang/lessons/kiem-tra-giua-khoa"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => `${v.id} (${v.impact}): ` + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""


@pytest.fixture
def axe_page(browser):
    """Open a phone-sized page that may have axe injected (bypass_csp affects only this test context)."""
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run `make e2e` (it runs `npm ci`)")
    contexts = []

    def open_page():
        from tests.conftest import PHONE

        context = browser.new_context(**{**PHONE, "locale": "vi-VN"}, bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, base, phone):
    page.goto(base + "/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", "demo12345")
    page.locator("main form button[type=submit]").click()
    wait_until_logged_in(page)


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)


def check(page, name: str) -> list[str]:
    found = [f"{page.url}: {v}" for v in violations(page)]
    screenshot(page, f"axe-{name}")
    return found


def test_trainee_pages_have_no_axe_violations(live_server, axe_page):
    page = axe_page()
    log_in(page, live_server, "0900000004")
    found = []
    for name, path in [("learn", "/learn"), ("course", "/courses/viet-bai-ban-hang"),
                       ("lesson", "/courses/viet-bai-ban-hang/lessons/video-gioi-thieu"),
                       ("my-data", "/my/data"), ("my-data-correct", "/my/data/profile"),
                       ("quiz-lesson", QUIZ), ("quiz", QUIZ + "/quiz/attempt")]:
        page.goto(live_server + path)
        assert page.url.endswith(path)
        found += check(page, f"trainee-{name}")
    # Answer every question with its first choice and look at the result, with its answer tags.
    for group in page.locator("main fieldset").all():
        group.locator("input").first.check()
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert "/quiz/attempts/" in page.url
    tag = page.locator(".answer-tag").first
    assert tag.evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(255, 255, 255)"  # a tag, not an empty box
    found += check(page, "trainee-quiz-result")
    assert found == []


def test_admin_audit_log_has_no_axe_violations(live_server, axe_page):
    page = axe_page()
    log_in(page, live_server, "0900000001")
    page.goto(live_server + "/admin/audit")
    page.locator("details.add-box summary").click()
    assert check(page, "admin-audit") == []


def test_instructor_pages_have_no_axe_violations(live_server, axe_page):
    page = axe_page()
    log_in(page, live_server, "0900000003")
    found = []
    for name, path in [("home", "/"), ("course-editor", "/courses/viet-bai-ban-hang/edit"), ("review-queue", "/review")]:
        page.goto(live_server + path)
        assert page.url.startswith(live_server + path.rstrip("/"))
        found += check(page, f"instructor-{name}")
    page.goto(live_server + "/courses/viet-bai-ban-hang/edit")
    page.locator(".rename-module summary").first.click()
    found += check(page, "instructor-rename-part")
    assert found == []


def test_organizer_pages_have_no_axe_violations_and_the_preview_fits_the_phone(live_server, axe_page, tmp_path):
    page = axe_page()
    log_in(page, live_server, "0900000002")
    found = []
    for name, path in [("home", "/"), ("classes", "/cohorts"), ("class", "/cohorts/PX-LIVE-01"),
                       ("programme", "/reports"), ("programme-list", "/reports/trainees/enrolled"),
                       ("import", "/cohorts/PX-LIVE-01/import")]:  # last: the preview below starts from it
        page.goto(live_server + path)
        assert page.url.startswith(live_server + path.rstrip("/"))
        found += check(page, f"organizer-{name}")
    # A list with long unbroken cells and broken rows: the preview wraps instead of scrolling sideways.
    rows = [["Họ và tên", "Số điện thoại", "Ngày sinh"]]
    rows += [[f"Nguyễn Thị Học Viên {i}", f"0915{i:06d}", "15/03/1985"] for i in range(12)]
    rows += [["Trần Văn Tên Rất Dàiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", "12345", "31/02/1990"]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    listing = tmp_path / "danh-sach.csv"
    listing.write_text(buffer.getvalue(), encoding="utf-8")
    page.set_input_files("input[type=file]", str(listing))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    disabled = page.locator("button[disabled]")
    assert disabled.inner_text().strip() == "Nhập 12 học viên hợp lệ"
    assert disabled.evaluate("e => getComputedStyle(e).cursor") == "not-allowed"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    found += check(page, "organizer-import-preview")
    assert found == []
