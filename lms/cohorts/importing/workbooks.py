"""Spreadsheets the import hands back: the uploaded sheet with its errors beside each row, and the template to fill in."""

import io
import re

from lms.cohorts.importing.cells import cell_text
from lms.cohorts.importing.headers import MAX_ROWS, column_letter, read_table
from lms.cohorts.importing.rows import ImportReport
from lms.core.i18n import gettext as _
from lms.core.places import communes_of
from lms.core.spreadsheets.write import write_marked_copy
from lms.core.text import strip_invisible


def _safe_text(value) -> str:
    return cell_text(value) if not isinstance(value, str) else strip_invisible(value)


def errors_workbook(data: bytes, report: ImportReport) -> bytes:
    """Return the uploaded sheet as XLSX with an error column, every value written as text.

    Nothing is written as a formula (lms.core.spreadsheets.write.write_marked_copy): cells
    starting like one get Excel's quote prefix.
    """
    table = read_table(data)
    errors_by_row = {row.number: row.errors for row in report.rows if row.errors}
    width = max((len(r) for r in table.rows), default=0)
    while width and not any(cell_text(r[width - 1]) for r in table.rows if len(r) >= width):
        width -= 1
    letters = {column_letter(i): i for i in range(width)}
    marked = {number - 1: {letters[e.column] for e in errors if e.column in letters}
              for number, errors in errors_by_row.items()}
    notes = {number - 1: "\n".join(e.in_row() for e in errors) for number, errors in errors_by_row.items()}
    # Every row padded to the last used column: the writer puts the error column after the widest row.
    rows = [[_safe_text(row[c]) if c < len(row) else "" for c in range(width)] for row in table.rows]
    sheet_name = re.sub(r"[\[\]:*?/\\']", " ", table.sheet_name).strip()[:31] or "Sheet1"
    return write_marked_copy(rows, sheet_name=sheet_name, header_index=(report.header_row or 1) - 1, marked=marked,
                             notes=notes, notes_title=_("Errors"))


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
