"""Damaged and hostile uploads: the reader answers its own error, never a traceback, and nothing dies.

Every damaged file is built here from a good one, byte by byte, so each test shows what is wrong
with its file. The first group names each exception the standard library raised on such files
before the reader knew it (a fuzzer found them in 6,265 of 80,211 mutated files); the second
shows the workbook reader's child process: a file that makes calamine abort, or need too much
memory or time, ends the child and leaves the web worker, the job and the command standing.
"""

import io
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.cohorts import importing
from lms.cohorts.importing import ImportFileError
from lms.cohorts.services import create_cohort
from lms.core.extensions import db
from tests.cohorts import fixtures
from tests.factories import CHUYEN_MY, make_course

UNREADABLE = "The file could not be read as a spreadsheet."
ROWS = [["Họ và tên", "Số điện thoại", "Ngày sinh"], ["Nguyễn Thị Hường", "0912345678", "15/03/1985"],
        ["Trần Văn Đức", 983111222.0, "01/01/1990"]]
TEXT = "Họ và tên,Số điện thoại\r\nNguyễn Thị Hường,0912345678\r\n"


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def unexpected(monkeypatch):
    """The exceptions read_table's last-resort handler caught: every damage must be handled by name."""
    caught = []
    monkeypatch.setattr(importing.logger, "exception", lambda *args, **kwargs: caught.append(sys.exc_info()[1]))
    return caught


@pytest.fixture
def warnings(monkeypatch):
    said = []
    monkeypatch.setattr(importing.logger, "warning", lambda message, *args: said.append(message % args))
    return said


def refusal(data: bytes) -> str:
    with pytest.raises(ImportFileError) as refused:
        importing.read_table(data)
    return str(refused.value)


# --- Building damaged zips ------------------------------------------------------------------


def central_entries(data: bytes):
    """Yield the offset of each entry of a zip's central directory."""
    end = data.rfind(b"PK\x05\x06")
    count, = struct.unpack_from("<H", data, end + 10)
    offset, = struct.unpack_from("<I", data, end + 16)
    for _ in range(count):
        yield offset
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, offset + 28)
        offset += 46 + name_length + extra_length + comment_length


def patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def member(data: bytes, name: str) -> tuple[int, int]:
    """Return where a zip member's compressed bytes start, and how many there are."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_length + extra_length, info.compress_size


def zip_of(*members: tuple[str, bytes | str, int]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content, method in members:
            archive.writestr(zipfile.ZipInfo(name) if method == zipfile.ZIP_STORED else name, content, method)
    return buffer.getvalue()


def ods() -> bytes:
    return fixtures.ods(ROWS, trailing_empty=False)


def zip_version_18() -> bytes:
    data = ods()
    for entry in central_entries(data):
        data = patched(data, entry + 6, "<H", 180)  # "version needed to extract": 18.0
    return data


def mimetype_compressed_by_an_unknown_method() -> bytes:
    data = ods()
    return patched(data, next(central_entries(data)) + 10, "<H", 99)


def mimetype_with_a_wrong_crc() -> bytes:
    return ods().replace(b"spreadsheet", b"spreadsheex", 1)


def mimetype_longer_than_the_file() -> bytes:
    data = zip_of(("mimetype", importing.ODS_MIMETYPE, zipfile.ZIP_STORED))
    entry = next(central_entries(data))
    return patched(patched(data, entry + 20, "<I", 190), entry + 24, "<I", 190)  # compressed, real size


def central_directory_said_to_start_too_far() -> bytes:
    data = ods()
    end = data.rfind(b"PK\x05\x06")
    return patched(data, end + 16, "<I", struct.unpack_from("<I", data, end + 16)[0] + 100)


def name_that_is_not_utf8() -> bytes:
    data = ods()
    entry = next(central_entries(data))
    return patched(patched(data, entry + 8, "<H", 0x800), entry + 46, "<B", 0xFF)


def sheet_with_an_invalid_deflate_block() -> bytes:
    data = fixtures.xlsx(ROWS)
    start, _ = member(data, "xl/worksheets/sheet1.xml")
    return patched(data, start, "<B", 0xFF)  # block type 3: reserved, "invalid block type"


def sheet_compressed_and_corrupt(method: int) -> bytes:
    data = zip_of(("[Content_Types].xml", "<Types/>", zipfile.ZIP_STORED),
                  ("xl/workbook.xml", "<workbook/>", zipfile.ZIP_STORED),
                  ("xl/worksheets/sheet1.xml", "<worksheet>" + "<row/>" * 200 + "</worksheet>", method))
    start, size = member(data, "xl/worksheets/sheet1.xml")
    kept = 9 if method == zipfile.ZIP_LZMA else 0  # zipfile's LZMA header and properties: the stream is corrupt
    out = bytearray(data)
    out[start + kept: start + size] = b"\xff" * (size - kept)
    return bytes(out)


def ods_in_an_unknown_encoding() -> bytes:
    with zipfile.ZipFile(io.BytesIO(ods())) as archive:
        parts = [(info.filename, archive.read(info), info.compress_type) for info in archive.infolist()]
    return zip_of(*[(name, content.replace(b'encoding="UTF-8"', b'encoding="x-no-such-encoding"'), method)
                    for name, content, method in parts])


@pytest.mark.parametrize("data, raised_before", [
    (b"\xff\xfe" + TEXT.encode("utf-16-le") + b"A", "UnicodeDecodeError: truncated data"),
    (b"\xfe\xff" + TEXT.encode("utf-16-be") + b"\x00", "UnicodeDecodeError: truncated data"),
    (b"\xff\xfe" + TEXT[:26].encode("utf-16-le") + b"\x00\xd8" + TEXT[26:].encode("utf-16-le"),
     "UnicodeDecodeError: illegal UTF-16 surrogate"),
    (zip_version_18(), "NotImplementedError: zip file version 18.0"),
    (mimetype_compressed_by_an_unknown_method(), "NotImplementedError: That compression method is not supported"),
    (mimetype_with_a_wrong_crc(), "BadZipFile: Bad CRC-32 for file 'mimetype'"),
    (mimetype_longer_than_the_file(), "EOFError"),
    (central_directory_said_to_start_too_far(), "ValueError: negative seek value -100"),
    (name_that_is_not_utf8(), "UnicodeDecodeError (a ValueError)"),
    (sheet_with_an_invalid_deflate_block(), "zlib.error: invalid block type"),
    (sheet_compressed_and_corrupt(zipfile.ZIP_LZMA), "lzma.LZMAError: Corrupt input data"),
    (sheet_compressed_and_corrupt(zipfile.ZIP_BZIP2), "OSError: Invalid data stream"),
    (ods_in_an_unknown_encoding(), "LookupError: unknown encoding: x-no-such-encoding"),
    (fixtures.xls(ROWS)[:700], "struct.error: the FAT sector is cut short"),
], ids=["utf16le-odd-length", "utf16be-odd-length", "utf16-lone-surrogate", "zip-version", "zip-method",
        "zip-crc", "zip-eof", "zip-negative-seek", "zip-name", "zlib", "lzma", "bzip2", "ods-encoding", "xls-cut"])
def test_each_kind_of_damage_is_the_readers_own_error(data, raised_before, unexpected):
    assert refusal(data).startswith(UNREADABLE), raised_before
    assert unexpected == []  # handled where it happens, not by the last resort


def test_an_error_nobody_foresaw_is_still_the_readers_error_and_is_logged(monkeypatch, unexpected):
    def broken(data):
        raise KeyError("a kind of damage nobody has seen yet")

    monkeypatch.setattr(importing, "check_sheet_extents", lambda fmt, parts: broken(parts))
    assert refusal(fixtures.xlsx(ROWS)).startswith(UNREADABLE)
    assert [type(e) for e in unexpected] == [KeyError]


def test_a_workbook_whose_difat_loops_is_refused_before_calamine_follows_it(app, unexpected):
    data = bytearray(fixtures.xls(ROWS))
    last = len(data) // 512 - 2  # the last sector: its last link points to itself
    struct.pack_into("<I", data, (last + 2) * 512 - 4, last)
    struct.pack_into("<II", data, 0x44, last, 1)  # first DIFAT sector, DIFAT sector count
    assert refusal(bytes(data)).startswith(UNREADABLE)
    assert unexpected == []
    # calamine would extend its DIFAT forever: in the child that ends at the memory limit.
    app.config["SPREADSHEET_MEMORY_MB"] = 256
    with pytest.raises(ImportFileError, match="could not be read"):
        importing._read_workbook(bytes(data), "xls")


# --- Fuzzing the reader's entry point -------------------------------------------------------

def _stored(data: bytes) -> bytes:
    """The same zip with every member stored: mutations then land in the XML, not in deflate data."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    return zip_of(*[(name, content, zipfile.ZIP_STORED) for name, content in parts])


