"""Importing trainees into a class from an organizer's own spreadsheet.

Four steps, each usable alone: ``read_table`` (lms.core.spreadsheets.read decides the format by
content, refuses bombs and non-spreadsheets before any reader opens the file and opens a workbook
in a child process with a memory and a time limit; a damaged file is always ImportFileError),
``find_header`` (which row holds the column names, which column is which field), row checks
(every row, every error, with the row number and column letter a person sees) and the plan
(what each row will do: new trainee, existing account, already in the class). ``dry_run`` runs
them and writes nothing; ``commit_import`` runs them again and writes everything in the caller's
transaction, or nothing when any row is wrong.

Existing accounts, decided here once (the dry run shows the outcome of every row):

* an account is matched by its canonical phone number only; nobody missing from the file is touched,
  nobody is ever deleted or taken out of the class;
* staff accounts (instructor, organizer, admin) are only added to the class: no field, no role changes;
* for trainees, empty fields (email, date of birth, commune, village, business) are filled from the
  file; a field that already has a different value keeps it (the row says so);
* the name is replaced only while the account has never been activated (no password yet: the
  organizer is still its only author), and never by the same name written without diacritics.
  Once a trainee has set a password the name is theirs.
"""

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lms.accounts.models import STAFF_ROLES, Role, User, UserRole
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.core.places import Commune, MatchStatus, communes_of, match_commune
from lms.core.spreadsheets.read import Limits, UnreadableFile, column_letter, read_spreadsheet
from lms.database import LabelledEnum, utcnow
from lms.extensions import db
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.learning.models import Enrollment, EnrollmentSource, EnrollmentStatus
from lms.text import (
    ForeignPhoneNumber,
    InvalidPhoneNumber,
    fold_diacritics,
    name_order,
    normalize_phone,
    normalize_text,
    strip_invisible,
    vietnamese_key,
)

#: Largest file accepted. Below the site's 16 MB form limit, so the web says it in our words.
MAX_FILE_BYTES = 15 * 1024 * 1024
#: Most trainee rows in one file.
MAX_ROWS = 50_000
#: Most cells a sheet may span (rows x columns, empty ones included): the reader allocates them all.
MAX_CELLS = 3_000_000
#: The header row is looked for in this many rows from the top (title rows come first).
HEADER_SCAN_ROWS = 10
MIN_AGE, MAX_AGE = 10, 110
NAME_MAX, VILLAGE_MAX, BUSINESS_MAX, EMAIL_MAX = 120, 120, 160, 254
IN_CHUNK = 500
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: The file cannot be read as a trainee list; the message is safe to show (the kernel reader's error).
ImportFileError = UnreadableFile


class ImportBlocked(Exception):
    """The import was refused because the file has errors; nothing was written."""

    def __init__(self, report: "ImportReport"):
        super().__init__("; ".join(report.all_error_texts()[:3]))
        self.report = report


# --- Fields and headers -----------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    key: str
    label: object
    synonyms: tuple[str, ...]
    #: Columns recognised only so they are not mistaken for others; never stored.
    stored: bool = True


FIELDS = (
    Field("full_name", _l("Full name"), (
        "ho va ten", "ho ten", "ho va ten hoc vien", "ho ten hoc vien", "ten hoc vien", "hoc vien", "full name",
        "name", "fullname", "student name", "trainee name", "ho va ten nguoi hoc", "ten day du")),
    Field("family_name", _l("Family and middle name"), (
        "ho", "ho dem", "ho va ten dem", "ho va dem", "ho lot", "ho va chu lot", "family name", "last name",
        "surname")),
    Field("given_name", _l("Given name"), ("ten", "given name", "first name")),
    Field("phone", _l("Phone number"), (
        "so dien thoai", "sdt", "dien thoai", "phone", "mobile", "so dt", "dt", "dtdd", "dien thoai di dong",
        "so di dong", "di dong", "phone number", "mobile phone", "mobile number", "tel", "telephone",
        "so dien thoai lien he", "sdt zalo", "zalo")),
    Field("date_of_birth", _l("Date of birth"), (
        "ngay sinh", "ngay thang nam sinh", "ngay thang sinh", "sinh ngay", "date of birth", "dob", "birth date",
        "birthday", "birthdate")),
    Field("commune", _l("Commune / ward"), (
        "xa phuong", "xa", "phuong", "phuong xa", "xa phuong thi tran", "xa phuong dac khu", "commune", "ward",
        "commune ward", "ward commune")),
    Field("village", _l("Village / hamlet"), (
        "thon", "thon xom", "xom", "thon lang", "lang", "to dan pho", "thon to dan pho", "thon ap", "ap", "ban",
        "village", "hamlet")),
    # An address column fills the village only when there is no village column.
    Field("address", _l("Address (stored as village)"), (
        "dia chi", "address", "noi o", "cho o", "dia chi thuong tru", "noi o hien nay")),
    Field("business_name", _l("Craft or business name"), (
        "nghe", "co so", "ten co so", "nganh nghe", "nghe ten co so", "ten co so san xuat", "co so san xuat",
        "ten doanh nghiep", "doanh nghiep", "ho kinh doanh", "nghe nghiep", "linh vuc", "craft", "business",
        "business name")),
    Field("email", _l("Email"), ("email", "e mail", "thu dien tu", "dia chi email", "gmail", "mail")),
    Field("gender", _l("Gender (not stored)"), ("gioi tinh", "gender", "sex", "nam nu"), stored=False),
    Field("row_number", _l("Row number (not stored)"), ("stt", "tt", "so thu tu", "no"), stored=False),
)
FIELDS_BY_KEY = {f.key: f for f in FIELDS}
_EXACT = {syn: f.key for f in FIELDS for syn in f.synonyms}
# "Số điện thoại liên hệ", "Ngày sinh (dd/mm/yyyy)": a header may go on after a known name. Short
# names are matched exactly only ("Tên cơ sở" is a business, not a given name).
_PREFIXES = sorted(((syn, f.key) for f in FIELDS for syn in f.synonyms
                    if len(syn) >= 4 and syn not in {"name", "lang", "mail"}),
                   key=lambda pair: -len(pair[0]))
_NON_WORD = re.compile(r"[^0-9a-z]+")


def header_key(text: str) -> str:
    """Return a header as compared: no diacritics, lowercase, punctuation as single spaces."""
    return _NON_WORD.sub(" ", fold_diacritics(text)).strip()


def field_of_header(text: str) -> str | None:
    """Return the field key a column header names, or None."""
    key = header_key(text)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key]
    return next((fkey for syn, fkey in _PREFIXES if key.startswith(syn + " ")), None)



