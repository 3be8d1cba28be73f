"""Everything the site holds about one person, gathered once: the "my data" page, its JSON and its workbook.

Accounts knows the profile and the account; every higher package adds what it holds through
``hooks.register_personal_data`` (connected in ``lms.register_hooks``). The page, the JSON and
the XLSX are all made from the one ``collect_personal_data``, so they cannot disagree.
"""

from datetime import date, datetime
from typing import IO

from lms.accounts import hooks
from lms.accounts.hooks import DataSection
from lms.core.db import utcnow
from lms.core.i18n import lazy_gettext as _l
from lms.core.timezone import to_local

#: Version of the JSON layout, for whoever reads a download later.
FORMAT_VERSION = 1
#: Languages by their own names, as the language switch shows them.
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


def collect_personal_data(user) -> dict:
    """Return {"generated_at", "account_id", "sections": [DataSection, …]} for this user: their own rows only."""
    sections = [_profile(user), _account(user)]
    for collect in hooks.personal_data_collectors():
        sections += collect(user)
    return {"generated_at": utcnow(), "account_id": user.id, "sections": sections}


def _profile(user) -> DataSection:
    commune = user.commune
    return DataSection(
        "profile", _l("Your details"),
        (("full_name", _l("Full name")), ("phone", _l("Phone number")), ("date_of_birth", _l("Date of birth")),
         ("commune", _l("Commune / ward")), ("village", _l("Village / hamlet")),
         ("business_name", _l("Craft or business name")), ("email", _l("E-mail"))),
        ({"full_name": user.full_name, "phone": user.phone, "date_of_birth": user.date_of_birth,
          "commune": commune.name if commune else None, "village": user.village,
          "business_name": user.business_name, "email": user.email},))


def _account(user) -> DataSection:
    return DataSection(
        "account", _l("Your account"),
        (("created_at", _l("Created")), ("last_login_at", _l("Last login")), ("roles", _l("Roles")),
         ("language", _l("Language"))),
        ({"created_at": user.created_at, "last_login_at": user.last_login_at,
          "roles": ", ".join(sorted(role.label for role in user.roles)), "language": LANGUAGES.get(user.locale or "vi", user.locale)},))


def _json_value(value):
    if isinstance(value, datetime):
        return to_local(value).isoformat(timespec="seconds")  # Vietnam time, with its +07:00
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def as_json(data: dict) -> dict:
    """Return the collected data as plain JSON: times in Vietnam (ISO 8601), one list of rows per section."""
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": _json_value(data["generated_at"]),
        "account_id": data["account_id"],
        "sections": {s.key: {"title": str(s.title),
                             "columns": {key: str(label) for key, label in s.columns},
                             "rows": [{key: _json_value(row.get(key)) for key, _label in s.columns} for row in s.rows]}
                     for s in data["sections"]},
    }


def _cell(value):
    if isinstance(value, datetime):
        return to_local(value).replace(tzinfo=None)  # the workbook shows Vietnam time
    if isinstance(value, bool):
        return str(_l("Yes")) if value else str(_l("No"))
    return value


def _kind(values) -> str | None:
    for value in values:
        if isinstance(value, datetime):
            return "datetime"
        if isinstance(value, date):
            return "date"
    return None


def write_workbook(data: dict, target: IO[bytes]) -> None:
    """Write the collected data as an XLSX, one sheet per section (formula-safe, via the one writer)."""
    from lms.core.spreadsheets.write import write_xlsx

    sheets = []
    for section in data["sections"]:
        keys = [key for key, _label in section.columns]
        kinds = [_kind(row.get(key) for row in section.rows) for key in keys]
        rows = [[_cell(row.get(key)) for key in keys] for row in section.rows]
        sheets.append((str(section.title), [str(label) for _key, label in section.columns], rows, kinds))
    write_xlsx(sheets, target)
