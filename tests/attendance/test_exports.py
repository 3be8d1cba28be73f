import csv
import io
import math
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime, time, timedelta

import pytest
from python_calamine import CalamineWorkbook

from lms.accounts.models import Role
from lms.attendance import exports, figures
from lms.attendance.models import AttendanceRecord, AttendanceStatus, CheckInMethod
from lms.attendance.sheets import render_sign_in_sheet
from lms.cohorts.models import ClassSession, Cohort, CohortMember, MemberStatus, SessionStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import VIETNAM
from tests.factories import CHUYEN_MY, make_course, make_user

PHU_XUYEN = 10273
EVIL = '=HYPERLINK("http://evil")'
#: Every session in these tests has been held by then.
AS_OF = datetime(2026, 12, 31, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
P, L, A, E = AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED


@pytest.fixture(autouse=True)
def export_routes(app):
    """Register the blueprint when the app factory does not (yet)."""
    from lms.attendance.export_views import bp

    if "attendance_exports" not in app.blueprints:
        app.register_blueprint(bp)


def make_cohort(course, code="PX-VBBH-01", *, commune_code=PHU_XUYEN, name="Lớp Viết bài bán hàng Phú Xuyên",
                instructors=()):
    cohort = Cohort(code=code, course_id=course.id, name=name, commune_code=commune_code,
                    venue="Nhà văn hoá thôn Chuôn Ngọ", instructors=list(instructors))
    db.session.add(cohort)
    db.session.flush()
    return cohort


def add_session(cohort, day: date, start=time(7, 30), end=time(9, 30), *, cancelled=False, topic="Chụp ảnh sản phẩm"):
    session = ClassSession(
        cohort_id=cohort.id, starts_at=datetime.combine(day, start, tzinfo=VIETNAM).astimezone(UTC),
        ends_at=datetime.combine(day, end, tzinfo=VIETNAM).astimezone(UTC), venue="", topic=topic,
        status=SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED, check_in_secret="secret",
    )
    db.session.add(session)
    db.session.flush()
    return session


#: The trainees are in their class before its first session (a session held before joining does not count).
JOINED_AT = datetime(2026, 10, 1, tzinfo=UTC)


def add_trainee(cohort, full_name, *, status=MemberStatus.ACTIVE, **fields):
    fields.setdefault("village", "Chuôn Ngọ")
    fields.setdefault("business_name", "Khảm trai")
    user = make_user(Role.TRAINEE, password=None, commit=False, full_name=full_name, **fields)
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=user.id, status=status, joined_at=JOINED_AT))
    db.session.flush()
    return user


def mark(session, user, status, method=CheckInMethod.ROLL_CALL, at=None):
    db.session.add(AttendanceRecord(session_id=session.id, user_id=user.id, status=status, method=method,
                                    recorded_at=at or session.starts_at + timedelta(minutes=5)))


@pytest.fixture
def village_class(app):
    """A class with four held sessions, one cancelled, three trainees and one who withdrew."""
    course = make_course("viet-bai-ban-hang", lessons=1)
    cohort = make_cohort(course)
    s1 = add_session(cohort, date(2026, 11, 2))
    s2 = add_session(cohort, date(2026, 11, 9))
    s3 = add_session(cohort, date(2026, 11, 16), cancelled=True)
    s4 = add_session(cohort, date(2026, 11, 23))
    # 06:30 on 28/11 in Vietnam is 23:30 on 27/11 in UTC: it belongs to the 28th.
    s5 = add_session(cohort, date(2026, 11, 28), time(6, 30), time(8, 30), topic="Đăng bài lên Zalo")
    hương = add_trainee(cohort, "Nguyễn Thị Hường")
    an = add_trainee(cohort, "Lê Văn An", phone="0983000111")
    anh = add_trainee(cohort, "Trần Thị Ánh", commune_code=PHU_XUYEN, village="Thôn Văn Khê", business_name=None)
    gone = add_trainee(cohort, "Phạm Văn Dũng", status=MemberStatus.WITHDRAWN)
    for session, status in ((s1, P), (s2, L), (s4, A), (s5, E)):
        mark(session, an, status)
    for session, status in ((s1, P), (s2, P), (s4, P)):
        mark(session, anh, status, CheckInMethod.SELF_QR)
    for session, status in ((s1, L), (s3, P), (s4, P), (s5, P)):
        mark(session, hương, status, CheckInMethod.CARD_SCAN)
    mark(s1, gone, P)
    db.session.commit()
    assert s5.starts_at == datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    return {"course": course, "cohort": cohort, "sessions": [s1, s2, s3, s4, s5], "an": an, "anh": anh,
            "huong": hương}


