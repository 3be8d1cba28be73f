"""Importing trainees from organizers' own spreadsheets: reading, mapping, checking, writing all or nothing."""

import io
import unicodedata
from datetime import date, datetime

import pytest
import python_calamine
import sqlalchemy as sa
from flask_babel import force_locale

from lms.accounts import services as accounts
from lms.accounts.models import Role, User, UserRole
from lms.cohorts import importing
from lms.cohorts.importing import ImportBlocked, ImportFileError, Outcome
from lms.cohorts.models import CohortMember, MemberStatus
from lms.cohorts.services import add_member, create_cohort, withdraw_member
from lms.core.extensions import db
from lms.core.spreadsheets import read
from lms.core.text import name_order
from lms.learning.models import Enrollment, EnrollmentStatus
from lms.learning.services import enrol, get_enrollment, leave_course
from tests.cohorts import fixtures
from tests.factories import CHUYEN_MY, make_course, make_trainee, make_user

HEADERS = ["Họ và tên", "Số điện thoại", "Ngày sinh", "Xã/Phường", "Thôn/Xóm", "Nghề / Tên cơ sở", "Email"]
TODAY = date(2026, 6, 1)


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def course(app):
    return make_course()


@pytest.fixture
def cohort(course):
    cohort = create_cohort(code="PX-KT-01", course=course, name="Khảm trai Chuyên Mỹ", commune_code=CHUYEN_MY)
    db.session.commit()
    return cohort


def database_counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, UserRole, CohortMember, Enrollment)}


def dry_run(cohort, data):
    return importing.dry_run(cohort, data, today=TODAY)


def commit(cohort, data):
    report = importing.commit_import(cohort, data, today=TODAY)
    db.session.commit()
    return report


def user_with_phone(phone: str) -> User | None:
    return accounts.find_user_by_phone(phone)


def errors_of(report) -> list[str]:
    return report.all_error_texts()


# --- Headers ---------------------------------------------------------------------------------


def test_vietnamese_headers_without_diacritics_are_recognised(cohort):
    data = fixtures.xlsx([
        ["Ho va ten", "So dien thoai", "Ngay sinh", "Xa/Phuong", "Thon/Xom", "Nghe", "Email"],
        ["Nguyễn Thị Hường", "0912345678", "15/03/1985", "Chuyên Mỹ", "Phú Hữu", "Khảm trai", "HUONG@example.com"],
    ])
    report = dry_run(cohort, data)
    assert [c["field"] for c in report.columns] == [
        "full_name", "phone", "date_of_birth", "commune", "village", "business_name", "email"]
    assert report.ready, errors_of(report)
    row = report.rows[0]
    assert row.outcome == Outcome.NEW
    assert row.values == {"full_name": "Nguyễn Thị Hường", "phone": "0912345678", "date_of_birth": date(1985, 3, 15),
                          "commune_code": CHUYEN_MY, "village": "Phú Hữu", "business_name": "Khảm trai",
                          "email": "huong@example.com"}


def test_english_headers_in_any_order_with_extra_columns(cohort):
    data = fixtures.xlsx([
        ["Notes", "Mobile", "Gender", "E-mail", "Full name", "Ward", "Date of birth", "Business"],
        ["VIP", "0983 111 222", "Nữ", "", "Trần Thị Lan", "Xã Chuyên Mỹ", "02/01/1990", "Sơn mài Lan"],
    ])
    report = dry_run(cohort, data)
    mapping = {c["letter"]: c["field"] for c in report.columns}
    assert mapping == {"A": None, "B": "phone", "C": "gender", "D": "email", "E": "full_name", "F": "commune",
                       "G": "date_of_birth", "H": "business_name"}
    assert report.ready, errors_of(report)
    assert report.rows[0].values["phone"] == "0983111222"
    assert report.rows[0].values["date_of_birth"] == date(1990, 1, 2)
    assert report.rows[0].values["email"] is None


def test_title_rows_above_the_header_and_row_numbers_as_the_sheet_shows_them(cohort):
    data = fixtures.xlsx([
        ["DANH SÁCH HỌC VIÊN LỚP KHẢM TRAI CHUYÊN MỸ"],
        ["Khoá 1 - năm 2026"],
        [],
        ["STT", "Họ tên", "SĐT", "Ghi chú"],
        [1, "Nguyễn Văn An", "0912345678"],
        [2, "Lê Văn Bình", "12345"],
    ])
    report = dry_run(cohort, data)
    assert report.header_row == 4
    assert [r.number for r in report.rows] == [5, 6]
    assert errors_of(report) == ["Row 6, column C (SĐT): “12345” is not a Vietnamese phone number."]


def test_split_family_and_given_name_columns_are_joined(cohort):
    data = fixtures.xlsx([["STT", "Họ đệm", "Tên", "Điện thoại"], [1, "Nguyễn Thị", "Hường", "0912345678"]])
    report = dry_run(cohort, data)
    assert report.rows[0].values["full_name"] == "Nguyễn Thị Hường"


