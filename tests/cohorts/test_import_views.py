"""The import pages: upload, check, import, progress and activation slips, as an organizer sees them."""

import io
import re

import pytest
import python_calamine
import sqlalchemy as sa
from flask_babel import force_locale

from lms.accounts import services as accounts
from lms.accounts.models import Role, User
from lms.cohorts import import_tasks, importing
from lms.cohorts.models import CohortMember
from lms.cohorts.services import create_cohort
from lms.core.extensions import db
from tests.cohorts import fixtures
from tests.conftest import csrf_token
from tests.factories import CHUYEN_MY, make_course, make_user

GOOD = [["DANH SÁCH HỌC VIÊN"], ["Họ và tên", "Số điện thoại", "Ngày sinh", "Xã/Phường"],
        ["Nguyễn Thị Hường", "0912345678", "15/03/1985", "Chuyên Mỹ"],
        ["Trần Văn Đức", 983111222.0, "", "xa chuyen my"]]
BAD = [["Họ và tên", "Số điện thoại", "Ngày sinh"],
       ["Nguyễn Thị Hường", "0912345678", "31/02/1990"],
       ["=HYPERLINK(\"http://x.example\")", "12345", ""]]


@pytest.fixture
def cohort(app):
    cohort = create_cohort(code="PX-KT-01", course=make_course(), name="Khảm trai Chuyên Mỹ", commune_code=CHUYEN_MY)
    db.session.commit()
    return cohort


@pytest.fixture
def organizer(app, client, auth):
    user = make_user(Role.ORGANIZER, full_name="Bà Tổ Chức", phone="0900000002")
    auth.login(user.phone)
    with client.session_transaction() as session:
        session["lang"] = "en"
    return user


def upload(client, data: bytes, filename: str = "danh-sach.xlsx", code: str = "PX-KT-01"):
    token = csrf_token(client, f"/cohorts/{code}/import")
    return client.post(f"/cohorts/{code}/import", data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    return response.headers["Location"].rstrip("/").split("/")[-1]


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_upload_page_explains_and_offers_a_template(client, organizer, cohort):
    page = client.get("/cohorts/PX-KT-01/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "/cohorts/PX-KT-01/import/template.xlsx" in page
    template = client.get("/cohorts/PX-KT-01/import/template.xlsx")
    assert template.status_code == 200 and template.data.startswith(b"PK")
    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(template.data)).get_sheet_by_index(0)
    assert sheet.to_python()[0] == ["Họ và tên", "Số điện thoại", "Ngày sinh", "Xã/Phường", "Thôn/Xóm",
                                    "Nghề / Tên cơ sở", "Email"]


def test_upload_check_import_then_print_slips(client, organizer, cohort, app):
    response = upload(client, fixtures.xlsx(GOOD))
    assert response.status_code == 302
    token = token_of(response)
    stored = list((app.instance_path and __import__("pathlib").Path(app.instance_path) / "imports").glob("*.bin"))
    assert [p.name for p in stored] == [f"{token}.bin"]  # a generated name, never the uploaded one
    assert count(User) == 1  # the check writes nothing

    page = client.get(f"/cohorts/PX-KT-01/import/{token}").get_data(as_text=True)
    assert "Họ và tên" in page and "Full name" in page  # the mapping
    assert "column names on row 2" in page
    assert "Import 2 trainees" in page and "disabled" not in page

    response = client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/import/{token}/progress")
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Trainees imported" in done and "2 trainees joined the class." in done
    assert count(CohortMember) == 2
    assert accounts.find_user_by_phone("0983111222").full_name == "Trần Văn Đức"
    assert not (import_tasks._folder() / f"{token}.bin").exists()  # personal data not kept once imported

    status = client.get(f"/cohorts/PX-KT-01/import/{token}/status").get_json()
    assert status["state"] == "done" and status["counts"]["new"] == 2

    slips = client.post("/cohorts/PX-KT-01/activation-slips", data={"csrf_token": csrf_token(client), "scope": "new"})
    assert slips.status_code == 200 and slips.mimetype == "application/pdf"
    assert slips.data.startswith(b"%PDF")
    assert slips.headers["Cache-Control"] == "no-store"
    trainee = accounts.find_user_by_phone("0912345678")
    assert trainee.activation_code_hash is not None and trainee.password_hash is None

    again = client.post("/cohorts/PX-KT-01/activation-slips", data={"csrf_token": csrf_token(client), "scope": "new"})
    assert again.status_code == 302  # everyone has a code now: nothing to print


def test_a_file_with_errors_shows_each_error_and_cannot_be_imported(client, organizer, cohort):
    token = token_of(upload(client, fixtures.xlsx(BAD)))
    page = client.get(f"/cohorts/PX-KT-01/import/{token}").get_data(as_text=True)
    assert "Row 2, column C (Ngày sinh): “31/02/1990” is not a real date" in page
    assert "Row 3, column B (Số điện thoại): “12345” is not a Vietnamese phone number." in page
    assert "looks like a spreadsheet formula" in page
    # Both rows have errors: the (disabled) button counts only the valid rows.
    assert re.search(r"<button[^>]*disabled[^>]*>\s*Import 0 valid trainees", page)

    response = client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert count(User) == 1 and count(CohortMember) == 0

    errors = client.get(f"/cohorts/PX-KT-01/import/{token}/errors.xlsx")
    assert errors.status_code == 200 and "attachment" in errors.headers["Content-Disposition"]
    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(errors.data)).get_sheet_by_index(0).to_python()
    assert sheet[0] == ["Họ và tên", "Số điện thoại", "Ngày sinh", "Errors"]
    assert sheet[2][0] == "=HYPERLINK(\"http://x.example\")"
    assert "Column B (Số điện thoại)" in sheet[2][3]


