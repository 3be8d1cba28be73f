"""Large attendance exports go through the job queue; the organizer who asked downloads the stored file."""

import io
import re
import tempfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from python_calamine import CalamineWorkbook

from lms.accounts.models import Role
from lms.attendance import export_jobs, exports
from lms.attendance.export_tasks import expire_attendance_exports_job
from lms.attendance.models import AttendanceExportJob, ExportStatus
from lms.cohorts.models import MemberStatus
from lms.cohorts.services import VIETNAM
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.storage import get_storage
from tests.attendance.helpers import log_in
from tests.attendance.test_exports import XLSX, A, L, P, add_session, add_trainee, make_cohort, mark
from tests.factories import make_course, make_user

#: Every large export below has 12 detail rows; one class alone has 6 and stays inline.
INLINE_ROWS = 6
ALL = "/reports/attendance?course=&commune=&date_from=&date_to=&file_format="


@pytest.fixture
def classes(app):
    """Two classes of two courses, each with three trainees and two held sessions: 12 detail rows in all."""
    app.config["ATTENDANCE_EXPORT_INLINE_ROWS"] = INLINE_ROWS
    today = utcnow().astimezone(VIETNAM).date()
    made = []
    for code, slug in (("PX-VBBH-01", "viet-bai-ban-hang"), ("PX-LIVE-01", "livestream-ban-hang")):
        cohort = make_cohort(make_course(slug, lessons=1), code)
        sessions = [add_session(cohort, today - timedelta(days=days)) for days in (14, 7)]
        trainees = [add_trainee(cohort, name) for name in ("Nguyễn Thị Hường", "Lê Văn An", "Trần Thị Ánh")]
        for session, status in zip(sessions, (P, L), strict=True):
            mark(session, trainees[0], status)
        mark(sessions[1], trainees[1], A)
        made.append(cohort)
    db.session.commit()
    return made


@pytest.fixture
def organizer(client, auth, classes):
    user = make_user(Role.ORGANIZER, full_name="Cán bộ Phú Xuyên")
    log_in(client, auth, user)
    return user


def the_job() -> AttendanceExportJob:
    db.session.expire_all()
    return db.session.scalars(sa.select(AttendanceExportJob)).one()


