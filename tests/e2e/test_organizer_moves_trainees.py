"""On a phone, an organizer moves two trainees to another class, withdraws one more, finds one and reads the histories."""

import re

import pytest

from lms.accounts.models import Role
from lms.core.extensions import db
from tests.e2e.conftest import log_in_with_the_form, screenshot
from tests.factories import CHUYEN_MY, make_class, make_course, make_user

pytestmark = pytest.mark.e2e


def _fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_organizer_moves_withdraws_finds_and_reads_the_history(served, page, app):
    from playwright.sync_api import expect

    course = make_course("quay-video", lessons=1)
    a, _, _ = make_class(course, trainees=("Nguyễn Thị Hường", "Trần Văn Bình", "Lê Thị Lan", "Phạm Văn Đức"))
    b, _, _ = make_class(course, trainees=("Đỗ Thị Mai",))
    b.commune_code, b.capacity = CHUYEN_MY, 30
    organizer = make_user(Role.ORGANIZER, full_name="Lê Thị Tổ Chức")
    db.session.commit()
    assert page.viewport_size == {"width": 390, "height": 844}
    log_in_with_the_form(page, served, organizer.phone)

    # The class page: "select all on this page" ticks every box, and unticks them.
    page.goto(f"{served}/cohorts/{a.code}")
    boxes = page.locator("#members input[name=member]")
    assert boxes.count() == 4
    page.get_by_label("Chọn tất cả trên trang này").check()
    assert all(boxes.nth(i).is_checked() for i in range(4))
    page.get_by_label("Chọn tất cả trên trang này").uncheck()
    assert not any(boxes.nth(i).is_checked() for i in range(4))

    # Move two trainees to the other class of the course.
    page.get_by_label("Chọn Trần Văn Bình").check()
    page.get_by_label("Chọn Lê Thị Lan").check()
    _fits_the_phone(page)
    screenshot(page, "organizer-class-ticked")
    page.get_by_role("button", name="Chuyển sang lớp khác").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Chuyển 2 học viên khỏi lớp {a.code}?")
    expect(page.locator(".chosen li")).to_have_text(["Trần Văn Bình", "Lê Thị Lan"])
    page.get_by_label("Chuyển sang lớp").select_option(
        label=f"{b.code} — Xã Chuyên Mỹ — 1 học viên, còn 29 chỗ — {b.name}")
    _fits_the_phone(page)
    screenshot(page, "organizer-move-confirm")
    page.get_by_role("button", name="Chuyển 2 học viên").click()
    expect(page).to_have_url(re.compile(rf"/cohorts/{a.code}(#members)?$"))
    expect(page.locator(".flash")).to_contain_text(
        f"Đã chuyển 2 học viên sang lớp {b.code}: Trần Văn Bình, Lê Thị Lan.")
    expect(page.locator("#members .card > strong")).to_have_text(["Phạm Văn Đức", "Nguyễn Thị Hường"])

    # Withdraw one more in bulk, with a reason, after seeing who.
    page.get_by_label("Chọn Phạm Văn Đức").check()
    page.get_by_role("button", name="Cho rút khỏi lớp").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rút 1 học viên khỏi lớp {a.code}?")
    expect(page.locator(".chosen li")).to_have_text(["Phạm Văn Đức"])
    page.get_by_label("Lý do (không bắt buộc, được ghi vào lịch sử của lớp)").fill("Chuyển nhà lên Hà Nội")
    _fits_the_phone(page)
    screenshot(page, "organizer-withdraw-many-confirm")
    page.get_by_role("button", name="Đồng ý, rút 1 học viên").click()
    expect(page.locator(".flash")).to_contain_text("Đã rút 1 học viên khỏi lớp: Phạm Văn Đức.")
    expect(page.locator("#members .card > strong")).to_have_text(["Nguyễn Thị Hường"])

    # Find a moved trainee from the programme dashboard, typing without tone marks.
    page.goto(f"{served}/reports")
    page.get_by_label("Tìm học viên trong mọi lớp").fill("tran van binh")
    page.get_by_role("button", name="Tìm học viên").click()
    expect(page).to_have_url(re.compile(r"/cohorts/find\?q=tran\+van\+binh$"))
    expect(page.get_by_text("1 học viên khớp với “tran van binh”.")).to_be_visible()
    card = page.locator(".card").filter(has_text="Trần Văn Bình")
    expect(card.locator(".memberships li")).to_have_text([
        re.compile(rf"^{b.code} · {course.title}\s+Trong lớp$"), re.compile(rf"^{a.code} · {course.title}\s+Đã rút khỏi lớp$")])
    _fits_the_phone(page)
    screenshot(page, "organizer-find-trainee")
    card.get_by_role("link", name=b.code).click()
    expect(page).to_have_url(re.compile(rf"/cohorts/{b.code}$"))
    expect(page.locator("#members .card > strong")).to_have_text(["Trần Văn Bình", "Lê Thị Lan", "Đỗ Thị Mai"])

    # Both histories say what happened, who did it and when (Vietnam time).
    page.get_by_role("link", name="Lịch sử thay đổi").click()
    moved_in = page.locator(".card").filter(has_text="Học viên chuyển đến")
    expect(moved_in).to_contain_text(f"Chuyển đến từ lớp {a.code} · {a.name}")
    expect(moved_in).to_contain_text("2 học viên:")
    expect(moved_in).to_contain_text(re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d · Lê Thị Tổ Chức"))
    _fits_the_phone(page)
    page.goto(f"{served}/cohorts/{a.code}/history")
    cards = page.locator(".card")
    expect(cards.first).to_contain_text("Học viên rút khỏi lớp")  # newest first
    expect(cards.first).to_contain_text("Lý do: Chuyển nhà lên Hà Nội")
    expect(cards.first).to_contain_text("Phạm Văn Đức")
    moved_out = cards.filter(has_text="Học viên chuyển đi")
    expect(moved_out).to_contain_text(f"Chuyển sang lớp {b.code} · {b.name}")
    expect(moved_out).to_contain_text(re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d · Lê Thị Tổ Chức"))
    _fits_the_phone(page)
    screenshot(page, "organizer-class-history-moves")
    moved_out.get_by_role("link", name=f"{b.code} · {b.name}").click()
    expect(page).to_have_url(re.compile(rf"/cohorts/{b.code}$"))