def test_the_disabled_import_button_counts_only_the_valid_rows(client, organizer, cohort):
    token = token_of(upload(client, fixtures.xlsx(GOOD + [["Lê Thị Mai", "12345", "", "Chuyên Mỹ"]])))
    page = client.get(f"/cohorts/PX-KT-01/import/{token}").get_data(as_text=True)
    assert re.search(r'<button[^>]*disabled data-valid-rows="2">\s*Import 2 valid trainees', page)
    with client.session_transaction() as session:
        session["lang"] = "vi"
    assert "Nhập 2 học viên hợp lệ" in client.get(f"/cohorts/PX-KT-01/import/{token}").get_data(as_text=True)


def test_a_file_that_is_not_a_spreadsheet_is_refused_on_the_form(client, organizer, cohort, app):
    response = upload(client, fixtures.PDF_BYTES, filename="danh-sach.xlsx")
    assert response.status_code == 200
    assert "This file is a PDF document, not a spreadsheet." in response.get_data(as_text=True)
    assert not list((import_tasks._folder()).glob("*.bin"))


@pytest.fixture
def aborting_file(monkeypatch):
    """A .xls that makes calamine abort its process, let past the .xls checks as an unknown damage would be."""
    data = fixtures.xls_wrapping_dimensions()
    if not fixtures.calamine_aborts_on(data):
        pytest.skip("this python-calamine no longer aborts on the wrapping DIMENSIONS record")
    monkeypatch.setattr(importing, "check_xls_extents", lambda data: None)
    return data


def test_a_file_that_aborts_the_spreadsheet_reader_gets_the_import_error_on_the_form(client, organizer, cohort,
                                                                                      aborting_file):
    with client.session_transaction() as session:
        session["lang"] = "vi"
    response = upload(client, aborting_file, filename="danh-sach.xls")
    assert response.status_code == 200
    assert "Không đọc được tệp này như một bảng tính." in response.get_data(as_text=True)
    assert not list((import_tasks._folder()).glob("*.bin"))
    assert upload(client, fixtures.xlsx(GOOD)).status_code == 302  # the same worker reads the next file


def test_the_import_job_survives_a_file_that_aborts_the_spreadsheet_reader(organizer, cohort, aborting_file):
    token = import_tasks.save_upload(aborting_file, cohort_id=cohort.id, user_id=organizer.id, filename="ds.xls",
                                     report={})
    with force_locale("vi"):
        status = import_tasks.run_import(token)
    assert status["state"] == import_tasks.ImportState.FAILED
    assert status["message"].startswith("Không đọc được tệp này như một bảng tính.")
    assert count(CohortMember) == 0