def test_a_two_row_header_with_merged_cells(cohort):
    # "Địa chỉ" merged over "Xã" and "Thôn"; "Họ và tên" over "Họ đệm" and "Tên", as official forms do.
    data = fixtures.xlsx([
        ["DANH SÁCH HỌC VIÊN"],
        ["STT", "Họ và tên", None, "Số điện thoại", "Địa chỉ", None],
        [None, "Họ đệm", "Tên", None, "Xã", "Thôn"],
        [1, "Nguyễn Thị", "Hường", "0912345678", "Chuyên Mỹ", "Phú Hữu"],
    ])
    report = dry_run(cohort, data)
    assert report.ready, errors_of(report)
    assert [r.number for r in report.rows] == [4]
    assert report.rows[0].values == {"full_name": "Nguyễn Thị Hường", "phone": "0912345678",
                                     "commune_code": CHUYEN_MY, "village": "Phú Hữu"}


def test_a_first_data_row_is_not_taken_for_a_second_header_row(cohort):
    data = fixtures.xlsx([["Họ và tên", "SĐT", "Thôn"], ["Nguyễn Văn Xã", "0912345678", "Thôn"]])
    report = dry_run(cohort, data)
    assert [r.number for r in report.rows] == [2]


def test_a_missing_required_column_is_one_error_naming_what_was_found(cohort):
    data = fixtures.xlsx([["STT", "Họ và tên", "Địa chỉ"], [1, "Nguyễn Văn An", "Thôn Phú Hữu"]])
    report = dry_run(cohort, data)
    assert not report.ready and report.rows == []
    assert report.file_errors == ["The sheet has no column for phone number (“Số điện thoại”). Columns found on row 1: "
                                  "A “STT”, B “Họ và tên”, C “Địa chỉ”."]


def test_a_sheet_without_any_known_header_is_refused_clearly(cohort):
    report = dry_run(cohort, fixtures.xlsx([["a", "b"], ["1", "2"]]))
    assert report.file_errors and "No header row was found" in report.file_errors[0]


def test_the_sheet_with_the_trainees_is_chosen_among_several(cohort):
    data = fixtures.xlsx([["Hướng dẫn"], ["Điền danh sách ở trang sau"]],
                         extra_sheets={"Học viên": [["Họ và tên", "SĐT"], ["Nguyễn Văn An", "0912345678"]]})
    report = dry_run(cohort, data)
    assert report.sheet_name == "Học viên" and report.ready


# --- Formats ---------------------------------------------------------------------------------

ROWS = [["Họ và tên", "Số điện thoại", "Ngày sinh", "Xã/Phường"],
        ["Nguyễn Văn An", "0912345678", "15/03/1985", "Chuyên Mỹ"],
        ["Trần Thị Lan", "0983111222", "", "xa chuyen my"]]


@pytest.mark.parametrize("data, fmt", [
    (fixtures.csv_bytes(ROWS, bom=True), "csv"),
    (fixtures.csv_bytes(ROWS, delimiter=";"), "csv"),
    (fixtures.csv_bytes(ROWS, delimiter=";", bom=True), "csv"),
    (fixtures.csv_bytes(ROWS, delimiter="\t"), "csv"),
    (fixtures.xlsx(ROWS), "xlsx"),
    (fixtures.ods(ROWS), "ods"),
    (fixtures.xls(ROWS), "xls"),
], ids=["csv-bom-comma", "csv-semicolon", "csv-bom-semicolon", "csv-tab", "xlsx", "ods", "xls"])
def test_every_accepted_format_reads_the_same_rows(cohort, data, fmt):
    report = dry_run(cohort, data)
    assert report.format == fmt
    assert report.ready, errors_of(report)
    assert [(r.values["full_name"], r.values["phone"], r.values.get("date_of_birth"), r.values["commune_code"])
            for r in report.rows] == [("Nguyễn Văn An", "0912345678", date(1985, 3, 15), CHUYEN_MY),
                                      ("Trần Thị Lan", "0983111222", None, CHUYEN_MY)]


@pytest.mark.parametrize("build", [fixtures.xls, fixtures.ods, fixtures.xlsx], ids=["xls", "ods", "xlsx"])
def test_real_date_and_number_cells_in_every_workbook_format(cohort, build):
    data = build([["DANH SÁCH"], ["Họ và tên", "SĐT", "Ngày sinh"], ["Nguyễn Văn An", 912345678, date(1985, 3, 15)]])
    report = dry_run(cohort, data)
    assert report.header_row == 2 and report.ready, errors_of(report)
    assert (report.rows[0].number, report.rows[0].values["phone"], report.rows[0].values["date_of_birth"]) == (
        3, "0912345678", date(1985, 3, 15))


def test_csv_saved_by_excel_on_vietnamese_windows(cohort):
    rows = [["Ho va ten", "SDT"], ["Nguyễn Văn An", "0912345678"]]
    data = fixtures.csv_bytes(rows, encoding="cp1258")
    report = dry_run(cohort, data)
    assert report.rows[0].values["full_name"] == "Nguyễn Văn An"


