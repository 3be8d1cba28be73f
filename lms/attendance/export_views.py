"""Attendance downloads for organizers (XLSX, CSV) and printable sign-in sheets.

Small exports are made in the request. Large ones (more detail rows than ATTENDANCE_EXPORT_INLINE_ROWS)
go to the job queue: the organizer follows a progress page and downloads the stored file from it.
"""

import io
import json
import tempfile
from datetime import date

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import format_date, format_datetime
from flask_login import current_user, login_required
from wtforms import DateField, HiddenField, SelectChoice, SelectField
from wtforms.validators import AnyOf, DataRequired, Optional, ValidationError

from lms.accounts.access import role_required
from lms.accounts.models import Role
from lms.attendance import export_jobs, exports
from lms.attendance.access import (
    get_any_cohort_or_404,
    get_export_job_or_404,
    get_session_for_sheet_or_404,
)
from lms.attendance.export_tasks import export_attendance_job
from lms.attendance.models import AttendanceExportJob, ExportStatus
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.cohorts.models import Cohort
from lms.core.db import utcnow, writes_database
from lms.core.extensions import db
from lms.core.forms import FlaskForm
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.responses import NO_STORE, XLSX_MIMETYPE
from lms.core.text import vietnamese_key
from lms.core.timezone import VIETNAM
from lms.courses.models import Course

bp = Blueprint("attendance_exports", __name__)



class AttendanceReportForm(FlaskForm):
    """Which classes and days a download covers; read from the query string."""

    class Meta:
        csrf = False  # a GET form that only reads

    course = SelectField(_l("Course"), validators=[Optional()])
    commune = SelectField(_l("Commune where the class is held"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    file_format = SelectField(_l("File type"), default="xlsx",
                              choices=[SelectChoice("xlsx", "Excel (.xlsx)"), SelectChoice("csv", "CSV (.csv)")])

    def fill_choices(self):
        courses = db.session.execute(sa.select(Course.slug, Course.title).order_by(Course.title)).all()
        self.course.choices = [SelectChoice("", _l("All courses"))] + [SelectChoice(s, t) for s, t in courses]
        codes = db.session.scalars(
            sa.select(Cohort.commune_code).where(Cohort.commune_code.is_not(None)).distinct()
        ).all()
        communes = sorted(((str(code), exports.commune_name(code)) for code in codes),
                          key=lambda choice: vietnamese_key(choice[1]))
        self.commune.choices = [SelectChoice("", _l("All communes"))] + [SelectChoice(*c) for c in communes]

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date cannot be before the start date."))


class QueueExportForm(FlaskForm):
    """The filters of a large export, carried from the report form to the button that starts it."""

    file_format = HiddenField(validators=[AnyOf(["xlsx", "csv"])])
    filters = HiddenField(validators=[DataRequired()])


@bp.get("/reports/attendance")
@writes_database
@role_required(Role.ORGANIZER)
def attendance_report():
    """Show the report form; with a file type chosen, download the report."""
    form = AttendanceReportForm(formdata=request.args or None)
    form.fill_choices()
    if "file_format" in request.args and form.validate():
        filters = {"course_slug": form.course.data or None,
                   "commune_code": int(form.commune.data) if form.commune.data else None,
                   "date_from": form.date_from.data, "date_to": form.date_to.data}
        return _download(form.file_format.data, filters)
    export_jobs.recover_stale_exports()  # the list below shows no dead worker's export as still running
    db.session.commit()
    return render_template("attendance_exports/report.html", form=form,
                           recent_jobs=export_jobs.recent_export_jobs(current_user))


@bp.post("/reports/attendance/jobs")
@role_required(Role.ORGANIZER)
def queue_export():
    """Prepare a large export in the background, then follow it on its page."""
    form = QueueExportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        filters = export_jobs.filter_arguments(json.loads(form.filters.data))
        checked = exports.make_filter(**filters)
    except (ValueError, TypeError, AttributeError):
        abort(400)
    except exports.ExportError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".attendance_report"))
    return _queue_export(form.file_format.data, filters, _export_filename(form.file_format.data, filters),
                         exports.count_attendance_rows(checked))


