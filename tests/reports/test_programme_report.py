"""The report for the authorities: every number in its files is the figure of the dashboard, within the reader's places."""

import io
import re
import shutil
import subprocess

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import load_workbook

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.audit.models import AuditAction, AuditEvent
from lms.core.config import report_issuer
from lms.core.extensions import db
from lms.reports import figures, programme_report
from lms.reports.figures import NO_COMMUNE, Figure, Scope
from lms.reports.programme_report import Issuer, build_programme_report
from tests.factories import CHUYEN_MY, make_user
from tests.reports.test_figures import _programme

PHU_XUYEN = 10273
BODY, PARENT, PLACE = "Trung tâm Giáo dục nghề nghiệp – GDTX", "UBND xã Phú Xuyên", "Phú Xuyên"
NAMES = {CHUYEN_MY: "Xã Chuyên Mỹ", PHU_XUYEN: "Xã Phú Xuyên", NO_COMMUNE: programme_report.NO_COMMUNE_NAME}
needs_pdftotext = pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) reads the PDF")


@pytest.fixture
def issuer(app):
    app.config.update(ISSUING_BODY=BODY, ISSUING_BODY_PARENT=PARENT, REPORT_PLACE=PLACE)
    return Issuer(BODY, PARENT, PLACE)


@pytest.fixture
def programme(app):
    """The figures' edge cases, with trainees in two communes and one with none recorded."""
    period, course, other_course, people, both = _programme()
    for name in ("stuck", "active", "reissued", "left_during"):
        people[name].commune_code = PHU_XUYEN
    people["opened_only"].commune_code = None
    db.session.commit()
    return period, course, other_course


def _sheet(book, name) -> list[tuple]:
    return [tuple(row) for row in book[name].iter_rows(values_only=True)]


def _workbook(report) -> object:
    buffer = io.BytesIO()
    programme_report.write_programme_xlsx(report, buffer)
    return load_workbook(io.BytesIO(buffer.getvalue()))


