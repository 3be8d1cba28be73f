"""Reading uploaded spreadsheets that nobody can vouch for: XLSX, XLS, ODS and CSV.

``read_spreadsheet`` decides the format by content (never the file's name), refuses what is not a
spreadsheet and what would unpack or allocate too much (zip, cell and .xls bombs) before any
reader opens it, reads CSV here (encoding and delimiter sniffed) and workbooks in a child process
with a memory and a time limit (workbook_child.py). Every file it cannot read is UnreadableFile,
whose message is safe to show. The limits and the rule that picks one of several sheets are the
caller's (Limits, SheetScorer); this module knows nothing of what the rows hold.
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
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

from lms.core.config import DEFAULT_SPREADSHEET_MEMORY_MB, DEFAULT_SPREADSHEET_SECONDS
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l

#: The script that opens a workbook in a child process (see _run_workbook_child).
_WORKBOOK_CHILD = str(Path(__file__).with_name("workbook_child.py"))
logger = logging.getLogger(__name__)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


class UnreadableFile(Exception):
    """The file cannot be read as a spreadsheet; the message is safe to show."""


@dataclass(frozen=True)
class Limits:
    """How much one upload may hold; a file past any of these is refused before a reader allocates it."""

    #: Largest file accepted.
    max_bytes: int = 15 * 1024 * 1024
    #: Most rows a sheet may span.
    max_rows: int = 51_000
    #: Most cells a sheet may span (rows x columns, empty ones included): the reader allocates them all.
    max_cells: int = 3_000_000
    #: Zip containers (xlsx, ods) are checked against these before anything unpacks them.
    max_zip_entries: int = 1_000
    max_unzipped_bytes: int = 100 * 1024 * 1024
    max_compression_ratio: int = 200
    #: Rows from the top of each sheet a SheetScorer is shown.
    scan_rows: int = 10


DEFAULT_LIMITS = Limits()

#: Scores the first rows of a sheet: None when they are not what the caller wants, else (score,
#: complete). Of several sheets, the first complete one is read, else the one that scored most.
SheetScorer = Callable[[list[list]], tuple[int, bool] | None]


@dataclass
class Sheet:
    format: str
    sheet_name: str
    #: Cell values as read, row 0 is spreadsheet row 1 and column 0 is column A.
    rows: list[list]


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters



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


def _not_a_spreadsheet(kind) -> UnreadableFile:
    return UnreadableFile(_("This file is %(kind)s, not a spreadsheet. Upload an Excel (.xlsx, .xls), "
                             "LibreOffice (.ods) or CSV file.", kind=kind))


def _unreadable() -> UnreadableFile:
    return UnreadableFile(_("The file could not be read as a spreadsheet. It may be damaged or protected by a "
                             "password: open it, remove any password, save it as .xlsx and upload it again."))


def detect_format(data: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """Return 'xlsx', 'ods', 'xls' or 'csv' from the file's content (never its name)."""
    if not data:
        raise UnreadableFile(_("The file is empty."))
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        with _open_zip(data) as archive:
            _check_zip_directory(archive, limits)
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
        raise UnreadableFile(_("This file is a web page saved with a spreadsheet name. Open it in Excel or "
                                "LibreOffice, save it as .xlsx and upload it again."))
    if head.startswith(b"<?xml"):
        raise UnreadableFile(_("This is an XML file (perhaps an old “XML Spreadsheet”). Open it in Excel or "
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
            raise UnreadableFile(_("This is an Excel binary workbook (.xlsb). Save it as .xlsx and upload it again."))
        raise _not_a_spreadsheet(_l("a Word or PowerPoint document"))
    if "mimetype" in names:
        info = archive.getinfo("mimetype")
        if info.file_size < 200 and _read_member(archive, info).strip() == ODS_MIMETYPE:
            return "ods"
        raise _not_a_spreadsheet(_l("a text or presentation document"))
    raise _not_a_spreadsheet(_l("a compressed archive"))


def _check_zip_directory(archive: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """Refuse a zip whose central directory promises too many entries, bytes or too high a ratio."""
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries or sum(info.file_size for info in infos) > limits.max_unzipped_bytes:
        raise _zip_bomb()
    for info in infos:
        if info.flag_bits & 0x1:
            raise _unreadable()  # an encrypted entry
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
            raise _zip_bomb()
    return infos


def _zip_bomb() -> UnreadableFile:
    return UnreadableFile(_("The file would unpack to far more data than a trainee list holds (a possible “zip "
                             "bomb”). It was not opened."))


def check_zip(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Refuse a zip container that would unpack too much; return the sheet parts to scan.

    The central directory is checked first (entry count, declared sizes, ratios), then every entry
    is unpacked in chunks with a hard cap: the declared sizes are not trusted (zipfile stops at the
    declared size and the CRC check fails on a lie).
    """
    with _open_zip(data) as archive:
        infos = _check_zip_directory(archive, limits)
        parts, total = {}, 0
        for info in infos:
            keep = _is_sheet_part(info.filename)
            chunks = []
            try:
                with archive.open(info) as member:
                    while chunk := member.read(1024 * 1024):
                        total += len(chunk)
                        if total > limits.max_unzipped_bytes:
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


def _check_extent(rows: int, columns: int, limits: Limits) -> None:
    if rows > limits.max_rows or rows * columns > limits.max_cells:
        raise UnreadableFile(_("The sheet is too large: it has cells down to row %(rows)s and across to column "
                                "%(column)s. Delete the unused rows and columns at its end, or split the file.",
                                rows=f"{rows:,}", column=column_letter(max(columns, 1) - 1)))


def check_sheet_extents(fmt: str, parts: dict[str, bytes], limits: Limits = DEFAULT_LIMITS) -> None:
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
                _check_extent(rows, columns, limits)
        elif fmt == "ods" and name == "content.xml":
            _check_ods_extents(xml, limits)


_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def _check_ods_extents(xml: bytes, limits: Limits) -> None:
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
                    _check_extent(max_row, max_col, limits)
                row += rows_repeated
                element.clear()
    except (ET.ParseError, ValueError, LookupError):  # LookupError: an encoding Python does not know
        raise _unreadable() from None


def read_spreadsheet(data: bytes, limits: Limits = DEFAULT_LIMITS, score_sheet: SheetScorer | None = None) -> Sheet:
    """Read one sheet of an XLSX, XLS, ODS or CSV file, refusing unsafe files before unpacking.

    Raises UnreadableFile, and nothing else, for every file that cannot be read: the checks and
    the CSV reader run here, the workbook reader in a child process (_read_workbook). Of several
    visible worksheets, score_sheet chooses (see SheetScorer); without one, the first is read.
    """
    try:
        return _read_spreadsheet(data, limits, score_sheet)
    except UnreadableFile:
        raise
    except Exception:
        # A kind of damage the checks do not know yet: still the reader's error, never a 500; the
        # trace goes to the log so it can be handled by name (tests/core/spreadsheets/test_read.py).
        logger.exception("an uploaded spreadsheet (%d bytes) failed the reader unexpectedly", len(data))
        raise _unreadable() from None


def _read_spreadsheet(data: bytes, limits: Limits, score_sheet: SheetScorer | None) -> Sheet:
    if len(data) > limits.max_bytes:
        raise UnreadableFile(_("The file is larger than %(max)d MB. Split it into smaller files.",
                               max=limits.max_bytes // (1024 * 1024)))
    fmt = detect_format(data, limits)
    if fmt == "csv":
        return _read_csv(data, limits)
    if fmt == "xls":
        check_xls_extents(data, limits)
    else:
        check_sheet_extents(fmt, check_zip(data, limits), limits)
    return _read_workbook(data, fmt, limits, score_sheet)


def _read_workbook(data: bytes, fmt: str, limits: Limits = DEFAULT_LIMITS,
                   score_sheet: SheetScorer | None = None) -> Sheet:
    """Read one sheet of a workbook in a child process (workbook_child.py); see _run_workbook_child."""
    memory_mb, seconds = _child_limits()
    deadline = monotonic() + seconds
    answer = _run_workbook_child(data, "-", limits, memory_mb, deadline)
    if answer[0] == "heads":
        # Several visible sheets: the first the scorer calls complete, else the best scored, else the first.
        best = None
        for index, head in answer[1]:
            scored = score_sheet(head) if score_sheet else None
            if scored is not None and (best is None or scored[0] > best[1]):
                best = (index, scored[0])
                if scored[1]:
                    break
        answer = _run_workbook_child(data, str(best[0] if best else answer[1][0][0]), limits, memory_mb, deadline)
    if answer[0] == "no_sheet":
        raise UnreadableFile(_("The file has no sheet with data."))
    if answer[0] == "too_large":
        _check_extent(answer[1], answer[2], limits)
    if answer[0] != "sheet":
        raise _unreadable()
    return Sheet(fmt, answer[1], answer[2])


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


def _run_workbook_child(data: bytes, sheet: str, limits: Limits, memory_mb: int, deadline: float) -> tuple:
    """Open the workbook in a child process with a memory limit and a deadline; return its answer.

    calamine runs untrusted bytes through native code that may abort the process it runs in
    (a 5.6 KB .xls asked for 340 GB: Rust aborts when an allocation fails) or take too long;
    there it can only end the child. A child that dies, overruns or answers nonsense is a file
    that cannot be read. A fresh interpreter (subprocess, not fork) is safe from web workers,
    job threads and the command line alike, and starts with nothing of the parent's memory.
    """
    seconds = max(deadline - monotonic(), 0.001)
    # -S: no site module (half of the child's 30 ms start); it is told where python-calamine lives.
    # -P: its own folder (lms/core/spreadsheets) is not put on the import path.
    search_dir = _calamine_dir()
    command = [sys.executable or "python3", *(("-S", "-P") if search_dir else ("-P",)), _WORKBOOK_CHILD,
               str(memory_mb), str(math.ceil(seconds) + 1), str(limits.max_rows), str(limits.max_cells),
               str(limits.scan_rows), sheet, *((search_dir,) if search_dir else ())]
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


def _read_csv(data: bytes, limits: Limits) -> Sheet:
    text = _decode_text(data)
    delimiter = sniff_delimiter(text)
    rows, count, width = [], 0, 0
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            count, width = count + 1, max(width, len(record))
            if count > limits.max_rows:
                break
            if count * width <= limits.max_cells:  # past that the file is refused: count on, keep nothing
                rows.append(record)
    except csv.Error:
        raise _unreadable() from None
    _check_extent(count, width, limits)
    return Sheet("csv", "CSV", [r + [""] * (width - len(r)) for r in rows])


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


def check_xls_extents(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse an old Excel file whose cells span more than the reader should allocate."""
    import struct

    try:
        _check_xls_extents(data, limits)
    except struct.error:  # a record or a sector cut short: a damaged file
        raise _unreadable() from None


def _check_xls_extents(data: bytes, limits: Limits) -> None:
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
                _check_extent(rows, columns, limits)
            elif length >= 4 and (kind in _BIFF_CELLS or kind in _BIFF_MULTI):
                row, col = struct.unpack_from("<HH", stream, body)
                if kind in _BIFF_MULTI and length >= 6:
                    col = struct.unpack_from("<H", stream, body + length - 2)[0]
                if row + 1 > max_row or col + 1 > max_col:
                    max_row, max_col = max(max_row, row + 1), max(max_col, col + 1)
                    _check_extent(max_row, max_col, limits)


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


