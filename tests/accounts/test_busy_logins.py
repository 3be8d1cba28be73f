"""A class logging in together: argon2 at OWASP's cost, a bounded number of hashes at a time, 503 + Retry-After."""

import re
import socket
import threading
import time
from contextlib import contextmanager

import requests
import sqlalchemy as sa
from argon2 import PasswordHasher

from lms.accounts import services
from lms.accounts.models import User
from lms.accounts.passwords import (
    HashingBusy,
    HashingSlots,
    hash_password,
    hashing_slots,
    verify_password,
)
from lms.core.config import BaseConfig
from lms.core.extensions import db
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD, make_trainee

BUSY = re.compile(r"Nhiều người đang đăng nhập, thử lại sau (\d+) giây")


@contextmanager
def every_slot_taken(app):
    """Hold the app's only hashing slot from another thread, as a login in progress would."""
    app.config.update(PASSWORD_HASH_SLOTS=1)
    app.extensions.pop("lms_hashing_slots", None)
    slots = hashing_slots()
    taken, release = threading.Event(), threading.Event()

    def hold():
        with slots.hold():
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(5)
    try:
        yield
    finally:
        release.set()
        thread.join(5)


def log_in(client, phone, password=DEFAULT_PASSWORD, token=None):
    token = token or csrf_token(client, "/login")
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token})


def test_the_default_cost_is_owasp_minimum_argon2id(app):
    app.config.update(PASSWORD_HASH_TIME_COST=BaseConfig.PASSWORD_HASH_TIME_COST,
                      PASSWORD_HASH_MEMORY_KIB=BaseConfig.PASSWORD_HASH_MEMORY_KIB,
                      PASSWORD_HASH_PARALLELISM=BaseConfig.PASSWORD_HASH_PARALLELISM)
    # OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB (19456 KiB), t=2, p=1 at least.
    assert hash_password("ban-hang-online").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_hash_made_at_the_old_cost_still_logs_in_and_is_rehashed(client, app):
    trainee = make_trainee()
    # argon2-cffi's defaults, which every account had before: m=64 MiB, t=3, p=4 (~0.2 s a login).
    trainee.password_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(DEFAULT_PASSWORD)
    db.session.commit()
    assert log_in(client, trainee.phone).status_code == 302
    db.session.refresh(trainee)
    assert trainee.password_hash.startswith("$argon2id$v=19$m=64,t=1,p=1$")  # the app's cost (cheap in tests)
    assert verify_password(trainee.password_hash, DEFAULT_PASSWORD)


def test_no_more_hashes_run_at_once_than_there_are_slots():
    slots = HashingSlots(2, wait_s=10, max_waiting=100)
    running, most = [0], [0]
    lock = threading.Lock()

    def login():
        with slots.hold(), slots.hold():  # a login's verify and rehash share one slot
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.03)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=login) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == 2


def test_a_slot_not_free_within_the_wait_raises_busy_with_a_spread_retry_after():
    slots = HashingSlots(1, wait_s=0.05)
    with slots.hold():
        started = time.perf_counter()
        failures = []
        for _ in range(20):
            thread = threading.Thread(target=lambda: _try(slots, failures))
            thread.start()
            thread.join(5)
        assert time.perf_counter() - started < 3  # bounded: 20 × 0.05 s, not a queue without end
    assert len(failures) == 20
    assert all(2 <= seconds <= 45 for seconds in failures)
    assert len(set(failures)) > 1  # spread, so a class turned away together does not return together


def test_a_login_finding_the_queue_full_is_turned_away_at_once():
    """Logins waiting for a slot never hold every thread: past max_waiting the answer is immediate."""
    slots = HashingSlots(1, wait_s=5, max_waiting=2)
    release = threading.Event()
    failures = []

    def wait_in_line():
        try:
            with slots.hold():
                release.wait(5)
        except HashingBusy:  # pragma: no cover - the two in line get their turn
            failures.append("in line")

    with slots.hold():
        line = [threading.Thread(target=wait_in_line) for _ in range(2)]
        for thread in line:
            thread.start()
        time.sleep(0.2)
        started = time.perf_counter()
        third = threading.Thread(target=_try, args=(slots, failures))
        third.start()
        third.join(5)
        assert time.perf_counter() - started < 0.5 and len(failures) == 1  # not the 5 s wait
    release.set()
    for thread in line:
        thread.join(5)
    assert len(failures) == 1


