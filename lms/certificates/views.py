"""Certificates: public verification, trainees' own certificates, the organizers' register, templates and cohort issuing.

Addresses printed in QR codes and signed documents start with the BASE_URL setting when it is set
(set it in production, e.g. https://langso.example.vn), otherwise with the host of the request.
"""

import io
from datetime import date

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from lms.accounts.access import role_required
from lms.accounts.forms import ConfirmForm
from lms.accounts.models import Role
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.certificates import KEYS_PATH, documents, services
from lms.certificates.access import get_batch_or_404, get_certificate_or_404
from lms.certificates.forms import ReissueForm, RevokeForm, TemplateForm
from lms.certificates.models import (
    BatchStatus,
    Certificate,
    CertificateBatch,
    CertificateStatus,
    CertificateTemplate,
)
from lms.certificates.register import RegisterFilters, certificates_of, register_query
from lms.cohorts.access import get_cohort_or_404
from lms.cohorts.models import Cohort
from lms.core.api import api_operation
from lms.core.db import utcnow, writes_database
from lms.core.extensions import db, limiter
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.params import int_arg, paginate
from lms.core.places import get_commune
from lms.core.text import InvalidPhoneNumber, normalize_phone, vietnamese_key
from lms.core.timezone import to_local
from lms.courses.access import get_course_for_editing_or_404
from lms.courses.models import Course

bp = Blueprint("certificates", __name__)
PAGE_SIZE = 30


def public_base_url() -> str:
    """Return the site address for QR codes and documents: BASE_URL, else this request's host."""
    return (current_app.config.get("BASE_URL") or request.url_root).rstrip("/") + "/"


def _verify_limit() -> str:
    return current_app.config.get("CERTIFICATE_VERIFY_LIMIT", "30 per minute")


# --- Public verification ------------------------------------------------------------------------------------


@bp.route("/verify")
@limiter.shared_limit(_verify_limit, scope="certificate-verify")
def verify_lookup():
    """Let anyone type a verification code from a paper certificate."""
    code = request.args.get("code", "").strip()
    if code:
        typed = services.normalize_code(code) or "".join(ch for ch in code if ch.isalnum())[:40] or "-"
        return redirect(url_for("certificates.verify", code=typed))
    serial, name = request.args.get("serial", "")[:100], request.args.get("name", "")[:200]
    if serial.strip() or name.strip():
        certificate = services.certificate_by_serial(serial, name)
        if certificate is not None:
            return redirect(url_for("certificates.verify", code=certificate.code))
        # One message whether the serial or the name is wrong: it tells nothing about who holds what.
        error = (_("Write both the serial number and the holder's full name.") if not (serial.strip() and name.strip())
                 else _("No certificate has this serial number with this name. Check both against the paper."))
        return render_template("certificates/verify_lookup.html", serial=serial, name=name, serial_error=error), 404
    return render_template("certificates/verify_lookup.html")


@bp.route("/verify/<code>")
@limiter.shared_limit(_verify_limit, scope="certificate-verify")
def verify(code: str):
    """Show whether a certificate is valid: holder, course, hours, dates, issuer; never contact details."""
    certificate = services.certificate_by_code(code)
    if certificate is None:
        # Unknown or altered: the same "not valid" page, and nothing else.
        return render_template("certificates/verify.html", certificate=None), 404
    latest = services.latest_version(certificate)
    return render_template("certificates/verify.html", certificate=certificate,
                           status=certificate.effective_status(), latest=latest if latest is not certificate else None,
                           json_url=url_for("certificates.verify_json", code=certificate.code))


@bp.route("/verify/<code>.json")
@limiter.shared_limit(_verify_limit, scope="certificate-verify")
@api_operation("/verify/{code}.json", "GET", tags=["certificates"],
               summary="A certificate as an Open Badges 3.0 shaped credential, signed with Ed25519 (no login)",
               responses={200: ("Signed credential; check it with the keys at " + KEYS_PATH, None),
                          404: ("Not valid: no certificate has this code", None),
                          429: ("Too many checks from this address", None)})
