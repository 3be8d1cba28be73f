"""Attendance downloads for organizers (XLSX, CSV) and printable sign-in sheets."""

import io
import tempfile

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    send_file,
    stream_with_context,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from lms.accounts.access import role_required
from lms.accounts.models import Role
from lms.attendance import exports
from lms.cohorts.models import ClassSession, Cohort
from lms.cohorts.services import VIETNAM, get_cohort_by_code
from lms.courses.models import Course
from lms.extensions import db
from lms.i18n import lazy_gettext as _l
from lms.text import vietnamese_key

bp = Blueprint("attendance_exports", __name__)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Attendance names people and their phones: no shared cache may keep a copy.
NO_STORE = "private, no-store"


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


@bp.get("/reports/attendance")
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
    return render_template("attendance_exports/report.html", form=form)


@bp.get("/cohorts/<code>/attendance.xlsx")
@role_required(Role.ORGANIZER)
def cohort_attendance_xlsx(code):
    """Download one class's attendance workbook."""
    return _download("xlsx", {"cohort": _get_cohort_or_404(code)})


@bp.get("/cohorts/<code>/attendance.csv")
@role_required(Role.ORGANIZER)
def cohort_attendance_csv(code):
    """Download one class's attendance, one row per trainee and session, as CSV."""
    return _download("csv", {"cohort": _get_cohort_or_404(code)})


@bp.get("/sessions/<int:session_id>/sign-in-sheet.pdf")
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def sign_in_sheet(session_id):
    """Print the sign-in sheet of one session."""
    session = _get_session_or_404(session_id)
    info, trainees = exports.sign_in_sheet_data(session)
    day = session.starts_at.astimezone(VIETNAM).date().isoformat()
    from lms.pdf import render_sign_in_sheet  # reportlab is loaded only when a PDF is asked for

    response = send_file(io.BytesIO(render_sign_in_sheet(info, trainees)), mimetype="application/pdf",
                         download_name=f"ky-ten-{session.cohort.code}-{day}.pdf")
    response.headers["Cache-Control"] = NO_STORE
    return response


def _get_cohort_or_404(code: str) -> Cohort:
    """Load a class for an organizer (organizers and admins see every class)."""
    cohort = get_cohort_by_code(code)
    if cohort is None:
        abort(404)
    return cohort


def _get_session_or_404(session_id: int) -> ClassSession:
    """Load a session for organizers, admins and the instructors of its class; 404 for anyone else."""
    session = db.session.get(ClassSession, session_id)
    if session is None:
        abort(404)
    if not current_user.has_role(Role.ORGANIZER, Role.ADMIN) and current_user not in session.cohort.instructors:
        abort(404)
    return session


def _download(file_format: str, filters: dict) -> Response:
    """Make the export and send it: CSV streamed as it is written, XLSX from a temp file."""
    try:
        checked = exports.make_filter(**filters)
    except exports.ExportError as exc:
        abort(400, str(exc))
    filename = exports.export_filename(file_format, cohort=filters.get("cohort"),
                                       course_slug=filters.get("course_slug"),
                                       commune_code=filters.get("commune_code"))
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
