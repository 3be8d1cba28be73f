"""Account rules: registration, authentication, roles and passwords."""

import functools
import hashlib
import hmac
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from lms.accounts.models import Role, User, UserRole
from lms.accounts.passwords import (
    burn_hash_time,
    hash_password,
    make_one_time_code,
    needs_rehash,
    password_hashing,
    verify_password,
)
from lms.core.db import in_chunks, utcnow
from lms.core.extensions import db
from lms.core.places import get_commune
from lms.core.text import normalize_code, normalize_phone, normalize_text

MIN_PASSWORD_LENGTH = 8


class AccountError(Exception):
    """A rule about accounts was broken; the message is safe to show."""


class PhoneAlreadyRegistered(AccountError):
    pass


class UnknownCommune(AccountError):
    pass


class WeakPassword(AccountError):
    pass


class WrongCode(AccountError):
    """The activation or one-time code does not match the phone number (or has expired)."""


def find_user_by_phone(phone: str) -> User | None:
    """Return the user with this phone number in any written form, or None."""
    try:
        canonical = normalize_phone(phone)
    except ValueError:
        return None
    return db.session.scalar(sa.select(User).where(User.phone == canonical))


def check_password_strength(password: str, phone: str | None = None) -> None:
    """Raise WeakPassword if the password is too easy to guess."""
    from lms.core.i18n import gettext as _

    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(_("The password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if len(set(password)) < 4 or (phone and phone[-6:] in password):
        raise WeakPassword(_("This password is too easy to guess. Choose another one."))
    if password.strip().lower() in common_passwords():
        raise WeakPassword(_("This password is one of the most used ones, which are tried first. Choose another one."))
    if _is_a_date(password):
        raise WeakPassword(_("A date (a birthday, for example) is easy to guess. Choose another password."))


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the most used passwords, which attackers try first (lms/accounts/data/common_passwords.txt)."""
    path = Path(__file__).with_name("data") / "common_passwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _is_a_date(password: str) -> bool:
    """Tell whether the password is only a date: ddmmyyyy, yyyymmdd, dd/mm/yyyy and the like."""
    digits = "".join(ch for ch in password if ch.isdigit())
    if len(digits) != 8 or any(ch.isalpha() for ch in password) or len(password) > 10:
        return False
    for day, month, year in ((digits[:2], digits[2:4], digits[4:]), (digits[6:], digits[4:6], digits[:4])):
        try:
            date(int(year), int(month), int(day))
        except ValueError:
            continue
        if 1900 <= int(year) <= 2100:
            return True
    return False


def create_user(
    *,
    full_name: str,
    phone: str,
    roles: set[Role] | list[Role],
    password: str | None = None,
    email: str | None = None,
    date_of_birth: date | None = None,
    commune_code: int | None = None,
    village: str | None = None,
    business_name: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an account; raise PhoneAlreadyRegistered if the phone is taken.

    The password is checked and hashed before the phone is looked up, so that a taken phone is
    refused as slowly, and for the same weak passwords, as a free one is accepted.
    """
    from lms.core.i18n import gettext as _

    canonical = normalize_phone(phone)
    if commune_code is not None and get_commune(commune_code) is None:
        raise UnknownCommune(_("Choose a commune from the list."))
    if password is not None:
        check_password_strength(password, canonical)
    password_hash = hash_password(password) if password else None
    if db.session.scalar(sa.select(User.id).where(User.phone == canonical)) is not None:
        raise PhoneAlreadyRegistered(_("This phone number already has an account."))
    user = User(
        full_name=normalize_text(full_name),
        phone=canonical,
        email=normalize_text(email).lower() or None,
        date_of_birth=date_of_birth,
        commune_code=commune_code,
        village=normalize_text(village) or None,
        business_name=normalize_text(business_name) or None,
        password_hash=password_hash,
        must_change_password=must_change_password,
        role_rows=[UserRole(role=Role(r)) for r in set(roles)],
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except sa.exc.IntegrityError:
        # Two registrations of one phone at once: the second is told, as if it had come later.
        raise PhoneAlreadyRegistered(_("This phone number already has an account.")) from None
    return user


def register_trainee(**fields) -> User:
    """Create a self-registered trainee account."""
    return create_user(roles={Role.TRAINEE}, **fields)


ACTIVATION_VALID_FOR = timedelta(days=60)

#: Wrong tries a one-time code (activation or reset) survives: the next try, even a right one, is refused.
#: An 8-digit code then holds against guessing: five tries in a hundred million.
MAX_CODE_TRIES = 5


class CodeLocked(WrongCode):
    """The code was typed wrong too many times: it no longer works, and the organizer gives a new one."""


def _code_locked_error() -> CodeLocked:
    from lms.core.i18n import gettext as _

    return CodeLocked(_("This code was typed wrong too many times and no longer works. Ask your class "
                        "organizer for a new code."))


def _activation_digest(user: User, code: str) -> str:
    from flask import current_app

    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"activation:{user.id}:{user.phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_activation_code(user: User) -> str:
    """Give an imported trainee a fresh one-time code for the first login (replacing any older one)."""
    code = make_one_time_code()
    user.activation_code_hash = _activation_digest(user, code)
    user.activation_expires_at = utcnow() + ACTIVATION_VALID_FOR
    user.code_tries = 0
    return code


def holds_reset_code(user: User) -> bool:
    """Tell whether the user's password is a one-time reset code (to be changed at the next login)."""
    return bool(user.password_hash and user.must_change_password)


def holds_one_time_code(user: User | None) -> bool:
    """Tell whether logging in as this user means typing a one-time code (activation or reset)."""
    return user is not None and user.active and (
        bool(not user.password_hash and user.activation_code_hash) or holds_reset_code(user))


def count_code_try(user: User) -> None:
    """Count one try of the user's one-time code, before it is checked.

    Counted first, in one statement, so that tries sent at the same moment cannot all pass a
    check of the count as it was. The count stops at one past MAX_CODE_TRIES: that try, and every
    later one, is refused. Flush in the caller's transaction; the caller commits before hashing,
    so the try stays counted whatever happens next.
    """
    counted = db.session.execute(
        sa.update(User).where(User.id == user.id, User.code_tries <= MAX_CODE_TRIES)
        .values(code_tries=User.code_tries + 1).returning(User.code_tries)
        .execution_options(synchronize_session=False)
    ).scalar()
    set_committed_value(user, "code_tries", MAX_CODE_TRIES + 1 if counted is None else counted)


def _uncount_code_try(user: User) -> None:
    """Take back the try of a right code that was refused for another reason (a weak new password)."""
    db.session.execute(sa.update(User).where(User.id == user.id, User.code_tries > 0)
                       .values(code_tries=User.code_tries - 1).execution_options(synchronize_session=False))
    set_committed_value(user, "code_tries", max(0, user.code_tries - 1))


def code_locked(user: User | None) -> bool:
    """Tell whether the user's one-time code has been refused for too many wrong tries (this one counted)."""
    return holds_one_time_code(user) and user.code_tries > MAX_CODE_TRIES


def _reset_code_usable(user: User) -> bool:
    """Return True unless the reset code has expired (no expiry recorded: expired, failing closed)."""
    return user.reset_code_expires_at is not None and user.reset_code_expires_at > utcnow()


def _activation_matches(user: User, code: str) -> bool:
    """Return True if the code, as typed, is the user's unexpired activation code with tries left."""
    if not user.activation_code_hash or not user.activation_expires_at or user.activation_expires_at < utcnow():
        return False
    if user.code_tries > MAX_CODE_TRIES:
        return False
    return hmac.compare_digest(user.activation_code_hash, _activation_digest(user, normalize_code(code)))


def _activate(user: User, code: str) -> bool:
    if not _activation_matches(user, code):
        return False
    user.activation_code_hash = user.activation_expires_at = None
    user.code_tries = 0
    user.must_change_password = True  # they choose their own password next
    return True


def authenticate(phone: str, password: str) -> User | None:
    """Return the active user with this phone and password (or activation code), or None.

    Takes the same time whether or not the phone is known. Its hashing (the check, and the
    rehash of a hash made at an older cost) holds one hashing slot: raise HashingBusy when none
    came free in time. A try of a one-time code is counted; the caller commits.
    """
    user = find_user_by_phone(phone)
    if holds_one_time_code(user):
        count_code_try(user)
    return authenticate_user(user, password)


def authenticate_user(user: User | None, password: str) -> User | None:
    """Check the password (or one-time code) of a user already looked up by phone; None when it fails.

    For a caller that ends its database transaction before the hashing: on SQLite a login's
    transaction writes, and a writer's lock held through argon2 would let one login at a time
    through on the whole machine. The caller has counted the try of a one-time code first
    (count_code_try, committed). Flush nothing; the caller commits.
    """
    with password_hashing():
        return _authenticate(user, password)


def _authenticate(user: User | None, password: str) -> User | None:
    if user is not None and not user.password_hash and user.active and _activate(user, password):
        burn_hash_time(password)
        return user
    if user is None or not user.password_hash:
        burn_hash_time(password)
        return None
    if verify_password(user.password_hash, password):
        secret = password
    elif user.must_change_password and normalize_code(password) != password:
        # A one-time reset code typed as printed ("1234 5678") in the password field.
        secret = normalize_code(password)
        if not verify_password(user.password_hash, secret):
            return None
    else:
        return None
    if not user.active:
        return None
    if holds_reset_code(user):
        if user.code_tries > MAX_CODE_TRIES or not _reset_code_usable(user):
            return None
        user.code_tries = 0
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(secret)
    return user


def activate_account(phone: str, code: str, new_password: str) -> User:
    """Check a printed code (activation or password reset) and set the person's own password.

    The code is accepted as printed, with spaces or dashes. Raise WrongCode when the code does
    not belong to this phone (unknown phone included: the same words, the same time), CodeLocked
    when it was typed wrong too often, WeakPassword before anything changes (an account with a
    password of its own gets WrongCode too: the page never tells whether a phone has an account).
    Raise HashingBusy when no hashing slot came free in time. The try is counted; flush in the caller's transaction; the caller commits.
    """
    user = find_user_by_phone(phone)
    if holds_one_time_code(user):
        count_code_try(user)
    return activate_user(user, code, new_password)


def activate_user(user: User | None, code: str, new_password: str) -> User:
    """activate_account for a user already looked up by phone, whose try is counted (see authenticate_user)."""
    with password_hashing():  # the code's check and the new password's hash: one slot
        return _activate_account(user, normalize_code(code), new_password)


def _activate_account(user: User | None, typed: str, new_password: str) -> User:
    from lms.core.i18n import gettext as _

    matched = False
    if user is not None and user.active:
        if not user.password_hash:
            matched = _activation_matches(user, typed)
            burn_hash_time(typed)  # as slow as the reset-code path below
        elif user.must_change_password:
            matched = verify_password(user.password_hash, typed) and _reset_code_usable(user)
        else:
            # An account with its own password holds no code: the same answer as a wrong code, so
            # the activation page never tells whether a phone has an account.
            burn_hash_time(typed)
    else:
        burn_hash_time(typed)
    if code_locked(user):
        raise _code_locked_error()
    if not matched:
        raise WrongCode(
            _("This code is wrong or has expired. Check the code on your slip and the phone number, "
              "or ask your class organizer for a new code. If you already chose your own password, "
              "log in with it.")
        )
    try:
        check_password_strength(new_password, user.phone)
        if normalize_code(new_password) == typed:
            raise WeakPassword(_("Choose a password different from the old one."))
    except WeakPassword:
        _uncount_code_try(user)  # the code was right: choosing a password is not guessing
        raise
    user.activation_code_hash = user.activation_expires_at = None
    set_password(user, new_password)
    return user


def record_login(user: User) -> None:
    """Note the time of a successful login."""
    user.last_login_at = utcnow()


def set_password(user: User, password: str) -> None:
    """Set a new password chosen by the user and end their other sessions."""
    check_password_strength(password, user.phone)
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.reset_code_expires_at = None
    user.code_tries = 0
    end_sessions(user)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one."""
    from lms.core.i18n import gettext as _

    if not user.must_change_password and not verify_password(user.password_hash, current_password):
        raise AccountError(_("The current password is wrong."))
    if current_password and current_password == new_password:
        raise WeakPassword(_("Choose a password different from the old one."))
    set_password(user, new_password)


def reset_password_to_code(user: User) -> str:
    """Replace the password with a one-time code that must be changed at next login, valid for RESET_CODE_HOURS."""
    from flask import current_app

    code = make_one_time_code()
    user.password_hash = hash_password(code)
    user.must_change_password = True
    user.reset_code_expires_at = utcnow() + timedelta(hours=current_app.config["RESET_CODE_HOURS"])
    user.code_tries = 0
    end_sessions(user)
    return code


def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of the user, on every device."""
    # Both cookies live on the client and cannot be taken back: a new epoch makes every copy useless.
    user.auth_epoch += 1


def set_roles(user: User, roles: set[Role]) -> None:
    """Give the user exactly these roles."""
    wanted = {Role(r) for r in roles}
    user.role_rows = [row for row in user.role_rows if row.role in wanted] + [
        UserRole(role=r) for r in wanted - user.roles
    ]


def matching_people(query: str | None) -> sa.ColumnElement[bool] | None:
    """Return the condition on User of a search box, as lms.core.text.person_matcher matches: None for an empty query.

    The name matches from the start of a word, ignoring case and tone marks ("huong" finds "Hường",
    "thi h" finds "Nguyễn Thị Hường"); three or more digits match the end of the phone number, six or
    more anywhere in it (lms.core.text.search_digits).
    """
    from lms.core.text import PHONE_ANYWHERE, fold_diacritics, search_digits

    folded = fold_diacritics(query or "")
    if not folded:
        return None
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition = User.search_name.like(f"% {escaped}%", escape="\\")
    digits = search_digits(query)
    if digits:
        phone = User.phone.contains(digits) if len(digits) >= PHONE_ANYWHERE else User.phone.endswith(digits)
        condition = sa.or_(condition, phone)
    return condition


def search_users(query: str = "", role: Role | None = None, within: sa.ColumnElement[bool] | None = None) -> sa.Select:
    """Return a query for users matching a name or phone fragment (as matching_people), newest first (only those `within` keeps)."""
    stmt = sa.select(User).order_by(User.created_at.desc(), User.id.desc())
    if within is not None:
        stmt = stmt.where(within)
    matching = matching_people(query)
    if matching is not None:
        stmt = stmt.where(matching)
    if role is not None:
        stmt = stmt.where(User.role_rows.any(UserRole.role == role))
    return stmt


def update_profile(
    user: User,
    *,
    full_name: str,
    email: str | None,
    date_of_birth: date | None,
    commune_code: int | None,
    village: str | None,
    business_name: str | None,
) -> None:
    """Save the details a person may change about themselves."""
    from lms.core.i18n import gettext as _

    if commune_code is not None and get_commune(commune_code) is None:
        raise UnknownCommune(_("Choose a commune from the list."))
    user.full_name = normalize_text(full_name)
    user.email = normalize_text(email).lower() or None
    user.date_of_birth = date_of_birth
    user.commune_code = commune_code
    user.village = normalize_text(village) or None
    user.business_name = normalize_text(business_name) or None


def account_names(ids) -> dict[int, str]:
    """Return the full name of each of these accounts, by id."""
    wanted = sorted(set(ids))
    names: dict[int, str] = {}
    for chunk in in_chunks(wanted):
        rows = db.session.execute(sa.select(User.id, User.full_name).where(User.id.in_(chunk)))
        names.update((user_id, name) for user_id, name in rows)
    return names


class UnknownPlace(AccountError):
    """A province or commune written for a staff member's places that is not (only) one official place."""


def resolve_commune(text: str) -> int:
    """Return the code of the commune written as people write it ("Xã Chuyên Mỹ", "Chuyên Mỹ, Hà Nội", 10330).

    Raise UnknownPlace saying what was wrong: no such commune, or several of that name (listed with
    their provinces, so the writer can add one).
    """
    from lms.core.i18n import gettext as _
    from lms.core.places import MatchStatus, match_commune

    written = normalize_text(text)
    if written.isdigit():
        commune = get_commune(int(written))
        if commune is None:
            raise UnknownPlace(_("No commune has the code %(code)s.", code=written))
        return commune.code
    found = match_commune(written)
    if found.status is MatchStatus.MATCHED:
        return found.commune.code
    if found.status is MatchStatus.AMBIGUOUS:
        raise UnknownPlace(_("Several communes are called “%(name)s”: %(candidates)s. Add the province after a comma.",
                             name=written, candidates="; ".join(c.full_name for c in found.candidates[:6])))
    raise UnknownPlace(_("No commune or ward is called “%(name)s”.", name=written))


def resolve_province(text: str) -> int:
    """Return the code of the province written ("Hà Nội", "TP. Hà Nội", 1); raise UnknownPlace if none."""
    from lms.core.i18n import gettext as _
    from lms.core.places import match_province

    code = match_province(normalize_text(text))
    if code is None:
        raise UnknownPlace(_("No province or city is called “%(name)s”.", name=normalize_text(text)))
    return code


def set_staff_places(user: User, *, provinces=(), communes=()) -> None:
    """Give an organizer or official the provinces and communes they answer for, replacing the ones they had."""
    from lms.accounts.models import StaffPlace

    wanted = {(code, None) for code in provinces} | {(None, code) for code in communes}
    kept = []
    for place in list(user.places):
        key = (place.province_code, place.commune_code)
        if key in wanted:
            wanted.discard(key)
            kept.append(place)
    user.places[:] = kept + [StaffPlace(province_code=p, commune_code=c) for p, c in sorted(wanted, key=str)]
