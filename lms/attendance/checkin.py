"""Rotating check-in codes: the QR token and the 6-digit code a class session shows on screen.

A token for 30-second window ``w = floor(unix_time / 30)`` is
``v1.<session_id>.<w>.<first 16 hex of HMAC-SHA256(session.check_in_secret, "<session_id>:<w>")>``:
versioned, bound to one session, unguessable without the session's secret, and useless a minute
later, so a photo of the screen sent to a friend at home stops working almost at once.

A token is valid during its own window and the next one (``valid_until``: at most a minute).
A trainee who scans while logged out must log in first, which may outlast that, so the scan is
remembered in two halves that only work together, and only until ``redeem_deadline``: the
token's own validity plus LOGIN_ALLOWANCE (2 minutes), whatever the login took.

* The link the login returns to carries a signed stamp, "this token was current at T" (``stamp_seen``).
* The scanning browser gets a scan pass (``make_scan_pass``): a signed, HttpOnly cookie naming the
  class session and the deadline. A link copied from a phone, or a screenshot of it, has no pass,
  so it checks in nobody on another phone beyond what the live QR itself would.

After login, the trainee who logged in on that browser is checked in as of T (so lateness counts
from the scan) if the token was genuine and current at T and the deadline has not passed. The
view deletes the pass on that first try, so one scan checks in one person, once; a second member
logging in on the same phone must scan the screen again, and a pass never used dies at its
deadline. The pass is a separate cookie rather than a key of the Flask session because logging in
starts a fresh session. Like the session cookie it is held by the browser: "once" is the browser
forgetting it, so a pass lifted out of a phone's cookie store before use would still work until its
deadline, a few minutes at most; nothing a trainee can forward by link or screenshot does.
"""

import base64
import hashlib
import hmac
import io
from datetime import UTC, datetime, timedelta

from lms.cohorts.models import ClassSession
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.core.text import normalize_code

TOKEN_VERSION = "v1"  # noqa: S105 - a format version, not a secret
#: The QR token changes this often (seconds); the current and the previous one are accepted.
TOKEN_WINDOW_S = 30
#: The typed code changes this often (seconds): typing 6 digits takes longer than scanning.
CODE_WINDOW_S = 60
CODE_DIGITS = 6
#: Check-in opens this long before a session starts and closes this long after it ends.
OPEN_BEFORE = timedelta(minutes=30)
OPEN_AFTER = timedelta(minutes=30)
#: Checking in more than this long after the start counts as late.
LATE_AFTER = timedelta(minutes=10)
#: A trainee who scanned while logged out may finish logging in this long after the token's own
#: validity ended (``redeem_deadline``); the scan, made while the code was valid, proved presence.
LOGIN_ALLOWANCE = timedelta(minutes=2)
#: The cookie of the scan pass: which class session this browser scanned, and until when.
SCAN_COOKIE = "lms_check_in_scan"
#: A typed code this many windows old is told apart from a wrong one ("expired", not "wrong").
RECENT_CODE_WINDOWS = 10


class CheckInRefused(Exception):
    """A check-in was refused; str() is a translated message safe to show."""

    message = _l("This check-in was refused.")

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else str(self.message)


class InvalidCode(CheckInRefused):
    message = _l("This check-in code is not valid. Scan the code on the instructor's screen again.")


class CodeExpired(CheckInRefused):
    message = _l("This check-in code has expired. Scan the code on the instructor's screen again.")


class NotOpenNow(CheckInRefused):
    message = _l("Check-in for this session is not open now: it opens 30 minutes before the session "
                 "starts and closes 30 minutes after it ends.")


class SessionCancelled(CheckInRefused):
    message = _l("This session has been cancelled.")


