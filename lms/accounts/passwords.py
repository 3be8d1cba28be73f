"""Password hashing with argon2id, cost set by configuration."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

#: Digits only, so an older trainee can read it off a slip and type it on a phone keypad.
ONE_TIME_CODE_DIGITS = 8


def _hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=current_app.config["PASSWORD_HASH_TIME_COST"],
        memory_cost=current_app.config["PASSWORD_HASH_MEMORY_KIB"],
    )


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return True if the password matches the hash."""
    if not password_hash:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return True if the hash was made with weaker settings than today's."""
    return _hasher().check_needs_rehash(password_hash)


def burn_hash_time(password: str) -> None:
    """Spend the time of one verification, so unknown phones answer as slowly as known ones."""
    verify_password(_dummy_hash(), password)


_DUMMY: dict[tuple, str] = {}


def _dummy_hash() -> str:
    key = (current_app.config["PASSWORD_HASH_TIME_COST"], current_app.config["PASSWORD_HASH_MEMORY_KIB"])
    if key not in _DUMMY:
        _DUMMY[key] = hash_password(secrets.token_hex(16))
    return _DUMMY[key]


def make_one_time_code() -> str:
    """Return a random numeric code for a password reset or first activation."""
    return "".join(secrets.choice("0123456789") for _ in range(ONE_TIME_CODE_DIGITS))
