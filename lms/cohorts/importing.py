"""Importing trainees into a class from an organizer's own spreadsheet.

Four steps, each usable alone: ``read_table`` (decide the format by content, refuse bombs and
non-spreadsheets before any reader opens the file, open a workbook in a child process with a
memory and a time limit, workbook_child.py; a damaged file is always ImportFileError),
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

import csv
import functools
import importlib.util
import io
import logging
import math
import os
import pickle
import re
import subprocess
import sys
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from time import monotonic
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lms.accounts.models import STAFF_ROLES, Role, User, UserRole
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.core.config import DEFAULT_SPREADSHEET_MEMORY_MB, DEFAULT_SPREADSHEET_SECONDS
from lms.core.db import LabelledEnum, utcnow
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.text import (
    ForeignPhoneNumber,
    InvalidPhoneNumber,
    fold_diacritics,
    name_order,
    normalize_phone,
    normalize_text,
    strip_invisible,
    vietnamese_key,
)
from lms.learning.models import Enrollment, EnrollmentSource, EnrollmentStatus
from lms.places import Commune, MatchStatus, communes_of, match_commune

#: Largest file accepted. Below the site's 16 MB form limit, so the web says it in our words.
MAX_FILE_BYTES = 15 * 1024 * 1024
#: Most trainee rows in one file.
MAX_ROWS = 50_000
#: Most cells a sheet may span (rows x columns, empty ones included): the reader allocates them all.
MAX_CELLS = 3_000_000
#: Zip containers (xlsx, ods) are checked against these before anything unpacks them.
MAX_ZIP_ENTRIES = 1_000
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
#: The header row is looked for in this many rows from the top (title rows come first).
HEADER_SCAN_ROWS = 10
MIN_AGE, MAX_AGE = 10, 110
NAME_MAX, VILLAGE_MAX, BUSINESS_MAX, EMAIL_MAX = 120, 120, 160, 254
IN_CHUNK = 500
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: The script that opens a workbook in a child process (see _run_workbook_child).
_WORKBOOK_CHILD = str(Path(__file__).with_name("workbook_child.py"))
logger = logging.getLogger(__name__)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


class ImportFileError(Exception):
    """The file cannot be read as a trainee list; the message is safe to show."""


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


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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


_SIGNATURES = (
    (b"%PDF", _l("a PDF document")),
    (b"\x89PNG", _l("an image")),
    (b"\xff\xd8\xff", _l("an image")),
    (b"GIF8", _l("an image")),
    (b"BM", None),  # too short to be sure alone; checked below
    (b"Rar!", _l("a compressed archive")),
    (b"7z\xbc\xaf", _l("a compressed archive")),
    (b"\x1f\x8b", _l("a compressed archive")),
    (b"{\\rtf", _l("a text document")),
)


def _not_a_spreadsheet(kind) -> ImportFileError:
    return ImportFileError(_("This file is %(kind)s, not a spreadsheet. Upload an Excel (.xlsx, .xls), "
                             "LibreOffice (.ods) or CSV file.", kind=kind))


def _unreadable() -> ImportFileError:
    return ImportFileError(_("The file could not be read as a spreadsheet. It may be damaged or protected by a "
                             "password: open it, remove any password, save it as .xlsx and upload it again."))


def detect_format(data: bytes) -> str:
    """Return 'xlsx', 'ods', 'xls' or 'csv' from the file's content (never its name)."""
    if not data:
        raise ImportFileError(_("The file is empty."))
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        with _open_zip(data) as archive:
            _check_zip_directory(archive)
            return _zip_kind(archive)
    if data.startswith(OLE2_MAGIC):
        return "xls"
    for magic, kind in _SIGNATURES:
        if kind and data.startswith(magic):
            raise _not_a_spreadsheet(kind)
    if data[:12].startswith(b"RIFF") and data[8:12] == b"WEBP":
        raise _not_a_spreadsheet(_l("an image"))
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table")) or b"<html" in head[:512]:
        raise ImportFileError(_("This file is a web page saved with a spreadsheet name. Open it in Excel or "
                                "LibreOffice, save it as .xlsx and upload it again."))
    if head.startswith(b"<?xml"):
        raise ImportFileError(_("This is an XML file (perhaps an old “XML Spreadsheet”). Open it in Excel or "
                                "LibreOffice, save it as .xlsx and upload it again."))
    return "csv"