GOOD_FILES = [
    fixtures.xlsx(ROWS), _stored(fixtures.xlsx(ROWS)), fixtures.xlsx(ROWS, extra_sheets={"Ghi chú": [["x"]]}),
    ods(), _stored(ods()), fixtures.xls(ROWS), fixtures.csv_bytes(ROWS), fixtures.csv_bytes(ROWS, delimiter=";"),
    fixtures.csv_bytes(ROWS, encoding="cp1258"), b"\xff\xfe" + TEXT.encode("utf-16-le"),
    b"\xfe\xff" + TEXT.encode("utf-16-be"),
]
MAGIC = [b"", b"PK\x03\x04", b"PK\x05\x06", importing.OLE2_MAGIC, b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"]


ZIP_FILES = [data for data in GOOD_FILES if data.startswith(b"PK")]


def _mutate(draw, data: bytearray) -> bytes:
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["byte", "word", "insert", "delete", "cut"]))
        if kind == "byte":
            data[at] = draw(st.integers(0, 255))
        elif kind == "word":
            value = draw(st.sampled_from([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF]))
            data[at:at + 4] = value.to_bytes(4, "little")
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        else:
            del data[at:]
    return bytes(data)


@st.composite
def damaged_files(draw) -> bytes:
    way = draw(st.sampled_from(["random", "file", "file", "member", "member"]))
    if way == "random":  # random bytes, after a signature that gets them past the first look
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=4096))
    if way == "file":
        return _mutate(draw, bytearray(draw(st.sampled_from(GOOD_FILES))))
    # One member of a zip damaged, the zip rebuilt around it with a right CRC: the damage reaches the reader.
    with zipfile.ZipFile(io.BytesIO(draw(st.sampled_from(ZIP_FILES)))) as archive:
        parts = [(info.filename, archive.read(info), info.compress_type) for info in archive.infolist()]
    index = draw(st.integers(0, len(parts) - 1))
    name, content, method = parts[index]
    parts[index] = (name, _mutate(draw, bytearray(content)), method)
    return zip_of(*parts)


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=damaged_files())
def test_mutated_and_random_files_only_ever_raise_the_readers_error(data, unexpected):
    try:
        table = importing.read_table(data)
    except ImportFileError as refused:
        assert str(refused)
    else:
        assert isinstance(table.rows, list)
    assert unexpected == []


# --- The workbook reader's child process ----------------------------------------------------


@pytest.fixture(scope="module")
def crasher() -> bytes:
    data = fixtures.xls_wrapping_dimensions()
    if not fixtures.calamine_aborts_on(data):
        pytest.skip("this python-calamine no longer aborts on the wrapping DIMENSIONS record")
    return data


@pytest.fixture
def checks_miss_it(monkeypatch):
    """Pretend the .xls checks do not know this damage, so the file reaches calamine, as the next one might."""
    monkeypatch.setattr(importing, "check_xls_extents", lambda data: None)


