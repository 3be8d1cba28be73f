"""Cell values: what a person typed or a spreadsheet stored, parsed into a trainee's fields, or a CellProblem saying why not."""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from lms.core.i18n import gettext as _
from lms.core.places import Commune, MatchStatus, match_commune
from lms.core.spreadsheets.write import FORMULA_PREFIXES
from lms.core.text import (
    ForeignPhoneNumber,
    InvalidPhoneNumber,
    normalize_phone,
    normalize_text,
    vietnamese_key,
)
from lms.core.timezone import local_today

MIN_AGE, MAX_AGE = 10, 110
NAME_MAX, VILLAGE_MAX, BUSINESS_MAX, EMAIL_MAX = 120, 120, 160, 254
_PLACEHOLDER = re.compile(r"^[-_./\\…x]{1,3}$|^(?:n/?a|không|khong|không có|khong co)$", re.IGNORECASE)


def is_blank(value) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    return not text or (not text.isascii() and not cell_text(text))


def cell_text(value) -> str:
    """Return a cell's value as text a person would read (numbers without '.0', dates as dd/mm/yyyy)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return normalize_text(value)  # which drops zero-width and bidi characters too
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return normalize_text(str(value))


class CellProblem(ValueError):
    """A cell's value is wrong; the message says why, in the reader's words."""


_SCIENTIFIC = re.compile(r"^[0-9]+(?:[.,][0-9]+)?[eE]\+?[0-9]+$")


def parse_phone(value) -> str:
    """Return the canonical phone of a cell, recovering numbers a spreadsheet stored as numbers."""
    if isinstance(value, bool):
        raise CellProblem(_("“%(value)s” is not a Vietnamese phone number.", value=cell_text(value)))
    if isinstance(value, float | int) and float(value).is_integer() and value > 0:
        text = str(int(value))
        if not text.startswith("84"):
            text = "0" + text  # a number cell always loses the leading 0: 912345678 was 0912345678
    else:
        text = cell_text(value)
        if _SCIENTIFIC.match(text):
            # Excel wrote 9.12345678E+08 into a CSV: the digits are all there.
            try:
                number = Decimal(text.replace(",", "."))
                if number == number.to_integral_value():
                    text = str(int(number))
            except InvalidOperation:
                pass
    if not text:
        raise CellProblem(_("The phone number is missing."))
    try:
        return normalize_phone(text)
    except ForeignPhoneNumber as exc:
        raise CellProblem(_("“%(value)s” is a foreign number (country code +%(code)d): only Vietnamese phone "
                            "numbers can be imported.", value=text, code=exc.country_code)) from None
    except InvalidPhoneNumber:
        pass
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 18:
        raise CellProblem(_("“%(value)s” looks like two phone numbers. Keep one number in this cell.", value=text))
    if re.fullmatch(r"[0-9 .\-]+", text) and digits and digits[0] != "0":
        # A number column drops the leading 0: 912345678 was 0912345678.
        try:
            return normalize_phone("0" + digits)
        except InvalidPhoneNumber:
            pass
    raise CellProblem(_("“%(value)s” is not a Vietnamese phone number.", value=text))


_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_YMD = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
EXCEL_EPOCH = date(1899, 12, 30)


def parse_birth_date(value, today: date | None = None) -> date | None:
    """Return a date of birth from a date cell or text (dd/mm/yyyy, yyyy-mm-dd, ...); blank is None."""
    today = today or local_today()
    if isinstance(value, datetime):
        born = value.date()
    elif isinstance(value, date):
        born = value
    elif isinstance(value, (time, timedelta, bool)):
        raise CellProblem(_("“%(value)s” is not a date. Write it as day/month/year, for example 15/03/1985.",
                            value=cell_text(value)))
    elif isinstance(value, (int, float)):
        if float(value).is_integer() and 1900 <= value <= today.year:
            raise CellProblem(_("Only a year (%(year)d) is written. Write the full date, for example 15/03/%(year)d, "
                                "or leave the cell empty.", year=int(value)))
        if not 1 <= value < 2958466:
            raise CellProblem(_("“%(value)s” is not a date. Write it as day/month/year, for example 15/03/1985.",
                                value=cell_text(value)))
        born = EXCEL_EPOCH + timedelta(days=int(value))  # a date cell without a date format
    else:
        text = cell_text(value)
        if not text or _PLACEHOLDER.match(text):
            return None
        born = _parse_date_text(text, today)
    if born > today:
        raise CellProblem(_("%(date)s is in the future.", date=born.strftime("%d/%m/%Y")))
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < MIN_AGE or age > MAX_AGE:
        raise CellProblem(_("%(date)s would make the trainee %(age)d years old; trainees are %(min)d to %(max)d.",
                            date=born.strftime("%d/%m/%Y"), age=age, min=MIN_AGE, max=MAX_AGE))
    return born


def _parse_date_text(text: str, today: date) -> date:
    if re.fullmatch(r"\d{4}", text) and 1900 <= int(text) <= today.year:
        raise CellProblem(_("Only a year (%(year)d) is written. Write the full date, for example 15/03/%(year)d, "
                            "or leave the cell empty.", year=int(text)))
    if match := _DMY.match(text):
        day, month, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            raise CellProblem(_("“%(value)s” has a two-digit year. Write the year in full, for example 15/03/1985.",
                                value=text))
    elif match := _YMD.match(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise CellProblem(_("“%(value)s” is not a date. Write it as day/month/year, for example 15/03/1985.",
                            value=text))
    try:
        return date(year, month, day)
    except ValueError:
        raise CellProblem(_("“%(value)s” is not a real date (day %(day)d, month %(month)d, year %(year)d).",
                            value=text, day=day, month=month, year=year)) from None


def _looks_like_formula(text: str) -> bool:
    # The writer's prefixes; a cell's text never starts with its tab or carriage return (cell_text
    # strips surrounding space), so what is refused is "=", "+", "-" and "@", a lone "-" included.
    return text.startswith(FORMULA_PREFIXES)


def _formula_problem(text: str) -> CellProblem:
    return CellProblem(_("“%(value)s” looks like a spreadsheet formula (it starts with “%(sign)s”). Remove the sign.",
                         value=shorten(text), sign=text[0]))


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_name(value) -> str:
    """Return a trainee's name in NFC, or raise CellProblem."""
    text = cell_text(value)
    if not text:
        raise CellProblem(_("The name is missing."))
    if _looks_like_formula(text):
        raise _formula_problem(text)
    if not any(ch.isalpha() for ch in text):
        raise CellProblem(_("“%(value)s” is not a name.", value=shorten(text)))
    if len(text) > NAME_MAX:
        raise CellProblem(_("The name is too long (%(n)d characters; at most %(max)d).", n=len(text), max=NAME_MAX))
    return text