def test_real_date_cells_and_text_dates_in_every_usual_form(cohort):
    data = fixtures.xlsx([
        ["Họ và tên", "SĐT", "Ngày sinh"],
        ["A Một", "0912000001", date(1985, 3, 15)],
        ["B Hai", "0912000002", datetime(1985, 3, 15, 0, 0)],
        ["C Ba", "0912000003", "15/03/1985"],
        ["D Bốn", "0912000004", "5/3/1985"],
        ["E Năm", "0912000005", "15-03-1985"],
        ["G Sáu", "0912000006", "1985-03-15"],
        ["H Bảy", "0912000007", "15.03.1985"],
    ])
    report = dry_run(cohort, data)
    assert report.ready, errors_of(report)
    assert [r.values["date_of_birth"] for r in report.rows] == [date(1985, 3, 15)] * 3 + [date(1985, 3, 5)] + [
        date(1985, 3, 15)] * 3


@pytest.mark.parametrize("value, message", [
    ("31/02/1990", "“31/02/1990” is not a real date (day 31, month 2, year 1990)."),
    ("13/13/1990", "“13/13/1990” is not a real date (day 13, month 13, year 1990)."),
    ("02/07/2026", "02/07/2026 is in the future."),
    ("01/01/2020", "01/01/2020 would make the trainee 6 years old; trainees are 10 to 110."),
    ("01/01/1900", "01/01/1900 would make the trainee 126 years old; trainees are 10 to 110."),
    ("15/03/85", "“15/03/85” has a two-digit year. Write the year in full, for example 15/03/1985."),
    ("1985", "Only a year (1985) is written. Write the full date, for example 15/03/1985, or leave the cell empty."),
    ("mười lăm tháng ba", "“mười lăm tháng ba” is not a date. Write it as day/month/year, for example 15/03/1985."),
])
def test_wrong_dates_are_reported_precisely(cohort, value, message):
    report = dry_run(cohort, fixtures.xlsx([["Họ và tên", "SĐT", "Ngày sinh"], ["Lê Văn Cường", "0912345678", value]]))
    assert errors_of(report) == [f"Row 2, column C (Ngày sinh): {message}"]


def test_phones_stored_as_numbers_or_in_any_written_form_are_recovered(cohort):
    data = fixtures.xlsx([
        ["Họ và tên", "SĐT"],
        ["A Một", 912345678.0],  # a number cell: Excel dropped the leading 0
        ["B Hai", 84983111222],
        ["C Ba", "+84 (98) 311-1333"],
        ["D Bốn", "0912.000.004"],
        ["E Năm", "849123456"],  # 084 9123456 typed into a number column
    ])
    report = dry_run(cohort, data)
    assert report.ready, errors_of(report)
    assert [r.values["phone"] for r in report.rows] == [
        "0912345678", "0983111222", "0983111333", "0912000004", "0849123456"]


def test_foreign_numbers_are_refused_by_name_not_read_as_vietnamese(cohort):
    data = fixtures.xlsx([["Họ và tên", "SĐT"], ["A Một", "0033612345678"], ["B Hai", "+49 6123 45678"],
                          ["C Ba", "0084 983 111 222"]])
    report = dry_run(cohort, data)
    assert errors_of(report) == [
        "Row 2, column B (SĐT): “0033612345678” is a foreign number (country code +33): only Vietnamese phone "
        "numbers can be imported.",
        "Row 3, column B (SĐT): “+49 6123 45678” is a foreign number (country code +49): only Vietnamese phone "
        "numbers can be imported.",
    ]
    assert report.rows[2].values["phone"] == "0983111222"
    assert user_with_phone("0612345678") is None


def test_names_lose_bidi_controls_and_zero_width_characters(cohort):
    data = fixtures.xlsx([["Họ và tên", "SĐT", "Thôn"],
                          ["\u202eNguyễn Thị\u200f Hường\u202c", "0912345678", "\u2067Chuôn\u200b Ngọ\u2069"]])
    report = dry_run(cohort, data)
    assert report.ready, errors_of(report)
    assert report.rows[0].values["full_name"] == "Nguyễn Thị Hường"
    assert report.rows[0].values["village"] == "Chuôn Ngọ"


def test_phones_that_excel_wrote_in_scientific_notation_in_a_csv(cohort):
    data = fixtures.csv_bytes([["Họ và tên", "SĐT"], ["A Một", "9.12345678E+08"]])
    assert dry_run(cohort, data).rows[0].values["phone"] == "0912345678"


def test_two_numbers_in_one_cell_are_named_as_such(cohort):
    report = dry_run(cohort, fixtures.xlsx([["Họ và tên", "SĐT"], ["A Một", "0912345678 - 0983111222"]]))
    assert "looks like two phone numbers" in errors_of(report)[0]


