"""Behind the reverse proxy each client keeps its own login limit; without one, nobody picks their address."""

import pytest

from lms import create_app
from lms.core.config import trusted_proxies
from tests.conftest import TEST_CONFIG, csrf_token
from tests.factories import make_trainee


def _app(app, proxies: int):
    site = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "INSTANCE_PATH": app.instance_path, "TRUSTED_PROXIES": proxies,
                       "LOGIN_LIMIT_PER_IP": "3 per minute", "LOGIN_LIMIT_PER_PHONE_AND_CLIENT": "100 per minute"})
    return site.test_client()


def _wrong_login(client, address: str) -> int:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"phone": "0912000999", "password": "wrong-password-1", "csrf_token": token},
                       headers={"X-Forwarded-For": address}, environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(app):
    make_trainee(phone="0912000999")
    client = _app(app, proxies=1)
    assert [_wrong_login(client, "203.0.113.7") for _ in range(4)] == [200, 200, 200, 429]
    assert _wrong_login(client, "198.51.100.9") == 200  # another phone behind the same proxy is not locked out


def test_without_a_trusted_proxy_the_header_changes_nothing(app):
    make_trainee(phone="0912000999")
    client = _app(app, proxies=0)
    # Each try claims another address; the limit still counts the one connection they all came from.
    assert [_wrong_login(client, f"203.0.113.{i}") for i in range(4)] == [200, 200, 200, 429]


def test_the_number_of_proxies_is_a_small_whole_number():
    assert trusted_proxies({}) == 0 and trusted_proxies({"LMS_TRUSTED_PROXIES": "1"}) == 1
    for bad in ("yes", "-1", "9"):
        with pytest.raises(ValueError):
            trusted_proxies({"LMS_TRUSTED_PROXIES": bad})
