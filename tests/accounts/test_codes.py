"""Typed codes (activation, one-time reset) are accepted as printed, in a visible numeric field."""

import re
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.accounts import services
from lms.accounts.models import Role, User
from lms.cohorts.services import add_member, create_cohort
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import normalize_code
from tests.conftest import csrf_token
from tests.factories import CHUYEN_MY, make_course, make_user

WRONG_CODE = "Mã này không đúng hoặc đã hết hạn"
WRONG_PASSWORD = "Số điện thoại hoặc mật khẩu không đúng."
NEW_PASSWORD = "khamtrai-2026"


@pytest.mark.parametrize("typed", ["123 456", "123-456", " 123456 ", "123 – 456", "123\u00a0456", "１２３４５６",
                                   "12.34.56", "\t123456\n"])
def test_a_code_is_read_as_printed(typed):
    assert normalize_code(typed) == "123456"


@pytest.mark.parametrize("typed", ["12a456", "123+456", "12345six"])
def test_other_characters_are_kept_so_the_code_stays_wrong(typed):
    assert normalize_code(typed) != "123456"


def test_nothing_gives_an_empty_code():
    assert normalize_code(None) == normalize_code("  - ") == ""


def waiting_trainee(phone="0987111222"):
    """An imported trainee: no password yet, a printed activation code."""
    user = make_user(Role.TRAINEE, password=None, phone=phone, full_name="Phạm Thị Lụa")
    code = services.issue_activation_code(user)
    db.session.commit()
    return user, code


def activate(client, phone, code, password=NEW_PASSWORD, confirm=None):
    return client.post("/activate", data={
        "phone": phone, "code": code, "password": password, "confirm": confirm or password, "consent": "y",
        "csrf_token": csrf_token(client, "/activate"),
    })


def spaced(code):
    return f"{code[:4]} {code[4:]}"


@pytest.mark.parametrize("as_printed", [spaced, lambda c: f"{c[:4]}-{c[4:]}", lambda c: f" {c} ",
                                        lambda c: " ".join(c)])
def test_activation_with_the_code_as_printed_sets_the_password_and_logs_in(client, auth, app, as_printed):
    user, code = waiting_trainee()
    response = activate(client, "0987 111 222", as_printed(code))
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    db.session.refresh(user)
    assert user.password_hash and not user.must_change_password and user.activation_code_hash is None
    assert client.get("/account").status_code == 200  # logged in, not sent to change the password
    auth.logout()
    assert auth.login("0987111222", NEW_PASSWORD).status_code == 302
    # The code worked once.
    auth.logout()
    # The code worked once; and the page says of an account with a password what it says of an unknown phone.
    used = activate(client, "0987111222", code, "mat-khau-khac-9").get_data(as_text=True)
    unknown = activate(client, "0987111999", code, "mat-khau-khac-9").get_data(as_text=True)
    assert WRONG_CODE in used and WRONG_CODE in unknown and "mật khẩu riêng" not in used


@pytest.mark.parametrize("phone_and_code", ["wrong code", "unknown phone", "expired"])
def test_a_wrong_code_says_the_code_is_wrong(client, app, phone_and_code):
    user, code = waiting_trainee()
    phone = "0987111222"
    if phone_and_code == "wrong code":
        code = f"{(int(code) + 1) % 10**8:08d}"
    elif phone_and_code == "unknown phone":
        phone = "0987999888"
    else:
        user.activation_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = activate(client, phone, spaced(code))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert WRONG_CODE in html and WRONG_PASSWORD not in html
    assert re.search(r'<p class="error" id="code-error">[^<]*' + WRONG_CODE, html)  # under the code field
    assert 'value="0987' in html  # the phone typed is kept
    db.session.refresh(user)
    assert user.password_hash is None


def test_a_code_with_too_few_digits_is_told_apart(client, app):
    waiting_trainee()
    html = activate(client, "0987111222", "1234 567").get_data(as_text=True)
    assert "Mã có 8 chữ số" in html


def test_a_weak_password_keeps_the_code_usable(client, app):
    user, code = waiting_trainee()
    response = activate(client, "0987111222", code, "11111111")
    assert response.status_code == 200
    assert "dễ đoán" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash is None and user.activation_code_hash is not None
    assert activate(client, "0987111222", code).status_code == 302


def test_a_reset_code_works_on_the_activation_page_too(client, app):
    user = make_user(Role.TRAINEE, phone="0987333444")
    code = services.reset_password_to_code(user)
    db.session.commit()
    assert activate(client, "0987333444", f"{code[:4]}-{code[4:]}").status_code == 302
    db.session.refresh(user)
    assert not user.must_change_password
    assert services.authenticate("0987333444", NEW_PASSWORD) is not None


def test_the_login_page_also_accepts_printed_codes(client, auth, app):
    _, activation = waiting_trainee()
    assert auth.login("0987111222", spaced(activation)).status_code == 302
    auth.logout()
    user = make_user(Role.TRAINEE, phone="0987333444")
    reset = services.reset_password_to_code(user)
    db.session.commit()
    response = auth.login("0987333444", spaced(reset))
    assert response.status_code == 302 and "/account/password" in response.headers["Location"]


def test_a_wrong_code_on_the_login_page_says_it_is_the_code(client, auth, app):
    waiting_trainee()
    html = auth.login("0987111222", "1111 2222").get_data(as_text=True)
    assert "Mã hoặc mật khẩu không đúng. Nếu bạn nhập mã trên phiếu thì mã này không đúng" in html
    assert WRONG_PASSWORD not in html
    assert WRONG_PASSWORD in auth.login("0987111222", "not-a-code").get_data(as_text=True)


def test_the_code_field_is_visible_and_numeric(client, app):
    html = client.get("/activate").get_data(as_text=True)
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", html).group(0)
    assert 'type="text"' in field and 'inputmode="numeric"' in field and 'autocomplete="one-time-code"' in field
    assert 'type="password"' not in field
    assert 'href="/activate"' in client.get("/login").get_data(as_text=True)


def test_a_logged_in_person_is_sent_home(client, auth, app):
    auth.login(make_user(Role.TRAINEE).phone)
    assert client.get("/activate").status_code == 302


def test_repeated_wrong_codes_get_429(app, client):
    waiting_trainee()
    limit = int(re.match(r"\d+", app.config["LOGIN_LIMIT_PER_PHONE_AND_CLIENT"]).group(0))
    statuses = [activate(client, "0987111222", f"{n:08d}").status_code for n in range(limit + 1)]
    assert statuses[:limit] == [200] * limit and statuses[-1] == 429


def test_the_printed_slips_send_trainees_to_the_activation_page(client, auth, app, tmp_path):
    cohort = create_cohort(code="PX-KT-09", course=make_course(), name="Khảm trai", commune_code=CHUYEN_MY)
    user, _ = waiting_trainee()
    add_member(cohort, user)
    db.session.commit()
    auth.login(make_user(Role.ORGANIZER, phone="0900000002").phone)
    response = client.post("/cohorts/PX-KT-09/activation-slips",
                           data={"csrf_token": csrf_token(client, "/cohorts/PX-KT-09/activation-slips"), "scope": "all"})
    assert response.mimetype == "application/pdf"
    pdf = tmp_path / "slips.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Kích hoạt tại" in text and "/activate" in text and "/login" not in text
    assert db.session.scalar(sa.select(User.activation_code_hash).where(User.id == user.id))