def request_export(client, file_format: str) -> str:
    """Ask for the export of every class and press its button; return the progress page it leads to."""
    page = client.get(ALL + file_format)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    assert 'action="/reports/attendance/jobs"' in html and db.session.scalar(
        sa.select(sa.func.count()).select_from(AttendanceExportJob)) == 0  # asking is not yet starting
    fields = dict(re.findall(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)"', html))
    response = client.post("/reports/attendance/jobs", data={k: html_unescape(v) for k, v in fields.items()})
    assert response.status_code == 303, response.status_code
    assert re.fullmatch(r"/reports/attendance/jobs/[\w-]{20,}", response.location)
    return response.location


def html_unescape(value: str) -> str:
    import html

    return html.unescape(value)


def sheets(data: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_a_large_xlsx_export_is_made_in_the_queue_and_matches_the_inline_one(app, client, organizer):
    page_url = request_export(client, "xlsx")
    page = client.get(page_url).get_data(as_text=True)
    assert "Your file is ready" in page and 'http-equiv="refresh"' not in page
    filename = exports.export_filename("xlsx")
    assert filename in page

    response = client.get(page_url + "/download")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert response.headers["Cache-Control"] == "private, no-store"
    assert filename in response.headers["Content-Disposition"]
    queued = sheets(response.data)

    job = the_job()
    assert (job.status, job.total_rows, job.rows_written) == (ExportStatus.DONE, 12, 12)
    assert job.file_key.startswith("exports/") and filename not in job.file_key
    assert job.file_size == len(response.data)
    assert job.expires_at - job.finished_at == timedelta(hours=24)

    app.config["ATTENDANCE_EXPORT_INLINE_ROWS"] = 1_000_000
    inline = client.get(ALL + "xlsx")
    assert inline.status_code == 200 and inline.mimetype == XLSX
    expected = sheets(inline.data)
    assert list(queued) == list(expected) == ["Điểm danh", "Tổng hợp", "Buổi học", "Ghi chú"]
    assert len(queued["Điểm danh"]) == 13  # header + 2 classes × 3 trainees × 2 sessions
    for name in ("Điểm danh", "Tổng hợp", "Buổi học"):
        assert queued[name] == expected[name], name
    assert queued["Ghi chú"][1:] == expected["Ghi chú"][1:]  # the first row is the time of export

    report = client.get("/reports/attendance").get_data(as_text=True)
    assert page_url in report and filename in report  # the organizer finds the file again


def test_a_large_csv_export_is_made_in_the_queue_too(app, client, organizer):
    page_url = request_export(client, "csv")
    response = client.get(page_url + "/download")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert exports.export_filename("csv") in response.headers["Content-Disposition"]
    assert the_job().file_format == "csv"

    app.config["ATTENDANCE_EXPORT_INLINE_ROWS"] = 1_000_000
    inline = client.get(ALL + "csv")
    assert inline.status_code == 200
    assert response.data == inline.data
    assert response.data.startswith(b"\xef\xbb\xbf") and len(response.data.decode("utf-8-sig").splitlines()) == 13


def test_one_class_stays_an_inline_download(client, organizer):
    response = client.get("/reports/attendance?course=viet-bai-ban-hang&commune=&date_from=&date_to=&file_format=xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert client.get("/cohorts/PX-LIVE-01/attendance.csv").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(AttendanceExportJob.id))) == 0


def test_the_progress_page_refreshes_itself_while_the_file_is_made(client, organizer):
    job, created = export_jobs.start_export_job(export_jobs.filters_to_json(), file_format="xlsx",
                                                filename="diem-danh-tat-ca.xlsx", total_rows=12, by=organizer)
    db.session.commit()
    again, created_again = export_jobs.start_export_job(export_jobs.filters_to_json(), file_format="xlsx",
                                                        filename="diem-danh-tat-ca.xlsx", total_rows=12, by=organizer)
    assert created and not created_again and again.id == job.id  # a double tap queues nothing more

    page = client.get(f"/reports/attendance/jobs/{job.public_id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "Waiting" in page and "0 of 12 rows" in page
    job.status, job.rows_written = ExportStatus.RUNNING, 6
    db.session.commit()
    page = client.get(f"/reports/attendance/jobs/{job.public_id}").get_data(as_text=True)
    assert 'value="50"' in page and "6 of 12 rows" in page
    # Not ready yet: the download leads back to the page.
    response = client.get(f"/reports/attendance/jobs/{job.public_id}/download")
    assert response.status_code == 302 and response.location.endswith(job.public_id)


def test_progress_is_committed_while_the_rows_are_written(app, client, organizer, monkeypatch):
    """Another connection (the progress page's) sees rows_written grow during the export."""
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 4)
    seen = []
    long_rows = exports.iter_long_rows

    def watched(f):
        for row in long_rows(f):
            with db.engine.connect() as connection:
                seen.append(tuple(connection.execute(
                    sa.select(AttendanceExportJob.status, AttendanceExportJob.rows_written)).one()))
            yield row

    monkeypatch.setattr(exports, "iter_long_rows", watched)
    request_export(client, "xlsx")
    assert {status for status, _ in seen} == {"running"}
    assert [rows for _, rows in seen] == [0] * 4 + [4] * 4 + [8] * 4
    assert the_job().rows_written == 12


def test_only_the_organizer_who_asked_or_an_admin_may_see_or_download(client, auth, organizer):
    page_url = request_export(client, "xlsx")
    auth.logout()
    for user in (make_user(Role.ORGANIZER), make_user(Role.TRAINEE), make_user(Role.INSTRUCTOR)):
        auth.login(user.phone)
        assert client.get(page_url).status_code == 404
        assert client.get(page_url + "/download").status_code == 404
        assert "Files prepared for you" not in client.get("/reports/attendance").get_data(as_text=True)
        auth.logout()
    assert client.get("/reports/attendance/jobs/not-a-real-id").status_code == 302  # anonymous: log in first
    auth.login(make_user(Role.ADMIN).phone)
    assert client.get(page_url).status_code == 200
    assert client.get(page_url + "/download").status_code == 200


def test_an_expired_file_is_deleted_and_its_page_says_so(client, organizer):
    page_url = request_export(client, "xlsx")
    job = the_job()
    key, storage = job.file_key, get_storage()
    assert storage.exists(key)
    expire_attendance_exports_job()
    assert storage.exists(key)  # not yet due
    job.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    # Past its time, the file is no longer given out even before the cleanup runs.
    assert client.get(page_url + "/download").status_code == 302
    expire_attendance_exports_job()
    job = the_job()
    assert job.status == ExportStatus.EXPIRED and job.file_key is None
    assert not storage.exists(key)
    page = client.get(page_url).get_data(as_text=True)
    assert "This file has expired" in page and "Make the file again" in page
    response = client.get(page_url + "/download")
    assert response.status_code == 302 and response.location.endswith(page_url)


def boom(*args, **kwargs):
    raise RuntimeError("the database went away")


def half_written_workbook(fileobj, f, on_progress=None):
    fileobj.write(b"PK\x03\x04 half a workbook")
    on_progress(4)
    boom()


@pytest.mark.parametrize("break_at", ["writing", "after storing"])
def test_a_failed_export_says_so_in_vietnamese_keeps_no_file_and_can_be_tried_again(
        client, auth, classes, monkeypatch, tmp_path, break_at):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    if break_at == "writing":
        monkeypatch.setattr(exports, "write_attendance_xlsx", half_written_workbook)
    else:
        monkeypatch.setattr(export_jobs, "finish_export_job", boom)
    auth.login(make_user(Role.ORGANIZER).phone)  # in Vietnamese, as organizers read it
    page_url = request_export(client, "xlsx")

    job = the_job()
    assert job.status == ExportStatus.FAILED and job.file_key is None and job.finished_at is not None
    assert job.error == "Máy chủ không hoàn thành được tệp. Hãy thử lại; nếu vẫn lỗi, hãy báo quản trị viên."
    assert get_storage().usage_bytes("exports") == 0
    assert not list((tmp_path / "instance" / "exports-partial").iterdir())
    page = client.get(page_url).get_data(as_text=True)
    assert "Không tạo được tệp" in page and job.error in page and "Làm lại" in page
    assert "the database went away" not in page
    assert client.get(page_url + "/download").status_code == 302

    monkeypatch.undo()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(page_url + "/retry", data={"csrf_token": token})
    assert response.status_code == 303 and response.location != page_url
    assert client.get(response.location + "/download").status_code == 200


def test_a_class_deleted_before_the_export_runs_fails_with_a_reason(client, organizer, classes):
    job, _ = export_jobs.start_export_job(export_jobs.filters_to_json(cohort=classes[0]), file_format="csv",
                                          filename="diem-danh-PX-VBBH-01.csv", total_rows=6, by=organizer)
    # The job finds the class again by its code when it runs: as if the class were deleted meanwhile.
    job.filters = {**job.filters, "cohort_code": "PX-KHONG-CO"}
    db.session.commit()
    from lms.attendance.export_tasks import export_attendance_job

    export_attendance_job(job.id)
    job = the_job()
    assert job.status == ExportStatus.FAILED and "PX-KHONG-CO" in job.error
    assert "PX-KHONG-CO" in client.get(f"/reports/attendance/jobs/{job.public_id}").get_data(as_text=True)


def test_count_is_the_number_of_detail_rows(app, classes):
    cohort = classes[0]
    today = utcnow().astimezone(VIETNAM).date()
    add_session(cohort, today - timedelta(days=3), cancelled=True)
    add_session(cohort, today + timedelta(days=3))  # not held yet
    add_trainee(cohort, "Phạm Văn Dũng", status=MemberStatus.WITHDRAWN)
    make_cohort(make_course("khong-hoc-vien", lessons=1), "PX-TRONG-01")  # no trainees, no sessions
    db.session.commit()
    for filters in ({}, {"cohort": cohort}, {"course_slug": "livestream-ban-hang"},
                    {"date_from": today - timedelta(days=10)}, {"date_to": today - timedelta(days=30)}):
        f = exports.make_filter(**filters)
        assert exports.count_attendance_rows(f) == sum(1 for _ in exports.iter_long_rows(f)), filters
    assert exports.count_attendance_rows(exports.make_filter()) == 12


def test_the_cli_still_writes_directly(app, runner, classes, tmp_path):
    app.config["ATTENDANCE_EXPORT_INLINE_ROWS"] = 1
    output = tmp_path / "all.xlsx"
    result = runner.invoke(args=["attendance", "export", "--all", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert len(CalamineWorkbook.from_path(str(output)).get_sheet_by_name("Điểm danh").to_python()) == 13
    assert db.session.scalar(sa.select(sa.func.count(AttendanceExportJob.id))) == 0


def test_a_large_export_starts_only_from_its_own_form(client, organizer):
    # A link or an image elsewhere cannot start one: the GET only offers the button, the POST needs its token.
    assert client.get(ALL + "xlsx").status_code == 200
    payload = {"file_format": "xlsx", "filters": '{"course_slug": null}'}
    assert client.post("/reports/attendance/jobs", data=payload).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceExportJob)) == 0