def _mac(session: ClassSession, message: str) -> str:
    return hmac.new(session.check_in_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def window_of(at: datetime, seconds: int = TOKEN_WINDOW_S) -> int:
    """Return the number of the time window `at` falls in."""
    return int(at.timestamp()) // seconds


def seconds_left(at: datetime | None = None, seconds: int = TOKEN_WINDOW_S) -> int:
    """Return how many seconds remain until the window after `at` begins."""
    at = at or utcnow()
    return seconds - int(at.timestamp()) % seconds


def token_for_window(session: ClassSession, window: int) -> str:
    return f"{TOKEN_VERSION}.{session.id}.{window}.{_mac(session, f'{session.id}:{window}')[:16]}"


def make_token(session: ClassSession, at: datetime | None = None) -> str:
    """Return the QR token of the session for the 30-second window `at` (default: now) is in."""
    return token_for_window(session, window_of(at or utcnow()))


def code_for_window(session: ClassSession, window: int) -> str:
    """Return the 6-digit code of a 60-second window (the same keyed HMAC, a separate message)."""
    digest = bytes.fromhex(_mac(session, f"{session.id}:code:{window}"))
    # Dynamic truncation as in HOTP (RFC 4226): every digit equally likely.
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def make_code(session: ClassSession, at: datetime | None = None) -> str:
    """Return the 6-digit code of the session for the 60-second window `at` (default: now) is in."""
    return code_for_window(session, window_of(at or utcnow(), CODE_WINDOW_S))


def is_open(session: ClassSession, at: datetime | None = None) -> bool:
    """Return True if check-in for the session is open at `at`: from 30 min before to 30 min after."""
    at = at or utcnow()
    return session.starts_at - OPEN_BEFORE <= at <= session.ends_at + OPEN_AFTER


def ensure_open(session: ClassSession, at: datetime) -> None:
    """Raise if nobody may check in to the session at `at` (cancelled, or not around its time)."""
    if session.is_cancelled:
        raise SessionCancelled()
    if not is_open(session, at):
        raise NotOpenNow()


def parse_token(token: str) -> tuple[int, int, str]:
    """Split a token into (session id, window, mac); raise InvalidCode if it is not one."""
    parts = (token or "").strip().split(".")
    if len(parts) != 4 or parts[0] != TOKEN_VERSION:
        raise InvalidCode()
    _version, raw_id, raw_window, mac = parts
    if not (raw_id.isdecimal() and raw_window.isdecimal() and len(raw_id) <= 12 and len(raw_window) <= 12):
        raise InvalidCode()
    if len(mac) != 16 or any(ch not in "0123456789abcdef" for ch in mac):
        raise InvalidCode()
    return int(raw_id), int(raw_window), mac


def valid_until(window: int) -> datetime:
    """Return when the token of a window stops being accepted: the end of the window after it."""
    return datetime.fromtimestamp((window + 2) * TOKEN_WINDOW_S, UTC)


def redeem_deadline(token: str) -> datetime:
    """Return the last moment a token scanned before logging in may check someone in."""
    _session_id, window, _mac_hex = parse_token(token)
    return valid_until(window) + LOGIN_ALLOWANCE


def verify_token(token: str, at: datetime | None = None) -> ClassSession:
    """Return the session a QR token is for, if it is genuine and current at `at`; raise CheckInRefused."""
    at = at or utcnow()
    session_id, window, mac = parse_token(token)
    session = db.session.get(ClassSession, session_id)
    if session is None or not hmac.compare_digest(_mac(session, f"{session_id}:{window}")[:16], mac):
        raise InvalidCode()
    current = window_of(at)
    if window > current:
        raise InvalidCode()
    if window < current - 1:
        raise CodeExpired()
    ensure_open(session, at)
    return session


def verify_scanned_token(token: str, scanned_at: datetime, at: datetime | None = None) -> ClassSession:
    """Return the session of a token scanned at `scanned_at` before logging in, redeemed at `at`.

    The token must have been genuine and current when scanned, and `at` no later than its redeem_deadline.
    """
    session = verify_token(token, scanned_at)
    if (at or utcnow()) > redeem_deadline(token):
        raise CodeExpired()
    return session


def match_code(code: str, sessions, at: datetime | None = None) -> tuple[ClassSession | None, bool]:
    """Find which of `sessions` shows this 6-digit code at `at`.

    Return (session, current): current is False when the code is only one of the
    session's recent, expired codes, so the trainee is told "expired" rather than "wrong".
    """
    at = at or utcnow()
    code = normalize_code(code)
    if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
        return None, False
    now = window_of(at, CODE_WINDOW_S)
    expired = None
    for session in sessions:
        if any(hmac.compare_digest(code_for_window(session, w), code) for w in (now, now - 1)):
            return session, True
        if expired is None and any(hmac.compare_digest(code_for_window(session, w), code)
                                   for w in range(now - RECENT_CODE_WINDOWS, now - 1)):
            expired = session
    return expired, False


def _seen_serializer(salt: str = "attendance.check-in-seen"):
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def stamp_seen(token: str, at: datetime | None = None) -> str:
    """Sign "this token was current at `at`", for a trainee who must log in before checking in."""
    return _seen_serializer().dumps({"t": token, "at": int((at or utcnow()).timestamp())})


def read_seen(token: str, stamp: str | None) -> datetime | None:
    """Return when a stamped token was seen, if the stamp is genuine, for this token and recent; else None."""
    from itsdangerous import BadData

    if not stamp:
        return None
    try:
        # No stamp outlives a token's validity and the login allowance (redeem_deadline is the rule).
        max_age = 2 * TOKEN_WINDOW_S + int(LOGIN_ALLOWANCE.total_seconds())
        data = _seen_serializer().loads(stamp, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("t") != token or not isinstance(data.get("at"), int):
        return None
    return datetime.fromtimestamp(data["at"], UTC)


def make_scan_pass(session: ClassSession, token: str) -> tuple[str, int]:
    """Return (cookie value, lifetime in seconds) of the pass of a browser that scanned `token` logged out."""
    deadline = redeem_deadline(token)
    value = _seen_serializer("attendance.check-in-scan-pass").dumps(
        {"s": session.id, "until": int(deadline.timestamp())})
    return value, max(1, int((deadline - utcnow()).total_seconds()))


def scanned_at(token: str, stamp: str | None, scan_pass: str | None) -> datetime | None:
    """Return when this browser scanned `token` logged out, if both halves agree and are in time; else None.

    The stamp must be genuine and for this token; the pass genuine, for the token's class session, and
    not past its deadline.
    """
    from itsdangerous import BadData

    seen = read_seen(token, stamp)
    if seen is None or not scan_pass:
        return None
    try:
        data = _seen_serializer("attendance.check-in-scan-pass").loads(scan_pass)
        session_id = parse_token(token)[0]
    except (BadData, InvalidCode):
        return None
    if not isinstance(data, dict) or data.get("s") != session_id or not isinstance(data.get("until"), int):
        return None
    if utcnow() > datetime.fromtimestamp(data["until"], UTC):
        return None
    return seen


def qr_data_uri(payload: str, *, scale: int = 10) -> str:
    """Return a QR code of `payload` as an SVG data: URI (allowed by the CSP's img-src)."""
    import segno

    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="svg", scale=scale, border=2, xmldecl=False,
                                        svgns=True, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