def _try(slots, failures):
    try:
        with slots.hold():
            pass
    except HashingBusy as exc:
        failures.append(exc.retry_after)


def test_a_full_queue_answers_503_with_retry_after_and_keeps_the_phone(client, app):
    trainee = make_trainee(phone="0912345678")
    app.config.update(PASSWORD_HASH_WAIT_S=0.1)
    token = csrf_token(client, "/login")
    # One wrong password first: the login limit's window (15 minutes) must not become the Retry-After.
    assert log_in(client, "0912345678", password="sai-mat-khau", token=token).status_code == 200
    with every_slot_taken(app):
        started = time.perf_counter()
        response = log_in(client, "0912 345 678", token=token)
        waited = time.perf_counter() - started
        html = response.get_data(as_text=True)
        assert response.status_code == 503
        seconds = int(response.headers["Retry-After"])
        assert BUSY.search(html) and int(BUSY.search(html).group(1)) == seconds
        assert 'value="0912 345 678"' in html  # the phone as typed: only the password is to type again
        assert f'data-busy-retry-after="{seconds}"' in html  # login.js counts down from here
        assert 0.1 <= waited < 2
        # A 503 checked no password: ten of them lock nobody out (the limit is 10 wrong ones).
        for _ in range(10):
            assert log_in(client, "0912345678", token=token).status_code == 503
    assert log_in(client, trainee.phone, token=token).status_code == 302


def test_registration_while_every_slot_is_taken_gets_503_and_creates_nobody(client, app):
    from tests.accounts.test_views import register

    app.config.update(PASSWORD_HASH_WAIT_S=0.05)
    with every_slot_taken(app):
        response = register(client)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 2
    assert BUSY.search(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_a_login_whose_phone_gave_up_spends_no_hash(served, app, monkeypatch):
    """The phone timed out and closed the connection while its login waited: nobody hashes for it."""
    trainee = make_trainee()
    db.session.commit()
    checked = []
    real = services.authenticate_user
    monkeypatch.setattr(services, "authenticate_user", lambda *a, **k: checked.append(1) or real(*a, **k))
    app.config.update(PASSWORD_HASH_WAIT_S=5)
    session = requests.Session()
    token = re.search(r'csrf-token" content="([^"]+)"', session.get(served + "/login").text).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    body = f"phone={trainee.phone}&password={DEFAULT_PASSWORD}&csrf_token={token}".encode()
    host, port = served.removeprefix("http://").split(":")
    with every_slot_taken(app), socket.create_connection((host, int(port))) as raw:
        raw.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    + f"Cookie: {cookie}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(0.3)  # the request now waits for the slot
        # The phone closes the connection (leaving the block), then the slot comes free.
    time.sleep(0.5)
    assert checked == []
    assert log_in_over_http(served, trainee.phone) == 200 and checked == [1]


def log_in_over_http(base, phone):
    session = requests.Session()
    token = re.search(r'csrf-token" content="([^"]+)"', session.get(base + "/login").text).group(1)
    answer = session.post(base + "/login", data={"phone": phone, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert "/login" not in answer.url, answer.url
    return answer.status_code


def test_a_login_hashes_outside_any_database_transaction(client, app, monkeypatch):
    """On SQLite a POST's transaction holds the one write lock: argon2 must not run inside it."""
    trainee = make_trainee()
    seen = []
    real = services._authenticate
    monkeypatch.setattr(services, "_authenticate", lambda *a: seen.append(db.session().in_transaction()) or real(*a))
    assert log_in(client, trainee.phone).status_code == 302
    assert seen == [False]