def test_decomposed_names_are_stored_composed(cohort):
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hường")
    assert decomposed != "Nguyễn Thị Hường"
    data = fixtures.xlsx([["Họ và tên", "SĐT", "Thôn"], [f"  {decomposed} ", "0912345678",
                                                          unicodedata.normalize("NFD", "Thôn Phú Hữu")]])
    commit(cohort, data)
    user = user_with_phone("0912345678")
    assert user.full_name == "Nguyễn Thị Hường" and unicodedata.is_normalized("NFC", user.full_name)
    assert user.village == "Thôn Phú Hữu"


@pytest.mark.parametrize("written", ["Chuyên Mỹ", "xa chuyen my", "Xã Chuyên Mỹ", "X. Chuyên Mỹ", "CHUYÊN MỸ",
                                     unicodedata.normalize("NFD", "Xã Chuyên Mỹ"), "Xã Chuyên Mỹ, Hà Nội"])
def test_a_commune_is_found_however_it_is_written(cohort, written):
    report = dry_run(cohort, fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["A Một", "0912345678", written]]))
    assert report.rows[0].values["commune_code"] == 10330, errors_of(report)


@pytest.mark.parametrize("written, code", [("phượng dực", 10279), ("Xã Phượng Dực", 10279), ("Phu Xuyen", 10273),
                                           ("Đại Xuyên", 10333)])
def test_communes_whose_names_start_like_a_prefix(cohort, written, code):
    # "Phượng" folds to "phuong", like "Phường": it must not be taken for the prefix.
    report = dry_run(cohort, fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["A Một", "0912345678", written]]))
    assert report.rows[0].values["commune_code"] == code, errors_of(report)


def test_an_unknown_commune_is_named_in_the_error(cohort):
    report = dry_run(cohort, fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["A Một", "0912345678", "Vân Từ"]]))
    assert errors_of(report) == [
        "Row 2, column C (Xã): “Vân Từ” is not a commune or ward in the official list (since 1 July 2025)."]


def test_formula_looking_text_is_refused_in_names_and_villages(cohort):
    data = fixtures.xlsx([["Họ và tên", "SĐT", "Thôn"],
                          ["=HYPERLINK(\"http://x.example\",\"Bấm\")", "0912000001", "Phú Hữu"],
                          ["Lê Văn Bình", "0912000002", "@SUM(1+1)"],
                          ["Lê Văn Cường", "+0912000003", "-"]])
    report = dry_run(cohort, data)
    assert [str(e) for r in report.rows for e in r.errors] == [
        "Row 2, column A (Họ và tên): “=HYPERLINK(\"http://x.example\",\"Bấm\")” looks like a spreadsheet formula "
        "(it starts with “=”). Remove the sign.",
        "Row 3, column C (Thôn): “@SUM(1+1)” looks like a spreadsheet formula (it starts with “@”). Remove the sign.",
        "Row 4, column B (SĐT): “+0912000003” is not a Vietnamese phone number.",
    ]


def test_a_real_formula_cell_gives_its_value_and_a_number_is_not_a_name(cohort):
    data = fixtures.xlsx_with_formula([["Họ và tên", "SĐT"], [None, "0912345678"]], (1, 0), "=1+1", 2)
    assert errors_of(dry_run(cohort, data)) == ["Row 2, column A (Họ và tên): “2” is not a name."]


def test_empty_rows_and_rows_with_only_a_number_are_skipped_silently(cohort):
    data = fixtures.xlsx([["STT", "Họ và tên", "SĐT"], [1, "A Một", "0912000001"], [], [2], [3, None, None],
                          [4, "B Hai", "0912000002"]])
    report = dry_run(cohort, data)
    assert report.ready and [r.number for r in report.rows] == [2, 6]
    assert report.skipped_empty_rows == 3


def test_duplicate_phones_inside_the_file_name_the_first_row(cohort):
    data = fixtures.xlsx([["Họ và tên", "SĐT"], ["A Một", "0912345678"], ["B Hai", "0983111222"],
                          ["C Ba", "+84 912 345 678"], ["D Bốn", "912345678"]])
    assert errors_of(dry_run(cohort, data)) == [
        "Row 4, column B (SĐT): The phone number 0912345678 is already on row 2. Each trainee needs their own number.",
        "Row 5, column B (SĐT): The phone number 0912345678 is already on row 2. Each trainee needs their own number.",
    ]


def test_the_template_is_recognised_and_its_example_row_is_valid(cohort):
    data = importing.template_workbook(province_code=1)
    report = dry_run(cohort, data)
    assert [c["header"] for c in report.columns] == HEADERS
    assert all(c["field"] for c in report.columns)
    assert report.ready, errors_of(report)


# --- The file from the issue: a thousand bad rows and one good one --------------------------------


