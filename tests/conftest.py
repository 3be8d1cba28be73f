"""Fixtures: an app on a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL), and headless Chromium."""

import contextlib
import logging
import os
import re
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from lms import create_app
from lms.core.extensions import db

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "JOBS_IMMEDIATE": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    # argon2 at its cheapest: the suite hashes hundreds of passwords.
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_KIB": 64,
    "SERVER_NAME": None,
}


def _create_postgres_database(base_url: str) -> tuple[str, callable]:
    """Create a throwaway database next to TEST_DATABASE_URL; return its URL and a dropper."""
    url = make_url(base_url)
    name = f"lms_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """Return the URL of an empty database for this test session."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        url, drop = _create_postgres_database(base)
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Create the schema once per session, through the migrations.

    LMS_TEST_CREATE_ALL=1 builds it from the models instead, for work in progress
    before its migration is written (test_migrations still checks the two agree).
    """
    from flask_migrate import upgrade

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("schema-instance"))})
    with app.app_context():
        if os.environ.get("LMS_TEST_CREATE_ALL") == "1":
            db.create_all()
        else:
            upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture
def app(_schema, tmp_path):
    """Return an app bound to the session's database, emptied after each test."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": _schema, "INSTANCE_PATH": str(tmp_path / "instance")})
    app.test_client_class = FreshGlobalsClient
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


class FreshGlobalsClient(FlaskClient):
    """A test client whose every request gets a fresh `g`, as in production.

    The app fixture keeps one app context open for the whole test, and Flask
    reuses it for requests; without this, Flask-Login's user and Flask-WTF's
    token would leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        ctx = _cv_app.get(None)
        if ctx is not None:
            ctx.g = ctx.app.app_ctx_globals_class()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """Return the CSRF token a page gives this client's session."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _CSRF_META.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    """Log a test client in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def login(self, phone: str, password: str = "secret-pass-1", follow_redirects=False):
        token = csrf_token(self.client, "/login")
        return self.client.post(
            "/login",
            data={"phone": phone, "password": password, "csrf_token": token},
            follow_redirects=follow_redirects,
        )

    def logout(self):
        token = csrf_token(self.client, "/")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


# --- Browser tests (marked e2e): headless Chromium at a phone's size -------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (Debian's, at CHROMIUM_PATH)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make e2e`, which installs it")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_phone_page(browser):
    """Return a function that opens a phone-sized page in Vietnamese, each in its own context (own cookies).

    Keyword arguments override the context's options, e.g. another viewport. Every context is closed after the test.
    """
    contexts = []

    def open_page(**options):
        context = browser.new_context(**{**PHONE, "locale": "vi-VN", **options})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def phone_page(new_phone_page):
    return new_phone_page()


def wait_until_logged_in(page) -> None:
    """Wait until a login or activation form has opened the next page.

    static/js/login.js sends these forms in the background (so that a busy server's 503 can be
    waited out without losing the typed password) and then opens the next page itself: a click
    alone no longer waits for that navigation.
    """
    page.wait_for_url(lambda url: urlsplit(url).path not in ("/login", "/activate"))


@pytest.fixture
def served(app):
    """Serve the test app on a free local port, in a thread; return its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


# --- Nothing personal in any log line of the whole run ---------------------------------------------

#: A Vietnamese mobile or landline number as the suite writes them (factories, fixtures, typed forms).
_PHONE_IN_LOG = re.compile(r"(?<![\w/])(?:\+?84|0)[ .-]?(?:[35789](?:[ .-]?\d){8}|2(?:[ .-]?\d){9})(?![\w])")
#: Passwords the suite types, and a password hash of any account.
_SECRET_IN_LOG = re.compile(r"secret-pass-1|demo12345|wrong-password|mat-khau-dai|\$argon2")


class _EveryLogLine(logging.Handler):
    """Keep every log line of the run, as a handler would write it (message and traceback)."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        with contextlib.suppress(Exception):  # a record that cannot be formatted is no line of a log
            self.lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def no_personal_data_in_logs():
    """Fail the run if any log line of it carries a phone number, a typed password or a password hash."""
    handler = _EveryLogLine()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)
    leaks = [line for line in handler.lines if _PHONE_IN_LOG.search(line) or _SECRET_IN_LOG.search(line)]
    assert not leaks, f"{len(leaks)} of {len(handler.lines)} log lines carry personal data:\n" + "\n".join(leaks[:20])


@pytest.fixture(autouse=True)
def _keep_collecting_log_lines(no_personal_data_in_logs):
    """Put the collector back on the root logger: running the migrations reconfigures logging."""
    root = logging.getLogger()
    if no_personal_data_in_logs not in root.handlers:
        root.addHandler(no_personal_data_in_logs)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
