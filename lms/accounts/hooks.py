"""Extension points of accounts: which people a staff member may see, what each package holds about a person, and consent.

Higher packages say who is "theirs" (learning: the learners of the courses an instructor teaches;
cohorts: the members of the classes they run); `lms.register_hooks` connects them. With none
connected, such a staff member sees only their own account: the default fails closed.

Registration and activation ask for consent to the privacy notice (a ticked box the form requires);
privacy records it through a consent recorder.
"""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

#: name -> scope(staff) returning a SELECT of the user ids that staff member may see.
_people_scopes: dict[str, Callable[[object], sa.Select]] = {}


def register_people_scope(name: str, scope: Callable[[object], sa.Select]) -> None:
    """Let a higher package add the people a staff member may see (keyed by name: registering again replaces)."""
    _people_scopes[name] = scope


def people_scopes() -> list[Callable[[object], sa.Select]]:
    """Return the connected scopes."""
    return list(_people_scopes.values())


#: name -> record(user, how) noting that the user agreed to the privacy notice ("registration", "activation").
_consent_recorders: dict[str, Callable[[object, str], None]] = {}


def register_consent_recorder(name: str, record: Callable[[object, str], None]) -> None:
    """Let a higher package record the consent given on the registration and activation forms."""
    _consent_recorders[name] = record


def record_consent(user, how: str) -> None:
    """Pass the consent given when the account was created or activated to every connected recorder."""
    for record in _consent_recorders.values():
        record(user, how)


@dataclass(frozen=True)
class DataSection:
    """One part of what is held about a person: a title, labelled columns, and rows of plain values.

    Values are text, numbers, booleans, dates, UTC datetimes or None; the page, the JSON and the
    workbook each format them, so the three always show the same rows.
    """

    key: str
    title: str
    #: (key, label) of each column, in order.
    columns: tuple[tuple[str, str], ...]
    rows: tuple[dict, ...]


#: name -> collect(user) returning the DataSections a package holds about that user.
_personal_data: dict[str, Callable[[object], list[DataSection]]] = {}


def register_personal_data(name: str, collect: Callable[[object], list[DataSection]]) -> None:
    """Let a higher package add what it holds about a person to "my data" (keyed by name: again replaces)."""
    _personal_data[name] = collect


def personal_data_collectors() -> list[Callable[[object], list[DataSection]]]:
    """Return the connected collectors, in the order they were connected."""
    return list(_personal_data.values())