@dataclass
class Column:
    index: int
    header: str
    field: str | None = None
    #: Why a recognised column is not used (a second phone column, say).
    unused_reason: str = ""

    @property
    def letter(self) -> str:
        return column_letter(self.index)

    @property
    def field_label(self) -> str:
        return str(FIELDS_BY_KEY[self.field].label) if self.field else ""


@dataclass
class Header:
    row_index: int
    columns: list[Column]
    #: field key -> column, only the columns whose values are used.
    used: dict[str, Column]
    score: int
    #: 1, or 2 when a second row names the parts of a merged column ("Địa chỉ" over "Xã", "Thôn").
    height: int = 1

    @property
    def data_start(self) -> int:
        return self.row_index + self.height

    @property
    def missing(self) -> list[str]:
        missing = []
        has_name = "full_name" in self.used or "given_name" in self.used
        if not has_name:
            missing.append("full_name")
        if "phone" not in self.used:
            missing.append("phone")
        return missing


def _read_header(row: list, row_index: int) -> Header:
    columns, used = [], {}
    for index, value in enumerate(row):
        text = cell_text(value)
        if not text:
            continue
        column = Column(index, text, field_of_header(text))
        columns.append(column)
        if column.field is None:
            continue
        if column.field in used:
            column.unused_reason = _("another column already gives %(field)s", field=column.field_label)
        else:
            used[column.field] = column
    if "address" in used:
        if "village" in used:
            used.pop("address").unused_reason = _("the village column is used instead")
        else:
            used["village"] = used.pop("address")
    if "family_name" in used and "given_name" not in used and "full_name" not in used:
        used["full_name"] = used.pop("family_name")
    if "full_name" in used:
        # One full-name column wins over split ones.
        for key in ("family_name", "given_name"):
            if key in used:
                used.pop(key).unused_reason = _("the full name column is used instead")
    stored = {k for k in used if FIELDS_BY_KEY.get(k) and FIELDS_BY_KEY[k].stored}
    score = len(stored) + (3 if {"phone"} <= stored and stored & {"full_name", "given_name"} else 0)
    return Header(row_index, columns, used, score)


def find_header(rows: list[list]) -> Header | None:
    """Return the row among the first few that names the most known columns, or None."""
    best = None
    for row_index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        header = _read_header(row, row_index)
        if header.score and (best is None or header.score > best.score):
            best = header
    if best is not None and best.row_index + 1 < len(rows):
        best = _with_sub_header(best, rows[best.row_index], rows[best.row_index + 1])
    return best


def _with_sub_header(header: Header, top: list, below: list) -> Header:
    """Read a two-row header: the second row's names go under merged or general ones of the first."""
    sub = _read_header(below, header.row_index + 1)
    if not sub.used:
        return header
    if any(not _blank(below[c.index]) for key, c in header.used.items() if key in ("full_name", "phone")
           and c.index < len(below) and field_of_header(cell_text(below[c.index])) is None):
        return header  # the row below holds data, not names of columns
    combined = list(top) + [""] * max(0, len(below) - len(top))
    by_index = {c.index: c for c in header.columns}
    for column in sub.columns:
        above = by_index.get(column.index)
        if column.field and (above is None or above.field in (None, "address") or column.field in (
                "family_name", "given_name")):
            combined[column.index] = column.header
    merged = _read_header(combined, header.row_index)
    if merged.score <= header.score:
        return header
    merged.height = 2
    return merged


