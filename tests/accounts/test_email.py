"""An e-mail address, optional at registration and on the profile, is checked without a 500 and without DNS."""

import socket

import pytest
import sqlalchemy as sa

from lms.accounts.models import User
from lms.core.extensions import db
from tests.accounts.test_views import count_users, register
from tests.conftest import csrf_token
from tests.factories import make_trainee

BAD_EMAIL_MESSAGE = "Địa chỉ email này không hợp lệ."


@pytest.fixture
def no_network(monkeypatch):
    """Fail any name look-up: validating an address must not need the network."""

    def refuse(*args, **kwargs):
        raise AssertionError("e-mail validation looked a name up")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    import dns.resolver

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", refuse)


def post_profile(client, email):
    return client.post("/account", data={
        "full_name": "Đặng Quốc Bảo", "province": "1", "commune": "10273", "email": email,
        "csrf_token": csrf_token(client, "/account"),
    })


@pytest.mark.parametrize("email", ["Ngoc.Anh@Gmail.com", "khảm.trai@làngsố.vn", "  anh@langso.vn "])
def test_registration_keeps_a_good_email_without_looking_it_up(client, app, no_network, email):
    response = register(client, email=email)
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User))
    assert user.email == email.strip().lower()


@pytest.mark.parametrize("email", ["anh", "anh@", "a@b", "anh@@langso.vn", "anh @langso.vn", "anh@localhost"])
def test_registration_with_a_bad_email_says_so_in_vietnamese_and_keeps_the_form(client, app, email):
    response = register(client, email=email)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert BAD_EMAIL_MESSAGE in html
    assert "Lê Thị Ngọc Ánh" in html  # nothing typed is lost
    assert count_users() == 0


def test_registration_without_email_still_works(client, app):
    assert register(client, email="").status_code == 302
    assert db.session.scalar(sa.select(User)).email is None


def test_profile_saves_a_good_email(client, auth, app, no_network):
    trainee = make_trainee()
    auth.login(trainee.phone)
    assert post_profile(client, "bao.tuida@yahoo.com.vn").status_code == 302
    db.session.refresh(trainee)
    assert trainee.email == "bao.tuida@yahoo.com.vn"


def test_profile_refuses_a_bad_email_in_vietnamese_and_changes_nothing(client, auth, app):
    trainee = make_trainee(email="cu@langso.vn")
    auth.login(trainee.phone)
    response = post_profile(client, "bao@tuida")
    assert response.status_code == 200
    assert BAD_EMAIL_MESSAGE in response.get_data(as_text=True)
    db.session.refresh(trainee)
    assert trainee.email == "cu@langso.vn"
    assert trainee.full_name != "Đặng Quốc Bảo"
