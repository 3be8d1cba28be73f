"""On phone-sized Chromium: an imported trainee activates with the code as printed on the slip; a bad
e-mail at registration reads in Vietnamese and loses nothing typed; registering ends on the login page
in the same words whether or not the phone had an account."""

import re

import pytest

from lms.accounts import services
from lms.accounts.models import Role
from lms.core.extensions import db
from tests.e2e.conftest import screenshot
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def test_a_trainee_activates_with_the_code_as_printed(served, page, app):
    from playwright.sync_api import expect

    trainee = make_user(Role.TRAINEE, password=None, phone="0987111222", full_name="Phạm Thị Lụa")
    code = services.issue_activation_code(trainee)
    db.session.commit()  # the server thread works with its own sessions from here on
    printed = f"{code[:4]} {code[4:]}"  # as the slip prints it

    page.goto(served + "/login")
    page.get_by_role("link", name="Kích hoạt tài khoản").click()
    expect(page).to_have_url(re.compile(r"/activate$"))
    field = page.get_by_label("Mã trên phiếu của bạn")
    assert field.get_attribute("type") == "text" and field.get_attribute("inputmode") == "numeric"

    # A wrong code first: the code is said to be wrong, under the code field, the phone stays typed.
    page.get_by_label("Số điện thoại").fill("0987 111 222")
    field.fill("1111 2222" if code != "11112222" else "2222 1111")
    page.get_by_label("Tự đặt mật khẩu của bạn").fill("khamtrai-2026")
    page.get_by_label("Nhập lại mật khẩu").fill("khamtrai-2026")
    page.get_by_label(re.compile("Tôi đã đọc thông báo về quyền riêng tư")).check()
    page.get_by_role("button", name="Kích hoạt và đăng nhập").click()
    error = page.locator("#code-error")
    expect(error).to_contain_text("Mã này không đúng hoặc đã hết hạn")
    expect(page.get_by_label("Số điện thoại")).to_have_value("0987111222")
    screenshot(page, "accounts-activate-wrong-code")

    # Then the code as printed, with its space.
    page.get_by_label("Mã trên phiếu của bạn").fill(printed)
    page.get_by_label("Tự đặt mật khẩu của bạn").fill("khamtrai-2026")
    page.get_by_label("Nhập lại mật khẩu").fill("khamtrai-2026")
    page.get_by_label(re.compile("Tôi đã đọc thông báo về quyền riêng tư")).check()
    page.get_by_role("button", name="Kích hoạt và đăng nhập").click()
    page.wait_for_load_state()
    expect(page.locator(".flash")).to_contain_text("Chào mừng Phạm Thị Lụa")
    assert not page.url.endswith("/activate") and "/account/password" not in page.url
    screenshot(page, "accounts-activated")
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_registration_with_a_bad_email_says_so_in_vietnamese(served, page, app):
    from playwright.sync_api import expect

    page.goto(served + "/register")
    page.get_by_label("Họ và tên").fill("Lê Thị Ngọc Ánh")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Email (không bắt buộc)").fill("anh@gmail")
    page.get_by_label("Mật khẩu", exact=True).fill("ngan")
    page.get_by_label("Nhập lại mật khẩu").fill("ngan")
    page.get_by_role("button", name=re.compile("Tạo tài khoản")).click()
    page.wait_for_load_state()
    expect(page.locator("#email-error")).to_have_text("Địa chỉ email này không hợp lệ.")
    expect(page.locator("#password-error")).to_contain_text("Cần từ 8 đến 128 ký tự.")
    expect(page.get_by_label("Họ và tên")).to_have_value("Lê Thị Ngọc Ánh")
    screenshot(page, "accounts-register-bad-email")