# --- Reading files ----------------------------------------------------------------------


@dataclass
class Table:
    format: str
    sheet_name: str
    #: Cell values as read, row 0 is spreadsheet row 1 and column 0 is column A.
    rows: list[list]
    header: Header | None = None


#: What a trainee list may hold, for the kernel's reader: the sheet may run a little past MAX_ROWS
#: (empty rows, notes at the end), which the row check counts and says so in its own words.
LIMITS = Limits(max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS + 1_000, max_cells=MAX_CELLS,
                scan_rows=HEADER_SCAN_ROWS)


def _score_sheet(head: list[list]) -> tuple[int, bool] | None:
    """Score a sheet by its header: the one that names every required column is the trainee sheet."""
    header = find_header(head)
    return None if header is None else (header.score, not header.missing)


def read_table(data: bytes) -> Table:
    """Read the trainee sheet of an XLSX, XLS, ODS or CSV file and find its header.

    Raises ImportFileError, and nothing else, for every file that cannot be read (see
    lms.core.spreadsheets.read, which refuses unsafe files before unpacking them).
    """
    sheet = read_spreadsheet(data, LIMITS, _score_sheet)
    # A workbook's header is looked for in its first rows, a CSV's in all of them, as the reader always did.
    head = sheet.rows if sheet.format == "csv" else sheet.rows[:HEADER_SCAN_ROWS]
    return Table(sheet.format, sheet.sheet_name, sheet.rows, find_header(head))


# --- Cell values ------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@")
_PLACEHOLDER = re.compile(r"^[-_./\\…x]{1,3}$|^(?:n/?a|không|khong|không có|khong co)$", re.IGNORECASE)


def _blank(value) -> bool:
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


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


def parse_birth_date(value, today: date | None = None) -> date | None:
    """Return a date of birth from a date cell or text (dd/mm/yyyy, yyyy-mm-dd, ...); blank is None."""
    today = today or today_in_vietnam()
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
    return text.startswith(_FORMULA_START)


def _formula_problem(text: str) -> CellProblem:
    return CellProblem(_("“%(value)s” looks like a spreadsheet formula (it starts with “%(sign)s”). Remove the sign.",
                         value=_shorten(text), sign=text[0]))


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_name(value) -> str:
    """Return a trainee's name in NFC, or raise CellProblem."""
    text = cell_text(value)
    if not text:
        raise CellProblem(_("The name is missing."))
    if _looks_like_formula(text):
        raise _formula_problem(text)
    if not any(ch.isalpha() for ch in text):
        raise CellProblem(_("“%(value)s” is not a name.", value=_shorten(text)))
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
        raise CellProblem(_("“%(value)s” is not an email address.", value=_shorten(text)))
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
                                value=_shorten(text)))
        return match.commune


# --- Rows, outcomes and the report -----------------------------------------------------------


class Outcome(LabelledEnum):
    NEW = "new"
    UPDATED = "updated"
    ENROLLED = "enrolled"
    ALREADY_ENROLLED = "already_enrolled"
    ERROR = "error"

    @classmethod
    def labels(cls):
        return {
            cls.NEW: _l("New trainee"),
            cls.UPDATED: _l("Existing account, details added"),
            cls.ENROLLED: _l("Existing account, added to the class"),
            cls.ALREADY_ENROLLED: _l("Already in the class"),
            cls.ERROR: _l("Has errors"),
        }


@dataclass(frozen=True)
class CellError:
    """One problem of one row, placed where the person will look for it."""

    row: int
    column: str | None
    header: str | None
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Row %(row)d, column %(column)s (%(header)s): %(message)s", row=self.row, column=self.column,
                     header=self.header, message=self.message)
        return _("Row %(row)d: %(message)s", row=self.row, message=self.message)

    def in_row(self) -> str:
        """Return the text without the row number (for a cell beside the row)."""
        if self.column:
            return _("Column %(column)s (%(header)s): %(message)s", column=self.column, header=self.header,
                     message=self.message)
        return self.message

    def to_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "header": self.header, "message": self.message}


@dataclass
class RowResult:
    number: int
    full_name: str = ""
    phone: str = ""
    values: dict = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: Outcome = Outcome.ERROR
    #: Labels of the fields an existing account gets from this row.
    changes: list[str] = field(default_factory=list)
    joins_class: bool = False
    user_id: int | None = None

    def to_dict(self) -> dict:
        return {"number": self.number, "full_name": self.full_name, "phone": self.phone,
                "outcome": self.outcome.value, "errors": [e.to_dict() for e in self.errors], "notes": self.notes,
                "changes": self.changes, "joins_class": self.joins_class}

    @classmethod
    def from_dict(cls, data: dict) -> "RowResult":
        return cls(number=data["number"], full_name=data["full_name"], phone=data["phone"],
                   errors=[CellError(**e) for e in data["errors"]], notes=list(data["notes"]),
                   outcome=Outcome(data["outcome"]), changes=list(data["changes"]), joins_class=data["joins_class"])


