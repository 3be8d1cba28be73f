"""The one spreadsheet writer: CSV and XLSX, streamed row by row, with no cell a spreadsheet would run.

Every export goes through here so that two rules hold everywhere:

- a text cell never becomes a formula (``neutralise``; OWASP "CSV injection"), in CSV and XLSX alike;
- rows come from an iterator and leave as soon as they are written, so memory stays flat
  however many rows there are (xlsxwriter's ``constant_memory`` mode; CSV in chunks).

``write_marked_copy`` hands a person's own sheet back to be corrected (the import's error file):
every value stays exactly as typed, so text a spreadsheet would run gets Excel's quote prefix
instead of neutralise's apostrophe. Both go by the one FORMULA_PREFIXES.
"""

import csv
import io
import tempfile
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from os import PathLike
from typing import IO, Any

#: Excel, LibreOffice and Google Sheets read a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Rows on one worksheet; further rows continue on a sheet named "<name> (2)".
XLSX_MAX_ROWS = 1_048_576
XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
#: Cell formats by column kind; a column_formats entry names one of these.
COLUMN_KINDS = {
    "text": {},
    "date": {"num_format": "dd/mm/yyyy"},
    "datetime": {"num_format": "dd/mm/yyyy hh:mm"},
    "time": {"num_format": "hh:mm"},
    "integer": {"num_format": "0"},
    "decimal1": {"num_format": "0.0"},
    "code": {"align": "center"},
}
_MIN_WIDTHS = {"date": 11, "datetime": 16, "time": 6, "integer": 6, "decimal1": 7, "code": 4}
_MAX_WIDTH = 45
_CSV_CHUNK_ROWS = 500
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})

#: (sheet name, header, rows, column kinds or None); see write_xlsx.
Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]], Sequence[str | None] | None]


def neutralise(value):
    """Return the value as a spreadsheet should store it: text in NFC that can never run as a formula.

    Numbers, dates, booleans and None pass untouched (-5 stays the number -5). Text starting with
    ``= + - @``, a tab or a carriage return gets a leading apostrophe, as OWASP recommends; a cell
    that is only "-" is left alone: it cannot be a formula and is the usual way to write "none".
    Text shaped like rich-text XML (``<r>…</r>``) gets the apostrophe too (see below).
    Anything else (lazy translations, enums) is turned into text first.
    """
    # Called once per cell: exact type checks first, they are several times faster than isinstance.
    if type(value) is not str:
        if value is None or isinstance(value, _PASS_THROUGH):
            return value
        value = str(value)
    text = unicodedata.normalize("NFC", value)
    if text[:1] in _FORMULA_STARTS and text != "-":
        return "'" + text
    if text[:3] == "<r>" and text[-4:] == "</r>":
        # xlsxwriter's streaming mode copies such text into the sheet as raw rich-text XML:
        # a name like this could break the file or smuggle in a formula cell.
        return "'" + text
    return text


_PASS_THROUGH = (bool, int, float, Decimal, date, time)
#: Day 0 of Excel's dates; from 1 March 1900 on, a date's number is its days since then.
_EXCEL_EPOCH = datetime(1899, 12, 30)
_SERIAL_FROM = datetime(1900, 3, 1)
_FORMULA_STARTS = frozenset(FORMULA_PREFIXES)