def workbook(**filters) -> dict[str, list[list]]:
    buffer = io.BytesIO()
    exports.export_attendance_xlsx(buffer, as_of=AS_OF, **filters)
    book = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def csv_rows(**filters) -> list[list[str]]:
    buffer = io.BytesIO()
    exports.export_attendance_csv(buffer, as_of=AS_OF, **filters)
    return list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))


def blank(value):
    return None if value == "" else value


def test_roster_has_a_code_per_held_session_totals_and_percent(village_class):
    roster = workbook(cohort=village_class["cohort"])["Tổng hợp"]
    assert roster[0] == [
        "Mã lớp", "Họ và tên", "Số điện thoại", "Xã/phường", "Thôn/xóm", "Nghề/cơ sở",
        "02/11 07:30", "09/11 07:30", "23/11 07:30", "28/11 06:30",  # the cancelled 16/11 is left out
        "Có mặt", "Đi muộn", "Vắng", "Chưa điểm danh", "Có phép", "Số buổi đã học", "Số buổi được tính",
        "Tỷ lệ chuyên cần (%)",
    ]
    rows = [[blank(v) for v in row] for row in roster[1:]]
    # Vietnamese order: by given name (An, Ánh, Hường); the withdrawn trainee is not listed.
    assert rows == [
        ["PX-VBBH-01", "Lê Văn An", "0983000111", "Xã Chuyên Mỹ", "Chuôn Ngọ", "Khảm trai",
         "C", "M", "V", "P", 1, 1, 1, 0, 1, 4, 3, 66.7],  # excused leaves the count: 2 of 3
        ["PX-VBBH-01", "Trần Thị Ánh", rows[1][2], "Xã Phú Xuyên", "Thôn Văn Khê", None,
         "C", "C", "C", None, 3, 0, 0, 1, 0, 4, 4, 75.0],
        ["PX-VBBH-01", "Nguyễn Thị Hường", rows[2][2], "Xã Chuyên Mỹ", "Chuôn Ngọ", "Khảm trai",
         "M", None, "C", "C", 2, 1, 0, 1, 0, 4, 4, 75.0],  # her record for the cancelled session does not count
    ]


def test_long_sheet_has_one_row_per_trainee_and_held_session(village_class):
    sheet = workbook(cohort=village_class["cohort"])["Điểm danh"]
    assert sheet[0] == list(exports.LONG_HEADER)
    assert len(sheet) == 1 + 3 * 4
    first = sheet[1]
    assert first[:8] == ["PX-VBBH-01", "Lớp Viết bài bán hàng Phú Xuyên", "Khoá viet-bai-ban-hang",
                         date(2026, 11, 2), "07:30–09:30", "Nhà văn hoá thôn Chuôn Ngọ", "Chụp ảnh sản phẩm",
                         "Lê Văn An"]
    assert first[12:] == ["Có mặt", "Điểm danh tại lớp", datetime(2026, 11, 2, 7, 35)]
    last_session = [row for row in sheet[1:] if row[3] == date(2026, 11, 28)]
    assert [(row[7], row[4], row[12], row[13]) for row in last_session] == [
        ("Lê Văn An", "06:30–08:30", "Vắng có phép", "Điểm danh tại lớp"),
        ("Trần Thị Ánh", "06:30–08:30", "Chưa điểm danh", ""),
        ("Nguyễn Thị Hường", "06:30–08:30", "Có mặt", "Giảng viên quét thẻ học viên"),
    ]
    assert last_session[2][14] == datetime(2026, 11, 28, 6, 35)  # recorded at, in Vietnam time