def test_a_large_file_is_imported_by_the_job_with_a_progress_page(client, organizer, cohort):
    rows = [["Họ và tên", "SĐT"]] + [[f"Học Viên {i}", f"0913{i:06d}"] for i in range(1, 1_202)]
    token = token_of(upload(client, fixtures.xlsx(rows)))
    page = client.get(f"/cohorts/PX-KT-01/import/{token}").get_data(as_text=True)
    assert "imported in the background" in page
    response = client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
    assert response.headers["Location"].endswith("/progress")
    # The test app runs jobs at once; the page and the JSON say where the job is.
    assert client.get(f"/cohorts/PX-KT-01/import/{token}/status").get_json()["state"] == "done"
    assert count(CohortMember) == 1_201
    # A second click changes nothing.
    client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
    assert count(CohortMember) == 1_201


def test_the_progress_page_reloads_itself_while_the_import_runs(client, organizer, cohort):
    token = token_of(upload(client, fixtures.xlsx(GOOD)))
    import_tasks.write_status(token, import_tasks.ImportState.RUNNING, progress=0.4)
    page = client.get(f"/cohorts/PX-KT-01/import/{token}/progress").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert 'value="40"' in page
    assert client.get(f"/cohorts/PX-KT-01/import/{token}").status_code == 302  # no second import meanwhile


def test_an_import_whose_worker_died_can_be_started_again(client, organizer, cohort):
    token = token_of(upload(client, fixtures.xlsx(GOOD)))
    import_tasks.write_status(token, import_tasks.ImportState.RUNNING, progress=0.4,
                              updated_at="2026-01-01T00:00:00+00:00")
    client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
    assert import_tasks.read_status(token)["state"] == "done"
    assert count(CohortMember) == 2


def test_another_organizer_cannot_open_someone_elses_upload(client, organizer, cohort, auth):
    token = token_of(upload(client, fixtures.xlsx(GOOD)))
    auth.logout()
    other = make_user(Role.ORGANIZER, phone="0900000009")
    auth.login(other.phone)
    assert client.get(f"/cohorts/PX-KT-01/import/{token}").status_code == 404
    assert client.get(f"/cohorts/PX-KT-01/import/{token}/errors.xlsx").status_code == 404
    assert client.post(f"/cohorts/PX-KT-01/import/{token}/commit",
                       data={"csrf_token": csrf_token(client)}).status_code == 404


def test_an_upload_belongs_to_its_class(client, organizer, cohort):
    create_cohort(code="PX-KT-02", course=cohort.course, name="Lớp khác")
    db.session.commit()
    token = token_of(upload(client, fixtures.xlsx(GOOD)))
    assert client.get(f"/cohorts/PX-KT-02/import/{token}").status_code == 404
    assert client.get("/cohorts/NO-SUCH/import").status_code == 404
    assert client.get("/cohorts/PX-KT-01/import/..%2F..%2Fsecret_key").status_code == 404


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.INSTRUCTOR])
def test_trainees_and_instructors_cannot_import(client, auth, cohort, role):
    user = make_user(role, phone="0900000005")
    auth.login(user.phone)
    assert client.get("/cohorts/PX-KT-01/import").status_code == 403
    assert client.get("/cohorts/PX-KT-01/import/template.xlsx").status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/cohorts/PX-KT-01/activation-slips", data={"csrf_token": token}).status_code == 403


def test_an_admin_may_import(client, auth, cohort):
    admin = make_user(Role.ADMIN, phone="0900000001")
    auth.login(admin.phone)
    assert client.get("/cohorts/PX-KT-01/import").status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, cohort):
    response = client.get("/cohorts/PX-KT-01/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_posting_without_the_csrf_token_is_refused(client, organizer, cohort):
    response = client.post("/cohorts/PX-KT-01/import", data={"file": (io.BytesIO(fixtures.xlsx(GOOD)), "a.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert client.post("/cohorts/PX-KT-01/activation-slips", data={"scope": "all"}).status_code == 400