def test_a_busy_server_is_waited_out_and_the_login_goes_through_by_itself(served, phone_page, app):
    """A class logs in together: the phone is told to wait N seconds, keeps what was typed, then tries again."""
    from playwright.sync_api import expect

    from tests.accounts.test_busy_logins import every_slot_taken
    from tests.conftest import wait_until_logged_in
    from tests.factories import DEFAULT_PASSWORD

    make_user(Role.TRAINEE, phone="0987111333", full_name="Phạm Thị Lụa")
    app.config.update(PASSWORD_HASH_WAIT_S=0.2)
    page = phone_page
    problems = []  # Chromium's own line about the 503 is expected; nothing else
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: m.type == "error" and "status of 503" not in m.text and problems.append(m.text))
    posts = []
    page.on("response", lambda r: posts.append(r.status) if r.request.method == "POST" and "/login" in r.url else None)
    page.goto(served + "/login")
    page.get_by_label("Số điện thoại").fill("0987 111 333")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    with every_slot_taken(app):
        page.get_by_role("button", name="Đăng nhập").click()
        message = page.locator("[data-busy-message]")
        expect(message).to_have_text(re.compile(r"^Nhiều người đang đăng nhập, thử lại sau \d+ giây\.$"))
        expect(page.get_by_label("Số điện thoại")).to_have_value("0987 111 333")
        expect(page.get_by_label("Mật khẩu")).to_have_value(DEFAULT_PASSWORD)
        assert posts == [503]
        screenshot(page, "accounts-login-busy")
    # The slot comes free; nobody touches the phone.
    wait_until_logged_in(page)
    assert posts == [503, 302] or posts == [503, 0]  # the redirect is not followed by the script
    assert "/login" not in page.url
    assert problems == []


def test_wrong_passwords_from_one_phone_get_a_wait_that_keeps_the_phone_typed(served, phone_page, app):
    """Ten wrong passwords from one browser: the eleventh says how long to wait, in minutes, and keeps the phone."""
    from playwright.sync_api import expect

    from tests.factories import DEFAULT_PASSWORD

    page = phone_page
    problems = []  # Chromium's own line about the 429 is expected; nothing else
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: m.type == "error" and "status of 429" not in m.text and problems.append(m.text))
    make_user(Role.TRAINEE, phone="0987111444", full_name="Phạm Thị Lụa")
    db.session.commit()
    page.goto(served + "/login")
    for i in range(app.config["LOGIN_SLOWDOWN_AFTER"]):
        page.get_by_label("Số điện thoại").fill("0987 111 444")
        page.get_by_label("Mật khẩu").fill(f"sai-mat-khau-{i}")
        # Each answer in before the next try: the previous page's message would pass the check at once.
        with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url):
            page.get_by_role("button", name="Đăng nhập").click()
        expect(page.locator(".flash")).to_contain_text("Số điện thoại hoặc mật khẩu không đúng")
    page.get_by_label("Số điện thoại").fill("0987 111 444")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator(".flash")).to_contain_text(re.compile(r"Hãy đợi 1[45] phút rồi thử lại"))
    expect(page.get_by_label("Số điện thoại")).to_have_value("0987 111 444")
    assert page.url.endswith("/login")
    screenshot(page, "accounts-login-slowed")
    assert problems == []


def register_on_the_page(page, served, password):
    from tests.factories import CHUYEN_MY

    page.goto(served + "/register")
    page.get_by_label("Họ và tên").fill("Lê Thị Ngọc Ánh")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_label("Nhập lại mật khẩu").fill(password)
    page.select_option("select[name=commune]", str(CHUYEN_MY))
    page.check("input[name=consent]")
    page.get_by_role("button", name=re.compile("Tạo tài khoản")).click()
    page.wait_for_load_state()


def test_registration_ends_on_the_login_page_whether_or_not_the_phone_had_an_account(served, page, app):
    """Both answers read the same; the new account logs in with the password just chosen, the old one is untouched."""
    from playwright.sync_api import expect

    from tests.conftest import wait_until_logged_in

    register_on_the_page(page, served, "ban-hang-online")
    assert page.url.endswith("/login")
    expect(page.locator(".flash")).to_contain_text("Nếu số điện thoại này chưa có tài khoản, tài khoản của bạn đã "
                                                   "sẵn sàng")
    expect(page.get_by_label("Số điện thoại")).to_have_value("0912345678")
    screenshot(page, "accounts-registered")
    first_answer = page.locator(".flash").inner_text()
    page.get_by_label("Mật khẩu").fill("ban-hang-online")
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)
    page.context.clear_cookies()

    register_on_the_page(page, served, "mat-khau-cua-ke-gian")  # the same phone again: nothing to tell
    assert page.url.endswith("/login")
    assert page.locator(".flash").inner_text() == first_answer
    page.get_by_label("Mật khẩu").fill("mat-khau-cua-ke-gian")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator(".flash")).to_contain_text("Số điện thoại hoặc mật khẩu không đúng")
