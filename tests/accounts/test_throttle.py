"""Wrong passwords typed by someone else slow a phone down but never lock its owner out; limits count once across workers."""

import time

import limits.storage.memory
import pytest

from lms import create_app
from lms.accounts import throttle
from tests.conftest import TEST_CONFIG, csrf_token
from tests.factories import DEFAULT_PASSWORD, make_trainee


class _Clock:
    """The counters' clock, moved forward by a test instead of sleeping."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(throttle, "time", clock)
    return clock


def _login(client, phone: str, password: str, address: str = "198.51.100.1"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_wrong_passwords_from_many_addresses_do_not_lock_the_owner_out_for_15_minutes(app, client, clock):
    owner = make_trainee(phone="0912000111")
    attacker = app.test_client()
    for i in range(30):
        _login(attacker, owner.phone, f"guess-{i}", address=f"203.0.113.{i}")
    refused = _login(client, owner.phone, DEFAULT_PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= app.config["LOGIN_SLOWDOWN_MAX_SECONDS"]
    assert "Hãy đợi" in refused.get_data(as_text=True) and 'value="0912000111"' in refused.get_data(as_text=True)
    clock.offset += app.config["LOGIN_SLOWDOWN_MAX_SECONDS"] + 1
    assert _login(client, owner.phone, DEFAULT_PASSWORD).status_code == 302  # a minute, not 15


def test_a_browser_that_logged_in_before_is_not_slowed_by_others_guessing(app, client, clock):
    owner = make_trainee(phone="0912000112")
    assert _login(client, owner.phone, DEFAULT_PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    attacker = app.test_client()
    for i in range(30):
        _login(attacker, owner.phone, f"guess-{i}", address=f"203.0.113.{i}")
    assert _login(attacker, owner.phone, DEFAULT_PASSWORD, address="203.0.113.99").status_code == 429
    assert _login(client, owner.phone, DEFAULT_PASSWORD).status_code == 302


def test_one_client_gets_its_limit_of_wrong_tries_for_one_phone_then_waits_out_the_window(app, client, clock):
    app.config.update(LOGIN_LIMIT_PER_PHONE_AND_CLIENT="5 per 15 minutes", LOGIN_SLOWDOWN_AFTER=100)
    owner = make_trainee(phone="0912000113")
    statuses = [_login(client, owner.phone, f"guess-{i}").status_code for i in range(7)]
    assert statuses == [200] * 5 + [429, 429]
    assert _login(client, owner.phone, DEFAULT_PASSWORD).status_code == 429
    assert _login(app.test_client(), owner.phone, DEFAULT_PASSWORD, address="198.51.100.2").status_code == 302
    clock.offset += 15 * 60 + 1
    assert _login(client, owner.phone, DEFAULT_PASSWORD).status_code == 302


def test_the_phone_is_slowed_more_with_each_wrong_try_up_to_the_cap(app, clock):
    app.config.update(LOGIN_SLOWDOWN_AFTER=3, LOGIN_SLOWDOWN_MAX_SECONDS=8)
    owner = make_trainee(phone="0912000114")
    waits = []
    for i in range(8):
        client = app.test_client()
        assert _login(client, owner.phone, f"guess-{i}", address=f"203.0.113.{i}").status_code == 200
        refused = _login(client, owner.phone, "guess", address=f"203.0.113.{i}")
        if refused.status_code == 429:
            waits.append(int(refused.headers["Retry-After"]))
            clock.offset += waits[-1] + 0.01
    assert waits == [1, 2, 4, 8, 8, 8, 8]  # from the 3rd wrong try on


def test_a_known_device_of_another_account_or_a_forged_one_is_slowed_like_any_client(app, client, clock):
    owner, other = make_trainee(phone="0912000115"), make_trainee(phone="0912000118")
    assert _login(client, other.phone, DEFAULT_PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    forged = app.test_client()
    forged.set_cookie(throttle.DEVICE_COOKIE, client.get_cookie(throttle.DEVICE_COOKIE).value[:-2] + "xx")
    for i in range(12):
        _login(app.test_client(), owner.phone, f"guess-{i}", address=f"203.0.113.{i}")
    assert _login(client, owner.phone, DEFAULT_PASSWORD).status_code == 429
    assert _login(forged, owner.phone, DEFAULT_PASSWORD).status_code == 429


def test_counters_never_hold_a_phone_number(app, client, tmp_path):
    storage_file = tmp_path / "counters.sqlite3"
    site = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "INSTANCE_PATH": app.instance_path, "RATELIMIT_STORAGE_URI": f"lms+sqlite:///{storage_file}"})
    make_trainee(phone="0912000116")
    _login(site.test_client(), "0912 000 116", "guess-1")
    data = storage_file.read_bytes() + (tmp_path / "counters.sqlite3-wal").read_bytes()
    assert b"LIMITER" in data
    for form in (b"0912000116", b"912000116", b"0912 000 116"):
        assert form not in data


def test_two_workers_on_one_counters_file_share_the_limit(app, tmp_path):
    """Two apps (as two gunicorn workers) on one counters file: the limit is the configured one, not twice it."""
    uri = f"lms+sqlite:///{tmp_path / 'counters.sqlite3'}"
    workers = [create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                           "INSTANCE_PATH": app.instance_path, "RATELIMIT_STORAGE_URI": uri,
                           "LOGIN_LIMIT_PER_PHONE_AND_CLIENT": "4 per 15 minutes", "LOGIN_SLOWDOWN_AFTER": 100})
               for _ in range(2)]
    owner = make_trainee(phone="0912000117")
    clients = [w.test_client() for w in workers]
    statuses = [_login(clients[i % 2], owner.phone, f"guess-{i}").status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
