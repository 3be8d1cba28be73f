"""On phone-sized Chromium: a trainee reads, downloads and corrects their data; an admin reads the audit log."""

import json
import re
from pathlib import Path

import pytest

from lms.accounts.models import Role
from lms.core.extensions import db
from tests.e2e.conftest import log_in_with_the_form, screenshot
from tests.factories import make_class, make_user

pytestmark = pytest.mark.e2e


def _fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_trainee_reads_downloads_and_corrects_their_data(served, page, app):
    from playwright.sync_api import expect

    cohort, _instructor, (trainee, _other) = make_class(trainees=("Phạm Thị Lụa", "Trần Văn Bình"))
    db.session.commit()
    log_in_with_the_form(page, served, trainee.phone)

    page.goto(served + "/account")
    page.get_by_role("link", name="Dữ liệu của tôi").click()
    expect(page).to_have_url(re.compile(r"/my/data$"))
    expect(page.get_by_role("heading", name="Dữ liệu của tôi", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Phạm Thị Lụa")
    expect(page.locator("main")).to_contain_text(cohort.code)
    expect(page.locator("main")).not_to_contain_text("Trần Văn Bình")
    _fits_the_phone(page)
    screenshot(page, "my-data")

    with page.expect_download() as download:
        page.get_by_role("link", name="Tải về dạng JSON").click()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["sections"]["profile"]["rows"][0]["full_name"] == "Phạm Thị Lụa"

    page.get_by_role("link", name="Sửa thông tin của tôi").click()
    page.get_by_label("Ngày sinh").fill("2999-01-01")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#date_of_birth-error")).to_contain_text("Hãy kiểm tra ngày sinh")
    expect(page.get_by_label("Họ và tên")).to_have_value("Phạm Thị Lụa")
    _fits_the_phone(page)
    screenshot(page, "my-data-correct")

    page.get_by_label("Ngày sinh").fill("1985-03-08")
    page.get_by_label("Tên nghề hoặc cơ sở kinh doanh").fill("Xưởng khảm trai Chuôn Ngọ")
    page.get_by_role("button", name="Lưu").click()
    expect(page).to_have_url(re.compile(r"/my/data$"))
    expect(page.locator(".flash")).to_contain_text("Đã sửa thông tin của bạn.")
    expect(page.locator("main")).to_contain_text("Xưởng khảm trai Chuôn Ngọ")


def test_an_admin_filters_the_audit_log_and_exports_it(served, page, app):
    from playwright.sync_api import expect

    admin = make_user(Role.ADMIN, full_name="Trần Quản Trị")
    log_in_with_the_form(page, served, admin.phone)
    page.goto(served + "/overview")  # an admin's home is the programme; the overview keeps the admin's tiles
    page.get_by_role("link", name="Nhật ký truy cập dữ liệu").first.click()
    expect(page).to_have_url(re.compile(r"/admin/audit$"))
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert Path(download.value.path()).read_text(encoding="utf-8-sig").startswith("Thời điểm")
    page.reload()
    page.get_by_text("Lọc").click()
    page.get_by_label("Hành động").select_option(label="Xuất danh sách người")
    page.get_by_role("button", name="Hiển thị").click()
    expect(page.locator(".audit-events")).to_contain_text("Xuất danh sách người")
    expect(page.locator(".audit-events")).to_contain_text("Trần Quản Trị")
    _fits_the_phone(page)
    screenshot(page, "audit-log")