def _pdf_text(pdf: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_every_number_of_the_workbook_is_the_figure_and_every_total_the_sum(programme, issuer):
    period, course, other_course = programme
    report = build_programme_report(period, issuer=issuer)
    book = _workbook(report)
    assert book.sheetnames == ["Tổng hợp", "Theo xã", "Theo khoá học", "Theo xã và khoá học", "Ghi chú"]
    assert all(len(name) <= 31 for name in book.sheetnames)
    with force_locale("vi"):
        labels = [f.label for f in Figure]
        definitions = [f.definition for f in Figure]
    columns = {f: n for n, f in enumerate(Figure)}

    totals = _sheet(book, "Tổng hợp")
    assert list(totals[0][1:]) == labels
    assert list(totals[1][1:]) == [figures.count(f, period) for f in Figure]

    communes = {code: name for code, name in NAMES.items()}
    by_name = {name: code for code, name in communes.items()}
    rows = _sheet(book, "Theo xã")
    assert rows[0] == ("STT", "Xã/phường", *labels)
    assert {row[1] for row in rows[1:-1]} == set(NAMES.values())
    for row in rows[1:-1]:
        for figure in Figure:
            value = row[2 + columns[figure]]
            assert type(value) is int  # a number, not text
            assert value == figures.count(figure, period, commune_code=by_name[row[1]]), (row[1], figure)
    assert rows[-1][1] == "Tổng cộng"
    for figure in Figure:
        assert rows[-1][2 + columns[figure]] == sum(r[2 + columns[figure]] for r in rows[1:-1]) \
            == figures.count(figure, period)

    titles = {course.title: course.id, other_course.title: other_course.id}
    rows = _sheet(book, "Theo khoá học")
    assert {row[1] for row in rows[1:-1]} == set(titles)
    for row in rows[1:-1]:
        for figure in Figure:
            assert row[2 + columns[figure]] == figures.count(figure, period, course_id=titles[row[1]])
    for figure in Figure:
        assert rows[-1][2 + columns[figure]] == figures.count(figure, period)

    rows = _sheet(book, "Theo xã và khoá học")
    assert rows[0][:3] == ("STT", "Xã/phường", "Khoá học")
    pairs = {(row[1], row[2]) for row in rows[1:-1]}
    assert (NAMES[CHUYEN_MY], other_course.title) in pairs and (NAMES[PHU_XUYEN], course.title) in pairs
    for row in rows[1:-1]:
        for figure in Figure:
            assert row[3 + columns[figure]] == figures.count(figure, period, commune_code=by_name[row[1]],
                                                             course_id=titles[row[2]]), (row[1], row[2], figure)
    for figure in Figure:
        assert rows[-1][3 + columns[figure]] == figures.count(figure, period)

    notes = dict((row[0], row[1]) for row in _sheet(book, "Ghi chú")[1:])
    for label, definition in zip(labels, definitions, strict=True):
        assert notes[label] == definition
    assert notes["Đơn vị báo cáo"] == BODY and notes["Cơ quan chủ quản"] == PARENT
    assert f"{period.first:%d/%m/%Y}" in notes["Kỳ báo cáo"] and f"{period.last:%d/%m/%Y}" in notes["Kỳ báo cáo"]
    assert notes["Phạm vi"].startswith("Toàn chương trình")
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d \(giờ Việt Nam\)", notes["Lập lúc"])


def test_one_commune_and_one_course_narrow_every_sheet(programme, issuer):
    period, course, other_course = programme
    report = build_programme_report(period, issuer=issuer, commune_code=PHU_XUYEN, course_id=course.id)
    book = _workbook(report)
    rows = _sheet(book, "Theo xã")
    assert [row[1] for row in rows[1:-1]] == ["Xã Phú Xuyên"]
    expected = [figures.count(f, period, commune_code=PHU_XUYEN, course_id=course.id) for f in Figure]
    assert list(rows[1][2:]) == expected and expected[0] > 0
    assert list(_sheet(book, "Tổng hợp")[1][1:]) == expected
    assert [row[1] for row in _sheet(book, "Theo khoá học")[1:-1]] == [course.title]
    notes = dict((row[0], row[1]) for row in _sheet(book, "Ghi chú")[1:])
    assert notes["Phạm vi"] == "Học viên sống tại: Xã Phú Xuyên" and notes["Khoá học"] == course.title


@needs_pdftotext
def test_the_pdf_has_the_national_header_the_tables_and_the_signatures(programme, issuer):
    period, course, other_course = programme
    report = build_programme_report(period, issuer=issuer)
    pdf = programme_report.render_programme_pdf(report)
    text = " ".join(_pdf_text(pdf).split())  # lines joined: a long name may wrap
    for expected in ["CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập – Tự do – Hạnh phúc", BODY.upper(),
                     PARENT.upper(), "BÁO CÁO KẾT QUẢ BỒI DƯỠNG", "NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ",
                     "(Ký, ghi rõ họ tên)", "(Ký, ghi rõ họ tên, đóng dấu)", course.title, other_course.title,
                     f"Từ ngày {period.first:%d/%m/%Y} đến ngày {period.last:%d/%m/%Y}", "Trang 1/"]:
        assert expected in text, expected
    assert re.search(r"Phú Xuyên, ngày \d\d? tháng \d\d? năm \d{4}", text)
    with force_locale("vi"):
        for figure in Figure:
            assert " ".join(figure.definition.split()[:6]) in text
    # Each commune's row: its name, then its figures in the columns' order.
    layout = " ".join(_pdf_text(pdf, "-layout").split())
    for code, name in NAMES.items():
        numbers = " ".join(str(figures.count(f, period, commune_code=code)) for f in Figure)
        assert f"{name} {numbers}" in layout, name
    totals = " ".join(str(figures.count(f, period)) for f in Figure)
    assert f"Tổng cộng {totals}" in layout


def _official(*communes):
    user = make_user(Role.OFFICIAL)
    accounts.set_staff_places(user, communes=communes)
    db.session.commit()
    return user


def test_an_official_downloads_their_commune_s_figures_only(programme, issuer, client, auth):
    period, course, other_course = programme
    auth.login(_official(CHUYEN_MY).phone)
    query = f"date_from={period.first}&date_to={period.last}"
    response = client.get(f"/reports/programme.xlsx?{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert f"bao-cao-ket-qua-boi-duong-{period.first}-{period.last}.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    scope = Scope(frozenset({CHUYEN_MY}))
    assert [row[1] for row in _sheet(book, "Theo xã")[1:-1]] == ["Xã Chuyên Mỹ"]
    assert list(_sheet(book, "Tổng hợp")[1][1:]) == [figures.count(f, period, scope=scope) for f in Figure]
    assert figures.count(Figure.ENROLLED, period, scope=scope) < figures.count(Figure.ENROLLED, period)
    assert client.get(f"/reports/programme.xlsx?{query}&commune={PHU_XUYEN}").status_code == 404
    assert client.get(f"/reports/programme.pdf?{query}&commune={PHU_XUYEN}").status_code == 404
    assert client.get(f"/reports/programme.pdf?{query}&commune={CHUYEN_MY}").status_code == 200
    response = client.get(f"/reports/programme.pdf?{query}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    if shutil.which("pdftotext"):
        text = _pdf_text(response.data)
        assert "Xã Chuyên Mỹ" in text and "Xã Phú Xuyên" not in text.replace(PARENT.upper(), "")
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == AuditAction.DOWNLOADED_REPORT)).all()
    assert len(events) == 3  # the two 404s recorded nothing


def test_an_organizer_downloads_the_whole_programme_for_a_commune_and_a_course(programme, issuer, client, auth):
    period, course, other_course = programme
    auth.login(make_user(Role.ORGANIZER).phone)
    query = f"date_from={period.first}&date_to={period.last}&commune={PHU_XUYEN}&course={course.id}"
    response = client.get(f"/reports/programme.xlsx?{query}")
    assert response.status_code == 200
    assert (f"bao-cao-ket-qua-boi-duong-{period.first}-{period.last}-xa-phu-xuyen-{course.slug}.xlsx"
            in response.headers["Content-Disposition"])
    book = load_workbook(io.BytesIO(response.data))
    assert list(_sheet(book, "Tổng hợp")[1][1:]) == [
        figures.count(f, period, commune_code=PHU_XUYEN, course_id=course.id) for f in Figure]
    assert client.get(f"/reports/programme.pdf?{query}").status_code == 200
    assert client.get("/reports/programme.xlsx?course=999999").status_code == 404
    assert client.get("/reports/programme.xlsx?commune=99999999").status_code == 404
    assert client.get("/reports/programme.pdf?date_from=2026-12-04&date_to=2026-01-01").status_code == 400


def test_trainees_and_instructors_may_not_download_the_report(programme, client, auth):
    for role in (Role.TRAINEE, Role.INSTRUCTOR):
        auth.login(make_user(role).phone)
        for path in ("/reports/programme.xlsx", "/reports/programme.pdf"):
            assert client.get(path).status_code == 403, (role, path)
        auth.logout()
    assert client.get("/reports/programme.xlsx").status_code in (302, 401)


def test_the_cli_writes_both_formats(programme, issuer, runner, tmp_path):
    period, course, other_course = programme
    xlsx, pdf = tmp_path / "out" / "bao-cao.xlsx", tmp_path / "out" / "bao-cao.pdf"
    dates = ["--from", period.first.isoformat(), "--to", period.last.isoformat()]
    result = runner.invoke(args=["reports", "programme", *dates, "--format", "xlsx", "--output", str(xlsx)])
    assert result.exit_code == 0, result.output
    book = load_workbook(xlsx)
    assert list(_sheet(book, "Tổng hợp")[1][1:]) == [figures.count(f, period) for f in Figure]
    result = runner.invoke(args=["reports", "programme", *dates, "--format", "pdf", "--output", str(pdf),
                                 "--commune", "Xã Chuyên Mỹ", "--course", course.slug])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = _pdf_text(pdf.read_bytes())
        assert "Học viên sống tại: Xã Chuyên Mỹ" in text and "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert sorted(p.name for p in xlsx.parent.iterdir()) == ["bao-cao.pdf", "bao-cao.xlsx"]  # no partial files


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-13-01"], "2026-13-01"),
    (["--from", "2026-12-04", "--to", "2026-01-01"], "before"),
    (["--commune", "Xã Không Có"], "Không Có"),
    (["--commune", "99999999"], "99999999"),
    (["--course", "khong-co"], "khong-co"),
    (["--format", "docx"], "docx"),
])
def test_the_cli_refuses_bad_input_and_writes_nothing(programme, runner, tmp_path, args, message):
    output = tmp_path / "out" / "out.xlsx"
    result = runner.invoke(args=["reports", "programme", "--output", str(output), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert not output.parent.exists() or list(output.parent.iterdir()) == []


def test_the_issuer_defaults_to_the_organisation():
    assert report_issuer({}) == {"ISSUING_BODY": "Làng Số", "ISSUING_BODY_PARENT": "", "REPORT_PLACE": ""}
    assert report_issuer({"LMS_ORG_NAME": "Trung tâm GDNN Phú Xuyên"})["ISSUING_BODY"] == "Trung tâm GDNN Phú Xuyên"
    assert report_issuer({"LMS_ORG_NAME": "X", "LMS_ISSUING_BODY": BODY, "LMS_ISSUING_BODY_PARENT": PARENT,
                          "LMS_REPORT_PLACE": PLACE}) == {"ISSUING_BODY": BODY, "ISSUING_BODY_PARENT": PARENT,
                                                          "REPORT_PLACE": PLACE}


def test_the_dashboard_offers_both_downloads_for_the_period_shown(programme, client, auth):
    auth.login(make_user(Role.ORGANIZER).phone)
    html = client.get("/reports?date_from=2026-01-01&date_to=2026-11-30").get_data(as_text=True)
    for name, path in (("Tải báo cáo (Excel)", "programme.xlsx"), ("Tải báo cáo (PDF)", "programme.pdf")):
        link = re.search(rf'href="([^"]+)" download>{re.escape(name)}<', html)
        assert link and link.group(1).startswith(f"/reports/{path}?"), name
        assert "date_from=2026-01-01" in link.group(1) and "date_to=2026-11-30" in link.group(1)
