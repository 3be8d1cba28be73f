"""Downloads of the report for the authorities, "Báo cáo kết quả bồi dưỡng", as XLSX and PDF.

Routes on the reports blueprint, for the period, commune and course the dashboard shows.
"""

import io
import tempfile

from flask import abort, current_app, request, send_file
from flask_login import current_user

from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.core.db import writes_database
from lms.core.extensions import db
from lms.core.params import int_arg
from lms.core.places import get_commune
from lms.core.responses import NO_STORE, XLSX_MIMETYPE
from lms.courses.models import Course
from lms.reports import programme_report, snapshots
from lms.reports.access import check_commune_in_scope, current_scope, programme_staff_required
from lms.reports.forms import PeriodForm
from lms.reports.views import bp


@bp.get("/reports/programme.xlsx")
@writes_database
@programme_staff_required
def programme_xlsx():
    """Download the report for the authorities as a workbook, one sheet per breakdown and a notes sheet."""
    report, filters = _report("xlsx")
    # xlsxwriter needs a seekable file; an anonymous temp file disappears once sent.
    tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - send_file closes it once sent
    try:
        programme_report.write_programme_xlsx(report, tmp)
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return _sent(send_file(tmp, mimetype=XLSX_MIMETYPE, as_attachment=True,
                           download_name=programme_report.report_filename("xlsx", report.period, **filters)))


@bp.get("/reports/programme.pdf")
@writes_database
@programme_staff_required
def programme_pdf():
    """Download the report for the authorities as an A4 PDF with the national header and signature blocks."""
    report, filters = _report("pdf")
    pdf = programme_report.render_programme_pdf(report)
    return _sent(send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                           download_name=programme_report.report_filename("pdf", report.period, **filters)))


def _report(file_format: str):
    """Read the period, commune and course asked for, check them against the reader's scope, gather the report."""
    form = PeriodForm(formdata=request.args)
    if not form.validate():
        abort(400)
    commune_code = int_arg("commune", None, min=1)
    if commune_code is not None and get_commune(commune_code) is None:
        abort(404)
    scope = current_scope()
    check_commune_in_scope(scope, commune_code)
    course_id = int_arg("course", None, min=1)
    course = db.session.get(Course, course_id) if course_id else None
    if course_id and course is None:
        abort(404)
    period = form.period()
    report = programme_report.build_programme_report(
        period, issuer=programme_report.Issuer.from_config(current_app.config), scope=scope,
        commune_code=commune_code, course_id=course_id, counted=_counted_by_the_worker(period, scope))
    parts = [f"{period.first.isoformat()}–{period.last.isoformat()}", commune_code, course_id, file_format]
    record_event(AuditAction.DOWNLOADED_REPORT, current_user, object_kind=AuditObject.PROGRAMME_REPORT,
                 object_ref=" · ".join(str(p) for p in parts if p), client_address=request.remote_addr)
    db.session.commit()
    return report, {"commune_code": commune_code, "course_slug": course.slug if course else None}


def _counted_by_the_worker(period, scope):
    """Return the worker's figures when the link came from a dashboard that showed them (its moment is theirs)."""
    if period.as_of is None:
        return None
    snapshot = snapshots.latest_snapshot(period)
    if snapshot is None or snapshot.as_of != period.as_of:
        return None
    return snapshots.SnapshotFigures(snapshot, period, scope)


def _sent(response):
    response.headers["Cache-Control"] = NO_STORE
    return response