def verify_json(code: str):
    """Return the certificate as a signed JSON credential that can be checked offline."""
    certificate = services.certificate_by_code(code)
    if certificate is None:
        response = jsonify(valid=False)
        response.status_code = 404
    else:
        response = jsonify(documents.signed_document(certificate, public_base_url()))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(KEYS_PATH)
@api_operation(KEYS_PATH, "GET", tags=["certificates"],
               summary="Public Ed25519 keys by key id (raw, base64url), with creation and retirement times",
               responses={200: ("The installation's certificate keys, old ones included", None)})
def public_keys():
    """Publish the public keys that verify signed certificates (key id -> raw Ed25519 key, base64url)."""
    response = jsonify({**documents.published_keys(), "issuer": public_base_url()})
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# --- A trainee's own certificates ---------------------------------------------------------------------------


@bp.route("/my/certificates")
@login_required
def mine():
    """List my certificates ("Chứng nhận của tôi") with their PDF and share links."""
    certificates = certificates_of(current_user)
    base = public_base_url()
    return render_template("certificates/mine.html", certificates=certificates,
                           links={c.id: documents.verify_url(c, base) for c in certificates})


@bp.route("/certificates/<code>.pdf")
@login_required
def pdf(code: str):
    """Send a certificate's PDF to its holder, organizers and admins."""
    certificate = get_certificate_or_404(code, current_user)
    data = documents.certificate_pdf(certificate, public_base_url())
    disposition = "attachment" if request.args.get("download") else "inline"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{certificate.serial}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- The organizers' register ---------------------------------------------------------------------------


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters_from_args() -> tuple[RegisterFilters, dict]:
    """Read the register's filters from the query string; return them and the values to keep in links."""
    args = request.args
    status_value = args.get("status") or ""
    status = CertificateStatus(status_value) if status_value in {s.value for s in CertificateStatus} else None
    cohort = db.session.scalar(sa.select(Cohort).where(Cohort.code == args.get("cohort", "").strip().upper())) \
        if args.get("cohort") else None
    phone = None
    if args.get("phone"):
        try:
            phone = normalize_phone(args["phone"])
        except InvalidPhoneNumber:
            phone = "-"
    filters = RegisterFilters(
        course_id=int_arg("course"), cohort=cohort, commune_code=int_arg("commune"),
        issued_from=_parse_date(args.get("from")), issued_to=_parse_date(args.get("to")), status=status,
        query=args.get("q", ""), phone=phone)
    kept = {k: v for k, v in args.items() if k in {"course", "cohort", "commune", "from", "to", "status", "q"} and v}
    return filters, kept


@bp.route("/certificates")
@role_required(Role.ORGANIZER)
def register():
    """List and filter every certificate issued."""
    filters, kept = _filters_from_args()
    page = paginate(register_query(filters), per_page=PAGE_SIZE, count=True)
    courses = list(db.session.scalars(sa.select(Course).order_by(Course.title)))
    cohorts = list(db.session.scalars(sa.select(Cohort).order_by(Cohort.code)))
    commune_codes = db.session.scalars(sa.select(Certificate.holder_commune_code).distinct()
                                       .where(Certificate.holder_commune_code.is_not(None)))
    communes = sorted((c for c in map(get_commune, commune_codes) if c), key=lambda c: vietnamese_key(c.name))
    return render_template("certificates/register.html", page=page, filters=filters, kept=kept, courses=courses,
                           cohorts=cohorts, communes=communes, statuses=list(CertificateStatus))


EXPORT_HEADER = (_l("Serial number"), _l("Verification code"), _l("Holder"), _l("Commune / ward"), _l("Course"),
                 _l("Hours"), _l("Completed on"), _l("Issued on"), _l("Valid until"), _l("Status"), _l("Revoked"),
                 _l("Reason for revoking"))


def _export_rows(stmt):
    def local(moment):
        return to_local(moment).replace(tzinfo=None) if moment else None

    for certificate in db.session.scalars(stmt.execution_options(yield_per=500)):
        commune = get_commune(certificate.holder_commune_code)
        yield (certificate.serial, certificate.display_code, certificate.holder_name, commune.name if commune else "",
               certificate.course_title, certificate.hours, local(certificate.completed_at),
               local(certificate.issued_at), local(certificate.expires_at), certificate.effective_status().label,
               local(certificate.revoked_at), certificate.revoke_reason or "")


