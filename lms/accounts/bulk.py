"""Trainee accounts created and filled in by the thousand (the trainee import): plain statements, no ORM objects.

Nothing here commits, and nothing goes through the session's identity map: a caller that holds
loaded User objects expires them after these writes.
"""


import sqlalchemy as sa

from lms.accounts.models import Role, User, UserRole
from lms.core.db import in_chunks
from lms.core.extensions import db
from lms.core.text import search_key

#: The columns of a person a bulk creation takes; phone is canonical (lms.core.text.normalize_phone).
TRAINEE_FIELDS = ("full_name", "phone", "email", "date_of_birth", "commune_code", "village", "business_name")


def create_trainees_in_bulk(people: list[dict]) -> dict[str, int]:
    """Create one trainee account per person (full_name and phone, other TRAINEE_FIELDS optional); return id by phone.

    No password: trainees log in first with a one-time activation code (an argon2 hash each would
    cost minutes for a big class). The phones must be new.
    """
    values = [{
        "full_name": person["full_name"],
        "phone": person["phone"],
        **{key: person.get(key) for key in TRAINEE_FIELDS[2:]},
        "password_hash": None,
        "must_change_password": False,
    } for person in people]
    # A plain executemany, then the ids by phone: RETURNING in a guaranteed order makes SQLite
    # insert row by row (measured: 4x slower for 4,500 rows).
    db.session.execute(sa.insert(User.__table__), values)
    ids: dict[str, int] = {}
    for phones in in_chunks([person["phone"] for person in people]):
        ids.update((phone, user_id) for user_id, phone in db.session.execute(
            sa.select(User.id, User.phone).where(User.phone.in_(phones))))
    db.session.execute(sa.insert(UserRole.__table__),
                       [{"user_id": ids[person["phone"]], "role": Role.TRAINEE} for person in people])
    return ids


def update_accounts_in_bulk(changes: list[dict]) -> None:
    """Set some fields of many accounts: each change is {"id": user id, field: value, ...}."""
    for changed in changes:
        # One UPDATE per account: only its own fields (a bulk UPDATE needs the same keys in every row).
        values = {k: v for k, v in changed.items() if k != "id"}
        if "full_name" in values:
            values["search_name"] = search_key(values["full_name"])
        db.session.execute(sa.update(User).where(User.id == changed["id"]).values(values))