@dataclass
class ImportReport:
    """What a file would do to a class (dry run) or did (after commit)."""

    cohort_id: int
    format: str = ""
    sheet_name: str = ""
    #: 1-based spreadsheet row of the header, None when none was found.
    header_row: int | None = None
    columns: list[dict] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    skipped_empty_rows: int = 0
    committed: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(row.outcome for row in self.rows)
        return {outcome.value: counted.get(outcome, 0) for outcome in Outcome}

    @property
    def joining(self) -> int:
        return sum(1 for row in self.rows if row.joins_class)

    @property
    def error_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.errors]

    @property
    def error_count(self) -> int:
        return sum(len(row.errors) for row in self.rows)

    @property
    def ready(self) -> bool:
        """True when the file can be imported: no file error, no row error, at least one row."""
        return not self.file_errors and not self.error_rows and bool(self.rows)

    @property
    def changes_anything(self) -> bool:
        return any(row.outcome != Outcome.ALREADY_ENROLLED for row in self.rows)

    def all_error_texts(self) -> list[str]:
        return list(self.file_errors) + [str(e) for row in self.rows for e in row.errors]

    def to_dict(self) -> dict:
        return {"cohort_id": self.cohort_id, "format": self.format, "sheet_name": self.sheet_name,
                "header_row": self.header_row, "columns": self.columns, "rows": [r.to_dict() for r in self.rows],
                "file_errors": self.file_errors, "skipped_empty_rows": self.skipped_empty_rows,
                "committed": self.committed}

    @classmethod
    def from_dict(cls, data: dict) -> "ImportReport":
        return cls(cohort_id=data["cohort_id"], format=data["format"], sheet_name=data["sheet_name"],
                   header_row=data["header_row"], columns=data["columns"],
                   rows=[RowResult.from_dict(r) for r in data["rows"]], file_errors=data["file_errors"],
                   skipped_empty_rows=data["skipped_empty_rows"], committed=data.get("committed", False))


_VALUE_FIELDS = ("full_name", "family_name", "given_name", "phone", "date_of_birth", "commune", "village",
                 "business_name", "email")


def _check_rows(table: Table, header: Header, finder: CommuneFinder, today: date) -> tuple[list[RowResult], int]:
    used = header.used
    data_columns = [c for key, c in used.items() if key in _VALUE_FIELDS]
    rows, skipped = [], 0
    first_row_of_phone: dict[str, int] = {}

    def cell(row: list, key: str):
        column = used.get(key)
        return row[column.index] if column is not None and column.index < len(row) else None

    for index in range(header.data_start, len(table.rows)):
        raw = table.rows[index]
        if all(_blank(raw[c.index]) for c in data_columns if c.index < len(raw)):
            skipped += 1  # an empty row, or a template row with only its number filled in
            continue
        result = RowResult(number=index + 1)

        def problem(key: str, exc: CellProblem, result=result):
            column = used[key]
            result.errors.append(CellError(result.number, column.letter, column.header, str(exc)))

        values = result.values
        if "full_name" in used:
            try:
                values["full_name"] = parse_name(cell(raw, "full_name"))
            except CellProblem as exc:
                problem("full_name", exc)
        else:
            family, given = cell_text(cell(raw, "family_name")), cell_text(cell(raw, "given_name"))
            try:
                values["full_name"] = parse_name(f"{family} {given}".strip())
            except CellProblem as exc:
                problem("given_name", exc)
        try:
            values["phone"] = parse_phone(cell(raw, "phone"))
        except CellProblem as exc:
            problem("phone", exc)
        if "date_of_birth" in used:
            try:
                values["date_of_birth"] = parse_birth_date(cell(raw, "date_of_birth"), today)
            except CellProblem as exc:
                problem("date_of_birth", exc)
        if "commune" in used:
            try:
                commune = finder.find(cell(raw, "commune"))
                values["commune_code"] = commune.code if commune else None
                if commune and finder.province_code and commune.province_code != finder.province_code:
                    result.notes.append(_("The commune is outside the class's province: %(commune)s.",
                                          commune=commune.full_name))
            except CellProblem as exc:
                problem("commune", exc)
        for key, limit in (("village", VILLAGE_MAX), ("business_name", BUSINESS_MAX)):
            if key in used:
                try:
                    values[key] = parse_optional_text(cell(raw, key), limit)
                except CellProblem as exc:
                    problem(key, exc)
        if "email" in used:
            try:
                values["email"] = parse_email(cell(raw, "email"))
            except CellProblem as exc:
                problem("email", exc)
        result.full_name = values.get("full_name") or cell_text(cell(raw, "full_name") or cell(raw, "given_name"))
        phone = values.get("phone")
        result.phone = phone or cell_text(cell(raw, "phone"))
        if phone:
            first = first_row_of_phone.setdefault(phone, result.number)
            if first != result.number:
                column = used["phone"]
                result.errors.append(CellError(result.number, column.letter, column.header, _(
                    "The phone number %(phone)s is already on row %(first)d. Each trainee needs their own number.",
                    phone=phone, first=first)))
        # Left to right, as the person reads the row.
        result.errors.sort(key=lambda e: (e.column is None, len(e.column or ""), e.column or ""))
        rows.append(result)
    return rows, skipped


