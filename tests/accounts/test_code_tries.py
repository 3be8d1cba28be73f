"""One-time codes (activation and reset) stop working after five wrong tries, and reset codes expire."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.accounts import services
from lms.accounts.models import Role, User
from lms.cohorts.importing.slips import trainees_waiting_for_codes
from lms.cohorts.services import add_member, create_cohort
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import to_local
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user

LOCKED = "Mã này đã bị nhập sai quá nhiều lần nên không còn dùng được. Hãy nhờ cán bộ tổ chức lớp cấp mã mới."
WRONG_CODE = "Mã này không đúng hoặc đã hết hạn"
NEW_PASSWORD = "khamtrai-2026"
PHONE = "0987111222"


def other_code(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 10**8:08d}"


def activate(client, phone, code, password=NEW_PASSWORD):
    return client.post("/activate", data={"phone": phone, "code": code, "password": password, "confirm": password,
                                          "consent": "y", "csrf_token": csrf_token(client, "/activate")})


def tries_in_the_database(user: User) -> int:
    """Read the count as another request would: from the database, not from this session's objects."""
    db.session.rollback()
    return db.session.scalar(sa.select(User.code_tries).where(User.id == user.id))


def waiting_trainee():
    user = make_user(Role.TRAINEE, password=None, phone=PHONE, full_name="Phạm Thị Lụa")
    code = services.issue_activation_code(user)
    db.session.commit()
    return user, code


def reset_trainee():
    user = make_user(Role.TRAINEE, phone=PHONE)
    code = services.reset_password_to_code(user)
    db.session.commit()
    return user, code


def login_with(auth):
    return lambda phone, code: auth.login(phone, code)


@pytest.mark.parametrize("page", ["activate", "login"])
@pytest.mark.parametrize("kind", ["activation", "reset"])
def test_five_wrong_tries_end_a_code_even_when_the_sixth_is_right(client, auth, app, page, kind):
    user, code = waiting_trainee() if kind == "activation" else reset_trainee()
    send = (lambda phone, typed: activate(client, phone, typed)) if page == "activate" else login_with(auth)
    for n in range(1, 6):
        assert send(PHONE, other_code(code, n)).status_code == 200
        assert tries_in_the_database(user) == n  # committed though the try failed
    response = send(PHONE, code)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and LOCKED in html
    assert client.get("/account").status_code == 302  # not logged in
    db.session.refresh(user)
    assert user.activation_code_hash is not None or user.must_change_password  # nothing was changed


def test_four_wrong_tries_leave_the_right_code_working(client, app):
    user, code = waiting_trainee()
    for n in range(1, 5):
        activate(client, PHONE, other_code(code, n))
    assert activate(client, PHONE, code).status_code == 302
    assert tries_in_the_database(user) == 0


def test_tries_on_the_two_pages_add_up(client, auth, app):
    user, code = waiting_trainee()
    for n in range(1, 4):
        auth.login(PHONE, other_code(code, n))
    for n in range(4, 6):
        activate(client, PHONE, other_code(code, n))
    assert LOCKED in activate(client, PHONE, code).get_data(as_text=True)


@pytest.mark.parametrize("renew", ["slips", "reset"])
def test_a_new_code_starts_the_count_again(client, auth, app, renew):
    if renew == "slips":
        user, code = waiting_trainee()
    else:
        user, code = reset_trainee()
    for n in range(1, 7):
        activate(client, PHONE, other_code(code, n))
    assert LOCKED in activate(client, PHONE, code).get_data(as_text=True)
    if renew == "slips":
        code = services.issue_activation_code(db.session.get(User, user.id))
        db.session.commit()
    else:
        organizer = make_user(Role.ORGANIZER)
        auth.login(organizer.phone)
        html = client.post(f"/users/{user.id}/reset-password",
                           data={"csrf_token": csrf_token(client, f"/users/{user.id}"), "confirm": "yes"}
                           ).get_data(as_text=True)
        code = html.split('class="code"')[1].split(">")[1].split("<")[0].strip()
        auth.logout()
    assert tries_in_the_database(user) == 0
    assert activate(client, PHONE, code).status_code == 302


def test_a_weak_new_password_does_not_use_up_the_right_code(client, app):
    user, code = waiting_trainee()
    for _ in range(6):
        assert "dễ đoán" in activate(client, PHONE, code, "11111111").get_data(as_text=True)
    assert tries_in_the_database(user) == 0
    assert activate(client, PHONE, code).status_code == 302


def test_an_unknown_phone_is_told_the_code_is_wrong_however_often(client, app):
    for n in range(7):
        html = activate(client, "0987999888", f"1234567{n}").get_data(as_text=True)
        assert WRONG_CODE in html and LOCKED not in html


@pytest.mark.parametrize("page", ["activate", "login"])
def test_an_expired_reset_code_is_refused(client, auth, app, page):
    user, code = reset_trainee()
    user.reset_code_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = activate(client, PHONE, code) if page == "activate" else auth.login(PHONE, code)
    assert response.status_code == 200
    assert client.get("/account").status_code == 302
    if page == "activate":
        assert WRONG_CODE in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.must_change_password


def test_a_reset_code_works_for_the_configured_hours(app):
    app.config["RESET_CODE_HOURS"] = 10
    user, _ = reset_trainee()
    left = user.reset_code_expires_at - utcnow()
    assert timedelta(hours=9, minutes=59) < left <= timedelta(hours=10)


def test_the_reset_code_screen_says_until_when_in_vietnam_time(client, auth, app):
    organizer = make_user(Role.ORGANIZER)
    trainee = make_trainee()
    auth.login(organizer.phone)
    html = client.post(f"/users/{trainee.id}/reset-password",
                       data={"csrf_token": csrf_token(client, f"/users/{trainee.id}"), "confirm": "yes"}
                       ).get_data(as_text=True)
    db.session.refresh(trainee)
    until = to_local(trainee.reset_code_expires_at)
    assert "Mã dùng được đến" in html and "(giờ Việt Nam)" in html
    assert until.strftime("%H:%M") in html
    assert trainee.reset_code_expires_at - utcnow() > timedelta(hours=71)


def test_a_code_typed_wrong_too_often_needs_a_new_slip(app):
    user, code = waiting_trainee()
    cohort = create_cohort(code="KT-01", name="Lớp khảm trai", course=make_course())
    add_member(cohort, user)
    db.session.commit()
    assert trainees_waiting_for_codes(cohort)["without_code"] == 0
    for n in range(1, 6):
        assert services.authenticate(PHONE, other_code(code, n)) is None
    db.session.commit()
    assert trainees_waiting_for_codes(cohort)["without_code"] == 1


def test_a_login_answered_busy_costs_the_code_no_try(client, auth, app):
    from tests.accounts.test_busy_logins import every_slot_taken

    user, code = waiting_trainee()
    app.config.update(PASSWORD_HASH_WAIT_S=0.05)
    with every_slot_taken(app):
        for _ in range(6):  # the page comes back by itself after each "busy"
            assert auth.login(PHONE, code).status_code == 503
    assert tries_in_the_database(user) == 0
    assert auth.login(PHONE, code).status_code == 302