def thousand_bad_rows() -> tuple[bytes, dict[int, str]]:
    """Return the file and, for each bad row number, the column letter its error must name."""
    rows = [["STT", "Họ và tên", "Số điện thoại", "Ngày sinh", "Xã/Phường", "Email"],
            [1, "Nguyễn Thị Hường", "0912000000", "15/03/1985", "Chuyên Mỹ", ""]]
    expected = {}
    for i in range(1, 1001):
        phone = f"0913{i:06d}"
        row = [i + 1, f"Học Viên {i}", phone, "01/01/1990", "Chuyên Mỹ", ""]
        kind = i % 6
        if kind == 0:
            row[2], expected[i + 2] = f"12{i}", "C"  # not a phone
        elif kind == 1:
            row[3], expected[i + 2] = "31/02/1990", "D"
        elif kind == 2:
            row[4], expected[i + 2] = f"Xã Không Có {i}", "E"
        elif kind == 3:
            row[2], expected[i + 2] = "0912 000 000", "C"  # the good row's phone
        elif kind == 4:
            row[1], expected[i + 2] = f"=HYPERLINK(\"http://x.example/{i}\")", "B"
        else:
            row[1] = unicodedata.normalize("NFD", f"Nguyễn Văn Đức {i}")
            row[5], expected[i + 2] = "duc-at-example", "F"
        rows.append(row)
    return fixtures.xlsx(rows), expected


def test_the_thousand_bad_rows_are_all_reported_and_nothing_is_written(cohort):
    make_trainee(phone="0988000001")
    before = database_counts()
    data, expected = thousand_bad_rows()
    report = dry_run(cohort, data)
    assert not report.ready
    assert report.counts["error"] == 1000 and report.counts["new"] == 1
    by_row = {row.number: row.errors for row in report.rows if row.errors}
    assert set(by_row) == set(expected)
    for number, letter in expected.items():
        assert [e.column for e in by_row[number]] == [letter], by_row[number]
        assert str(by_row[number][0]).startswith(f"Row {number}, column {letter} (")
    assert "is already on row 2" in by_row[5][0].message
    # Decomposed names are reported composed.
    assert report.rows[5].number == 7 and report.rows[5].full_name == "Nguyễn Văn Đức 5"

    with pytest.raises(ImportBlocked) as blocked:
        importing.commit_import(cohort, data, today=TODAY)
    db.session.rollback()
    assert blocked.value.report.error_count == 1000
    assert database_counts() == before


# --- Writing ----------------------------------------------------------------------------------


def good_file() -> bytes:
    return fixtures.xlsx([HEADERS,
                          ["Nguyễn Thị Hường", "0912345678", date(1985, 3, 15), "Chuyên Mỹ", "Phú Hữu", "Khảm trai",
                           "huong@example.com"],
                          ["Trần Văn Đức", "0983 111 222", "", "", "", "", ""]])


def test_a_good_file_creates_trainees_without_passwords_and_puts_them_in_the_class(cohort):
    report = commit(cohort, good_file())
    assert report.counts["new"] == 2 and report.joining == 2
    user = user_with_phone("0912345678")
    assert user.roles == {Role.TRAINEE}
    assert user.password_hash is None
    assert (user.date_of_birth, user.commune_code, user.village, user.business_name, user.email) == (
        date(1985, 3, 15), CHUYEN_MY, "Phú Hữu", "Khảm trai", "huong@example.com")
    members = db.session.scalars(sa.select(CohortMember).where(CohortMember.cohort_id == cohort.id)).all()
    assert {m.user.phone for m in members} == {"0912345678", "0983111222"}
    assert all(m.status == MemberStatus.ACTIVE for m in members)
    assert get_enrollment(user, cohort.course) is not None


def test_running_the_same_file_again_changes_nothing(cohort):
    commit(cohort, good_file())
    before = database_counts()
    report = dry_run(cohort, good_file())
    assert [r.outcome for r in report.rows] == [Outcome.ALREADY_ENROLLED] * 2
    assert not report.changes_anything
    commit(cohort, good_file())
    assert database_counts() == before


def test_an_existing_trainee_is_matched_by_phone_in_another_form_and_not_duplicated(cohort):
    existing = make_trainee(full_name="Trần Văn Đức", phone="0983111222", commune_code=None)
    before = database_counts()
    data = fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["Tran Van Duc", "+84 983-111-222", "Chuyên Mỹ"]])
    report = commit(cohort, data)
    row = report.rows[0]
    assert row.outcome == Outcome.UPDATED and row.joins_class
    assert database_counts()["User"] == before["User"]
    db.session.refresh(existing)
    assert existing.commune_code == CHUYEN_MY  # an empty field is filled
    assert existing.full_name == "Trần Văn Đức"  # never replaced by the same name without diacritics
    assert db.session.scalar(sa.select(CohortMember).where(CohortMember.user_id == existing.id)) is not None