def test_sessions_and_notes_sheets_explain_the_report(village_class):
    book = workbook(cohort=village_class["cohort"])
    sessions = book["Buổi học"]
    assert [row[3:6] for row in sessions[1:]] == [
        [1, date(2026, 11, 2), "07:30–09:30"], [2, date(2026, 11, 9), "07:30–09:30"],
        [3, date(2026, 11, 23), "07:30–09:30"], [4, date(2026, 11, 28), "06:30–08:30"],
    ]
    assert sessions[4][8:] == [3, 1, 0, 0, 1, 1]  # 3 trainees: 1 present, 1 excused, 1 not marked
    notes = dict(row for row in book["Ghi chú"][1:])
    assert "C = có mặt" in notes["Ký hiệu"]
    assert "huỷ" in notes["Buổi học được tính"]
    assert "vắng có phép" in notes["Tỷ lệ chuyên cần"] and "Số buổi được tính" in notes["Tỷ lệ chuyên cần"]


def test_sessions_not_yet_held_are_left_out(village_class):
    roster = workbook(cohort=village_class["cohort"])["Tổng hợp"]
    assert len(roster[0]) == 6 + 4 + len(exports.ROSTER_TOTALS)  # four held sessions
    buffer = io.BytesIO()
    exports.export_attendance_xlsx(buffer, cohort=village_class["cohort"], as_of=datetime(2026, 11, 20, tzinfo=UTC))
    book = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    header = book.get_sheet_by_name("Tổng hợp").to_python()[0]
    assert header[6:8] == ["02/11 07:30", "09/11 07:30"] and header[8] == "Có mặt"


def test_a_formula_in_a_name_is_written_as_text_in_xlsx_and_csv(village_class):
    evil = add_trainee(village_class["cohort"], EVIL)
    mark(village_class["sessions"][0], evil, P)
    db.session.commit()
    buffer = io.BytesIO()
    exports.export_attendance_xlsx(buffer, cohort=village_class["cohort"], as_of=AS_OF)
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    assert not any("<f>" in archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))
    book = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    names = [row[1] for row in book.get_sheet_by_name("Tổng hợp").to_python()[1:]]
    assert "'" + EVIL in names
    assert "'" + EVIL in [row[7] for row in csv_rows(cohort=village_class["cohort"])]


def test_csv_is_the_long_sheet_with_a_bom_and_vietnamese_intact(village_class):
    buffer = io.BytesIO()
    count = exports.export_attendance_csv(buffer, cohort=village_class["cohort"], as_of=AS_OF)
    data = buffer.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    assert count == 12
    rows = csv_rows(cohort=village_class["cohort"])
    assert rows[0] == list(exports.LONG_HEADER)
    assert rows[1][3] == "2026-11-02" and rows[1][14] == "2026-11-02 07:35"
    assert "Nguyễn Thị Hường" in data.decode("utf-8") and "Chưa điểm danh" in data.decode("utf-8")


