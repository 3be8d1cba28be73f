"""How fast wrong passwords may come: per client, per phone and client, and per phone slowed, never shut.

Three counters, all in the limiter's shared storage (Redis, or lms/core/ratelimits.py's table),
so two workers or two nodes see one count:

- per client address: LOGIN_LIMIT_PER_IP wrong passwords, for anyone trying many phones;
- per phone and client: LOGIN_LIMIT_PER_PHONE_AND_CLIENT, for one client guessing one phone;
- per phone, from every client: after LOGIN_SLOWDOWN_AFTER wrong passwords in 15 minutes,
  each further one makes the phone wait before its next try, 1 s, 2 s, 4 s… up to
  LOGIN_SLOWDOWN_MAX_SECONDS. Someone typing wrong passwords for another's phone from many
  addresses therefore slows that phone down but never shuts its owner out for 15 minutes.

A browser that has logged in to an account before carries a signed "known device" cookie for it
(OWASP's device cookies): there the phone's slowdown and the address's count do not apply, and
its own tries count apart from other clients behind the same address (a class on one Wi-Fi).
Phones are keyed by an HMAC, never written into the counters as typed.
"""

import hashlib
import hmac
import math
import secrets
import time
from datetime import timedelta

from flask import current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse

from lms.accounts.models import User
from lms.core.extensions import limiter
from lms.core.text import normalize_phone

DEVICE_COOKIE = "lms_device"
DEVICE_COOKIE_AGE = timedelta(days=180)
#: The window in which a phone's wrong passwords add up towards its slowdown.
SLOWDOWN_WINDOW_SECONDS = 15 * 60


def phone_key(typed: str) -> str:
    """Return the counters' key for a phone as typed: an HMAC of its normal form, so no phone is stored."""
    try:
        phone = normalize_phone(typed)
    except ValueError:
        phone = typed.strip()[:32]
    secret = current_app.config["SECRET_KEY"]
    return hmac.new(secret if isinstance(secret, bytes) else secret.encode(), b"login-phone:" + phone.encode(), hashlib.sha256).hexdigest()[:32]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lms-known-device")


def known_device(user: User | None) -> str | None:
    """Return this browser's device id when it has logged in to user's account before.

    Not a credential: it only spares the owner the phone's slowdown, and gives this browser its own
    count of wrong tries. A thief holding it gains nothing over a fresh browser, so logging out
    (which ends every session) does not forget it.
    """
    raw = request.cookies.get(DEVICE_COOKIE)
    if user is None or not raw:
        return None
    try:
        user_id, device = _serializer().loads(raw, max_age=int(DEVICE_COOKIE_AGE.total_seconds()))
    except (BadSignature, ValueError, TypeError):
        return None
    return device if user_id == user.id and isinstance(device, str) else None


def remember_device(response, user: User) -> None:
    """Mark this browser as one of user's known devices."""
    device = known_device(user) or secrets.token_urlsafe(12)
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps([user.id, device]),
                        max_age=int(DEVICE_COOKIE_AGE.total_seconds()), httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))


def _limits(phone: str, device: str | None):
    client = get_remote_address() or "unknown"
    pair = (parse(current_app.config["LOGIN_LIMIT_PER_PHONE_AND_CLIENT"]),
            ("login-pair", phone, "device:" + device if device else "address:" + client))
    if device:
        return [pair]
    return [(parse(current_app.config["LOGIN_LIMIT_PER_IP"]), ("login-address", client)), pair]


def _hold_key(phone: str) -> str:
    return f"LIMITER/login-phone-hold/{phone}"


def login_refusal(typed_phone: str, user: User | None) -> int | None:
    """Return how many seconds this login must wait before a password is tried, None when it may go ahead."""
    phone, device = phone_key(typed_phone), known_device(user)
    strategy, storage, now = limiter.limiter, limiter.storage, time.time()
    waits = [math.ceil(strategy.get_window_stats(item, *ids).reset_time - now)
             for item, ids in _limits(phone, device) if not strategy.test(item, *ids)]
    if device is None and storage.get(_hold_key(phone)):
        waits.append(math.ceil(storage.get_expiry(_hold_key(phone)) - now))
    return max(1, *waits) if waits else None


def record_failed_login(typed_phone: str, user: User | None) -> None:
    """Count a wrong password against the client, the phone and client, and (from unknown devices) the phone."""
    phone, device = phone_key(typed_phone), known_device(user)
    for item, ids in _limits(phone, device):
        limiter.limiter.hit(item, *ids)
    if device is not None:
        return  # the owner's own typing slows nobody else down
    storage, config = limiter.storage, current_app.config
    failures = storage.incr(f"LIMITER/login-phone-failures/{phone}", SLOWDOWN_WINDOW_SECONDS)
    beyond = failures - config["LOGIN_SLOWDOWN_AFTER"]
    if beyond >= 0:
        storage.incr(_hold_key(phone), min(2 ** min(beyond, 16), config["LOGIN_SLOWDOWN_MAX_SECONDS"]))

