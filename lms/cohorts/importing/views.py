"""Importing trainees into a class from a spreadsheet: upload, check (dry run), import, print slips."""

import io
import math
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.routing import BuildError
from wtforms import RadioField, SelectChoice

from lms.accounts.access import role_required
from lms.accounts.models import Role
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.cohorts import importing
from lms.cohorts.access import get_cohort_or_404, get_upload_or_404
from lms.cohorts.importing import store, tasks
from lms.cohorts.importing.store import ImportState
from lms.core.db import utcnow, writes_database
from lms.core.extensions import db
from lms.core.forms import FlaskForm
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.params import MAX_PAGE, int_arg
from lms.core.responses import XLSX_MIMETYPE

bp = Blueprint("imports", __name__)

ROWS_PER_PAGE = 100
ACCEPTED = ".xlsx,.xlsm,.xls,.ods,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet," \
           "application/vnd.ms-excel,application/vnd.oasis.opendocument.spreadsheet,text/csv"


class UploadForm(FlaskForm):
    file = FileField(_l("Trainee list"), validators=[FileRequired(_l("Choose a file to upload."))],
                     description=_l("Excel (.xlsx, .xls), LibreOffice (.ods) or CSV, up to %(mb)d MB.",
                                    mb=importing.MAX_FILE_BYTES // (1024 * 1024)),
                     render_kw={"accept": ACCEPTED})


class SlipsForm(FlaskForm):
    scope = RadioField(_l("Whose slips"), default="new", choices=[
        SelectChoice("new", _l("Trainees who have no code yet")),
        SelectChoice("all", _l("Every trainee who has not logged in yet (their older slips stop working)")),
    ])


@bp.context_processor
def _cohort_link() -> dict:
    # The class page belongs to the cohorts blueprint; link to it when it is there.
    code = (request.view_args or {}).get("code")
    try:
        return {"cohort_url": url_for("cohorts.detail", code=code) if code else None}
    except BuildError:
        return {"cohort_url": None}


@bp.route("/cohorts/<code>/import", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def upload(code):
    """Upload a trainee list; it is checked, never imported, at this step."""
    cohort = get_cohort_or_404(code, current_user)
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(importing.MAX_FILE_BYTES + 1)
        try:
            report = importing.dry_run(cohort, data)
        except importing.ImportFileError as exc:
            form.file.errors.append(str(exc))
        else:
            token = store.save_upload(data, cohort_id=cohort.id, user_id=current_user.id,
                                      filename=form.file.data.filename or "", report=report.to_dict())
            return redirect(url_for("imports.preview", code=cohort.code, token=token))
    return render_template("imports/upload.html", cohort=cohort, form=form,
                           max_rows=importing.MAX_ROWS, headers=importing.TEMPLATE_HEADERS)


@bp.route("/cohorts/<code>/import/template.xlsx")
@role_required(Role.ORGANIZER)
def template(code):
    """Download an empty list to fill in, with the recognised column names and an example row."""
    cohort = get_cohort_or_404(code, current_user)
    province = None
    if cohort.commune_code:
        from lms.core.places import get_commune

        commune = get_commune(cohort.commune_code)
        province = commune.province_code if commune else None
    data = importing.template_workbook(province)
    return send_file(io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True,
                     download_name=f"danh-sach-hoc-vien-{cohort.code}.xlsx")


@bp.route("/cohorts/<code>/import/<token>")
@role_required(Role.ORGANIZER)
def preview(code, token):
    """Show what the file would do: the column mapping, counts, every row's outcome and every error."""
    cohort = get_cohort_or_404(code, current_user)
    meta = get_upload_or_404(cohort, token, current_user)
    status = store.read_status(token)
    if status is not None and status["state"] in (ImportState.QUEUED, ImportState.RUNNING, ImportState.DONE):
        return redirect(url_for("imports.progress", code=cohort.code, token=token))
    report = importing.ImportReport.from_dict(meta["report"])
    show = request.args.get("show") or ("errors" if report.error_rows else "all")
    rows = report.error_rows if show == "errors" else report.rows
    pages = max(1, math.ceil(len(rows) / ROWS_PER_PAGE))
    page = min(int_arg("page", 1, min=1, max=MAX_PAGE), pages)
    return render_template(
        "imports/preview.html", cohort=cohort, meta=meta, report=report, status=status, show=show,
        rows=rows[(page - 1) * ROWS_PER_PAGE: page * ROWS_PER_PAGE], page=page, pages=pages,
        uploaded_at=datetime.fromisoformat(meta["uploaded_at"]), Outcome=importing.Outcome,
        background=len(report.rows) > tasks.INLINE_ROW_LIMIT,
    )


@bp.route("/cohorts/<code>/import/<token>/errors.xlsx")
@writes_database
@role_required(Role.ORGANIZER)
def errors_file(code, token):
    """Download the uploaded sheet with an error column, to correct and upload again."""
    cohort = get_cohort_or_404(code, current_user)
    meta = get_upload_or_404(cohort, token, current_user)
    data = store.read_upload_data(token)
    if data is None:
        abort(404)
    report = importing.ImportReport.from_dict(meta["report"])
    try:
        workbook = importing.errors_workbook(data, report)
    except importing.ImportFileError:
        abort(404)
    record_event(AuditAction.EXPORTED_LIST, current_user, object_kind=AuditObject.IMPORT_ERRORS, object_ref=cohort.code,
                 client_address=request.remote_addr)
    db.session.commit()
    return send_file(io.BytesIO(workbook), mimetype=XLSX_MIMETYPE, as_attachment=True,
                     download_name=f"loi-danh-sach-{cohort.code}.xlsx")


@bp.route("/cohorts/<code>/import/<token>/commit", methods=["POST"])
@role_required(Role.ORGANIZER)
def commit(code, token):
    """Import the checked file: inline when small, in the background worker when large."""
    cohort = get_cohort_or_404(code, current_user)
    meta = get_upload_or_404(cohort, token, current_user)
    report = importing.ImportReport.from_dict(meta["report"])
    if not report.ready:
        flash(_("This file cannot be imported: correct the errors and upload it again."), "error")
        return redirect(url_for("imports.preview", code=cohort.code, token=token))
    if not store.claim_import(token):
        return redirect(url_for("imports.progress", code=cohort.code, token=token))
    if len(report.rows) > tasks.INLINE_ROW_LIMIT:
        tasks.import_trainees_job(token)
    else:
        tasks.run_import(token)
    status = store.read_status(token) or {}
    if status.get("state") == ImportState.BLOCKED:
        flash(_("The class or its trainees changed since the check, and the file now has errors. Nothing was "
                "imported."), "error")
        return redirect(url_for("imports.preview", code=cohort.code, token=token))
    return redirect(url_for("imports.progress", code=cohort.code, token=token))


@bp.route("/cohorts/<code>/import/<token>/progress")
@role_required(Role.ORGANIZER)
def progress(code, token):
    """Show the import's progress (the page reloads itself) and, when done, its summary."""
    cohort = get_cohort_or_404(code, current_user)
    meta = get_upload_or_404(cohort, token, current_user)
    status = store.read_status(token)
    if status is None:
        return redirect(url_for("imports.preview", code=cohort.code, token=token))
    report = importing.ImportReport.from_dict(meta["report"])
    waiting_s = (utcnow() - datetime.fromisoformat(status["updated_at"])).total_seconds()
    return render_template("imports/progress.html", cohort=cohort, meta=meta, report=report, status=status,
                           finished=status["state"] in ImportState.FINISHED, waiting_s=waiting_s,
                           worker_lost=status.get("message") == store.WORKER_LOST and worker_lost_message(),
                           slips_form=SlipsForm(), Outcome=importing.Outcome)


@bp.route("/cohorts/<code>/import/<token>/status")
@role_required(Role.ORGANIZER)
def status(code, token):
    """Return the import's state as JSON, for pages that poll."""
    cohort = get_cohort_or_404(code, current_user)
    get_upload_or_404(cohort, token, current_user)
    current = store.read_status(token) or {"state": "not_started", "progress": 0.0}
    message = current.get("message")
    if message == store.INTERNAL_FAILURE:
        message = _("The server could not finish the import. Nothing was imported; try again.")
    elif message == store.WORKER_LOST:
        message = worker_lost_message()
    return jsonify(state=current["state"], progress=current.get("progress", 0.0), message=message,
                   counts=current.get("counts"), joining=current.get("joining"),
                   url=url_for("imports.progress", code=cohort.code, token=token))


def worker_lost_message() -> str:
    return _("The background worker stopped while importing. Nothing was imported: press Try again.")


@bp.route("/cohorts/<code>/activation-slips", methods=["GET", "POST"])
@writes_database
@role_required(Role.ORGANIZER)
def slips(code):
    """Print one-time activation codes for the class's trainees who have not logged in yet (a PDF)."""
    cohort = get_cohort_or_404(code, current_user)
    form = SlipsForm()
    if form.validate_on_submit():
        from lms.cohorts.importing.slip_pdf import render_activation_slips

        issued = importing.issue_slips(cohort, only_without_code=form.scope.data != "all")
        if not issued:
            flash(_("Every trainee of this class already has a code or a password: no slip to print."), "info")
            return redirect(url_for("imports.slips", code=cohort.code))
        login_url = url_for("accounts.activate", _external=True)
        for slip in issued:
            slip["login_url"] = login_url
        title = _("Activation codes: %(name)s", name=cohort.name)
        pdf = render_activation_slips(issued, title=title)
        record_event(AuditAction.ISSUED_CODES, current_user, object_kind=AuditObject.ACTIVATION_SLIPS,
                     object_ref=f"{cohort.code} · {len(issued)}", client_address=request.remote_addr)
        db.session.commit()  # the codes' hashes, only once the PDF exists
        response = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                             download_name=f"ma-kich-hoat-{cohort.code}.pdf")
        response.headers["Cache-Control"] = "no-store"
        return response
    waiting = importing.trainees_waiting_for_codes(cohort)
    return render_template("imports/slips.html", cohort=cohort, form=form, waiting=waiting)
