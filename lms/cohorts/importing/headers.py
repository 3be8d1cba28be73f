"""Which row of the sheet holds the column names, and which column is which field.

``read_table`` reads the trainee sheet with the kernel's reader (lms.core.spreadsheets.read), with
the import's limits, and ``find_header`` finds the header among its first rows: title rows may
come first, a second row may name the parts of a merged column, names are matched without
diacritics and may go on after a known one ("Ngày sinh (dd/mm/yyyy)").
"""

import re
from dataclasses import dataclass

from lms.cohorts.importing.cells import cell_text, is_blank
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.spreadsheets.read import Limits, UnreadableFile, column_letter, read_spreadsheet
from lms.core.text import fold_diacritics

#: Largest file accepted. Below the site's 16 MB form limit, so the web says it in our words.
MAX_FILE_BYTES = 15 * 1024 * 1024
#: Most trainee rows in one file.
MAX_ROWS = 50_000
#: Most cells a sheet may span (rows x columns, empty ones included): the reader allocates them all.
MAX_CELLS = 3_000_000
#: The header row is looked for in this many rows from the top (title rows come first).
HEADER_SCAN_ROWS = 10
#: The file cannot be read as a trainee list; the message is safe to show (the kernel reader's error).
ImportFileError = UnreadableFile


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
    if any(not is_blank(below[c.index]) for key, c in header.used.items() if key in ("full_name", "phone")
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


# --- The trainee sheet -------------------------------------------------------------------


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
