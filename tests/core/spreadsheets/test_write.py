import csv
import io
import re
import tracemalloc
import unicodedata
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook

from lms.core.spreadsheets import write as spreadsheets
from lms.core.spreadsheets.write import iter_csv, neutralise, write_csv, write_xlsx

EVIL = '=HYPERLINK("http://evil")'


def read_xlsx(data: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def xlsx_bytes(sheets) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(sheets, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("text", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", EVIL, "-"])
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text):
    expected = text if text == "-" else "'" + text
    assert neutralise(text) == expected


def test_a_lone_dash_stays_as_written_because_it_cannot_be_a_formula():
    assert neutralise("-") == "-"
    assert neutralise("--1") == "'--1"


@pytest.mark.parametrize("value", [-5, -2.5, 0, Decimal("-1.5"), date(2026, 11, 28), datetime(2026, 11, 28, 7, 30),
                                   None, True])
def test_numbers_dates_and_blanks_pass_untouched(value):
    assert neutralise(value) is value


def test_ordinary_text_is_kept_and_vietnamese_becomes_nfc():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hường")
    assert neutralise(decomposed) == "Nguyễn Thị Hường"
    assert unicodedata.is_normalized("NFC", neutralise(decomposed))
    assert neutralise("0912345678") == "0912345678"
    assert neutralise("Khảm trai = nghề truyền thống") == "Khảm trai = nghề truyền thống"


def test_csv_starts_with_a_bom_keeps_vietnamese_and_neutralises_formulas():
    buffer = io.BytesIO()
    count = write_csv([("Nguyễn Thị Hường", EVIL, -3, date(2026, 11, 28), datetime(2026, 11, 28, 6, 30), None)],
                      ["Họ và tên", "Ghi chú", "Số", "Ngày", "Lúc", "Trống"], buffer)
    data = buffer.getvalue()
    assert count == 1
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["Họ và tên", "Ghi chú", "Số", "Ngày", "Lúc", "Trống"],
        ["Nguyễn Thị Hường", "'" + EVIL, "-3", "2026-11-28", "2026-11-28 06:30", ""],
    ]


def test_csv_into_a_text_file_writes_the_same_text():
    buffer = io.StringIO(newline="")
    write_csv([("Làng nghề Chuôn Ngọ",)], ["Thôn"], buffer)
    assert buffer.getvalue() == "\ufeffThôn\r\nLàng nghề Chuôn Ngọ\r\n"


def test_csv_streams_in_chunks_as_rows_arrive():
    consumed = []

    def rows():
        for n in range(1200):
            consumed.append(n)
            yield (n,)

    chunks = iter_csv(rows(), ["n"])
    first = next(chunks)
    assert first.startswith(b"\xef\xbb\xbfn\r\n0\r\n")
    assert len(consumed) < 1200  # the first chunk left before every row was read
    assert b"".join([first, *chunks]).count(b"\r\n") == 1201


def test_xlsx_writes_text_as_text_numbers_as_numbers_and_dates_as_dates():
    data = xlsx_bytes([("Điểm danh", ["Họ và tên", "Ngày", "Lúc", "Tỷ lệ", "Số"],
                        iter([("Nguyễn Thị Hường", date(2026, 11, 28), datetime(2026, 11, 28, 6, 30), 83.3, -2),
                              (EVIL, None, None, None, None)]),
                        [None, "date", "datetime", "decimal1", "integer"])])
    rows = read_xlsx(data)["Điểm danh"]
    assert rows[0] == ["Họ và tên", "Ngày", "Lúc", "Tỷ lệ", "Số"]
    assert rows[1][0] == "Nguyễn Thị Hường"
    assert rows[1][1] == date(2026, 11, 28)
    assert rows[1][2] == datetime(2026, 11, 28, 6, 30)
    assert rows[1][3:] == [83.3, -2]
    assert rows[2][0] == "'" + EVIL
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml  # no formula anywhere
    styles = zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode()
    assert 'formatCode="dd/mm/yyyy"' in styles


def test_xlsx_text_shaped_like_rich_text_xml_stays_text():
    # xlsxwriter's constant-memory mode would copy this into the sheet as raw XML: a new formula cell.
    smuggled = '<r><t>x</t></r></is></c><c r="B2"><f>HYPERLINK("http://evil","bấm")</f></c><c r="C2"><is><r></r>'
    data = xlsx_bytes([("Tên", ["Họ và tên"], iter([(smuggled,), ("<r>Lan & Huệ</r>",)]), None)])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    rows = read_xlsx(data)["Tên"]
    assert rows[1:] == [["'" + smuggled], ["'<r>Lan & Huệ</r>"]]


def test_xlsx_header_is_frozen_and_filterable_and_columns_fit_their_text():
    data = xlsx_bytes([("Danh sách", ["Họ và tên", "Mã"], iter([("Nguyễn Thị Minh Khai Hường", "C")]), None)])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert 'state="frozen"' in sheet_xml and 'ySplit="1"' in sheet_xml
    assert '<autoFilter ref="A1:B2"/>' in sheet_xml
    assert '<col min="1" max="1" width="27.' in sheet_xml  # the 25-letter name + a margin


def test_xlsx_refuses_timezone_aware_datetimes_and_leaves_no_temp_files(tmp_path, monkeypatch):
    from datetime import UTC

    monkeypatch.setattr(spreadsheets.tempfile, "tempdir", str(tmp_path))
    with pytest.raises(TypeError):
        xlsx_bytes([("A", ["Lúc"], iter([(datetime(2026, 11, 28, tzinfo=UTC),)]), None)])
    assert list(tmp_path.iterdir()) == []


def test_xlsx_continues_on_a_second_sheet_past_the_row_limit(monkeypatch):
    monkeypatch.setattr(spreadsheets, "XLSX_MAX_ROWS", 4)
    sheets = read_xlsx(xlsx_bytes([("Điểm danh", ["n"], iter([(n,) for n in range(1, 6)]), None)]))
    assert sheets == {"Điểm danh": [["n"], [1.0], [2.0], [3.0]], "Điểm danh (2)": [["n"], [4.0], [5.0]]}


def test_sheet_names_are_made_valid_and_unique():
    sheets = read_xlsx(xlsx_bytes([("Lớp A/B: [1]", ["x"], iter([]), None), ("Lớp A/B: [1]", ["x"], iter([]), None)]))
    assert list(sheets) == ["Lớp A B 1", "Lớp A B 1 (2)"]


def test_xlsx_memory_stays_flat_however_many_rows():
    def rows(n):
        return ((f"Học viên {i}", i, date(2026, 11, 28)) for i in range(n))

    def peak(n):
        tracemalloc.start()
        write_xlsx([("A", ["Tên", "Số", "Ngày"], rows(n), [None, "integer", "date"])], io.BytesIO())
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(2_000), peak(20_000)
    # The zip of a larger file is bigger in memory here (BytesIO), so allow for it; rows themselves add nothing.
    assert large < small + 2_000_000


def quote_prefixed_cells(data: bytes) -> set[str]:
    """The references of the cells whose style carries Excel's quote prefix."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
    xfs = re.findall(r"<xf [^>]*>", styles.split("<cellXfs", 1)[1].split("</cellXfs>", 1)[0])
    quoted = {str(i) for i, xf in enumerate(xfs) if 'quotePrefix="1"' in xf}
    return {ref for ref, style in re.findall(r'<c r="([A-Z]+[0-9]+)" s="([0-9]+)"', sheet_xml) if style in quoted}


def test_a_marked_copy_keeps_every_value_as_typed_and_quotes_what_would_run():
    rows = [["Tên", "Ghi chú"], ["=1+1", "-"], ["\t=A1", "tổ 1"], ["An", "@x"]]
    data = spreadsheets.write_marked_copy(rows, sheet_name="DS", header_index=0, marked={1: {0}}, notes={1: "sai"},
                                          notes_title="Lỗi")
    assert read_xlsx(data)["DS"] == [["Tên", "Ghi chú", "Lỗi"], ["=1+1", "-", "sai"], ["\t=A1", "tổ 1", ""],
                                     ["An", "@x", ""]]
    assert quote_prefixed_cells(data) == {"A2", "B2", "A3", "B4"}  # every cell starting with a FORMULA_PREFIXES sign
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