def test_fields_already_set_keep_their_value_and_the_row_says_so(cohort):
    existing = make_trainee(full_name="Lê Thị Mai", phone="0912345678", village="Thôn Cũ")
    data = fixtures.xlsx([["Họ và tên", "SĐT", "Thôn"], ["Lê Thị Mai Anh", "0912345678", "Thôn Mới"]])
    report = commit(cohort, data)
    db.session.refresh(existing)
    assert (existing.full_name, existing.village) == ("Lê Thị Mai", "Thôn Cũ")  # she set a password: hers
    assert report.rows[0].outcome == Outcome.ENROLLED
    assert report.rows[0].notes == ["The account keeps its own: Village / hamlet, Full name."]


def test_a_name_is_corrected_while_the_account_was_never_activated(cohort):
    commit(cohort, fixtures.xlsx([["Họ và tên", "SĐT"], ["Le Thi Mai", "0912345678"]]))
    report = commit(cohort, fixtures.xlsx([["Họ và tên", "SĐT"], ["Lê Thị Mai", "0912345678"]]))
    assert report.rows[0].outcome == Outcome.UPDATED
    assert user_with_phone("0912345678").full_name == "Lê Thị Mai"


def test_people_missing_from_the_file_are_untouched(cohort):
    stays = make_trainee(full_name="Phạm Văn Long", phone="0977000111", village="Thôn Đông")
    add_member(cohort, stays)
    db.session.commit()
    commit(cohort, good_file())
    db.session.refresh(stays)
    member = db.session.scalar(sa.select(CohortMember).where(CohortMember.user_id == stays.id))
    assert member.status == MemberStatus.ACTIVE
    assert (stays.full_name, stays.village, stays.active) == ("Phạm Văn Long", "Thôn Đông", True)


def test_a_staff_account_is_only_added_to_the_class(cohort):
    staff = make_user(Role.INSTRUCTOR, Role.ORGANIZER, full_name="Đỗ Văn Giảng", phone="0966000111",
                      commune_code=None)
    data = fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["Đỗ Giảng", "0966000111", "Chuyên Mỹ"]])
    report = commit(cohort, data)
    assert report.rows[0].outcome == Outcome.ENROLLED
    db.session.refresh(staff)
    assert staff.roles == {Role.INSTRUCTOR, Role.ORGANIZER}
    assert (staff.full_name, staff.commune_code) == ("Đỗ Văn Giảng", None)
    assert db.session.scalar(sa.select(CohortMember).where(CohortMember.user_id == staff.id)) is not None


def test_withdrawn_members_and_left_enrolments_come_back(cohort):
    trainee = make_trainee(phone="0912345678")
    member, _ = add_member(cohort, trainee)
    withdraw_member(member)
    leave_course(get_enrollment(trainee, cohort.course))
    db.session.commit()
    report = commit(cohort, fixtures.xlsx([["Họ và tên", "SĐT"], ["Nguyễn Thị Hường", "0912345678"]]))
    assert report.rows[0].outcome == Outcome.ENROLLED
    db.session.refresh(member)
    assert member.status == MemberStatus.ACTIVE
    enrolment = db.session.scalar(sa.select(Enrollment).where(Enrollment.user_id == trainee.id))
    assert enrolment.status == EnrollmentStatus.ACTIVE


def test_an_existing_enrolment_in_the_course_is_kept(cohort):
    trainee = make_trainee(phone="0912345678")
    enrol(trainee, cohort.course)
    db.session.commit()
    commit(cohort, fixtures.xlsx([["Họ và tên", "SĐT"], ["Nguyễn Thị Hường", "0912345678"]]))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)) == 1


def test_a_class_that_would_overflow_is_refused_before_writing(course):
    small = create_cohort(code="PX-KT-02", course=course, name="Lớp nhỏ", capacity=2)
    add_member(small, make_trainee(phone="0977000111"))
    db.session.commit()
    before = database_counts()
    report = dry_run(small, good_file())
    assert report.file_errors == ["The class takes 2 trainees; 1 are in it and this file would add 2. Raise the "
                                  "class's capacity or remove 1 rows."]
    with pytest.raises(ImportBlocked):
        importing.commit_import(small, good_file(), today=TODAY)
    db.session.rollback()
    assert database_counts() == before


def test_a_class_without_a_commune_looks_in_every_province(course):
    anywhere = create_cohort(code="ONLINE-01", course=course, name="Lớp trực tuyến")
    db.session.commit()
    report = dry_run(anywhere, fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["A Một", "0912345678", "Chuyên Mỹ"]]))
    assert report.rows[0].values["commune_code"] == CHUYEN_MY


# --- Refused files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb():
    return fixtures.zip_bomb_xlsx(200)