def test_filters_by_course_commune_and_vietnam_dates(village_class):
    other_course = make_course("chup-anh-san-pham", lessons=1)
    other = make_cohort(other_course, "CM-CASP-01", commune_code=CHUYEN_MY, name="Lớp Chụp ảnh Chuyên Mỹ")
    session = add_session(other, date(2026, 11, 10))
    mark(session, add_trainee(other, "Đỗ Thị Lan"), P)
    db.session.commit()

    def codes_and_days(**filters):
        return {(row[0], row[3]) for row in csv_rows(**filters)[1:]}

    assert {c for c, _ in codes_and_days()} == {"PX-VBBH-01", "CM-CASP-01"}
    assert codes_and_days(course_slug="chup-anh-san-pham") == {("CM-CASP-01", "2026-11-10")}
    assert codes_and_days(commune_code=CHUYEN_MY) == {("CM-CASP-01", "2026-11-10")}
    assert {c for c, _ in codes_and_days(commune_code=PHU_XUYEN)} == {"PX-VBBH-01"}
    assert codes_and_days(date_from=date(2026, 11, 28), date_to=date(2026, 11, 28)) == {("PX-VBBH-01", "2026-11-28")}
    assert codes_and_days(date_from=date(2026, 11, 24), date_to=date(2026, 11, 27)) == set()
    assert codes_and_days(date_from=date(2026, 11, 10), date_to=date(2026, 11, 10)) == {("CM-CASP-01", "2026-11-10")}


def test_several_classes_share_a_roster_with_numbered_sessions(village_class):
    other = make_cohort(make_course("chup-anh-san-pham", lessons=1), "CM-CASP-01", commune_code=CHUYEN_MY)
    session = add_session(other, date(2026, 11, 10))
    mark(session, add_trainee(other, "Đỗ Thị Lan"), L)
    db.session.commit()
    roster = workbook()["Tổng hợp"]
    assert roster[0][6:10] == ["Buổi 1", "Buổi 2", "Buổi 3", "Buổi 4"]
    lan = next(row for row in roster if row[1] == "Đỗ Thị Lan")
    assert [blank(v) for v in lan[6:]] == ["M", None, None, None, 0, 1, 0, 0, 0, 1, 1, 100.0]


def test_unknown_course_or_commune_is_a_clear_error(app):
    with pytest.raises(exports.ExportError):
        exports.export_attendance_csv(io.BytesIO(), course_slug="khong-co")
    with pytest.raises(exports.ExportError):
        exports.export_attendance_csv(io.BytesIO(), commune_code=999999)


@pytest.mark.parametrize(("attended", "held", "percent"),
                         [(2, 3, 66.7), (1, 3, 33.3), (1, 16, 6.3), (3, 4, 75.0), (0, 4, 0.0), (0, 0, None)])
def test_percent_attended_rounds_half_up_to_one_decimal(attended, held, percent):
    assert figures.attendance_percent(attended, held) == percent


def test_names_sort_in_vietnamese_order_by_given_name():
    names = ["Lê Văn Bảo", "Phạm Đức", "Nguyễn Thị Ánh", "Hà Văn Dũng", "Trần Văn An", "Vũ Thị Ân"]
    assert sorted(names, key=exports.name_order) == [
        "Trần Văn An", "Nguyễn Thị Ánh", "Vũ Thị Ân", "Lê Văn Bảo", "Hà Văn Dũng", "Phạm Đức"]


def test_export_file_names_say_what_they_hold(village_class):
    day = date(2026, 11, 28)
    assert exports.export_filename("xlsx", cohort=village_class["cohort"], today=day) == \
        "diem-danh-PX-VBBH-01-2026-11-28.xlsx"
    assert exports.export_filename("csv", commune_code=CHUYEN_MY, today=day) == "diem-danh-xa-chuyen-my-2026-11-28.csv"
    assert exports.export_filename("csv", today=day) == "diem-danh-tat-ca-2026-11-28.csv"


# --- sign-in sheet ---------------------------------------------------------------------------------


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def sheet_info(**overrides):
    info = {"class_code": "PX-VBBH-01", "class_name": "Lớp Viết bài bán hàng", "course": "Viết bài bán hàng",
            "starts_at": datetime(2026, 11, 27, 23, 30, tzinfo=UTC), "ends_at": datetime(2026, 11, 28, 1, 30, tzinfo=UTC),
            "venue": "Nhà văn hoá thôn Chuôn Ngọ", "topic": "Chụp ảnh sản phẩm khảm trai"}
    return {**info, **overrides}


