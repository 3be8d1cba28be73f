"""On phone-sized Chromium: a trainee who has not agreed is held on the notice until they tick and agree;
registration asks in its own unticked box; deletion asks for the password; admins see the clock."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.accounts.models import Role
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.privacy.models import PrivacyRequest, RequestKind, RequestStatus
from tests.e2e.conftest import log_in_with_the_form, screenshot
from tests.factories import DEFAULT_PASSWORD, make_course, make_trainee, make_user

pytestmark = pytest.mark.e2e


def test_a_trainee_who_has_not_agreed_reads_the_notice_and_agrees(served, page, app):
    from playwright.sync_api import expect

    course = make_course()
    trainee = make_trainee(enrolled_in=course, consented=False, phone="0987222333")
    log_in_with_the_form(page, served, trainee.phone)
    expect(page).to_have_url(re.compile(r"/privacy/consent"))
    expect(page.get_by_role("heading", name="Dữ liệu cá nhân của bạn")).to_be_visible()
    box = page.get_by_label(re.compile("Tôi đã đọc thông báo về quyền riêng tư"))
    assert not box.is_checked()
    screenshot(page, "privacy-consent")

    page.goto(served + f"/courses/{course.slug}")  # any trainee page leads back here
    expect(page).to_have_url(re.compile(r"/privacy/consent"))
    page.get_by_role("button", name="Tôi đồng ý").click()
    expect(page.locator(".error")).to_contain_text("Hãy tích vào ô")
    page.get_by_label(re.compile("Tôi đã đọc thông báo về quyền riêng tư")).check()
    page.get_by_role("button", name="Tôi đồng ý").click()
    expect(page).to_have_url(re.compile(f"/courses/{course.slug}"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_declining_says_what_it_means(served, page, app):
    from playwright.sync_api import expect

    trainee = make_trainee(consented=False, phone="0987222444")
    log_in_with_the_form(page, served, trainee.phone)
    page.get_by_role("button", name="Tôi không đồng ý").click()
    expect(page.get_by_role("heading", name="Bạn chưa đồng ý")).to_be_visible()
    expect(page.get_by_role("link", name="Yêu cầu xoá tài khoản của tôi")).to_be_visible()
    screenshot(page, "privacy-declined")


def test_registration_has_its_own_unticked_consent_box(served, page, app):
    from playwright.sync_api import expect

    page.goto(served + "/register")
    box = page.get_by_label(re.compile("Tôi đã đọc thông báo về quyền riêng tư"))
    assert not box.is_checked()
    page.get_by_label("Họ và tên").fill("Lê Thị Ngọc Ánh")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Mật khẩu", exact=True).fill("ban-hang-online")
    page.get_by_label("Nhập lại mật khẩu").fill("ban-hang-online")
    page.get_by_label("Xã / phường").select_option(index=1)
    page.get_by_role("button", name=re.compile("Tạo tài khoản")).click()
    expect(page.locator("#consent-error")).to_contain_text("tích vào ô để đồng ý")
    screenshot(page, "privacy-register-consent")
    page.get_by_label("Mật khẩu", exact=True).fill("ban-hang-online")
    page.get_by_label("Nhập lại mật khẩu").fill("ban-hang-online")
    page.get_by_label(re.compile("Tôi đã đọc thông báo về quyền riêng tư")).check()
    page.get_by_role("button", name=re.compile("Tạo tài khoản")).click()
    # Registering ends on the login page, in words that do not tell whether the phone had an account.
    expect(page.locator(".flash")).to_contain_text("Nếu số điện thoại này chưa có tài khoản")


def test_a_trainee_asks_for_deletion_and_an_admin_sees_the_clock(served, page, new_phone_page, app):
    from playwright.sync_api import expect

    trainee = make_trainee(phone="0987222555")
    admin = make_user(Role.ADMIN, phone="0987222666")
    log_in_with_the_form(page, served, trainee.phone)
    page.goto(served + "/privacy/account")
    screenshot(page, "privacy-account")
    page.get_by_role("link", name="Xoá tài khoản của tôi").click()
    screenshot(page, "privacy-delete")
    page.get_by_label("Mật khẩu của bạn").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Xoá tài khoản của tôi").click()
    expect(page.locator(".flash")).to_contain_text("Đã nhận yêu cầu")

    db.session.expire_all()
    late = PrivacyRequest(user_id=trainee.id, kind=RequestKind.CORRECTION, status=RequestStatus.RECEIVED,
                          details="Ngày sinh sai", received_at=utcnow() - timedelta(days=6),
                          due_at=utcnow() - timedelta(days=2))
    db.session.add(late)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(PrivacyRequest.id))) == 2

    admin_page = new_phone_page()
    log_in_with_the_form(admin_page, served, admin.phone)
    admin_page.goto(served + "/admin/privacy-requests")
    expect(admin_page.locator(".card.overdue")).to_contain_text("QUÁ HẠN")
    screenshot(admin_page, "privacy-admin-requests")