#: What opening a damaged zip or reading one of its members raises: a bad CRC or header (BadZipFile,
#: ValueError: a negative seek, a name that is not UTF-8), a zip version or compression method zipfile
#: lacks (NotImplementedError), a truncated or corrupt deflate, bzip2 or LZMA stream (EOFError,
#: zlib.error, OSError, LZMAError), an encrypted member (RuntimeError).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError,
               NotImplementedError, zlib.error)
try:
    import lzma

    _ZIP_ERRORS += (lzma.LZMAError,)
except ImportError:  # Python built without lzma: zipfile refuses LZMA members with NotImplementedError
    pass


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:  # NotImplementedError: a "version needed" zipfile does not support
        raise _unreadable() from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return archive.read(info)
    except _ZIP_ERRORS:
        raise _unreadable() from None


def _zip_kind(archive: zipfile.ZipFile) -> str:
    names = set(archive.namelist())
    if "[Content_Types].xml" in names:
        if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
            return "xlsx"
        if "xl/workbook.bin" in names:
            raise ImportFileError(_("This is an Excel binary workbook (.xlsb). Save it as .xlsx and upload it again."))
        raise _not_a_spreadsheet(_l("a Word or PowerPoint document"))
    if "mimetype" in names:
        info = archive.getinfo("mimetype")
        if info.file_size < 200 and _read_member(archive, info).strip() == ODS_MIMETYPE:
            return "ods"
        raise _not_a_spreadsheet(_l("a text or presentation document"))
    raise _not_a_spreadsheet(_l("a compressed archive"))