@pytest.mark.parametrize(("count", "pages"), [(10, 1), (60, 3)])
def test_sign_in_sheet_has_about_25_trainees_a_page(count, pages):
    trainees = [{"full_name": f"Nguyễn Thị Hường {n}", "phone": "0912***678", "village": "Chuôn Ngọ"}
                for n in range(count)]
    pdf = render_sign_in_sheet(sheet_info(), trainees)
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) == pages == math.ceil(count / 25)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is needed to read the PDF's text")
def test_sign_in_sheet_prints_every_vietnamese_letter_and_the_session_in_vietnam_time():
    names = ["Nguyễn Thị Hường", "Đặng Văn Ẩn", "Lê Thị Ỷ", "Trương Ưng Ợ"]
    trainees = [{"full_name": n, "phone": f"0912***67{i}", "village": "Chuôn Ngọ"} for i, n in enumerate(names)]
    pdf = render_sign_in_sheet(sheet_info(instructors=["Trần Văn Đức"]), trainees)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for expected in [*names, "DANH SÁCH KÝ TÊN THAM DỰ BUỔI HỌC", "Thứ Bảy, 28/11/2026, 06:30–08:30",
                     "Chữ ký", "Trang 1/1", "GIẢNG VIÊN", "Trần Văn Đức", "Nhà văn hoá thôn Chuôn Ngọ"]:
        assert expected in text


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is needed to read the PDF's text")
def test_sign_in_sheet_has_the_national_header_and_is_dated_the_session_s_day():
    issuer = {"issuing_body": "Trung tâm Giáo dục nghề nghiệp – GDTX", "issuing_body_parent": "UBND xã Phú Xuyên",
              "place": "Phú Xuyên"}
    pdf = render_sign_in_sheet(sheet_info(**issuer), [])
    text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                                   check=True).stdout.decode().split())
    for expected in ["CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập – Tự do – Hạnh phúc", "UBND XÃ PHÚ XUYÊN",
                     "TRUNG TÂM GIÁO DỤC NGHỀ NGHIỆP – GDTX", "Phú Xuyên, ngày 28 tháng 11 năm 2026"]:
        assert expected in text


def test_sign_in_sheet_data_names_the_issuing_body_of_the_settings(app, village_class):
    app.config.update(ISSUING_BODY="Trung tâm GDNN – GDTX", ISSUING_BODY_PARENT="UBND xã Phú Xuyên",
                      REPORT_PLACE="Phú Xuyên")
    info, _ = exports.sign_in_sheet_data(village_class["sessions"][4])
    assert (info["issuing_body"], info["issuing_body_parent"], info["place"]) == (
        "Trung tâm GDNN – GDTX", "UBND xã Phú Xuyên", "Phú Xuyên")


def test_sign_in_sheet_data_lists_the_class_in_name_order_with_masked_phones(village_class):
    info, trainees = exports.sign_in_sheet_data(village_class["sessions"][4])
    assert info["class_code"] == "PX-VBBH-01" and info["venue"] == "Nhà văn hoá thôn Chuôn Ngọ"
    assert [t["full_name"] for t in trainees] == ["Lê Văn An", "Trần Thị Ánh", "Nguyễn Thị Hường"]
    assert trainees[0]["phone"] == "0983***111"


# --- CLI ---------------------------------------------------------------------------------------------


def recent_class():
    """A class whose session was last week, so it has been held whenever the tests run."""
    cohort = make_cohort(make_course("viet-bai-ban-hang", lessons=1))
    day = utcnow().astimezone(VIETNAM).date() - timedelta(days=7)
    session = add_session(cohort, day)
    mark(session, add_trainee(cohort, "Nguyễn Thị Hường"), P)
    mark(session, add_trainee(cohort, "Lê Văn An"), A)
    db.session.commit()
    return cohort, session


