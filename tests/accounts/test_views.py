import re
import time

import sqlalchemy as sa

from lms.accounts import services
from lms.accounts.models import Role, User
from lms.core.extensions import db
from tests.conftest import csrf_token
from tests.factories import CHUYEN_MY, DEFAULT_PASSWORD, make_trainee, make_user


def register(client, **overrides):
    data = {
        "full_name": "Lê Thị Ngọc Ánh",
        "phone": "0912 345 678",
        "password": "ban-hang-online",
        "confirm": "ban-hang-online",
        "province": "1",
        "commune": str(CHUYEN_MY),
        "village": "Chuôn Ngọ",
        "business_name": "Khảm trai Ánh",
        "consent": "y",
        "csrf_token": csrf_token(client, "/register"),
    }
    data.update(overrides)
    return client.post("/register", data=data)


def count_users() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)))


REGISTERED = ("Cảm ơn bạn. Nếu số điện thoại này chưa có tài khoản, tài khoản của bạn đã sẵn sàng: hãy đăng nhập "
              "bằng mật khẩu vừa chọn.")


def test_self_registration_creates_a_trainee_then_asks_to_log_in(client, auth, app):
    response = register(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    user = db.session.scalar(sa.select(User))
    assert user.phone == "0912345678"
    assert user.roles == {Role.TRAINEE}
    assert user.commune.name == "Xã Chuyên Mỹ"
    html = client.get("/login").get_data(as_text=True)
    assert REGISTERED in html
    assert 'value="0912345678"' in html  # the phone just typed is filled in
    assert client.get("/account").status_code == 302  # not logged in: a taken phone would not be either
    assert auth.login("0912345678", "ban-hang-online").status_code == 302
    assert client.get("/account").status_code == 200


def test_malformed_phone_gets_a_vietnamese_field_error(client, app):
    response = register(client, phone="12345")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "nhập số điện thoại Việt Nam" in html
    assert count_users() == 0


def test_a_foreign_phone_is_refused_with_its_own_message_and_no_account(client, app):
    for foreign in ("0033612345678", "0049612345678", "+33 6 12 34 56 78"):
        response = register(client, phone=foreign)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Đây là số nước ngoài (mã quốc gia +" in html and "Chỉ dùng được số điện thoại Việt Nam" in html
    assert count_users() == 0  # and certainly not 0612345678


def test_registration_accepts_the_vietnamese_international_forms(client, app):
    assert register(client, phone="0084 912 345 678").status_code == 302
    assert db.session.scalar(sa.select(User.phone)) == "0912345678"


def test_login_with_a_foreign_phone_says_so_instead_of_wrong_password(client, auth, app):
    response = auth.login("0033612345678")  # once read as 0612345678
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Đây là số nước ngoài (mã quốc gia +33)" in html
    assert "Số điện thoại hoặc mật khẩu không đúng" not in html
    assert client.get("/account").status_code == 302  # not logged in


def test_activation_with_a_foreign_phone_says_so(client, app):
    token = csrf_token(client, "/activate")
    response = client.post("/activate", data={"phone": "0049612345678", "code": "1234 5678", "password": "ban-hang-1",
                                              "confirm": "ban-hang-1", "csrf_token": token})
    assert "Đây là số nước ngoài (mã quốc gia +49)" in response.get_data(as_text=True)


def test_names_typed_with_bidi_controls_are_stored_without_them(client, auth, app):
    register(client, full_name="\u202eLê Thị\u200f Ngọc Ánh\u202c", village="\u2066Chuôn Ngọ\u2069",
             business_name="Khảm\u200e trai\u061c Ánh")
    auth.login("0912345678", "ban-hang-online")
    user = db.session.scalar(sa.select(User))
    assert (user.full_name, user.village, user.business_name) == ("Lê Thị Ngọc Ánh", "Chuôn Ngọ", "Khảm trai Ánh")
    token = csrf_token(client, "/account")
    client.post("/account", data={"full_name": "Lê Thị \u202dÁnh", "province": "1", "commune": str(CHUYEN_MY),
                                  "csrf_token": token})
    db.session.refresh(user)
    assert user.full_name == "Lê Thị Ánh"


def answer_to_registering(app, **overrides) -> tuple:
    """Register from a fresh phone and return what that phone is shown: the answer, then the page it leads to."""
    client = app.test_client()
    response = register(client, **overrides)
    page = client.get(response.headers["Location"]).get_data(as_text=True) if response.status_code == 302 else ""
    return response.status_code, response.headers.get("Location"), _without_csrf(page or response.get_data(as_text=True))


def _without_csrf(html: str) -> str:
    return re.sub(r'(content|value)="[\w-]{20,}\.[\w-]+\.[\w-]+"', "", html)  # each session's own CSRF token


def test_a_taken_phone_gets_the_same_answer_as_a_free_one_and_no_second_account(client, auth, app):
    owner = make_trainee(phone="0912345678")
    taken = answer_to_registering(app, phone="+84 912 345 678", full_name="Kẻ Gian")
    assert count_users() == 1
    assert services.authenticate("0912345678", "ban-hang-online") is None  # the owner's password is unchanged
    assert auth.login("0912345678").status_code == 302  # and works
    auth.logout()
    db.session.delete(owner)
    db.session.commit()
    free = answer_to_registering(app, phone="+84 912 345 678", full_name="Kẻ Gian")
    assert count_users() == 1
    assert taken == free
    assert "đã có tài khoản" in taken[2]  # the words for someone who had one already, on the login page
    assert "Số điện thoại này đã có tài khoản" not in taken[2]


def test_a_taken_phone_with_a_weak_password_hears_the_same_as_a_free_one(app):
    make_trainee(phone="0912345678")
    taken = answer_to_registering(app, password="iloveyou", confirm="iloveyou")
    make_trainee_gone = db.session.scalar(sa.select(User).where(User.phone == "0912345678"))
    db.session.delete(make_trainee_gone)
    db.session.commit()
    assert taken == answer_to_registering(app, password="iloveyou", confirm="iloveyou")
    assert taken[0] == 200 and "phổ biến nhất" in taken[2]


def test_a_taken_phone_costs_a_password_hash_as_a_free_one_does(client, app, monkeypatch):
    from lms.accounts import passwords

    hashed = []
    real = passwords.PasswordHasher.hash
    monkeypatch.setattr(passwords.PasswordHasher, "hash", lambda self, pw, **kw: hashed.append(1) or real(self, pw, **kw))
    register(client)
    free = len(hashed)
    register(app.test_client(), full_name="Người thứ hai")
    assert count_users() == 1
    assert free == len(hashed) - free == 1


def test_two_registrations_of_one_phone_at_once_answer_the_second_as_the_first(app, monkeypatch):
    make_trainee(phone="0912345678")
    real_scalar, calls = db.session.scalar, []

    def missed_once(*args, **kwargs):
        # The second request looked before the first committed: its look-up found nothing.
        if not calls:
            calls.append(1)
            return None
        return real_scalar(*args, **kwargs)

    client = app.test_client()
    token = csrf_token(client, "/register")
    monkeypatch.setattr(db.session, "scalar", missed_once)
    response = register(client, csrf_token=token)
    monkeypatch.undo()
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert count_users() == 1


def test_commune_must_belong_to_the_chosen_province(client, app):
    response = register(client, province="79")  # Hồ Chí Minh City, with a Hà Nội commune
    assert response.status_code == 200
    assert count_users() == 0


def test_missing_or_wrong_csrf_token_gets_400_and_changes_nothing(client, app):
    response = register(client, csrf_token="")
    assert response.status_code == 400
    assert "Yêu cầu" in response.get_data(as_text=True) or "lỗi" in response.get_data(as_text=True).lower()
    response = register(client, csrf_token="forged")
    assert response.status_code == 400
    assert count_users() == 0


def test_script_in_a_name_is_stored_as_typed_and_shown_escaped(client, auth, app):
    name = "<script>alert(1)</script>'; DROP TABLE users;--"
    register(client, full_name=name)
    user = db.session.scalar(sa.select(User))
    assert user.full_name == name
    auth.login(user.phone, "ban-hang-online")
    html = client.get("/account").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_login_and_logout(client, auth, app):
    user = make_trainee()
    response = auth.login(user.phone)
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    auth.logout()
    assert client.get("/account").status_code == 302


def test_login_sets_safe_cookie_flags(client, auth, app):
    user = make_trainee()
    response = auth.login(user.phone)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie


def test_unknown_phone_and_wrong_password_get_the_same_message(client, auth, app):
    user = make_trainee()
    wrong = auth.login(user.phone, "not-the-password").get_data(as_text=True)
    unknown = auth.login("0987654321", DEFAULT_PASSWORD).get_data(as_text=True)
    message = "Số điện thoại hoặc mật khẩu không đúng"
    assert message in wrong and message in unknown


class _Clock:
    """The rate-limit store's clock, moved forward by a test instead of sleeping (a busy machine is slow)."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)


def test_repeated_wrong_passwords_get_429_then_the_account_works_after_the_window(app, client, auth, monkeypatch):
    import limits.storage.memory

    clock = _Clock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    app.config["LOGIN_LIMIT_PER_PHONE_AND_CLIENT"] = "10 per minute"
    user = make_trainee()
    statuses = [auth.login(user.phone, f"wrong-{i}").status_code for i in range(20)]
    assert statuses[:10] == [200] * 10
    assert statuses[19] == 429
    assert auth.login(user.phone).status_code == 429  # still locked inside the window
    clock.offset += 61
    assert auth.login(user.phone).status_code == 302


def test_rate_limit_per_account_counts_every_written_form_of_the_phone(app, client, auth):
    app.config["LOGIN_LIMIT_PER_PHONE_AND_CLIENT"] = "3 per minute"
    user = make_trainee(phone="0912345678")
    for phone in ("0912345678", "+84912345678", "84-912-345-678"):
        assert auth.login(phone, "wrong-password").status_code == 200
    assert auth.login("0912 345 678", "wrong-password").status_code == 429
    assert user.phone == "0912345678"


def test_next_parameter_cannot_redirect_elsewhere(client, app):
    user = make_trainee()
    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example/",
        data={"phone": user.phone, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_organizer_resets_a_trainee_password_to_a_one_time_code(client, auth, app):
    organizer = make_user(Role.ORGANIZER)
    trainee = make_trainee()
    auth.login(organizer.phone)
    token = csrf_token(client, f"/users/{trainee.id}")
    response = client.post(f"/users/{trainee.id}/reset-password", data={"csrf_token": token, "confirm": "yes"})
    html = response.get_data(as_text=True)
    code = html.split('class="code"')[1].split(">")[1].split("<")[0].strip()
    assert code.isdigit() and len(code) == 8
    auth.logout()

    response = auth.login(trainee.phone, code)
    assert response.headers["Location"].endswith("/account/password")
    assert client.get("/courses").status_code == 302  # must choose a password first
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={"new_password": "mat-khau-moi-1", "confirm": "mat-khau-moi-1", "csrf_token": token},
    )
    assert response.status_code == 302
    assert client.get("/courses").status_code == 200
    auth.logout()
    assert auth.login(trainee.phone, "mat-khau-moi-1").status_code == 302


def test_password_change_logs_out_other_devices(app):
    trainee = make_trainee()
    phone_a, phone_b = app.test_client(), app.test_client()
    for c in (phone_a, phone_b):
        token = csrf_token(c)
        c.post("/login", data={"phone": trainee.phone, "password": DEFAULT_PASSWORD, "csrf_token": token})
    token = csrf_token(phone_a, "/account/password")
    phone_a.post(
        "/account/password",
        data={"current_password": DEFAULT_PASSWORD, "new_password": "doi-mat-khau-7",
              "confirm": "doi-mat-khau-7", "csrf_token": token},
    )
    assert phone_a.get("/account").status_code == 200
    assert phone_b.get("/account").status_code == 302


def test_trainee_cannot_list_or_reset_others(client, auth, app):
    trainee = make_trainee()
    other = make_trainee(full_name="Người khác")
    auth.login(trainee.phone)
    assert client.get("/users").status_code == 403
    assert client.get(f"/users/{other.id}").status_code == 403
    token = csrf_token(client, "/account")
    assert client.post(f"/users/{other.id}/reset-password", data={"csrf_token": token}).status_code == 403


def test_instructor_cannot_reset_passwords(client, auth, app):
    instructor = make_user(Role.INSTRUCTOR)
    trainee = make_trainee()
    auth.login(instructor.phone)
    token = csrf_token(client, "/account")
    assert client.post(f"/users/{trainee.id}/reset-password", data={"csrf_token": token}).status_code == 403


def test_organizer_cannot_reset_a_staff_password(client, auth, app):
    organizer = make_user(Role.ORGANIZER)
    admin = make_user(Role.ADMIN)
    auth.login(organizer.phone)
    token = csrf_token(client, "/account")
    assert client.post(f"/users/{admin.id}/reset-password", data={"csrf_token": token}).status_code == 403


def test_admin_creates_staff_with_a_one_time_code(client, auth, app):
    admin = make_user(Role.ADMIN)
    auth.login(admin.phone)
    token = csrf_token(client, "/users/new")
    response = client.post(
        "/users/new",
        data={"full_name": "Trần Văn Giảng", "phone": "0983 000 111", "roles": ["instructor", "organizer"],
              "province": "1", "commune": "0", "csrf_token": token},
    )
    assert response.status_code == 200
    staff = db.session.scalar(sa.select(User).where(User.phone == "0983000111"))
    assert staff.roles == {Role.INSTRUCTOR, Role.ORGANIZER}
    assert staff.must_change_password


def test_only_admins_create_staff(client, auth, app):
    organizer = make_user(Role.ORGANIZER)
    auth.login(organizer.phone)
    assert client.get("/users/new").status_code == 403


def test_staff_search_people(client, auth, app):
    organizer = make_user(Role.ORGANIZER, full_name="Cán Bộ")
    make_trainee(full_name="Vũ Thị Hằng", phone="0961222333")
    auth.login(organizer.phone)
    html = client.get("/users?q=Hằng").get_data(as_text=True)
    assert "Vũ Thị Hằng" in html
    assert "0961222333" not in html  # the list masks phone numbers
    assert "Cán Bộ" not in html


def test_profile_update(client, auth, app):
    trainee = make_trainee()
    auth.login(trainee.phone)
    token = csrf_token(client, "/account")
    response = client.post(
        "/account",
        data={"full_name": "Đặng Quốc Bảo", "province": "1", "commune": "10273", "village": "Thao Nội",
              "business_name": "Túi da Bảo", "csrf_token": token},
    )
    assert response.status_code == 302
    db.session.refresh(trainee)
    assert (trainee.full_name, trainee.commune_code, trainee.village) == ("Đặng Quốc Bảo", 10273, "Thao Nội")
