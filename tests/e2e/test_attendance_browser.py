"""On phone-sized Chromium: a roll call of 40 saves taps in place and filters as you type; a trainee types
the code the instructor's check-in screen shows, and the screen's count goes up by itself."""

import re

import pytest

from lms.attendance import services
from lms.attendance.models import AttendanceStatus
from lms.core.extensions import db
from tests.conftest import wait_until_logged_in
from tests.factories import DEFAULT_PASSWORD, make_class, session_now

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 360, "height": 740}  # the roll call must fit a small Android phone
NAMES = [f"{family} {middle} {given}" for family, middle, given in zip(
    ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"] * 8, ["Thị", "Văn", "Minh", "Thu", "Đức"] * 8,
    ["Hường", "Bình", "An", "Lan", "Dũng", "Hoa", "Tuấn", "Mai"] * 5, strict=True)]


@pytest.fixture
def phone(new_phone_page):
    """Return a function that opens a small phone's page and records script errors in `problems`."""

    def open_page(problems: list):
        page = new_phone_page(viewport=SMALL_PHONE)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        return page

    return open_page


def log_in(page, served, user):
    page.goto(served + "/login")
    page.fill("input[name=phone]", user.phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    wait_until_logged_in(page)


def test_roll_call_taps_save_in_place_and_search_filters_as_you_type(served, phone, app):
    from playwright.sync_api import expect

    cohort, instructor, trainees = make_class(trainees=NAMES)
    session = session_now(cohort)
    db.session.commit()  # nothing left open: the server thread works with its own sessions from here on
    problems = []
    page = phone(problems)
    log_in(page, served, instructor)
    page.goto(f"{served}/sessions/{session.id}/roll-call")
    expect(page.locator(".roll-row")).to_have_count(40)
    url = page.url

    page.fill("[data-roll-search]", "huong")  # no tone marks, lower case
    expect(page.locator(".roll-row:visible")).to_have_count(5)
    hường = trainees[0]
    row = page.locator(f"#m-{hường.id}")
    row.locator("button[value=late]").tap()
    expect(row.locator("button[value=late]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator('[data-count="late"]')).to_have_text("1")
    expect(page.locator('[data-count="not_marked"]')).to_have_text("39")
    row.locator("button[value=present]").tap()
    expect(page.locator('[data-count="present"]')).to_have_text("1")
    expect(page.locator('[data-count="late"]')).to_have_text("0")
    expect(row.locator("button[aria-pressed=true]")).to_have_count(1)
    assert page.url == url  # saved without leaving or reloading the page

    box = row.locator("button[value=absent]").bounding_box()
    assert box["height"] >= 48 and box["width"] >= 48  # a thumb hits it
    page.fill("[data-roll-search]", "")
    expect(page.locator(".roll-row:visible")).to_have_count(40)

    db.session.expire_all()
    assert services.get_record(session, hường).status == AttendanceStatus.PRESENT
    assert len(services.history(services.get_record(session, hường))) == 2
    assert problems == []  # no script error, no Content-Security-Policy violation


def test_a_trainee_types_the_screen_code_and_the_screen_counts_them(served, phone, app):
    from playwright.sync_api import expect

    cohort, instructor, (huong, _binh) = make_class()
    session = session_now(cohort)
    db.session.commit()
    problems = []
    screen = phone(problems)
    log_in(screen, served, instructor)
    screen.goto(f"{served}/sessions/{session.id}/check-in-screen")
    expect(screen.locator("img[data-qr]")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    assert screen.locator("img[data-qr]").bounding_box()["width"] >= 250
    expect(screen.locator('[data-count="attended"]')).to_have_text("0")

    trainee = phone(problems)
    log_in(trainee, served, huong)
    trainee.goto(f"{served}/check-in")
    trainee.fill("input[name=code]", screen.locator("[data-code]").inner_text())
    trainee.locator("main form button[type=submit]").tap()
    expect(trainee.locator(".checkin-ok")).to_be_visible()

    # attendance.js asks for the state at least every 10 seconds.
    expect(screen.locator('[data-count="attended"]')).to_have_text("1", timeout=15_000)
    assert problems == []


def test_instructor_takes_the_roll_and_sees_each_trainees_rate(served, new_phone_page, app):
    """From the class page to the session, its sign-in sheet and the roll call; taps update each rate in place."""
    from datetime import timedelta

    from playwright.sync_api import expect

    from lms.core.db import utcnow
    from tests.e2e.conftest import screenshot
    from tests.factories import add_session_at

    names = ["Nguyễn Thị Hường", "Trần Văn Bình", "Lê Thị An", "Phạm Văn Dũng", "Đỗ Thị Lan", "Hoàng Văn Tuấn"]
    cohort, instructor, trainees = make_class(trainees=names)
    before = [add_session_at(cohort, utcnow() - timedelta(days=d)) for d in (9, 2)]
    for trainee in trainees:  # everyone came to the first session and missed the second
        services.record_attendance(before[0], trainee, AttendanceStatus.PRESENT, by=instructor, method="roll_call")
        services.record_attendance(before[1], trainee, AttendanceStatus.ABSENT, by=instructor, method="roll_call")
    session = session_now(cohort)
    db.session.commit()
    problems = []
    page = new_phone_page()  # 390×844, Vietnamese
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, served, instructor)

    page.goto(f"{served}/cohorts/{cohort.code}")
    page.locator(f'a[href="/sessions/{session.id}"]').tap()
    sheet = page.locator("[data-sign-in-sheet]")
    expect(sheet).to_be_visible()
    assert page.request.get(served + sheet.get_attribute("href")).status == 200
    page.locator(f'a[href="/sessions/{session.id}/roll-call"]').tap()
    expect(page.locator(".roll-row")).to_have_count(6)

    huong, binh, an = trainees[:3]
    rate = lambda trainee: page.locator(f"#m-{trainee.id} .att-fig")  # noqa: E731
    expect(rate(huong)).to_contain_text("33,3% (1/3)")  # the session on now counts as held
    for trainee, status in ((huong, "present"), (binh, "late"), (an, "excused")):
        page.locator(f"#m-{trainee.id} button[value={status}]").tap()
        expect(page.locator(f"#m-{trainee.id} button[value={status}]")).to_have_attribute("aria-pressed", "true")
    expect(rate(huong)).to_contain_text("66,7% (2/3)")
    expect(rate(binh)).to_contain_text("66,7% (2/3)")
    expect(rate(an)).to_contain_text("50% (1/2)")
    expect(rate(an)).to_contain_text("1 buổi vắng có phép")
    for status, number in (("present", "1"), ("late", "1"), ("excused", "1"), ("not_marked", "3")):
        expect(page.locator(f'[data-count="{status}"]')).to_have_text(number)
    expect(page.locator(".att-rule")).to_contain_text("Tỷ lệ chuyên cần")
    screenshot(page, "attendance-roll-call-journey")

    page.reload()  # what the server says after the taps: the same figures
    expect(rate(huong)).to_contain_text("66,7% (2/3)")
    trainee_page = new_phone_page()
    log_in(trainee_page, served, huong)
    trainee_page.goto(f"{served}/my/attendance")
    expect(trainee_page.locator("[data-att-percent]")).to_have_text("66,7%")
    assert problems == []


@pytest.mark.parametrize("viewport", [SMALL_PHONE, {"width": 390, "height": 844}])
def test_roll_call_labels_never_break_inside_a_word(served, new_phone_page, app, viewport):
    cohort, instructor, _ = make_class(trainees=NAMES[:3])
    session = session_now(cohort)
    db.session.commit()
    page = new_phone_page(viewport=viewport)
    log_in(page, served, instructor)
    page.goto(f"{served}/sessions/{session.id}/roll-call")
    # For each word of each label, the lines its letters sit on: a word broken across lines sits on two.
    words = page.evaluate("""() => [...document.querySelectorAll('.roll-row .mark')].flatMap((button) => {
        const node = button.firstChild, text = node.textContent; let from = 0;
        return text.trim().split(/\\s+/).map((word) => {
          const start = text.indexOf(word, from); from = start + word.length;
          const range = document.createRange(); range.setStart(node, start); range.setEnd(node, from);
          const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
          return [word, lines.size, button.scrollWidth <= button.clientWidth];
        });
      })""")
    assert {word for word, _, _ in words} >= {"Vắng", "Có", "mặt", "phép"}
    assert [w for w in words if w[1] != 1 or not w[2]] == []


def test_a_late_joiner_is_counted_from_joining_on_their_page_and_the_class_page(served, new_phone_page, app):
    """A trainee who joined after two sessions: 2 of 2 since joining is 100%, not 2 of 4; the class page agrees."""
    from datetime import timedelta

    from playwright.sync_api import expect

    from lms.accounts.models import Role
    from lms.cohorts import services as cohorts
    from lms.core.db import utcnow
    from tests.e2e.conftest import screenshot
    from tests.factories import add_session_at, make_trainee, make_user

    cohort, instructor, (huong,) = make_class(trainees=("Nguyễn Thị Hường",))
    held = [add_session_at(cohort, utcnow() - timedelta(days=d)) for d in (20, 13, 6, 1)]
    mai = make_trainee(full_name="Vũ Thị Mai")
    member, _ = cohorts.add_member(cohort, mai)
    member.joined_at = utcnow() - timedelta(days=10)
    for session in held:
        services.record_attendance(session, huong, AttendanceStatus.PRESENT, by=instructor, method="roll_call")
    for session in held[2:]:
        services.record_attendance(session, mai, AttendanceStatus.PRESENT, by=instructor, method="roll_call")
    organizer = make_user(Role.ORGANIZER, full_name="Phạm Tổ Chức")
    db.session.commit()
    problems = []

    page = new_phone_page()  # 390×844, Vietnamese
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, served, mai)
    page.goto(f"{served}/my/attendance")
    expect(page.locator("[data-att-percent]")).to_have_text("100%")
    expect(page.locator(".att-percent")).to_contain_text("2 trên 2")
    expect(page.locator("[data-before-joining]")).to_have_count(2)
    expect(page.locator("[data-before-joining]").first).to_have_text("Trước khi bạn vào lớp: không tính")
    expect(page.locator(".att-rule")).to_contain_text("trước khi học viên vào lớp")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "attendance-late-joiner-trainee")

    staff = new_phone_page()
    staff.on("pageerror", lambda error: problems.append(str(error)))
    log_in(staff, served, organizer)
    staff.goto(f"{served}/cohorts/{cohort.code}")
    card = staff.locator("li", has_text="Vũ Thị Mai").last
    expect(card.locator(".att-fig")).to_contain_text("100% (2/2)")
    expect(staff.locator("li", has_text="Nguyễn Thị Hường").last.locator(".att-fig")).to_contain_text("100% (4/4)")
    expect(staff.locator(".att-rule")).to_contain_text("trước khi học viên vào lớp")
    screenshot(staff, "attendance-late-joiner-class-page")
    assert problems == []