#: What the plan needs of an existing account; read as plain rows, not ORM objects (4,500 of those
#: with their roles cost a second).
_ACCOUNT_COLUMNS = (User.id, User.phone, User.full_name, User.email, User.date_of_birth, User.commune_code,
                    User.village, User.business_name, User.password_hash)
_FILLABLE = ("email", "date_of_birth", "commune_code", "village", "business_name")


@dataclass
class _Plan:
    accounts_by_phone: dict[str, sa.Row] = field(default_factory=dict)
    staff_ids: set[int] = field(default_factory=set)
    #: user id -> (member id, status) of everyone ever in the class.
    members_by_user: dict[int, tuple[int, MemberStatus]] = field(default_factory=dict)


def _chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start: start + size]


def _folded_equal_with_fewer_marks(old: str, new: str) -> bool:
    return fold_diacritics(old) == fold_diacritics(new) and sum(not c.isascii() for c in new) <= sum(
        not c.isascii() for c in old)


def _name_replaces(account, new_name: str) -> bool:
    """Return True if the file's name replaces the account's (see the module's docstring)."""
    return (new_name != account.full_name and account.password_hash is None
            and not _folded_equal_with_fewer_marks(account.full_name, new_name))


def _plan_rows(cohort: Cohort, rows: list[RowResult]) -> _Plan:
    plan = _Plan()
    phones = sorted({row.values["phone"] for row in rows if row.values.get("phone")})
    for chunk in _chunks(phones):
        for account in db.session.execute(sa.select(*_ACCOUNT_COLUMNS).where(User.phone.in_(chunk))):
            plan.accounts_by_phone[account.phone] = account
    ids = [account.id for account in plan.accounts_by_phone.values()]
    for chunk in _chunks(ids):
        plan.staff_ids.update(db.session.scalars(sa.select(UserRole.user_id).where(
            UserRole.user_id.in_(chunk), UserRole.role.in_(STAFF_ROLES))))
    if cohort.id is not None:
        plan.members_by_user = {user_id: (member_id, status) for member_id, user_id, status in db.session.execute(
            sa.select(CohortMember.id, CohortMember.user_id, CohortMember.status)
            .where(CohortMember.cohort_id == cohort.id))}
    labels = {key: str(FIELDS_BY_KEY[key].label) for key in ("email", "date_of_birth", "village", "business_name")}
    labels["commune_code"] = str(FIELDS_BY_KEY["commune"].label)
    labels["full_name"] = str(FIELDS_BY_KEY["full_name"].label)
    for row in rows:
        if row.errors:
            row.outcome = Outcome.ERROR
            continue
        account = plan.accounts_by_phone.get(row.values["phone"])
        if account is None:
            row.outcome, row.joins_class = Outcome.NEW, True
            continue
        row.user_id = account.id
        member = plan.members_by_user.get(account.id)
        row.joins_class = member is None or member[1] != MemberStatus.ACTIVE
        if account.id in plan.staff_ids:
            row.notes.append(_("Staff account: only added to the class, nothing else changes."))
        else:
            kept = []
            for key in _FILLABLE:
                new = row.values.get(key)
                if new is None:
                    continue
                old = getattr(account, key)
                if old is None or old == "":
                    row.changes.append(labels[key])
                elif old != new:
                    kept.append(labels[key])
            new_name = row.values["full_name"]
            if _name_replaces(account, new_name):
                row.changes.append(labels["full_name"])
                row.notes.append(_("The name changes from “%(old)s”.", old=account.full_name))
            elif new_name != account.full_name:
                kept.append(labels["full_name"])
            if kept:
                row.notes.append(_("The account keeps its own: %(fields)s.", fields=", ".join(kept)))
        if row.changes:
            row.outcome = Outcome.UPDATED
        else:
            row.outcome = Outcome.ENROLLED if row.joins_class else Outcome.ALREADY_ENROLLED
    return plan


def _active_member_count(cohort: Cohort) -> int:
    if cohort.id is None:
        return 0
    return db.session.scalar(sa.select(sa.func.count(CohortMember.id)).where(
        CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE)) or 0