@pytest.fixture
def reader_never_opens(monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("the spreadsheet reader was reached")

    monkeypatch.setattr(importing, "_read_workbook", refuse)


def test_the_file_that_aborted_the_process_is_refused_by_the_checks(crasher, reader_never_opens, unexpected):
    assert len(crasher) == 5632
    assert refusal(crasher).startswith(UNREADABLE)
    assert unexpected == []


def test_a_file_that_aborts_calamine_ends_the_child_and_the_caller_gets_the_error(crasher, checks_miss_it,
                                                                                    warnings):
    assert refusal(crasher).startswith(UNREADABLE)
    assert any("ended with signal 6" in w and "memory allocation of … bytes failed" in w for w in warnings), warnings
    assert importing.read_table(fixtures.xls(ROWS)).rows[1][0] == "Nguyễn Thị Hường"  # still here, still reading


@pytest.fixture
def cohort(app):
    cohort = create_cohort(code="PX-KT-01", course=make_course(), name="Khảm trai Chuyên Mỹ", commune_code=CHUYEN_MY)
    db.session.commit()
    return cohort


def test_the_command_line_import_survives_a_file_that_aborts_calamine(runner, cohort, crasher, checks_miss_it,
                                                                       tmp_path):
    path = tmp_path / "lop.xls"
    path.write_bytes(crasher)
    for extra in (["--dry-run"], []):
        result = runner.invoke(args=["trainees", "import", str(path), "--cohort", cohort.code, *extra])
        assert result.exit_code == 1, result.output
        assert UNREADABLE in result.output


def _child_script(tmp_path, monkeypatch, code: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(code)
    monkeypatch.setattr(importing, "_WORKBOOK_CHILD", str(script))


def test_a_child_that_dies_is_the_readers_error(tmp_path, monkeypatch, warnings):
    _child_script(tmp_path, monkeypatch, "import os\nos.abort()\n")
    assert refusal(fixtures.xlsx(ROWS)).startswith(UNREADABLE)
    assert any("ended with signal 6" in w for w in warnings)


def test_a_python_without_calamine_is_logged_as_an_error(tmp_path, monkeypatch):
    errors = []
    monkeypatch.setattr(importing.logger, "error", lambda message, *args: errors.append(message % args))
    child = (tmp_path / "workbook_child.py")
    child.write_text(Path(importing._WORKBOOK_CHILD).read_text().replace("import python_calamine\n",
                                                                          "import python_calamine_missing\n"))
    monkeypatch.setattr(importing, "_WORKBOOK_CHILD", str(child))
    assert refusal(fixtures.xlsx(ROWS)).startswith(UNREADABLE)
    assert len(errors) == 1 and "python-calamine cannot be imported" in errors[0]


def test_a_child_answer_is_never_more_than_cell_values(tmp_path, monkeypatch, warnings):
    marker = tmp_path / "ran"
    _child_script(tmp_path, monkeypatch, f"""
import os, pickle, sys

class Payload:
    def __reduce__(self):
        return (os.system, ({f"touch {marker}"!r},))

pickle.dump(("sheet", "DS", [[Payload()]]), sys.stdout.buffer)
""")
    assert refusal(fixtures.xlsx(ROWS)).startswith(UNREADABLE)
    assert not marker.exists()
    assert any("answered something unexpected" in w for w in warnings)


def test_a_child_that_takes_too_long_is_stopped(app, tmp_path, monkeypatch, warnings):
    _child_script(tmp_path, monkeypatch, "import time\ntime.sleep(60)\n")
    monkeypatch.setitem(app.config, "SPREADSHEET_SECONDS", 0.5)
    started = time.monotonic()
    assert refusal(fixtures.xlsx(ROWS)).startswith(UNREADABLE)
    assert time.monotonic() - started < 10
    assert any("stopped after" in w for w in warnings)


def test_a_workbook_that_needs_more_memory_than_allowed_is_refused(app):
    # 1,200 cells of one 30,600-letter text: a 6 KB file, about 150 MB once every cell holds its copy.
    buffer = io.BytesIO()
    import xlsxwriter

    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Họ và tên", "Số điện thoại"])
    long_text = "Nguyễn Thị Hường " * 1_700
    for row in range(1, 601):
        sheet.write_row(row, 0, [long_text, long_text])
    workbook.close()
    data = buffer.getvalue()
    assert len(importing.read_table(data).rows) == 601  # within the default limit
    app.config["SPREADSHEET_MEMORY_MB"] = 64
    assert len(importing.read_table(fixtures.xlsx(ROWS)).rows) == 3  # a small file fits in 64 MB
    assert refusal(data).startswith(UNREADABLE)


def test_the_child_ends_itself_when_its_time_is_up_even_if_nobody_kills_it():
    # Its parent may die first (a web worker killed by gunicorn's timeout): an alarm ends the child anyway.
    child = subprocess.Popen([sys.executable, "-P", importing._WORKBOOK_CHILD, "1024", "1", "51000", "3000000", "10",
                              "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert child.wait(timeout=20) == -signal.SIGALRM  # still waiting for its input when the alarm rang
    finally:
        child.kill()
        child.stdin.close()
        child.wait()