@pytest.fixture
def reader_never_opens(monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("the spreadsheet reader was reached")  # a BaseException: read_table does not turn it into its error

    monkeypatch.setattr(read, "_read_workbook", refuse)


def test_a_zip_bomb_is_refused_before_anything_unpacks_it(cohort, zip_bomb, reader_never_opens):
    assert len(zip_bomb) < 1024 * 1024
    with pytest.raises(ImportFileError, match="zip bomb"):
        dry_run(cohort, zip_bomb)


@pytest.mark.parametrize("make", [fixtures.many_entries_zip, fixtures.cell_bomb_xlsx, fixtures.ods_repeat_bomb,
                                  lambda: fixtures.xls([["Họ và tên", "SĐT"]], dimensions=(0xFFFFFF00, 256))],
                         ids=["1500-entries", "xlsx-cell-at-XFD1048576", "ods-repeated-cells", "xls-dimensions"])
def test_files_that_would_make_the_reader_allocate_too_much_are_refused_first(cohort, make, reader_never_opens):
    with pytest.raises(ImportFileError):
        dry_run(cohort, make())


@pytest.mark.parametrize("data, words", [
    (fixtures.PDF_BYTES, "a PDF document, not a spreadsheet"),
    (fixtures.PNG_BYTES, "an image, not a spreadsheet"),
    (bytes(range(256)) * 64, "not a spreadsheet"),
    (b"", "The file is empty."),
    (b"<html><body><table><tr><td>Ho ten</td></tr></table></body></html>", "a web page"),
])
def test_files_that_are_not_spreadsheets_are_refused_whatever_their_name(cohort, data, words, reader_never_opens):
    with pytest.raises(ImportFileError) as refused:
        dry_run(cohort, data)
    assert words in str(refused.value)


def test_a_word_document_is_not_taken_for_a_spreadsheet(cohort):
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    with pytest.raises(ImportFileError, match="a Word or PowerPoint document"):
        dry_run(cohort, buffer.getvalue())


def test_a_damaged_spreadsheet_gets_a_plain_message(cohort):
    data = fixtures.xlsx(ROWS)
    with pytest.raises(ImportFileError, match="could not be read"):
        dry_run(cohort, data[: len(data) // 2])


def test_a_file_over_the_size_limit_is_refused(cohort):
    with pytest.raises(ImportFileError, match="larger than 15 MB"):
        dry_run(cohort, b"a" * (importing.MAX_FILE_BYTES + 1))


# --- Spreadsheets written back ----------------------------------------------------------------


def read_back(data: bytes) -> list[list]:
    return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python(
        skip_empty_area=False)


def test_the_error_file_is_the_original_sheet_plus_an_error_column(cohort):
    data = fixtures.xlsx([["DANH SÁCH LỚP"], ["STT", "Họ và tên", "SĐT", "Ngày sinh", "Ghi chú"],
                          [1, "Nguyễn Văn An", 912345678.0, date(1985, 3, 15), "tổ 1"],
                          [2, "=cmd|' /C calc'!A0", "12345", "31/02/1990", "+1"]])
    report = dry_run(cohort, data)
    sheet = read_back(importing.errors_workbook(data, report))
    assert sheet[0][0] == "DANH SÁCH LỚP"
    assert sheet[1] == ["STT", "Họ và tên", "SĐT", "Ngày sinh", "Ghi chú", "Errors"]
    assert sheet[2] == ["1", "Nguyễn Văn An", "912345678", "15/03/1985", "tổ 1", ""]
    assert sheet[3][:5] == ["2", "=cmd|' /C calc'!A0", "12345", "31/02/1990", "+1"]  # text, never a formula
    assert sheet[3][5].splitlines() == [
        "Column B (Họ và tên): “=cmd|' /C calc'!A0” looks like a spreadsheet formula (it starts with “=”). "
        "Remove the sign.",
        "Column C (SĐT): “12345” is not a Vietnamese phone number.",
        "Column D (Ngày sinh): “31/02/1990” is not a real date (day 31, month 2, year 1990).",
    ]


def test_the_error_file_never_contains_a_formula(cohort):
    import zipfile

    data = fixtures.csv_bytes([["Họ và tên", "SĐT"], ["=1+1", "@x"], ["-2+3", "+84"]])
    workbook = importing.errors_workbook(data, dry_run(cohort, data))
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml")
        styles = archive.read("xl/styles.xml")
    assert b"<f>" not in sheet_xml
    assert b'quotePrefix="1"' in styles


RICH_TEXT_XML = "<r><t>x</t></r>"
SMUGGLED = '<r><f>HYPERLINK("https://evil.example")</f></r>'


def test_the_error_file_gives_back_xml_and_formula_lookalikes_as_plain_text(cohort):
    import zipfile

    import openpyxl

    typed = [RICH_TEXT_XML, SMUGGLED, "=1+1", "+84 912", "-2+3", "@SUM(A1)"]
    data = fixtures.csv_bytes([["Họ và tên", "SĐT", "Ghi chú"]] + [[value, "12345", value] for value in typed])
    workbook = importing.errors_workbook(data, dry_run(cohort, data))
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    for r, value in enumerate(typed, start=2):
        for column in ("A", "C"):
            cell = sheet[f"{column}{r}"]
            assert (cell.value, cell.data_type) == (value, "s")  # a literal string, exactly as typed
    assert read_back(workbook)[1][0] == RICH_TEXT_XML
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        xml = archive.read("xl/sharedStrings.xml").decode() + archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<t>x</t>" not in xml and "evil.example\")</f>" not in xml
    assert "&lt;t&gt;x&lt;/t&gt;" in xml  # the typed tags are escaped text


# --- Activation slips -------------------------------------------------------------------------


def test_slips_give_one_time_codes_to_trainees_without_a_password_only(cohort):
    commit(cohort, good_file())
    with_password = make_trainee(phone="0977000111")
    add_member(cohort, with_password)
    db.session.commit()
    slips = importing.issue_slips(cohort)
    db.session.commit()
    assert [s["phone"] for s in slips] == ["0983111222", "0912345678"]  # Đức before Hường: by given name
    assert all(len(s["code"]) == 8 and s["code"].isdigit() for s in slips)
    assert importing.issue_slips(cohort) == []  # codes still valid: nobody needs a new slip
    assert len(importing.issue_slips(cohort, only_without_code=False)) == 2
    db.session.commit()


def test_a_code_from_a_slip_logs_the_trainee_in_once(cohort):
    commit(cohort, good_file())
    slip = importing.issue_slips(cohort)[0]
    db.session.commit()
    user = accounts.authenticate(slip["phone"], slip["code"])
    assert user is not None and user.must_change_password
    db.session.commit()
    assert accounts.authenticate(slip["phone"], slip["code"]) is None


def test_vietnamese_class_list_order():
    names = ["Trần Văn Đức", "Nguyễn Thị Hường", "Lê Văn An", "Phạm Thị Ánh", "Đỗ Văn Dũng", "Hoàng Thị Ân"]
    assert sorted(names, key=name_order) == [  # the order of the activation slips
        "Lê Văn An", "Phạm Thị Ánh", "Hoàng Thị Ân", "Đỗ Văn Dũng", "Trần Văn Đức", "Nguyễn Thị Hường"]


# --- Command line -----------------------------------------------------------------------------


def test_cli_creates_a_class(runner, course):
    result = runner.invoke(args=["cohorts", "create", "--code", "px-kt-09", "--course", course.slug,
                                 "--name", "Khảm trai 9", "--start", "2026-03-02", "--end", "2026-05-29"])
    assert result.exit_code == 0, result.output
    assert "PX-KT-09" in result.output
    again = runner.invoke(args=["cohorts", "create", "--code", "PX-KT-09", "--course", course.slug, "--name", "X"])
    assert again.exit_code == 1 and "already used" in again.output
    unknown = runner.invoke(args=["cohorts", "create", "--code", "PX-KT-10", "--course", "nope", "--name", "X"])
    assert unknown.exit_code == 1 and "nope" in unknown.output
    bad_day = runner.invoke(args=["cohorts", "create", "--code", "PX-KT-11", "--course", course.slug, "--name", "X",
                                  "--start", "02/03/2026"])
    assert bad_day.exit_code != 0 and "YYYY-MM-DD" in bad_day.output


def test_cli_dry_run_of_a_bad_file_lists_every_error_and_exits_1(runner, cohort, tmp_path):
    path = tmp_path / "lop.xlsx"
    path.write_bytes(fixtures.xlsx([["Họ và tên", "SĐT", "Ngày sinh"], ["A Một", "12345", ""],
                                    ["B Hai", "0912345678", "31/02/1990"]]))
    before = database_counts()
    for extra in (["--dry-run"], []):
        result = runner.invoke(args=["trainees", "import", str(path), "--cohort", cohort.code, *extra])
        assert result.exit_code == 1, result.output
        assert "Row 2, column B (SĐT): “12345” is not a Vietnamese phone number." in result.output
        assert "Row 3, column C (Ngày sinh):" in result.output
        assert database_counts() == before


def test_cli_imports_a_good_file_and_writes_nothing_on_dry_run(runner, cohort, tmp_path):
    path = tmp_path / "lop.csv"
    path.write_bytes(fixtures.csv_bytes([["Họ và tên", "SĐT"], ["A Một", "0912345678"]], delimiter=";", bom=True))
    before = database_counts()
    result = runner.invoke(args=["trainees", "import", str(path), "--cohort", cohort.code, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and "nothing was written" in result.output
    assert database_counts() == before
    result = runner.invoke(args=["trainees", "import", str(path), "--cohort", cohort.code])
    assert result.exit_code == 0, result.output
    assert user_with_phone("0912345678") is not None
    slips = tmp_path / "slips.pdf"
    result = runner.invoke(args=["trainees", "slips", "--cohort", cohort.code, "--out", str(slips)])
    assert result.exit_code == 0, result.output
    assert slips.read_bytes().startswith(b"%PDF")


def test_cli_refuses_a_file_that_is_not_a_spreadsheet(runner, cohort, tmp_path):
    path = tmp_path / "lop.xlsx"
    path.write_bytes(fixtures.PDF_BYTES)
    result = runner.invoke(args=["trainees", "import", str(path), "--cohort", cohort.code])
    assert result.exit_code == 1 and "a PDF document" in result.output