def _analyse(cohort: Cohort, data: bytes, today: date | None = None) -> tuple[ImportReport, _Plan | None]:
    table = read_table(data)
    report = ImportReport(cohort_id=cohort.id, format=table.format, sheet_name=table.sheet_name)
    header = table.header or find_header(table.rows)
    if header is None:
        report.file_errors.append(_(
            "No header row was found in the first %(n)d rows. The sheet needs columns such as “Họ và tên” and "
            "“Số điện thoại”.", n=HEADER_SCAN_ROWS))
        return report, None
    report.header_row = header.row_index + 1
    report.columns = [{"letter": c.letter, "header": c.header, "field": c.field,
                       "label": c.field_label if (c.field and not c.unused_reason) else "",
                       "unused_reason": c.unused_reason} for c in header.columns]
    if header.missing:
        names = {"full_name": _("full name (“Họ và tên”)"), "phone": _("phone number (“Số điện thoại”)")}
        found = ", ".join(f"{c.letter} “{_shorten(c.header, 30)}”" for c in header.columns) or "-"
        report.file_errors.append(_("The sheet has no column for %(missing)s. Columns found on row %(row)d: %(found)s.",
                                    missing=", ".join(names[m] for m in header.missing),
                                    row=header.row_index + 1, found=found))
        return report, None
    province = None
    if cohort.commune_code:
        from lms.core.places import get_commune

        commune = get_commune(cohort.commune_code)
        province = commune.province_code if commune else None
    rows, report.skipped_empty_rows = _check_rows(table, header, CommuneFinder(province), today or today_in_vietnam())
    report.rows = rows
    if not rows:
        report.file_errors.append(_("The sheet has no trainees: every row below the header is empty."))
        return report, None
    if len(rows) > MAX_ROWS:
        report.file_errors.append(_("The file has more than %(max)s rows of trainees. Split it into several files.",
                                    max=f"{MAX_ROWS:,}"))
        return report, None
    plan = _plan_rows(cohort, rows)
    if cohort.capacity is not None:
        current = _active_member_count(cohort)
        adding = report.joining
        if current + adding > cohort.capacity:
            report.file_errors.append(_(
                "The class takes %(capacity)d trainees; %(current)d are in it and this file would add %(adding)d. "
                "Raise the class's capacity or remove %(over)d rows.", capacity=cohort.capacity, current=current,
                adding=adding, over=current + adding - cohort.capacity))
    return report, plan


def dry_run(cohort: Cohort, data: bytes, *, today: date | None = None) -> ImportReport:
    """Check a file against a class and say what each row would do; write nothing.

    Raises ImportFileError when the file cannot be read at all (wrong kind, damaged, unsafe).
    """
    return _analyse(cohort, data, today)[0]


# --- Writing ----------------------------------------------------------------------------------


def commit_import(cohort: Cohort, data: bytes, *, today: date | None = None,
                  on_progress: Callable[[float], None] | None = None) -> ImportReport:
    """Import a file into a class, all or nothing: flush in the caller's transaction; the caller commits.

    Checks the file again (the database may have changed since the dry run) and raises ImportBlocked,
    writing nothing, when any row or the file has an error.
    """
    # Lock the class row (PostgreSQL) so two imports into one class cannot both pass the capacity check.
    db.session.execute(sa.select(Cohort.id).where(Cohort.id == cohort.id).with_for_update())
    report, plan = _analyse(cohort, data, today)
    if not report.ready or plan is None:
        raise ImportBlocked(report)
    progress = on_progress or (lambda fraction: None)
    progress(0.3)
    _write(cohort, report, plan, progress)
    report.committed = True
    progress(1.0)
    return report