def parse_optional_text(value, max_length: int) -> str | None:
    """Return optional free text (village, business) or None; refuse formulas and overlong text."""
    text = cell_text(value)
    if not text or _PLACEHOLDER.match(text):
        return None
    if _looks_like_formula(text):
        raise _formula_problem(text)
    if len(text) > max_length:
        raise CellProblem(_("The text is too long (%(n)d characters; at most %(max)d).", n=len(text), max=max_length))
    return text


_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[a-z]{2,}$")


def parse_email(value) -> str | None:
    """Return a lowercase email address or None; refuse anything that is not one."""
    text = cell_text(value).lower()
    if not text or _PLACEHOLDER.match(text):
        return None
    if _looks_like_formula(text):
        raise _formula_problem(text)
    if len(text) > EMAIL_MAX or not _EMAIL.match(text):
        raise CellProblem(_("“%(value)s” is not an email address.", value=shorten(text)))
    return text


class CommuneFinder:
    """Resolve commune names, in the class's province first, remembering each answer."""

    def __init__(self, province_code: int | None):
        self.province_code = province_code
        self._seen: dict[str, Commune | CellProblem] = {}

    def find(self, value) -> Commune | None:
        text = cell_text(value)
        if not text or _PLACEHOLDER.match(text):
            return None
        if text not in self._seen:
            try:
                self._seen[text] = self._resolve(text)
            except CellProblem as problem:
                self._seen[text] = problem
        found = self._seen[text]
        if isinstance(found, CellProblem):
            raise found
        return found

    def _resolve(self, text: str) -> Commune:
        match = match_commune(text, self.province_code)
        if match.status == MatchStatus.AMBIGUOUS and len({c.province_code for c in match.candidates}) == 1:
            raise CellProblem(_("“%(value)s” could be %(communes)s. Write the name with its tone marks.",
                                value=text, communes=", ".join(c.name for c in match.candidates)))
        if match.status == MatchStatus.AMBIGUOUS:
            raise CellProblem(_("“%(value)s” is the name of communes in several provinces (%(provinces)s). "
                                "Set the class's commune, or write the commune of the class's province.",
                                value=text, provinces=", ".join(sorted({c.province_name for c in match.candidates}, key=vietnamese_key))))
        if match.status == MatchStatus.NOT_FOUND:
            raise CellProblem(_("“%(value)s” is not a commune or ward in the official list (since 1 July 2025).",
                                value=shorten(text)))
        return match.commune
