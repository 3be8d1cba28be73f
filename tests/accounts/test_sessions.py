"""Logout ends a login on the server: no copy of its session or remember-me cookie keeps working."""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from lms import create_app
from lms.core.extensions import db
from tests.conftest import TEST_CONFIG, csrf_token
from tests.factories import DEFAULT_PASSWORD, make_trainee

REMEMBER = "remember_token"


def log_in(client, phone: str, *, remember: bool = False):
    data = {"phone": phone, "password": DEFAULT_PASSWORD, "csrf_token": csrf_token(client, "/login")}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, "login failed"
    return response


def logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def copy_cookie(source, target, name: str) -> None:
    cookie = source.get_cookie(name)
    assert cookie is not None, f"no {name} cookie to copy"
    target.set_cookie(name, cookie.value)


def post_with_token(client, path: str, data: dict | None = None, page: str = "/account"):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **(data or {})})


def test_a_copied_session_cookie_stops_working_after_logout(app):
    trainee = make_trainee()
    owner, thief = app.test_client(), app.test_client()
    log_in(owner, trainee.phone)
    copy_cookie(owner, thief, app.config["SESSION_COOKIE_NAME"])
    assert logged_in(thief)

    post_with_token(owner, "/logout", page="/")

    assert not logged_in(owner)
    assert not logged_in(thief)


def test_a_copied_remember_cookie_stops_working_after_logout(app):
    trainee = make_trainee()
    owner, thief = app.test_client(), app.test_client()
    log_in(owner, trainee.phone, remember=True)
    copy_cookie(owner, thief, REMEMBER)  # the remember-me cookie alone, no session
    assert logged_in(thief)

    post_with_token(owner, "/logout", page="/")

    assert not logged_in(thief)
    thief.delete_cookie(app.config["SESSION_COOKIE_NAME"])  # and the remember-me cookie alone, once more
    assert not logged_in(thief)


def test_log_out_everywhere_ends_another_clients_session(app):
    trainee = make_trainee()
    phone, computer = app.test_client(), app.test_client()
    log_in(phone, trainee.phone, remember=True)
    log_in(computer, trainee.phone, remember=True)
    assert "Đăng xuất khỏi mọi thiết bị" in computer.get("/account").get_data(as_text=True)

    response = post_with_token(computer, "/account/logout-everywhere")

    assert response.status_code == 302
    assert "Bạn đã đăng xuất khỏi mọi thiết bị." in computer.get(response.location).get_data(as_text=True)
    assert not logged_in(computer)
    assert not logged_in(phone)


def test_log_out_everywhere_needs_the_csrf_token(app):
    trainee = make_trainee()
    phone, computer = app.test_client(), app.test_client()
    log_in(phone, trainee.phone)
    log_in(computer, trainee.phone)

    assert computer.post("/account/logout-everywhere").status_code == 400

    assert logged_in(phone) and logged_in(computer)


def test_a_password_change_ends_the_other_clients_session_and_keeps_this_one(app):
    trainee = make_trainee()
    here, elsewhere = app.test_client(), app.test_client()
    log_in(here, trainee.phone)  # "stay logged in" not ticked here
    log_in(elsewhere, trainee.phone, remember=True)

    response = post_with_token(here, "/account/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": "ban-hang-moi-2", "confirm": "ban-hang-moi-2"})

    assert response.status_code == 302
    assert logged_in(here)
    assert here.get_cookie(REMEMBER) is None  # changing the password does not tick the box for them
    assert not logged_in(elsewhere)


def test_the_remember_box_is_not_ticked(client, app):
    html = client.get("/login").get_data(as_text=True)
    checkbox = next(tag for tag in html.split("<input")[1:] if 'name="remember"' in tag)
    assert "checked" not in checkbox.split(">")[0]


def test_the_remember_cookie_is_secure_short_lived_and_httponly_under_https(app, monkeypatch, tmp_path):
    trainee = make_trainee()
    monkeypatch.setenv("LMS_HTTPS", "1")
    monkeypatch.setenv("LMS_BASE_URL", "https://localhost")  # production must say its own address
    https_app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "INSTANCE_PATH": str(tmp_path / "https-instance")})
    client = https_app.test_client()
    token = csrf_token_over_https(client)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"}, data={
        "phone": trainee.phone, "password": DEFAULT_PASSWORD, "remember": "y", "csrf_token": token})
    with https_app.app_context():
        db.engine.dispose()

    remember = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{REMEMBER}="))
    attributes = [part.strip().lower() for part in remember.split(";")]
    assert "secure" in attributes and "httponly" in attributes and "samesite=lax" in attributes
    expires = parsedate_to_datetime(next(a for a in remember.split(";") if a.strip().lower().startswith("expires="))
                                    .split("=", 1)[1])
    assert expires - datetime.now(UTC) <= timedelta(days=30, minutes=1)


def csrf_token_over_https(client) -> str:
    html = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