def _csv_cell(value) -> str:
    value = neutralise(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        # ISO dates: every Excel locale reads them, whereas 05/11 is 5 May to half the world.
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def iter_csv(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> Iterator[bytes]:
    """Yield a CSV file in UTF-8 chunks: a byte-order mark (Excel then reads Vietnamese right), a header, the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: commas, CRLF, quotes only where needed
    buffer.write("\ufeff")
    writer.writerow([_csv_cell(h) for h in header])
    for count, row in enumerate(rows, 1):
        writer.writerow([neutralise(v) if type(v) is str else _csv_cell(v) for v in row])
        if count % _CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_csv(rows: Iterable[Sequence[Any]], header: Sequence[str], fileobj: IO) -> int:
    """Write rows as CSV (UTF-8 with BOM) to a binary file, or a text file opened with newline=""; return the row count.

    Dates are written as ISO 8601 (2026-11-28, 2026-11-28 07:30).
    """
    counter = _Counter(rows)
    binary = not hasattr(fileobj, "encoding")
    for chunk in iter_csv(counter, header):
        fileobj.write(chunk if binary else chunk.decode("utf-8"))
    return counter.count


class _Counter:
    """Pass rows through, counting them."""

    def __init__(self, rows: Iterable):
        self._rows = iter(rows)
        self.count = 0

    def __iter__(self):
        for row in self._rows:
            self.count += 1
            yield row


def write_xlsx(sheets: Iterable[Sheet], target: str | PathLike | IO[bytes]) -> dict[str, int]:
    """Write sheets to an XLSX file (a path or a seekable binary file); return the data rows per sheet.

    Each sheet is ``(name, header, rows, column_formats)``: rows is any iterable, consumed once, in
    order; column_formats gives each column's kind (a key of COLUMN_KINDS, None = text) and may be
    shorter than the header. Text is written with write_string after ``neutralise`` (never a
    formula), numbers as numbers, dates and naive datetimes as real dates shown dd/mm/yyyy
    (timezone-aware datetimes are refused: convert to local time first). The header is bold,
    frozen and filterable; column widths follow the longest value, within limits.
    """
    import xlsxwriter  # loaded by the exports that need it, not by every web worker

    counts: dict[str, int] = {}
    # xlsxwriter keeps each sheet's rows in a temp file until close(); our own folder for them
    # means nothing is left behind if a row iterator raises half-way.
    with tempfile.TemporaryDirectory(prefix="lms-xlsx-") as tmpdir:
        workbook = xlsxwriter.Workbook(target, {**XLSX_OPTIONS, "tmpdir": tmpdir})
        writer = _XlsxWriter(workbook)
        for name, header, rows, column_formats in sheets:
            counts[name] = writer.write_sheet(name, header, rows, column_formats)
        workbook.close()
    return counts


class _XlsxWriter:
    def __init__(self, workbook):
        self.workbook = workbook
        self.formats = {kind: workbook.add_format(spec) if spec else None for kind, spec in COLUMN_KINDS.items()}
        self.date_format = self.formats["date"]
        self.datetime_format = self.formats["datetime"]
        self.header_format = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bottom": 1, "bg_color": "#E6F0EC"}
        )
        self.used_names: set[str] = set()

    def _sheet_name(self, name: str) -> str:
        base = " ".join(neutralise(name).lstrip("'").translate(_BAD_SHEET_CHARS).split())[:31] or "Sheet"
        candidate, n = base, 2
        while candidate.lower() in self.used_names:
            suffix = f" ({n})"
            candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
        self.used_names.add(candidate.lower())
        return candidate

    def _start(self, name, header, kinds):
        worksheet = self.workbook.add_worksheet(self._sheet_name(name))
        for col, title in enumerate(header):
            worksheet.write_string(0, col, neutralise(title), self.header_format)
        worksheet.freeze_panes(1, 0)
        return worksheet

    def _finish(self, worksheet, header, kinds, widths, last_row):
        for col, width in enumerate(widths):
            worksheet.set_column(col, col, min(max(width, _MIN_WIDTHS.get(kinds[col], 0)), _MAX_WIDTH) + 1)
        if header:
            worksheet.autofilter(0, 0, max(last_row, 1), len(header) - 1)

    def write_sheet(self, name, header, rows, column_formats) -> int:
        kinds = [k or "text" for k in (column_formats or [])]
        kinds += ["text"] * (len(header) - len(kinds))
        cell_formats = [self.formats[k] for k in kinds]
        # Headers wrap, so their longest word sets the least width, not their whole length.
        widths = [max((len(word) for word in str(title).split()), default=4) for title in header]
        # A date is the number of days since Excel's epoch shown in a date format: written as that
        # number, as xlsxwriter itself would, without its per-cell conversion (a tenth of the export).
        date_formats = [f if k == "date" else self.date_format for k, f in zip(kinds, cell_formats, strict=True)]
        datetime_formats = [f if k in ("date", "datetime") else self.datetime_format
                            for k, f in zip(kinds, cell_formats, strict=True)]
        serials: dict[date, int] = {}
        worksheet = self._start(name, header, kinds)
        # The undecorated writers (xlsxwriter's own names for them): row/column numbers, no "A1" parsing.
        write_string, write_number = worksheet._write_string, worksheet._write_number
        row_index, written, part = 0, 0, 1
        for row in rows:
            row_index += 1
            if row_index == XLSX_MAX_ROWS:
                self._finish(worksheet, header, kinds, widths, row_index - 1)
                part += 1
                worksheet, row_index = self._start(f"{name} ({part})", header, kinds), 1
                write_string, write_number = worksheet._write_string, worksheet._write_number
            written += 1
            # The hot loop of every export: exact type checks, most common first.
            for col, value in enumerate(row):
                kind = type(value)
                if kind is str:
                    value = neutralise(value)
                    if value:
                        write_string(row_index, col, value, cell_formats[col])
                        if len(value) > widths[col]:
                            widths[col] = len(value)
                elif value is None:
                    continue
                elif kind is int or kind is float or kind is Decimal:
                    write_number(row_index, col, value, cell_formats[col])
                elif kind is date and value >= _SERIAL_FROM.date():
                    serial = serials.get(value)
                    if serial is None:
                        serial = serials[value] = (value - _EXCEL_EPOCH.date()).days
                    write_number(row_index, col, serial, date_formats[col])
                elif kind is datetime and value.tzinfo is None and value >= _SERIAL_FROM:
                    delta = value - _EXCEL_EPOCH
                    write_number(row_index, col, delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400,
                                 datetime_formats[col])
                else:
                    self._write_other(worksheet, row_index, col, neutralise(value), kinds[col], cell_formats[col])
        self._finish(worksheet, header, kinds, widths, row_index)
        return written

    def _write_other(self, worksheet, row, col, value, kind, cell_format):
        """Write a date, datetime, time, boolean or text made from another type."""
        if isinstance(value, str):
            if value:
                worksheet.write_string(row, col, value, cell_format)
        elif isinstance(value, bool):
            worksheet.write_boolean(row, col, value, cell_format)
        elif isinstance(value, int | float | Decimal):
            worksheet.write_number(row, col, value, cell_format)
        elif isinstance(value, datetime):
            worksheet.write_datetime(row, col, value, cell_format if kind in ("datetime", "date") else
                                     self.datetime_format)
        elif isinstance(value, date):
            worksheet.write_datetime(row, col, datetime.combine(value, time()),
                                     cell_format if kind == "date" else self.date_format)
        else:  # time
            worksheet.write_datetime(row, col, value, self.formats["time"])


def write_marked_copy(rows: Sequence[Sequence[str]], *, sheet_name: str, header_index: int,
                      marked: Mapping[int, Collection[int]], notes: Mapping[int, str], notes_title: str) -> bytes:
    """Return rows of text as a one-sheet XLSX to correct by hand; rows and columns are 0-based indexes.

    The header row is bold and frozen and gets notes_title in the column after the last; cells in
    marked[row] are shaded (written even when empty); notes[row] goes in that last column. Every
    value is written as text, never a formula: text starting with one of FORMULA_PREFIXES gets
    Excel's quote prefix, so it stays text when edited and the value is kept as it was; text shaped
    like rich-text XML (``<r>…</r>``) is written as text too (_write_as_typed). sheet_name must
    already be a valid sheet name.
    """
    import xlsxwriter

    width = max((len(row) for row in rows), default=0)
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {**XLSX_OPTIONS, "constant_memory": False, "in_memory": True})
    plain = workbook.add_format({})
    quoted = workbook.add_format({"quote_prefix": True})
    bad = workbook.add_format({"bg_color": "#FDE2E1"})
    bad_quoted = workbook.add_format({"bg_color": "#FDE2E1", "quote_prefix": True})
    bold = workbook.add_format({"bold": True, "bg_color": "#E6F2EF"})
    message = workbook.add_format({"text_wrap": True, "font_color": "#9B1C1C", "valign": "top"})
    sheet = workbook.add_worksheet(sheet_name)
    for r, row in enumerate(rows):
        wrong = marked.get(r, ())
        for c in range(width):
            text = row[c] if c < len(row) else ""
            if not text and c not in wrong:
                continue
            formula_like = text.startswith(FORMULA_PREFIXES)
            if r == header_index:
                fmt = bold
            elif c in wrong:
                fmt = bad_quoted if formula_like else bad
            else:
                fmt = quoted if formula_like else plain
            _write_as_typed(sheet, r, c, text, fmt)
        if r == header_index:
            _write_as_typed(sheet, r, width, notes_title, bold)
        elif r in notes:
            _write_as_typed(sheet, r, width, notes[r], message)
    sheet.set_column(width, width, 70)
    sheet.freeze_panes(header_index + 1, 0)
    workbook.close()
    return buffer.getvalue()


def _write_as_typed(sheet, row: int, col: int, text: str, cell_format) -> None:
    """Write text so that it reads back exactly as typed, even when it looks like rich-text XML.

    xlsxwriter copies a string that starts with ``<r>`` and ends with ``</r>`` into the file as raw
    XML, in shared strings as in streaming mode: a typed cell could break the file or smuggle in
    markup. Written as three runs of one rich string, each run is escaped, and the cell's text is
    the runs joined: the value as typed, with no apostrophe added.
    """
    if text[:3] == "<r>" and text[-4:] == "</r>":
        sheet.write_rich_string(row, col, text[:1], text[1:2], text[2:], cell_format)
    else:
        sheet.write_string(row, col, text, cell_format)
