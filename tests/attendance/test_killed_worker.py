"""An export whose worker died (kill -9, out of memory) fails within minutes, says so, keeps no file and can be retried."""

import re
from datetime import timedelta

from lms.accounts.models import Role
from lms.attendance import export_jobs
from lms.attendance.models import AttendanceExportJob, ExportStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.storage import get_storage
from lms.web.tasks import recover_stale_jobs_job
from tests.attendance.test_export_jobs import (  # noqa: F401 - fixtures
    ALL,
    classes,
    html_unescape,
    organizer,
    request_export,
    the_job,
)
from tests.factories import make_user
from tests.killed_worker import killed_mid_job

WORKER_LOST = "Bộ xử lý nền đã dừng giữa chừng khi đang tạo tệp, nên không giữ lại tệp nào. Hãy bấm Làm lại."


def dead_export(by, *, silent_for: timedelta) -> AttendanceExportJob:
    """Leave what a worker killed mid-export leaves: a running job, a partial file, perhaps a stored file."""
    job, _ = export_jobs.start_export_job(export_jobs.filters_to_json(), file_format="xlsx",
                                          filename="diem-danh-tat-ca.xlsx", total_rows=12, by=by)
    job.status, job.rows_written, job.heartbeat_at = ExportStatus.RUNNING, 4, utcnow() - silent_for
    db.session.commit()
    export_jobs.partial_path(job).write_bytes(b"")  # the 0-byte start of the workbook
    get_storage().save_bytes(export_jobs.stored_key(job), b"PK half", "application/zip")  # stored, not yet recorded
    return job


def ask_again(client) -> str:
    """Ask for the same export of every class and press its button; return the page it leads to."""
    html = client.get(ALL + "xlsx").get_data(as_text=True)
    fields = dict(re.findall(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)"', html))
    response = client.post("/reports/attendance/jobs", data={k: html_unescape(v) for k, v in fields.items()})
    assert response.status_code == 303
    return response.location


def retry(client, page_url: str, page: str):
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(page_url + "/retry", data={"csrf_token": token})


def test_an_export_whose_worker_died_says_so_keeps_no_file_and_is_tried_again(client, auth, classes):  # noqa: F811
    user = make_user(Role.ORGANIZER)
    auth.login(user.phone)  # in Vietnamese, as organizers read it
    job = dead_export(user, silent_for=timedelta(minutes=3))
    partial = export_jobs.partial_path(job)
    page_url = f"/reports/attendance/jobs/{job.public_id}"

    page = client.get(page_url).get_data(as_text=True)
    assert WORKER_LOST in page and "Làm lại" in page
    assert '<meta http-equiv="refresh"' not in page
    job = the_job()
    assert job.status == ExportStatus.FAILED and job.file_key is None and job.finished_at is not None
    assert not partial.exists()
    assert get_storage().usage_bytes("exports") == 0

    response = retry(client, page_url, page)  # refused while it was "running"; allowed now
    assert response.status_code == 303 and response.location != page_url
    assert client.get(response.location + "/download").status_code == 200


def test_asking_again_for_a_dead_workers_export_starts_a_new_one(client, organizer):  # noqa: F811
    dead = dead_export(organizer, silent_for=timedelta(minutes=3))
    page_url = ask_again(client)
    assert not page_url.endswith(dead.public_id)  # not the same dead job again
    db.session.expire_all()
    assert db.session.get(AttendanceExportJob, dead.id).status == ExportStatus.FAILED
    assert client.get(page_url + "/download").status_code == 200


def test_a_running_export_with_a_fresh_heartbeat_is_left_alone(client, organizer, app):  # noqa: F811
    job = dead_export(organizer, silent_for=timedelta(seconds=30))
    assert recover_stale_jobs_job.call_local()["attendance exports"] == 0
    page = client.get(f"/reports/attendance/jobs/{job.public_id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert the_job().status == ExportStatus.RUNNING and export_jobs.partial_path(job).exists()
    app.config["JOBS_STALE_AFTER_S"] = 20  # the limit is a setting
    assert recover_stale_jobs_job.call_local()["attendance exports"] == 1  # the periodic job, with no page open
    assert the_job().status == ExportStatus.FAILED and not export_jobs.partial_path(job).exists()


def test_kill_9_of_the_real_worker_mid_export(app, client, organizer, tmp_path):  # noqa: F811
    """A real `lms worker` takes the export, writes part of the file and is killed: the job comes back."""
    from lms.core import jobs

    with killed_mid_job(app, "export", tmp_path) as kill_when_started:
        page_url = request_export(client, "xlsx")  # queued in SQLite, taken by the worker
        kill_when_started()
        assert "export_attendance_job" not in [t.name for t in jobs.huey.pending()]  # huey's SQLite queue forgot the task when the worker took it
    job = the_job()
    assert job.status == ExportStatus.RUNNING and job.rows_written == 4 and job.heartbeat_at is not None
    partial = export_jobs.partial_path(job)
    assert partial.read_bytes().startswith(b"PK")  # what the worker left behind

    app.config["JOBS_STALE_AFTER_S"] = 0  # as if the 2 minutes had passed
    page = client.get(page_url).get_data(as_text=True)
    assert "The background worker stopped while making the file" in page
    assert the_job().status == ExportStatus.FAILED and not partial.exists()
    response = retry(client, page_url, page)
    assert response.status_code == 303
    assert client.get(response.location + "/download").status_code == 200