@bp.get("/reports/attendance/jobs/<public_id>")
@login_required
def export_job(public_id: str):
    """Show how far a large export has gone (the page refreshes itself), then its download button."""
    job = get_export_job_or_404(public_id, current_user)
    db.session.commit()  # an export whose worker died was just marked failed: keep it so
    return render_template("attendance_exports/job.html", job=job, status=job.effective_status(),
                           facts=_export_facts(job), keep_hours=current_app.config["ATTENDANCE_EXPORT_KEEP_HOURS"],
                           waiting_s=(utcnow() - job.created_at).total_seconds())


@bp.get("/reports/attendance/jobs/<public_id>/download")
@writes_database
@login_required
def download_export(public_id: str):
    """Send a finished export's stored file, under the name the inline download gives."""
    from lms.core.storage import get_storage

    job = get_export_job_or_404(public_id, current_user)
    if job.effective_status() != ExportStatus.DONE or not job.file_key:
        return redirect(url_for(".export_job", public_id=job.public_id))
    try:
        fileobj = get_storage().open(job.file_key)
    except FileNotFoundError:
        abort(404)
    _record_export(AuditObject.ATTENDANCE_FILE, f"{job.public_id} · {job.file_format}")
    # conditional: a phone on 3G can resume with a Range request (local storage; S3 sends it whole).
    response = send_file(fileobj, mimetype=export_jobs.MIMETYPES[job.file_format], as_attachment=True,
                         download_name=job.filename, conditional=True)
    if response.content_length is None and job.file_size is not None:
        response.content_length = job.file_size
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.post("/reports/attendance/jobs/<public_id>/retry")
@login_required
def retry_export(public_id: str):
    """Make a failed or expired export again in the queue, with the same filters, counted as of now."""
    job = get_export_job_or_404(public_id, current_user)
    if job.effective_status() not in {ExportStatus.FAILED, ExportStatus.EXPIRED}:
        return redirect(url_for(".export_job", public_id=job.public_id))
    try:
        filters = export_jobs.filter_arguments(job.filters or {})
        checked = exports.make_filter(**filters)
    except exports.ExportError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".export_job", public_id=job.public_id))
    # Always through the queue, even if it has become small: the organizer follows the same page to the file.
    return _queue_export(job.file_format, filters, _export_filename(job.file_format, filters),
                         exports.count_attendance_rows(checked))


@bp.get("/cohorts/<code>/attendance.xlsx")
@writes_database
@role_required(Role.ORGANIZER)
def cohort_attendance_xlsx(code):
    """Download one class's attendance workbook."""
    return _download("xlsx", {"cohort": get_any_cohort_or_404(code)})


@bp.get("/cohorts/<code>/attendance.csv")
@writes_database
@role_required(Role.ORGANIZER)
def cohort_attendance_csv(code):
    """Download one class's attendance, one row per trainee and session, as CSV."""
    return _download("csv", {"cohort": get_any_cohort_or_404(code)})