def test_cli_writes_the_export(app, runner, tmp_path):
    recent_class()
    folder = tmp_path / "exports"
    xlsx, csv_file = folder / "out.xlsx", folder / "out.csv"
    result = runner.invoke(args=["attendance", "export", "--cohort", "px-vbbh-01", "--format", "xlsx",
                                 "--output", str(xlsx)])
    assert result.exit_code == 0, result.output
    book = CalamineWorkbook.from_path(str(xlsx))
    assert len(book.get_sheet_by_name("Điểm danh").to_python()) == 3
    result = runner.invoke(args=["attendance", "export", "--all", "--course", "viet-bai-ban-hang",
                                 "--output", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbf")
    assert sorted(p.name for p in folder.iterdir()) == ["out.csv", "out.xlsx"]  # no partial files left


def test_cli_exits_1_for_an_unknown_class_and_writes_nothing(app, runner, tmp_path):
    output = tmp_path / "out.xlsx"
    result = runner.invoke(args=["attendance", "export", "--cohort", "KHONG-CO", "--output", str(output)])
    assert result.exit_code == 1
    assert "KHONG-CO" in result.output
    assert not output.exists()


def test_cli_needs_one_of_cohort_or_all(app, runner, tmp_path):
    result = runner.invoke(args=["attendance", "export", "--output", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "--cohort CODE or --all" in result.output


# --- web ---------------------------------------------------------------------------------------------


def test_organizer_downloads_xlsx_csv_and_the_report(client, auth):
    cohort, _ = recent_class()
    organizer = make_user(Role.ORGANIZER)
    auth.login(organizer.phone)

    response = client.get("/cohorts/PX-VBBH-01/attendance.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert response.headers["Cache-Control"] == "private, no-store"
    assert re.search(r"diem-danh-PX-VBBH-01-\d{4}-\d\d-\d\d\.xlsx", response.headers["Content-Disposition"])
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.data))
    assert book.sheet_names == ["Điểm danh", "Tổng hợp", "Buổi học", "Ghi chú"]

    response = client.get("/cohorts/PX-VBBH-01/attendance.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf") and "Nguyễn Thị Hường".encode() in response.data

    assert client.get("/reports/attendance").status_code == 200
    response = client.get("/reports/attendance?course=viet-bai-ban-hang&commune=&date_from=&date_to=&file_format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "diem-danh-viet-bai-ban-hang-" in response.headers["Content-Disposition"]
    response = client.get("/reports/attendance?date_from=2026-11-28&date_to=2026-11-01&file_format=xlsx")
    assert response.status_code == 200 and response.mimetype == "text/html"  # the form again, with the error
    assert client.get("/cohorts/KHONG-CO/attendance.xlsx").status_code == 404


def test_trainees_and_instructors_may_not_download_exports(client, auth):
    cohort, session = recent_class()
    trainee = make_user(Role.TRAINEE)
    auth.login(trainee.phone)
    for path in ("/reports/attendance", "/cohorts/PX-VBBH-01/attendance.xlsx", "/cohorts/PX-VBBH-01/attendance.csv",
                 f"/sessions/{session.id}/sign-in-sheet.pdf"):
        assert client.get(path).status_code == 403, path
    auth.logout()
    instructor = make_user(Role.INSTRUCTOR)
    auth.login(instructor.phone)
    assert client.get("/cohorts/PX-VBBH-01/attendance.xlsx").status_code == 403


def test_sign_in_sheet_for_organizers_and_the_class_instructors_only(client, auth):
    cohort, session = recent_class()
    teacher, stranger = make_user(Role.INSTRUCTOR), make_user(Role.INSTRUCTOR)
    cohort.instructors.append(teacher)
    db.session.commit()
    path = f"/sessions/{session.id}/sign-in-sheet.pdf"

    auth.login(teacher.phone)
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    auth.logout()
    auth.login(stranger.phone)
    assert client.get(path).status_code == 404
    auth.logout()
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get(path).status_code == 200
    assert client.get("/sessions/999999/sign-in-sheet.pdf").status_code == 404
