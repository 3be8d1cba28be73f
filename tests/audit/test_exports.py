"""Every list of people that leaves the site is an audit event: background files when downloaded, registers, sheets."""

import sqlalchemy as sa

from lms.audit.models import AuditAction, AuditEvent, AuditObject
from lms.cohorts.services import create_cohort
from lms.core.extensions import db
from tests.attendance.test_export_jobs import classes, organizer, request_export, the_job  # noqa: F401 - fixtures
from tests.cohorts import fixtures
from tests.cohorts.importing.test_import_views import BAD, GOOD, token_of, upload
from tests.conftest import csrf_token
from tests.factories import CHUYEN_MY, make_course, make_organizer

__all__ = ["classes", "organizer"]


def _events():
    return db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.object_kind,
                                        AuditEvent.object_ref).order_by(AuditEvent.id)).all()


def test_a_background_export_is_an_event_when_its_file_is_downloaded(app, client, organizer):  # noqa: F811
    page_url = request_export(client, "xlsx")
    assert _events() == []  # asking for the file is not yet taking it away
    assert client.get(page_url + "/download").status_code == 200
    job = the_job()
    assert _events() == [(AuditAction.EXPORTED_LIST, organizer.id, AuditObject.ATTENDANCE_FILE,
                          f"{job.public_id} · xlsx")]


def test_the_report_the_summary_and_the_certificate_register_are_events(app, client, organizer, classes):  # noqa: F811
    code = classes[0].code
    assert client.get("/reports/attendance?course=viet-bai-ban-hang&commune=&date_from=2026-01-01&date_to="
                      "&file_format=csv").status_code == 200
    assert client.get(f"/cohorts/{code}/attendance-summary.csv").status_code == 200
    assert client.get("/certificates/export.xlsx").status_code == 200
    assert client.get("/certificates/export.pdf").status_code == 404
    assert _events() == [
        (AuditAction.EXPORTED_LIST, organizer.id, AuditObject.ATTENDANCE, "viet-bai-ban-hang · 2026-01-01 – … · csv"),
        (AuditAction.EXPORTED_LIST, organizer.id, AuditObject.ATTENDANCE_SUMMARY, f"{code} · csv"),
        (AuditAction.EXPORTED_LIST, organizer.id, AuditObject.CERTIFICATE_REGISTER, "xlsx"),
    ]


def test_the_import_error_workbook_and_activation_slips_are_events(app, client, auth):  # noqa: F811 - not that fixture
    create_cohort(code="PX-KT-01", course=make_course(), name="Khảm trai Chuyên Mỹ", commune_code=CHUYEN_MY)
    organizer = make_organizer()
    db.session.commit()
    auth.login(organizer.phone)
    bad = token_of(upload(client, fixtures.xlsx(BAD)))
    assert client.get(f"/cohorts/PX-KT-01/import/{bad}/errors.xlsx").status_code == 200
    good = token_of(upload(client, fixtures.xlsx(GOOD)))
    client.post(f"/cohorts/PX-KT-01/import/{good}/commit", data={"csrf_token": csrf_token(client)})
    slips = client.post("/cohorts/PX-KT-01/activation-slips", data={"csrf_token": csrf_token(client), "scope": "new"})
    assert slips.mimetype == "application/pdf"
    assert _events() == [(AuditAction.EXPORTED_LIST, organizer.id, AuditObject.IMPORT_ERRORS, "PX-KT-01"),
                         (AuditAction.ISSUED_CODES, organizer.id, AuditObject.ACTIVATION_SLIPS, "PX-KT-01 · 2")]