def _write(cohort: Cohort, report: ImportReport, plan: _Plan, progress: Callable[[float], None]) -> None:
    new_rows = [row for row in report.rows if row.outcome == Outcome.NEW]
    for done, chunk in enumerate(_chunks(new_rows, 1_000)):
        values = [{
            "full_name": row.values["full_name"],
            "phone": row.values["phone"],
            "email": row.values.get("email"),
            "date_of_birth": row.values.get("date_of_birth"),
            "commune_code": row.values.get("commune_code"),
            "village": row.values.get("village"),
            "business_name": row.values.get("business_name"),
            # No password: trainees log in first with a one-time activation code (an argon2 hash
            # each would cost minutes for a big class).
            "password_hash": None,
            "must_change_password": False,
        } for row in chunk]
        # A plain executemany, then the ids by phone: RETURNING in a guaranteed order makes SQLite
        # insert row by row (measured: 4x slower for 4,500 rows).
        db.session.execute(sa.insert(User.__table__), values)
        ids = {}
        for phones in _chunks([row.values["phone"] for row in chunk]):
            ids.update((phone, user_id) for user_id, phone in db.session.execute(
                sa.select(User.id, User.phone).where(User.phone.in_(phones))))
        for row in chunk:
            row.user_id = ids[row.values["phone"]]
        db.session.execute(sa.insert(UserRole.__table__), [{"user_id": row.user_id, "role": Role.TRAINEE} for row in chunk])
        progress(0.3 + 0.4 * min(1.0, (done + 1) * 1_000 / max(len(new_rows), 1)))

    updates = []
    for row in report.rows:
        if row.outcome != Outcome.UPDATED:
            continue
        account = plan.accounts_by_phone[row.values["phone"]]
        changed = {key: row.values[key] for key in _FILLABLE
                   if row.values.get(key) is not None and getattr(account, key) in (None, "")}
        if _name_replaces(account, row.values["full_name"]):
            changed["full_name"] = row.values["full_name"]
        updates.append({"id": account.id, **changed})
    for changed in updates:
        # One UPDATE per account: only the fields that were empty (a bulk UPDATE needs the same keys).
        db.session.execute(sa.update(User).where(User.id == changed["id"]).values(
            {k: v for k, v in changed.items() if k != "id"}))

    joining = [row.user_id for row in report.rows if row.joins_class]
    new_members, returning = [], []
    for user_id in joining:
        member = plan.members_by_user.get(user_id)
        if member is None:
            new_members.append({"cohort_id": cohort.id, "user_id": user_id, "status": MemberStatus.ACTIVE})
        else:
            returning.append(member[0])
    if new_members:
        db.session.execute(sa.insert(CohortMember.__table__), new_members)
    for chunk in _chunks(returning):
        db.session.execute(sa.update(CohortMember).where(CohortMember.id.in_(chunk))
                           .values(status=MemberStatus.ACTIVE, withdrawn_at=None))
    progress(0.85)

    existing_ids = [row.user_id for row in report.rows if row.joins_class and row.outcome != Outcome.NEW]
    enrolments: dict[int, tuple[int, EnrollmentStatus]] = {}
    for chunk in _chunks(existing_ids):
        for enrolment_id, user_id, status in db.session.execute(
                sa.select(Enrollment.id, Enrollment.user_id, Enrollment.status).where(
                    Enrollment.course_id == cohort.course_id, Enrollment.user_id.in_(chunk))):
            enrolments[user_id] = (enrolment_id, status)
    to_insert, to_reopen = [], []
    for user_id in joining:
        enrolment = enrolments.get(user_id)
        if enrolment is None:
            to_insert.append({"user_id": user_id, "course_id": cohort.course_id, "source": EnrollmentSource.COHORT,
                              "status": EnrollmentStatus.ACTIVE})
        elif enrolment[1] != EnrollmentStatus.ACTIVE:
            to_reopen.append(enrolment[0])
    if to_insert:
        db.session.execute(sa.insert(Enrollment.__table__), to_insert)
    for chunk in _chunks(to_reopen):
        db.session.execute(sa.update(Enrollment).where(Enrollment.id.in_(chunk))
                           .values(status=EnrollmentStatus.ACTIVE, left_at=None))
    db.session.flush()
    _expire_loaded(cohort, {u["id"] for u in updates} | set(joining))
    # Everyone who joins, new or returning, gets the same message a single addition sends.
    from lms.cohorts.services import tell_joined

    tell_joined(cohort, joining)


def _expire_loaded(cohort: Cohort, user_ids: set[int]) -> None:
    # The writes above bypass the identity map: objects already loaded in this session (and kept
    # after commit, expire_on_commit being off) must be read again.
    db.session.expire(cohort, ["members"])
    for obj in list(db.session.identity_map.values()):
        user_id = obj.id if isinstance(obj, User) else getattr(obj, "user_id", None)
        if isinstance(obj, (User, CohortMember, Enrollment)) and user_id in user_ids:
            db.session.expire(obj)


# --- Spreadsheets written back ----------------------------------------------------------------


def _safe_text(value) -> str:
    return cell_text(value) if not isinstance(value, str) else strip_invisible(value)


