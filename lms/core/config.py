"""Settings read from the environment, with defaults for one machine."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from lms.core.ratelimits import storage_uri
from lms.core.timezone import ZONE_NAME

DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3
#: Unfinished uploads one person may have at once, and the bytes they may declare together.
DEFAULT_UPLOADS_OPEN_PER_USER = 5
DEFAULT_UPLOAD_BYTES_IN_FLIGHT = 2 * 1024**3
#: About 5 s of XLSX: well inside gunicorn's 60 s timeout, and a phone on 3G still gets it.
DEFAULT_EXPORT_INLINE_ROWS = 60_000
DEFAULT_EXPORT_KEEP_HOURS = 24
#: A killed worker's job is noticed within this (plus the minute of the periodic check).
DEFAULT_JOBS_STALE_AFTER_S = 120
DEFAULT_JOBS_HEARTBEAT_S = 15
#: The process that opens an uploaded workbook for a trainee import: its address space and its time.
DEFAULT_SPREADSHEET_MEMORY_MB = 1024
DEFAULT_SPREADSHEET_SECONDS = 20
#: Long enough to ride out a burst (about 40 logins per slot per second at OWASP cost), short
#: enough that a phone hears "try again in N seconds" long before its own 30 s timeout.
DEFAULT_PASSWORD_HASH_WAIT_S = 3.0
#: Lesson-activity detail (Decree 356 counts online activity history as sensitive) kept this long.
DEFAULT_ACTIVITY_RETENTION_DAYS = 365
DEFAULT_FIGURES_LIVE_UNDER_S = 2.0
#: Days a trainee has to change their mind before their account is anonymised.
DEFAULT_DELETION_COOL_OFF_DAYS = 7
#: The version of the privacy notice shipped with the code: bump it when the notice's text changes.
DEFAULT_PRIVACY_NOTICE_VERSION = "2026-12-04"
#: A one-time reset code an organizer gives out works this long: time to reach the trainee, not for ever.
DEFAULT_RESET_CODE_HOURS = 72


def default_instance_path() -> Path:
    """Return the folder that holds all state: LMS_INSTANCE_PATH or ./instance."""
    return Path(os.environ.get("LMS_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def load_secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment or from a key generated once in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not each write a different key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


#: The names a request may carry when no LMS_BASE_URL is set: this machine only (development).
LOCAL_HOSTS = ("localhost", "127.0.0.1")


class MissingBaseUrl(RuntimeError):
    """The site is served over HTTPS (production) without saying its own address."""


def base_url(env) -> str | None:
    """Return LMS_BASE_URL without its trailing slash; production (LMS_HTTPS=1) must set it."""
    url = (env.get("LMS_BASE_URL") or "").strip().rstrip("/") or None
    if url is None and env.get("LMS_HTTPS", "0") == "1":
        raise MissingBaseUrl("Set LMS_BASE_URL to the site's public address (e.g. https://langso.example.vn): "
                             "QR codes and signed certificates are made from it, and requests for other "
                             "hosts are refused.")
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise MissingBaseUrl(f"LMS_BASE_URL must start with https:// or http://, not {url!r}.")
    return url


def trusted_proxies(env) -> int:
    """Return LMS_TRUSTED_PROXIES, the number of proxies whose X-Forwarded-For is believed (0 to 5)."""
    text = (env.get("LMS_TRUSTED_PROXIES") or "0").strip()
    if not text.isdigit() or int(text) > 5:
        raise ValueError(f"LMS_TRUSTED_PROXIES must be a number of proxies from 0 to 5, not {text!r}.")
    return int(text)


def trusted_hosts(base: str | None, extra=()) -> list[str]:
    """Return the host names requests may carry: LMS_BASE_URL's (or this machine's), plus any extra."""
    hosts = [urlsplit(base).hostname] if base else list(LOCAL_HOSTS)
    return [h for h in hosts if h] + [h for h in extra if h not in hosts]


def settings_from_env(instance_path: Path) -> dict:
    """Build the app's settings from environment variables."""
    env = os.environ
    redis_url = env.get("REDIS_URL") or None
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'lms.sqlite3'}"
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        #: Counters every worker and node shares: Redis when there is one, else a SQL table
        #: (lms/core/ratelimits.py). Never per-process memory, which multiplies every limit.
        "RATELIMIT_STORAGE_URI": redis_url or storage_uri(database_url, instance_path),
        "LMS_ORG_NAME": env.get("LMS_ORG_NAME", "Làng Số"),
        #: Who issues the printed reports and sheets (the header's bold line), its superior above it
        #: (may be empty), and the place of their date line: "Phú Xuyên, ngày 04 tháng 12 năm 2026".
        **report_issuer(env),
        #: Certificate look-ups (code, serial + name) allowed per client address.
        "CERTIFICATE_VERIFY_LIMIT": env.get("LMS_VERIFY_LIMIT", "30 per minute"),
        #: Public address printed in QR codes and signed certificates, e.g. https://langso.example.vn;
        #: required outside development (LMS_HTTPS=1). Requests for another host are refused.
        "BASE_URL": base_url(env),
        #: Reverse proxies in front of the app that add X-Forwarded-For (nginx, Caddy: 1). Only then is
        #: the client's address taken from that header, as the last proxy saw it; 0 trusts none.
        "TRUSTED_PROXIES": trusted_proxies(env),
        #: More host names the site answers to (comma-separated), besides LMS_BASE_URL's.
        "EXTRA_TRUSTED_HOSTS": [h.strip() for h in env.get("LMS_TRUSTED_HOSTS", "").split(",") if h.strip()],
        "MAX_UPLOAD_BYTES": int(env.get("LMS_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)),
        #: Unfinished uploads one person may have going at once (more are answered 429, retried by the page).
        "UPLOADS_OPEN_PER_USER": positive_int(env, "LMS_UPLOADS_PER_USER", DEFAULT_UPLOADS_OPEN_PER_USER),
        #: Bytes one person's unfinished uploads may declare together (413 past it); never below MAX_UPLOAD_BYTES.
        "UPLOAD_BYTES_IN_FLIGHT_PER_USER": positive_int(env, "LMS_UPLOAD_BYTES_IN_FLIGHT",
                                                        DEFAULT_UPLOAD_BYTES_IN_FLIGHT),
        "SESSION_COOKIE_SECURE": env.get("LMS_HTTPS", "0") == "1",
        "REMEMBER_COOKIE_SECURE": env.get("LMS_HTTPS", "0") == "1",
        "PREFERRED_URL_SCHEME": "https" if env.get("LMS_HTTPS", "0") == "1" else "http",
        "LOG_LEVEL": env.get("LMS_LOG_LEVEL", "INFO"),
        #: Password hashes computed at once in this process (gunicorn.conf.py sets cores ÷ workers).
        "PASSWORD_HASH_SLOTS": int(env.get("LMS_PASSWORD_HASH_SLOTS") or os.cpu_count() or 1),
        #: Seconds a login waits for a free hashing slot before it is answered 503 with Retry-After.
        "PASSWORD_HASH_WAIT_S": float(env.get("LMS_PASSWORD_HASH_WAIT_S", DEFAULT_PASSWORD_HASH_WAIT_S)),
        #: Logins allowed to wait for a slot at once per process (more are answered 503 at once);
        #: unset: four per slot. gunicorn.conf.py keeps it below each worker's threads.
        "PASSWORD_HASH_MAX_WAITING": int(env["LMS_PASSWORD_HASH_MAX_WAITING"])
        if env.get("LMS_PASSWORD_HASH_MAX_WAITING") else None,
        #: Hours a one-time password-reset code works (shown, in Vietnam time, beside the code).
        "RESET_CODE_HOURS": positive_int(env, "LMS_RESET_CODE_HOURS", DEFAULT_RESET_CODE_HOURS),
        "STORAGE_BACKEND": env.get("LMS_STORAGE", "local"),
        "MEDIA_ROOT": str(instance_path / "media"),
        "UPLOAD_TEMP_DIR": str(instance_path / "uploads"),
        "S3_BUCKET": env.get("S3_BUCKET"),
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL"),
        "S3_REGION": env.get("S3_REGION", "us-east-1"),
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID"),
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY"),
        "S3_ADDRESSING_STYLE": env.get("S3_ADDRESSING_STYLE", "path"),
        "S3_KEY_PREFIX": env.get("S3_KEY_PREFIX", ""),
        #: Attendance exports with more detail rows (trainees × sessions) than this are made in the job queue.
        "ATTENDANCE_EXPORT_INLINE_ROWS": int(env.get("LMS_EXPORT_INLINE_ROWS", DEFAULT_EXPORT_INLINE_ROWS)),
        #: Hours an export made in the queue is kept for download; it holds names and phone numbers.
        "ATTENDANCE_EXPORT_KEEP_HOURS": int(env.get("LMS_EXPORT_KEEP_HOURS", DEFAULT_EXPORT_KEEP_HOURS)),
        #: A running job not heard from for this many seconds lost its worker (lms.core.jobs).
        "JOBS_STALE_AFTER_S": int(env.get("LMS_JOBS_STALE_AFTER_S", DEFAULT_JOBS_STALE_AFTER_S)),
        #: How often a running job records that its worker is alive; well under JOBS_STALE_AFTER_S.
        "JOBS_HEARTBEAT_S": float(env.get("LMS_JOBS_HEARTBEAT_S", DEFAULT_JOBS_HEARTBEAT_S)),
        #: An uploaded workbook is opened in a child process with this much address space (MB) and time
        #: (seconds); a file that needs more is refused as unreadable (lms/core/spreadsheets/workbook_child.py).
        "SPREADSHEET_MEMORY_MB": int(env.get("LMS_SPREADSHEET_MEMORY_MB", DEFAULT_SPREADSHEET_MEMORY_MB)),
        "SPREADSHEET_SECONDS": float(env.get("LMS_SPREADSHEET_SECONDS", DEFAULT_SPREADSHEET_SECONDS)),
        #: Days lesson-activity detail (progress events) is kept before the worker folds it into totals.
        "ACTIVITY_RETENTION_DAYS": positive_int(env, "LMS_ACTIVITY_RETENTION_DAYS", DEFAULT_ACTIVITY_RETENTION_DAYS),
        #: Days between a deletion request and the anonymisation of the account, during which it can be cancelled.
        "DELETION_COOL_OFF_DAYS": positive_int(env, "LMS_DELETION_COOL_OFF_DAYS", DEFAULT_DELETION_COOL_OFF_DAYS,
                                               minimum=0),
        #: Version of the privacy notice trainees consent to; an organisation that edits the notice bumps it,
        #: and every trainee is asked again.
        "PRIVACY_NOTICE_VERSION": (env.get("LMS_PRIVACY_NOTICE_VERSION") or "").strip()
        or DEFAULT_PRIVACY_NOTICE_VERSION,
        #: How trainees reach the person who handles personal-data requests (an e-mail, a phone, an office).
        "PRIVACY_CONTACT": (env.get("LMS_PRIVACY_CONTACT") or "").strip(),
        #: The dashboard counts live when the worker's last count took less than this many seconds; otherwise
        #: it shows the worker's figures and the time they were counted (lms/reports/snapshots.py).
        "FIGURES_LIVE_UNDER_S": float(env.get("LMS_FIGURES_LIVE_UNDER_S", DEFAULT_FIGURES_LIVE_UNDER_S)),
    }


def report_issuer(env) -> dict:
    """Return the issuing body of printed reports, its superior and the place of their date line.

    The body defaults to LMS_ORG_NAME; the superior and the place default to nothing (the header then
    has one line on the left, and the date line starts at "Ngày").
    """
    org_name = (env.get("LMS_ORG_NAME") or "").strip() or "Làng Số"
    return {
        "ISSUING_BODY": (env.get("LMS_ISSUING_BODY") or "").strip() or org_name,
        "ISSUING_BODY_PARENT": (env.get("LMS_ISSUING_BODY_PARENT") or "").strip(),
        "REPORT_PLACE": (env.get("LMS_REPORT_PLACE") or "").strip(),
    }


def positive_int(env, name: str, default: int, *, minimum: int = 1) -> int:
    """Return a whole-number setting of at least `minimum`, or say which setting is wrong."""
    text = (env.get(name) or str(default)).strip()
    if not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not {text!r}.")
    return int(text)


class BaseConfig:
    """Defaults that do not depend on the environment."""

    #: No ping on every checkout (a round trip per request on PostgreSQL): lms/core/db.py pings
    #: only connections that sat idle, which is when a database restart leaves them dead.
    #: hide_parameters: a database error's message (and so any traceback in a log) never carries the
    #: values of the statement: phones, names, password hashes.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: Flask-Login's default is a year; a lost phone should not stay logged in that long.
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead: old phones keep tabs open for days
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = ZONE_NAME
    LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
    RATELIMIT_HEADERS_ENABLED = True
    #: Wrong passwords (and codes) allowed per phone number from one client, and per client address
    #: for all phones (lms/accounts/throttle.py).
    LOGIN_LIMIT_PER_PHONE_AND_CLIENT = "10 per 15 minutes"
    LOGIN_LIMIT_PER_IP = "50 per 15 minutes"
    #: After this many wrong passwords for one phone in 15 minutes, from any clients, each further
    #: one makes the phone wait 1, 2, 4… seconds, at most LOGIN_SLOWDOWN_MAX_SECONDS: slowed, never shut.
    LOGIN_SLOWDOWN_AFTER = 10
    LOGIN_SLOWDOWN_MAX_SECONDS = 60
    #: argon2id cost: OWASP's Password Storage Cheat Sheet minimum (m=19 MiB, t=2, p=1), about
    #: 25 ms of one core here. Hashes made with another cost (the library's old default,
    #: m=64 MiB t=3 p=4, ~190 ms) still verify and are rehashed at the next login. Tests lower it.
    PASSWORD_HASH_TIME_COST = 2
    PASSWORD_HASH_MEMORY_KIB = 19456
    PASSWORD_HASH_PARALLELISM = 1
    JOBS_IMMEDIATE = False
    #: Largest request body outside the upload API (forms); uploads use MAX_UPLOAD_BYTES.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    #: Largest single tus PATCH; clients send 5 MB chunks.
    MAX_UPLOAD_CHUNK_BYTES = 64 * 1024 * 1024
    #: Unfinished uploads are kept this long for resuming.
    UPLOAD_EXPIRY_HOURS = 72
    #: An unfinished upload that received nothing for this long is discarded when its owner needs room
    #: for a new one (lms.media.services._make_room).
    UPLOAD_IDLE_MINUTES = 30
    #: How long a signed media URL (S3) stays valid.
    MEDIA_URL_EXPIRY_S = 6 * 3600