@bp.get("/cohorts/<code>/attendance-summary.csv")
@writes_database
@role_required(Role.ORGANIZER)
def cohort_attendance_summary_csv(code):
    """Download one class's roster as CSV: one row per trainee, a code per session, totals and the rate."""
    cohort = get_any_cohort_or_404(code)
    checked = exports.make_filter(cohort=cohort)
    filename = exports.export_filename("csv", cohort=cohort).replace("diem-danh-", "tong-hop-diem-danh-", 1)
    _record_export(AuditObject.ATTENDANCE_SUMMARY, f"{cohort.code} · csv")
    # One row per trainee, never more than the class's size: always made in the request.
    response = Response(stream_with_context(exports.iter_roster_csv(checked)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.get("/sessions/<int:session_id>/sign-in-sheet.pdf")
@writes_database
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def sign_in_sheet(session_id):
    """Print the sign-in sheet of one session."""
    session = get_session_for_sheet_or_404(session_id, current_user)
    info, trainees = exports.sign_in_sheet_data(session)
    _record_export(AuditObject.SIGN_IN_SHEET, f"{session.cohort.code} · {session.id}")
    day = session.starts_at.astimezone(VIETNAM).date().isoformat()
    from lms.attendance.sheets import (
        render_sign_in_sheet,  # reportlab is loaded only when a PDF is asked for
    )

    response = send_file(io.BytesIO(render_sign_in_sheet(info, trainees)), mimetype="application/pdf",
                         download_name=f"ky-ten-{session.cohort.code}-{day}.pdf")
    response.headers["Cache-Control"] = NO_STORE
    return response


def _export_facts(job: AttendanceExportJob) -> list[tuple[str, str]]:
    """Return (label, value) pairs saying what an export covers, as the organizer chose it."""
    stored = job.filters or {}
    everything = _("All")
    course = stored.get("course_slug")
    if course:
        course = db.session.scalar(sa.select(Course.title).where(Course.slug == course)) or course
    facts = [(_("File type"), "Excel (.xlsx)" if job.file_format == "xlsx" else "CSV (.csv)")]
    if stored.get("cohort_code"):
        facts.append((_("Class"), stored["cohort_code"]))
    facts += [
        (_("Course"), course or everything),
        (_("Commune where the class is held"),
         exports.commune_name(stored["commune_code"]) if stored.get("commune_code") else everything),
        (_("From"), format_date(date.fromisoformat(stored["date_from"])) if stored.get("date_from") else "—"),
        (_("To"), format_date(date.fromisoformat(stored["date_to"])) if stored.get("date_to") else "—"),
        (_("Asked for at"), format_datetime(job.created_at, "short")),
    ]
    return facts


def _download(file_format: str, filters: dict) -> Response:
    """Make the export and send it (CSV streamed as it is written, XLSX from a temp file), or queue a large one."""
    try:
        checked = exports.make_filter(**filters)
    except exports.ExportError as exc:
        abort(400, str(exc))
    filename = _export_filename(file_format, filters)
    total_rows = exports.count_attendance_rows(checked)
    if export_jobs.exceeds_inline_limit(total_rows):
        # Starting a job and storing a file is a change: it takes a POST with its CSRF token,
        # so no link or image elsewhere can set one off on the organizer's behalf.
        form = QueueExportForm(data={"file_format": file_format,
                                     "filters": json.dumps(export_jobs.filters_to_json(**filters))})
        return render_template("attendance_exports/confirm_job.html", form=form, filename=filename,
                               total_rows=total_rows)
    _record_export(AuditObject.ATTENDANCE, _export_object(file_format, filters))
    if file_format == "csv":
        response = Response(stream_with_context(exports.iter_attendance_csv(checked)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        # xlsxwriter needs a seekable file; an anonymous temp file disappears once sent.
        tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - send_file closes it once sent
        try:
            exports.write_attendance_xlsx(tmp, checked)
        except BaseException:
            tmp.close()
            raise
        tmp.seek(0)
        response = send_file(tmp, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = NO_STORE
    return response


def _record_export(kind: AuditObject, object_ref: str) -> None:
    """Note in the audit log that the current user took a list of people away, and commit it before sending."""
    record_event(AuditAction.EXPORTED_LIST, current_user, object_kind=kind, object_ref=object_ref,
                 client_address=request.remote_addr)
    db.session.commit()


def _export_object(file_format: str, filters: dict) -> str:
    """Say by codes and dates which attendance an inline export covers: a class, or the report's filters."""
    if filters.get("cohort") is not None:
        return f"{filters['cohort'].code} · {file_format}"
    days = ""
    if filters.get("date_from") or filters.get("date_to"):
        days = f"{filters.get('date_from') or '…'} – {filters.get('date_to') or '…'}"
    parts = [filters.get("course_slug"), filters.get("commune_code"), days]
    return " · ".join(str(part) for part in [*parts, file_format] if part)


def _export_filename(file_format: str, filters: dict) -> str:
    return exports.export_filename(file_format, cohort=filters.get("cohort"), course_slug=filters.get("course_slug"),
                                   commune_code=filters.get("commune_code"))


def _queue_export(file_format: str, filters: dict, filename: str, total_rows: int) -> Response:
    """Record a large export, hand it to the worker and send the organizer to its progress page."""
    job, created = export_jobs.start_export_job(export_jobs.filters_to_json(**filters), file_format=file_format,
                                                filename=filename, total_rows=total_rows, by=current_user)
    db.session.commit()
    if created:
        export_attendance_job(job.id)
    return redirect(url_for(".export_job", public_id=job.public_id), code=303)