def errors_workbook(data: bytes, report: ImportReport) -> bytes:
    """Return the uploaded sheet as XLSX with an error column, every value written as text.

    Nothing is written as a formula: cells starting with '=', '+', '-' or '@' get Excel's quote prefix.
    """
    import xlsxwriter

    table = read_table(data)
    errors_by_row = {row.number: row.errors for row in report.rows if row.errors}
    width = max((len(r) for r in table.rows), default=0)
    while width and not any(cell_text(r[width - 1]) for r in table.rows if len(r) >= width):
        width -= 1
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_numbers": False, "strings_to_urls": False})
    plain = workbook.add_format({})
    quoted = workbook.add_format({"quote_prefix": True})
    bad = workbook.add_format({"bg_color": "#FDE2E1"})
    bad_quoted = workbook.add_format({"bg_color": "#FDE2E1", "quote_prefix": True})
    bold = workbook.add_format({"bold": True, "bg_color": "#E6F2EF"})
    message = workbook.add_format({"text_wrap": True, "font_color": "#9B1C1C", "valign": "top"})
    sheet = workbook.add_worksheet(re.sub(r"[\[\]:*?/\\']", " ", table.sheet_name).strip()[:31] or "Sheet1")
    header_index = (report.header_row or 1) - 1
    letters = {column_letter(i): i for i in range(width)}
    for r, row in enumerate(table.rows):
        wrong = {letters[e.column] for e in errors_by_row.get(r + 1, ()) if e.column in letters}
        for c in range(width):
            text = _safe_text(row[c]) if c < len(row) else ""
            if not text and c not in wrong:
                continue
            formula_like = text.startswith(_FORMULA_START)
            if r == header_index:
                fmt = bold
            elif c in wrong:
                fmt = bad_quoted if formula_like else bad
            else:
                fmt = quoted if formula_like else plain
            sheet.write_string(r, c, text, fmt)
        if r == header_index:
            sheet.write_string(r, width, _("Errors"), bold)
        elif r + 1 in errors_by_row:
            sheet.write_string(r, width, "\n".join(e.in_row() for e in errors_by_row[r + 1]), message)
    sheet.set_column(width, width, 70)
    sheet.freeze_panes(header_index + 1, 0)
    workbook.close()
    return buffer.getvalue()


TEMPLATE_HEADERS = ("Họ và tên", "Số điện thoại", "Ngày sinh", "Xã/Phường", "Thôn/Xóm", "Nghề / Tên cơ sở", "Email")
TEMPLATE_EXAMPLE = ("Nguyễn Thị Hường", "0912 345 678", "15/03/1985", "Xã Chuyên Mỹ", "Thôn Phú Hữu",
                    "Khảm trai Chuyên Mỹ", "")


def template_workbook(province_code: int | None = None) -> bytes:
    """Return an XLSX to fill in: the recognised headers, an example row, phones kept as text."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    header = workbook.add_format({"bold": True, "bg_color": "#E6F2EF", "border": 1, "text_wrap": True})
    text = workbook.add_format({"num_format": "@"})
    example = workbook.add_format({"italic": True, "font_color": "#4D5358", "num_format": "@"})
    sheet = workbook.add_worksheet("Danh sách")
    for c, title in enumerate(TEMPLATE_HEADERS):
        sheet.write_string(0, c, title, header)
        sheet.write_string(1, c, TEMPLATE_EXAMPLE[c], example)
    # Text columns keep the leading 0 of phone numbers and dates as typed.
    sheet.set_column(0, 0, 28, text)
    sheet.set_column(1, 2, 16, text)
    sheet.set_column(3, 5, 24, text)
    sheet.set_column(6, 6, 28, text)
    sheet.freeze_panes(1, 0)
    if province_code:
        names = [c.name for c in communes_of(province_code)]
        if names:
            lists = workbook.add_worksheet("Xã phường")
            for r, name in enumerate(names):
                lists.write_string(r, 0, name)
            lists.hide()
            sheet.data_validation(1, 3, MAX_ROWS, 3, {
                "validate": "list", "source": f"='Xã phường'!$A$1:$A${len(names)}",
                "error_type": "warning", "ignore_blank": True})
    workbook.close()
    return buffer.getvalue()


# --- Activation slips -------------------------------------------------------------------------


def _waiting_for_codes(cohort: Cohort):
    return (sa.select(User).join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE,
                   User.password_hash.is_(None), User.active.is_(True)))


def _without_valid_code(stmt):
    return stmt.where(sa.or_(User.activation_code_hash.is_(None), User.activation_expires_at.is_(None),
                             User.activation_expires_at < utcnow()))


def trainees_waiting_for_codes(cohort: Cohort) -> dict[str, int]:
    """Count the class's trainees who have not logged in yet, and those among them with no valid code."""
    def count(stmt):
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0

    stmt = _waiting_for_codes(cohort)
    return {"not_logged_in": count(stmt), "without_code": count(_without_valid_code(stmt))}


def issue_slips(cohort: Cohort, *, only_without_code: bool = True) -> list[dict]:
    """Give the class's trainees who have no password a fresh one-time code; return one slip each.

    With only_without_code, people holding a still-valid code are left alone, so slips already
    handed out keep working. The codes exist only in the returned slips: store them nowhere.
    """
    from lms.accounts.services import issue_activation_code

    stmt = _waiting_for_codes(cohort)
    if only_without_code:
        stmt = _without_valid_code(stmt)
    users = sorted(db.session.scalars(stmt), key=lambda u: (name_order(u.full_name), u.id))
    slips = [{"full_name": user.full_name, "phone": user.phone, "class_name": cohort.name,
              "class_code": cohort.code, "code": issue_activation_code(user)} for user in users]
    db.session.flush()
    return slips