@bp.route("/certificates/export.<fmt>")
@writes_database
@role_required(Role.ORGANIZER)
def export(fmt: str):
    """Download the filtered register as CSV or XLSX (formula-safe, through lms.core.spreadsheets.write)."""
    from lms.core.spreadsheets.write import iter_csv, write_xlsx

    filters, _kept = _filters_from_args()
    stmt = register_query(filters)
    header = [str(h) for h in EXPORT_HEADER]
    if fmt not in ("csv", "xlsx"):
        abort(404)
    stamp = to_local(utcnow()).strftime("%Y%m%d")
    record_event(AuditAction.EXPORTED_LIST, current_user, object_kind=AuditObject.CERTIFICATE_REGISTER, object_ref=fmt,
                 client_address=request.remote_addr)
    db.session.commit()
    if fmt == "csv":
        response = Response(stream_with_context(iter_csv(_export_rows(stmt), header)), mimetype="text/csv")
    else:
        buffer = io.BytesIO()
        kinds = ["code", "code", None, None, None, "integer", "datetime", "datetime", "datetime", None, "datetime"]
        write_xlsx([(_("Certificates"), header, _export_rows(stmt), kinds)], buffer)
        response = Response(buffer.getvalue(),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="certificates-{stamp}.{fmt}"'
    return response


@bp.route("/certificates/<code>")
@role_required(Role.ORGANIZER)
def detail(code: str):
    """A certificate's staff page: its record, history, and revoke and re-issue forms."""
    certificate = get_certificate_or_404(code, current_user)
    holder = certificate.user
    return render_template("certificates/detail.html", certificate=certificate,
                           status=certificate.effective_status(), latest=services.latest_version(certificate),
                           earlier=_earlier_versions(certificate), verify_url=documents.verify_url(
                               certificate, public_base_url()),
                           revoke_form=RevokeForm(prefix="revoke"),
                           reissue_form=ReissueForm(prefix="reissue", holder_name=holder.full_name if holder
                                                    else certificate.holder_name))


def _earlier_versions(certificate: Certificate) -> list[Certificate]:
    found, current = [], certificate
    while True:
        previous = db.session.scalar(sa.select(Certificate).where(Certificate.superseded_by_id == current.id))
        if previous is None or previous in found:
            return found
        found.append(previous)
        current = previous


@bp.route("/certificates/<code>/revoke", methods=["POST"])
@role_required(Role.ORGANIZER)
def revoke(code: str):
    """Revoke a certificate with a reason; it stays on record."""
    certificate = get_certificate_or_404(code, current_user)
    form = RevokeForm(prefix="revoke")
    if not form.validate_on_submit():
        flash(form.reason.errors[0] if form.reason.errors else _("Give the reason for revoking."), "error")
        return redirect(url_for("certificates.detail", code=certificate.code))
    try:
        services.revoke_certificate(certificate, by=current_user, reason=form.reason.data)
    except services.CertificateError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The certificate %(serial)s has been revoked.", serial=certificate.serial), "success")
    return redirect(url_for("certificates.detail", code=certificate.code))


@bp.route("/certificates/<code>/reissue", methods=["POST"])
@role_required(Role.ORGANIZER)
def reissue(code: str):
    """Issue a new certificate (new serial and code) in place of this one."""
    certificate = get_certificate_or_404(code, current_user)
    form = ReissueForm(prefix="reissue")
    if not form.validate_on_submit():
        flash(_("Enter the holder's name."), "error")
        return redirect(url_for("certificates.detail", code=certificate.code))
    try:
        replacement = services.reissue_certificate(certificate, by=current_user, holder_name=form.holder_name.data)
    except services.CertificateError as exc:
        flash(str(exc), "error")
        return redirect(url_for("certificates.detail", code=certificate.code))
    db.session.commit()
    flash(_("Certificate %(serial)s issued in place of %(old)s.", serial=replacement.serial, old=certificate.serial),
          "success")
    return redirect(url_for("certificates.detail", code=replacement.code))


# --- Templates per course -----------------------------------------------------------------------------------


def _image_choices(course: Course) -> list[tuple[int, str]]:
    from lms.media.models import AssetStatus, MediaAsset, MediaType

    assets = db.session.scalars(sa.select(MediaAsset).where(
        MediaAsset.course_id == course.id, MediaAsset.media_type == MediaType.IMAGE,
        MediaAsset.status == AssetStatus.READY).order_by(MediaAsset.created_at.desc()))
    return [(asset.id, asset.original_filename) for asset in assets]


@bp.route("/certificates/templates/<slug>", methods=["GET", "POST"])
@login_required
def edit_template(slug: str):
    """Design the course's certificate, with a preview for a sample name."""
    course = get_course_for_editing_or_404(slug, current_user)
    template = services.template_for(course)
    form = TemplateForm(obj=template)
    form.set_image_choices(_image_choices(course))
    if form.validate_on_submit():
        try:
            services.save_template(course, by=current_user, **form.values())
        except services.CertificateError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The certificate template has been saved."), "success")
            return redirect(url_for("certificates.edit_template", slug=course.slug))
    return render_template("certificates/template_form.html", course=course, form=form, template=template,
                           org_default=current_app.config.get("LMS_ORG_NAME"))


@bp.route("/certificates/templates/<slug>/preview.pdf", methods=["GET", "POST"])
@login_required
def preview(slug: str):
    """Render the certificate for "Nguyễn Thị Hường": the saved template (GET) or the form's unsaved values (POST)."""
    course = get_course_for_editing_or_404(slug, current_user)
    template = services.template_for(course)
    if request.method == "POST":
        form = TemplateForm()
        form.set_image_choices(_image_choices(course))
        form.validate()
        # A detached copy: previewing must never change the saved template.
        template = CertificateTemplate(course_id=course.id, **form.values())
    response = Response(documents.preview_pdf(course, template, public_base_url()), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="preview.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    # Shown in a frame on the template page (same site only); the default headers forbid any frame.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    return response


# --- Issuing to a cohort ------------------------------------------------------------------------------------


@bp.route("/cohorts/<code>/certificates", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def cohort_certificates(code: str):
    """Issue certificates to a whole class, in the job queue."""
    from lms.certificates.tasks import issue_cohort_certificates_job

    cohort = get_cohort_or_404(code, current_user)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        batch, created = services.start_cohort_batch(cohort, by=current_user)
        db.session.commit()
        if created:
            issue_cohort_certificates_job(batch.id)
        return redirect(url_for("certificates.batch", code=cohort.code, batch_id=batch.public_id))
    return render_template("certificates/cohort.html", cohort=cohort, form=form,
                           counts=services.cohort_counts(cohort), batches=services.recent_batches(cohort))


def _load_batch(cohort: Cohort, batch_id: str) -> CertificateBatch:
    """Load a run of this class; one whose worker died is failed first, so the page offers a retry."""
    batch = get_batch_or_404(cohort, batch_id)
    if services.recover_stale_batch(batch):
        db.session.commit()
    return batch


@bp.route("/cohorts/<code>/certificates/batches/<batch_id>")
@role_required(Role.ORGANIZER)
def batch(code: str, batch_id: str):
    """Show how far issuing to a class has gone (the page refreshes itself until done)."""
    cohort = get_cohort_or_404(code, current_user)
    batch = _load_batch(cohort, batch_id)
    return render_template("certificates/batch.html", cohort=cohort, batch=batch, form=ConfirmForm(),
                           running=batch.status in {BatchStatus.QUEUED, BatchStatus.RUNNING},
                           status_url=url_for("certificates.batch_status", code=cohort.code, batch_id=batch.public_id))


@bp.route("/cohorts/<code>/certificates/batches/<batch_id>.json")
@role_required(Role.ORGANIZER)
def batch_status(code: str, batch_id: str):
    """Return the progress of issuing to a class, for polling."""
    cohort = get_cohort_or_404(code, current_user)
    batch = _load_batch(cohort, batch_id)
    return jsonify(status=batch.status.value, label=batch.status.label, total=batch.total,
                   processed=batch.processed, issued=batch.issued, skipped=batch.skipped, percent=batch.percent,
                   error=batch.error, done=batch.status in {BatchStatus.DONE, BatchStatus.FAILED})