def _check_zip_directory(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse a zip whose central directory promises too many entries, bytes or too high a ratio."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES or sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
        raise _zip_bomb()
    for info in infos:
        if info.flag_bits & 0x1:
            raise _unreadable()  # an encrypted entry
        if info.file_size > 1024 * 1024 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise _zip_bomb()
    return infos


def _zip_bomb() -> ImportFileError:
    return ImportFileError(_("The file would unpack to far more data than a trainee list holds (a possible “zip "
                             "bomb”). It was not opened."))


def check_zip(data: bytes) -> dict[str, bytes]:
    """Refuse a zip container that would unpack too much; return the sheet parts to scan.

    The central directory is checked first (entry count, declared sizes, ratios), then every entry
    is unpacked in chunks with a hard cap: the declared sizes are not trusted (zipfile stops at the
    declared size and the CRC check fails on a lie).
    """
    with _open_zip(data) as archive:
        infos = _check_zip_directory(archive)
        parts, total = {}, 0
        for info in infos:
            keep = _is_sheet_part(info.filename)
            chunks = []
            try:
                with archive.open(info) as member:
                    while chunk := member.read(1024 * 1024):
                        total += len(chunk)
                        if total > MAX_UNZIPPED_BYTES:
                            raise _zip_bomb()
                        if keep:
                            chunks.append(chunk)
            except _ZIP_ERRORS:
                raise _unreadable() from None
            if keep:
                parts[info.filename] = b"".join(chunks)
        return parts


def _is_sheet_part(name: str) -> bool:
    return name == "content.xml" or (name.startswith("xl/worksheets/") and name.endswith(".xml"))


_XLSX_REF = re.compile(rb'\sr="([A-Z]{0,3})([0-9]{1,7})"')
_XLSX_BAD_REF = re.compile(rb'\sr="(?:[A-Z]{4,}|[A-Z]{0,3}[0-9]{8,})"')


def _letters_to_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ch - 64
    return index


def _check_extent(rows: int, columns: int) -> None:
    if rows > MAX_ROWS + 1_000 or rows * columns > MAX_CELLS:
        raise ImportFileError(_("The sheet is too large: it has cells down to row %(rows)s and across to column "
                                "%(column)s. Delete the unused rows and columns at its end, or split the file.",
                                rows=f"{rows:,}", column=column_letter(max(columns, 1) - 1)))


def check_sheet_extents(fmt: str, parts: dict[str, bytes]) -> None:
    """Refuse sheets whose cells span more than the reader should allocate (a "cell bomb").

    Two cells, A1 and XFD1048576, make a 5 KB file that asks for 17 billion cells.
    """
    for name, xml in parts.items():
        if fmt == "xlsx" and name != "content.xml":
            if _XLSX_BAD_REF.search(xml):
                raise _zip_bomb()
            refs = _XLSX_REF.findall(xml)
            if refs:
                rows = max(int(r) for _, r in refs)
                columns = max((_letters_to_index(c) for c in {c for c, _ in refs} if c), default=1)
                _check_extent(rows, columns)
        elif fmt == "ods" and name == "content.xml":
            _check_ods_extents(xml)


_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def _check_ods_extents(xml: bytes) -> None:
    # LibreOffice writes "1,048,553 empty rows" at the end of every sheet; only repeated cells that
    # hold something make the reader allocate, so only those count.
    import xml.etree.ElementTree as ET

    row = col = max_row = max_col = 0
    row_has = False
    rows_repeated = 1
    try:
        # Expat (2.4+) caps entity amplification and ElementTree never fetches external entities.
        for event, element in ET.iterparse(io.BytesIO(xml), events=("start", "end")):  # noqa: S314
            tag = element.tag
            if event == "start":
                if tag == _T + "table":
                    row = max_row = max_col = 0
                elif tag == _T + "table-row":
                    col, row_has = 0, False
                    rows_repeated = int(element.get(_T + "number-rows-repeated", "1"))
                continue
            if tag in (_T + "table-cell", _T + "covered-table-cell"):
                repeated = int(element.get(_T + "number-columns-repeated", "1"))
                if element.get(_O + "value-type") is not None or len(element):
                    max_col, row_has = max(max_col, col + repeated), True
                col += repeated
                element.clear()
            elif tag == _T + "table-row":
                if row_has:
                    max_row = row + rows_repeated
                    _check_extent(max_row, max_col)
                row += rows_repeated
                element.clear()
    except (ET.ParseError, ValueError, LookupError):  # LookupError: an encoding Python does not know
        raise _unreadable() from None


def read_table(data: bytes) -> Table:
    """Read the trainee sheet of an XLSX, XLS, ODS or CSV file, refusing unsafe files before unpacking.

    Raises ImportFileError, and nothing else, for every file that cannot be read: the checks and
    the CSV reader run here, the workbook reader in a child process (_read_workbook).
    """
    try:
        return _read_table(data)
    except ImportFileError:
        raise
    except Exception:
        # A kind of damage the checks do not know yet: still the import error, never a 500; the
        # trace goes to the log so it can be handled by name (tests/cohorts/test_damaged_files.py).
        logger.exception("an uploaded spreadsheet (%d bytes) failed the reader unexpectedly", len(data))
        raise _unreadable() from None


def _read_table(data: bytes) -> Table:
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(_("The file is larger than %(max)d MB. Split it into smaller files.",
                                max=MAX_FILE_BYTES // (1024 * 1024)))
    fmt = detect_format(data)
    if fmt == "csv":
        return _read_csv(data)
    if fmt == "xls":
        check_xls_extents(data)
    else:
        check_sheet_extents(fmt, check_zip(data))
    return _read_workbook(data, fmt)


def _read_workbook(data: bytes, fmt: str) -> Table:
    """Read the trainee sheet of a workbook in a child process (workbook_child.py); see _run_workbook_child."""
    memory_mb, seconds = _child_limits()
    deadline = monotonic() + seconds
    answer = _run_workbook_child(data, "-", memory_mb, deadline)
    if answer[0] == "heads":
        # Several visible sheets: the first whose header names every required column, else the best.
        best = None
        for index, head in answer[1]:
            header = find_header(head)
            if header is not None and (best is None or header.score > best[1].score):
                best = (index, header)
                if not header.missing:
                    break
        answer = _run_workbook_child(data, str(best[0] if best else answer[1][0][0]), memory_mb, deadline)
    if answer[0] == "no_sheet":
        raise ImportFileError(_("The file has no sheet with data."))
    if answer[0] == "too_large":
        _check_extent(answer[1], answer[2])
    if answer[0] != "sheet":
        raise _unreadable()
    name, rows = answer[1], answer[2]
    return Table(fmt, name, rows, find_header(rows[:HEADER_SCAN_ROWS]))


#: What a workbook child may send back besides built-in types: the cell values calamine gives.
_CHILD_CLASSES = frozenset({("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
                            ("datetime", "timedelta"), ("datetime", "timezone")})


class _ChildAnswerUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _CHILD_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a cell value")


def _child_limits() -> tuple[int, float]:
    from flask import current_app, has_app_context

    config = current_app.config if has_app_context() else {}
    return (int(config.get("SPREADSHEET_MEMORY_MB") or DEFAULT_SPREADSHEET_MEMORY_MB),
            float(config.get("SPREADSHEET_SECONDS") or DEFAULT_SPREADSHEET_SECONDS))


@functools.cache
def _calamine_dir() -> str | None:
    """The folder python-calamine is installed in (found, not imported), or None."""
    spec = importlib.util.find_spec("python_calamine")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def _run_workbook_child(data: bytes, sheet: str, memory_mb: int, deadline: float) -> tuple:
    """Open the workbook in a child process with a memory limit and a deadline; return its answer.

    calamine runs untrusted bytes through native code that may abort the process it runs in
    (a 5.6 KB .xls asked for 340 GB: Rust aborts when an allocation fails) or take too long;
    there it can only end the child. A child that dies, overruns or answers nonsense is a file
    that cannot be read. A fresh interpreter (subprocess, not fork) is safe from web workers,
    job threads and the command line alike, and starts with nothing of the parent's memory.
    """
    seconds = max(deadline - monotonic(), 0.001)
    # -S: no site module (half of the child's 30 ms start); it is told where python-calamine lives.
    # -P: its own folder (lms/cohorts) is not put on the import path.
    search_dir = _calamine_dir()
    command = [sys.executable or "python3", *(("-S", "-P") if search_dir else ("-P",)), _WORKBOOK_CHILD,
               str(memory_mb), str(math.ceil(seconds) + 1), str(MAX_ROWS + 1_000), str(MAX_CELLS),
               str(HEADER_SCAN_ROWS), sheet, *((search_dir,) if search_dir else ())]
    # RUST_BACKTRACE=1 makes a panic allocate to print its backtrace: short of memory, the child
    # would then sleep on a lock until its time is up instead of ending at once.
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    started = monotonic()
    try:
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603
                              stderr=subprocess.PIPE, env=env) as child:
            try:
                out, err = child.communicate(data, timeout=seconds)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                logger.warning("spreadsheet reader stopped after %.1f s (%d bytes)", monotonic() - started,
                               len(data))
                raise _unreadable() from None
    except OSError:
        logger.exception("the spreadsheet reader could not be started")
        raise _unreadable() from None
    if child.returncode == 3:  # workbook_child.CANNOT_IMPORT: no workbook can be read, whatever the file
        logger.error("the spreadsheet reader cannot work: %s", _stderr_summary(err))
        raise _unreadable()
    if child.returncode != 0:
        ended = f"signal {-child.returncode}" if child.returncode < 0 else f"status {child.returncode}"
        logger.warning("spreadsheet reader ended with %s after %.2f s (%d bytes): %s", ended,
                       monotonic() - started, len(data), _stderr_summary(err))
        raise _unreadable()
    try:
        answer = _ChildAnswerUnpickler(io.BytesIO(out)).load()
    except Exception:  # noqa: BLE001 - anything the child wrote that is not a well-formed answer
        answer = None
    if not (isinstance(answer, tuple) and answer and _well_formed(answer)):
        logger.warning("spreadsheet reader answered something unexpected (%d bytes)", len(out))
        raise _unreadable()
    return answer


def _stderr_summary(err: bytes) -> str:
    """The first and last lines the child wrote to stderr, short, with long numbers (phones) masked."""
    lines = [line.strip() for line in err[-4000:].decode("utf-8", "replace").splitlines()
             if line.strip() and not line.startswith("note: ")]
    picked = lines[:1] + lines[-1:] if len(lines) > 1 else lines
    return " … ".join(re.sub(r"\d{6,}", "…", line)[:160] for line in picked) or "-"


def _well_formed(answer: tuple) -> bool:
    kind = answer[0]
    if kind == "sheet":
        return (len(answer) == 3 and isinstance(answer[1], str) and isinstance(answer[2], list)
                and all(isinstance(row, list) for row in answer[2]))
    if kind == "heads":
        return (len(answer) == 2 and isinstance(answer[1], list) and len(answer[1]) > 0
                and all(isinstance(item, tuple) and len(item) == 2 and type(item[0]) is int
                        and isinstance(item[1], list) and all(isinstance(row, list) for row in item[1])
                        for item in answer[1]))
    if kind == "too_large":
        return len(answer) == 3 and all(type(n) is int for n in answer[1:])
    return kind in ("no_sheet", "unreadable") and len(answer) == 1


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:  # an odd number of bytes, or half of a surrogate pair: damaged
            raise _unreadable() from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                # Excel on Vietnamese Windows saves "CSV" in the ANSI code page.
                text = data.decode("cp1258")
            except UnicodeDecodeError:
                raise _not_a_spreadsheet(_l("a binary file")) from None
    controls = sum(1 for ch in text[:65536] if ch < " " and ch not in "\t\r\n")
    if "\x00" in text or controls > max(3, len(text[:65536]) // 100):
        raise _not_a_spreadsheet(_l("a binary file"))
    return unicodedata.normalize("NFC", text)


def sniff_delimiter(text: str) -> str:
    """Return the CSV delimiter (',', ';' or tab) that splits the first lines most consistently."""
    sample = text[:65536].splitlines()[:30]
    best, best_score = ",", (-1, -1)
    for delimiter in (",", ";", "\t"):
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not widths:
            continue
        common, count = Counter(widths).most_common(1)[0]
        score = (count if common > 1 else 0, common)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(data: bytes) -> Table:
    text = _decode_text(data)
    delimiter = sniff_delimiter(text)
    rows, count, width = [], 0, 0
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            count, width = count + 1, max(width, len(record))
            if count > MAX_ROWS + 1_000:
                break
            if count * width <= MAX_CELLS:  # past that the file is refused: count on, keep nothing
                rows.append(record)
    except csv.Error:
        raise _unreadable() from None
    _check_extent(count, width)
    return Table("csv", "CSV", [r + [""] * (width - len(r)) for r in rows], find_header(rows))


# --- XLS (OLE2 + BIFF8) extent check ---------------------------------------------------------

# Cell records carry (row, column) first. MULRK/MULBLANK carry a first and a last column.
_BIFF_CELLS = {0x0006, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6}
_BIFF_MULTI = {0x00BD, 0x00BE}


def _ole_stream(data: bytes, wanted: tuple[str, ...]) -> bytes | None:
    """Return the first stream of an OLE2 compound file with one of these names, or None."""
    import struct

    if len(data) < 512:
        return None
    sector_shift, = struct.unpack_from("<H", data, 0x1E)
    if sector_shift not in (9, 12):
        return None
    size = 1 << sector_shift
    first_dir, = struct.unpack_from("<I", data, 0x30)
    first_mini_fat, n_mini_fat, first_difat = struct.unpack_from("<III", data, 0x3C)
    difat = list(struct.unpack_from("<109I", data, 0x4C))
    # The header fills the first sector (512 bytes, or 4096 with 4 KB sectors): sector 0 follows it.
    sector_count = max(len(data) - size, 0) // size + 1

    def sector(i: int) -> bytes:
        return data[(i + 1) * size: (i + 2) * size]

    guard = 0
    while first_difat < 0xFFFFFFFA and guard < sector_count:
        links = struct.unpack(f"<{size // 4}I", sector(first_difat))
        difat.extend(links[:-1])
        first_difat, guard = links[-1], guard + 1
    if first_difat < 0xFFFFFFFA:
        raise _unreadable()  # a DIFAT chain that loops: calamine would follow it until memory runs out
    fat: list[int] = []
    # Every FAT sector the DIFAT lists, as calamine reads them (it ignores the header's FAT count).
    for s in difat:
        if s >= 0xFFFFFFFC:
            continue
        if s >= sector_count:
            return None
        if len(fat) < sector_count:  # entries past the last sector are never followed
            fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))

    def chain(start: int) -> bytes:
        out, seen = [], 0
        while start < 0xFFFFFFFA and start < len(fat):
            if seen > sector_count:
                raise _unreadable()  # a chain longer than the file: it loops
            out.append(sector(start))
            start, seen = fat[start], seen + 1
        return b"".join(out)

    # The directory as calamine reads it: a name is the first 64 bytes up to a NUL (whatever the
    # entry's type and name length say), the first entry is the root, streams under 4 KB live in
    # the mini stream, and the first entry with a wanted name wins, in the order of `wanted`.
    directory = chain(first_dir)
    entries = []
    for offset in range(0, len(directory) - 127, 128):
        name = directory[offset: offset + 64].decode("utf-16-le", "replace").split("\x00", 1)[0]
        start, = struct.unpack_from("<I", directory, offset + 0x74)
        length, = struct.unpack_from("<Q" if size == 4096 else "<I", directory, offset + 0x78)
        entries.append((name, start, length))
    if not entries:
        return None
    root_start, root_length = entries[0][1], entries[0][2]
    for want in wanted:
        found = next((entry for entry in entries if entry[0] == want), None)
        if found is None:
            continue
        _, start, length = found
        length = min(length, len(data))
        if length >= 4096:
            return chain(start)[:length]
        raw = chain(first_mini_fat)[: n_mini_fat * size]
        mini_fat = list(struct.unpack(f"<{len(raw) // 4}I", raw[: len(raw) // 4 * 4]))
        mini_stream = chain(root_start)[:root_length]
        out, seen = [], 0
        while start < 0xFFFFFFFA and start < len(mini_fat) and seen <= len(mini_fat):
            out.append(mini_stream[start * 64:(start + 1) * 64])
            start, seen = mini_fat[start], seen + 1
        return b"".join(out)[:length]
    return None


def check_xls_extents(data: bytes) -> None:
    """Refuse an old Excel file whose cells span more than the reader should allocate."""
    import struct

    try:
        _check_xls_extents(data)
    except struct.error:  # a record or a sector cut short: a damaged file
        raise _unreadable() from None


def _check_xls_extents(data: bytes) -> None:
    import struct

    stream = _ole_stream(data, ("Workbook", "Book", "WORKBOOK", "BOOK"))
    if stream is None:
        if _ole_stream(data, ("EncryptedPackage",)) is not None:
            raise _unreadable()  # a password-protected .xlsx is an OLE2 file too
        raise _not_a_spreadsheet(_l("a Word or other Office document"))
    # The records as calamine reads them: the workbook globals up to their EOF, then each sheet
    # from the offset its BOUNDSHEET gives (not where a linear walk would be), up to its own EOF,
    # skipping the records of nested substreams (embedded charts).
    positions = []
    for kind, body, length in _biff_records(stream, 0):
        if kind == 0x000A:
            break
        if kind == 0x0085 and length >= 4:
            positions.append(struct.unpack_from("<I", stream, body)[0])
        elif kind == 0x00FC and length >= 8 and struct.unpack_from("<i", stream, body + 4)[0] > len(stream) // 3:
            raise _zip_bomb()  # SST: its declared string count is reserved up front; a string takes 3 bytes or more
    # Sheets do not overlap: walking more records than the stream can hold means they do.
    budget = len(stream) // 4 + 1
    for position in positions:
        max_row = max_col = depth = 0
        seen_bof = False
        for kind, body, length in _biff_records(stream, position):
            budget -= 1
            if budget < 0:
                raise _unreadable()
            if depth:
                depth += 1 if kind == 0x0809 else -1 if kind == 0x000A else 0
                continue
            if kind == 0x0809:
                depth, seen_bof = (1, True) if seen_bof else (0, True)
            elif kind == 0x000A:
                break
            elif kind == 0x0200 and length in (10, 14):
                # DIMENSIONS: the reader reserves rows x columns cells from it before reading any.
                if length == 14:
                    first_row, rows, _first_col, columns = struct.unpack_from("<IIHH", stream, body)
                else:
                    first_row, rows, _first_col, columns = struct.unpack_from("<HHHH", stream, body)
                if first_row > rows >= 1 and columns >= 1:
                    # calamine reserves (rows - first_row) cells, counted in 32 bits: a first row past
                    # the last one wraps round to billions (a 5.6 KB file asked for 344 GB).
                    raise _unreadable()
                _check_extent(rows, columns)
            elif length >= 4 and (kind in _BIFF_CELLS or kind in _BIFF_MULTI):
                row, col = struct.unpack_from("<HH", stream, body)
                if kind in _BIFF_MULTI and length >= 6:
                    col = struct.unpack_from("<H", stream, body + length - 2)[0]
                if row + 1 > max_row or col + 1 > max_col:
                    max_row, max_col = max(max_row, row + 1), max(max_col, col + 1)
                    _check_extent(max_row, max_col)


def _biff_records(stream: bytes, offset: int) -> Iterable[tuple[int, int, int]]:
    """Yield (type, body offset, length) of the BIFF records from offset on, until one runs past the end."""
    import struct

    end = len(stream)
    while offset + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, offset)
        body = offset + 4
        if body + length > end:
            return
        yield kind, body, length
        offset = body + length


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
        from lms.places import get_commune

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
