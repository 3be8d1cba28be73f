"""The privacy notice, consent, a person's requests about their data, and the admins' list of requests."""

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user

from lms.accounts.access import role_required
from lms.accounts.forms import ConfirmActionForm, ConfirmForm
from lms.accounts.models import Role
from lms.accounts.passwords import verify_password
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.core.api import api_error
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.params import paginate
from lms.core.urls import same_site_path
from lms.privacy import services
from lms.privacy.access import get_own_request_or_404, get_request_or_404
from lms.privacy.forms import CompleteForm, ConsentForm, DeletionForm, RefuseForm, RequestForm
from lms.privacy.models import ConsentChoice, ConsentMethod, RequestKind

#: Who handled whose request (ids only).
audit_log = logging.getLogger("lms.audit")

bp = Blueprint("privacy", __name__)

#: The session remembers the notice version its user agreed to, so a page costs no consent query.
CONSENT_KEY = "privacy_consent"
#: Pages a person who has not agreed may still open: the notice, their privacy page, leaving.
OPEN_WITHOUT_CONSENT = {"accounts.logout", "accounts.logout_everywhere", "accounts.change_password", "static",
                        "core.healthz", "core.set_language",
                        # The app shell, which holds nothing personal: a redirect would fail the service worker's install.
                        "core.manifest", "core.service_worker", "core.offline"}
PAGE_SIZE = 50


def _notice_context() -> dict:
    return {"org_name": current_app.config["LMS_ORG_NAME"], "contact": current_app.config["PRIVACY_CONTACT"],
            "version": services.notice_version(), "retention_days": current_app.config["ACTIVITY_RETENTION_DAYS"],
            "cool_off_days": current_app.config["DELETION_COOL_OFF_DAYS"]}


def _remember_consent() -> None:
    session[CONSENT_KEY] = services.notice_version()


@bp.before_app_request
def require_consent():
    """Hold a trainee who has not agreed to the notice in force on the consent page until they answer."""
    if not current_user.is_authenticated or request.endpoint is None:
        return None
    if request.endpoint.startswith("privacy.") or request.endpoint in OPEN_WITHOUT_CONSENT:
        return None
    if session.get(CONSENT_KEY) == services.notice_version():
        return None
    user = current_user._get_current_object()
    if not services.needs_consent(user) or services.has_current_consent(user):
        _remember_consent()
        return None
    if request.path.startswith("/api/"):
        return api_error(403, "consent_required", _("Agree to the privacy notice first: open the site to read it."))
    return redirect(url_for("privacy.consent", next=request.full_path if request.method == "GET" else None))


@bp.route("/privacy")
def notice():
    """Show the privacy notice: who processes which data, why, for how long, and the trainee's rights."""
    return render_template("privacy/notice.html", **_notice_context())


@bp.route("/privacy/consent", methods=["GET", "POST"])
@login_required
def consent():
    """Ask for consent to the notice in force: the box is never ticked for the person."""
    form = ConsentForm()
    next_page = same_site_path(request.args.get("next")) or url_for("core.home")
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if "decline" in request.form:
            services.record_consent(user, ConsentChoice.DECLINED, ConsentMethod.INTERSTITIAL)
            db.session.commit()
            session.pop(CONSENT_KEY, None)
            return redirect(url_for("privacy.declined"))
        if not form.consent.data:
            form.consent.errors.append(_("Tick the box to agree, or press \u201cI do not agree\u201d."))
        else:
            services.record_consent(user, ConsentChoice.GIVEN, ConsentMethod.INTERSTITIAL)
            db.session.commit()
            _remember_consent()
            flash(_("Thank you. You can read the notice again or withdraw your consent on the privacy page."), "success")
            return redirect(next_page)
    latest = services.latest_consent(current_user)
    return render_template("privacy/consent.html", form=form, latest=latest, **_notice_context())


@bp.route("/privacy/declined")
@login_required
def declined():
    """Explain what not agreeing means, and offer agreeing after all, deletion and logging out."""
    return render_template("privacy/declined.html", latest=services.latest_consent(current_user),
                           may_delete=services.may_request_deletion(current_user))


@bp.route("/privacy/account")
@login_required
def account():
    """Show the person's consent, their requests, and what they can ask for."""
    user = current_user._get_current_object()
    return render_template(
        "privacy/account.html", latest=services.latest_consent(user), history=services.consent_history(user),
        requests=services.requests_of(user), may_delete=services.may_request_deletion(user),
        confirm_form=ConfirmForm(), **_notice_context())


@bp.route("/privacy/consent/withdraw", methods=["GET", "POST"])
@login_required
def withdraw_consent():
    """Ask, then withdraw consent: the person can no longer learn here until they agree again."""
    form = ConfirmActionForm()
    if not form.validate_on_submit():
        return render_template(
            "core/confirm.html", form=form, action=url_for("privacy.withdraw_consent"),
            question=_("Withdraw your consent?"),
            consequences=[_("You will not be able to open courses and lessons until you agree again."),
                          _("Your data is kept as it is: to have it deleted, ask for deletion of your account."),
                          _("You will be logged out on your other devices.")],
            confirm_label=_("Yes, withdraw my consent"), cancel_url=url_for("privacy.account"))
    user = current_user._get_current_object()
    services.withdraw_consent(user)
    db.session.commit()
    session.pop(CONSENT_KEY, None)
    # The new epoch ends every other device's session; this one carries it and stays logged in.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=remembered)
    flash(_("You have withdrawn your consent."), "info")
    return redirect(url_for("privacy.declined"))


@bp.route("/privacy/delete", methods=["GET", "POST"])
@login_required
def request_deletion():
    """Ask for the account to be deleted, confirmed with the password; it happens after the cool-off."""
    user = current_user._get_current_object()
    pending = services.open_request(user, RequestKind.DELETION)
    form = DeletionForm()
    if (pending is None and services.may_request_deletion(user) and form.validate_on_submit()):
        if not verify_password(user.password_hash, form.password.data):
            form.password.errors.append(_("The password is wrong."))
        else:
            try:
                req = services.request_deletion(user)
            except services.PrivacyError as exc:
                flash(str(exc), "error")
            else:
                db.session.commit()
                audit_log.info("account %s asked for deletion: privacy request %s", user.id, req.id)
                flash(_("Your request is received. Your account will be deleted on %(day)s unless you cancel it.",
                        day=_local_time(req.cool_off_until)), "success")
                return redirect(url_for("privacy.account"))
    return render_template("privacy/delete.html", form=form, pending=pending,
                           may_delete=services.may_request_deletion(user), **_notice_context())


def _local_time(moment) -> str:
    from flask_babel import format_datetime

    return format_datetime(moment, "dd/MM/yyyy HH:mm")


@bp.route("/privacy/requests/new", methods=["GET", "POST"])
@login_required
def new_request():
    """Ask for a correction, a copy of one's data, or to object to or restrict its processing."""
    form = RequestForm()
    if form.validate_on_submit():
        try:
            req = services.file_request(current_user, RequestKind(form.kind.data), form.details.data)
        except services.PrivacyError as exc:
            form.kind.errors.append(str(exc))
        else:
            db.session.commit()
            audit_log.info("account %s filed privacy request %s", current_user.id, req.id)
            flash(_("Your request is received. We will answer by the end of %(day)s.",
                    day=services.last_day_to_acknowledge(req).strftime("%d/%m/%Y")), "success")
            return redirect(url_for("privacy.account"))
    return render_template("privacy/new_request.html", form=form)


@bp.post("/privacy/requests/<int:request_id>/cancel")
@login_required
def cancel_request(request_id: int):
    """Cancel one's own request while it is still under way (a deletion during its cool-off)."""
    req = get_own_request_or_404(request_id, for_user=current_user)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.cancel_request(req, current_user)
    except services.PrivacyError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        audit_log.info("account %s cancelled privacy request %s", current_user.id, req.id)
        flash(_("Your request is cancelled."), "success")
    return redirect(url_for("privacy.account"))


# --- Admins ---------------------------------------------------------------------------------------

@bp.route("/admin/privacy-requests")
@role_required(Role.ADMIN)
def admin_requests():
    """List requests about personal data with the 2-working-day clock, the oldest deadline first."""
    show_all = request.args.get("show") == "all"
    page = paginate(services.requests_for_admin(open_only=not show_all), per_page=PAGE_SIZE)
    now = utcnow()
    return render_template("privacy/admin_requests.html", page=page, show_all=show_all,
                           clock=lambda req: _clock(req, now), last_day=services.last_day_to_acknowledge)


@bp.route("/admin/privacy-requests/<int:request_id>")
@role_required(Role.ADMIN)
def admin_request(request_id: int):
    """Show one request with what an admin can do about it."""
    req = get_request_or_404(request_id, for_user=current_user)
    return _render_admin_request(req)


def _duration(delta) -> str:
    """Say a span of time in days and hours, or hours and minutes under a day."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)


def _clock(req, now) -> tuple[bool, str]:
    """Return whether the request is overdue, and its acknowledgement clock in words."""
    if req.acknowledged_at is not None or req.handled_at is not None:
        return False, _("Acknowledged")
    if services.is_overdue(req, now):
        return True, _("OVERDUE by %(time)s", time=_duration(now - req.due_at))
    return False, _("%(time)s left", time=_duration(req.due_at - now))


def _render_admin_request(req, refuse_form=None, complete_form=None):
    return render_template("privacy/admin_request.html", req=req, clock=_clock(req, utcnow()),
                           last_day=services.last_day_to_acknowledge(req),
                           confirm_form=ConfirmForm(), refuse_form=refuse_form or RefuseForm(prefix="refuse"),
                           complete_form=complete_form or CompleteForm(prefix="done"))


def _handled(req, what: str, message: str):
    record_event(AuditAction.HANDLED_DATA_REQUEST, current_user, subject_id=req.user_id,
                 object_kind=AuditObject.PRIVACY_REQUEST, object_ref=f"{req.id} · {what}",
                 client_address=request.remote_addr)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("privacy.admin_request", request_id=req.id))


@bp.post("/admin/privacy-requests/<int:request_id>/acknowledge")
@role_required(Role.ADMIN)
def acknowledge_request(request_id: int):
    """Note that the request was seen and the person told it is being handled."""
    req = get_request_or_404(request_id, for_user=current_user)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.acknowledge_request(req, current_user)
    except services.PrivacyError as exc:
        flash(str(exc), "error")
        return redirect(url_for("privacy.admin_request", request_id=req.id))
    return _handled(req, "acknowledged", _("Receipt acknowledged."))


@bp.post("/admin/privacy-requests/<int:request_id>/refuse")
@role_required(Role.ADMIN)
def refuse_request(request_id: int):
    """Refuse the request with a reason the person reads."""
    req = get_request_or_404(request_id, for_user=current_user)
    form = RefuseForm(prefix="refuse")
    if not form.validate_on_submit():
        return _render_admin_request(req, refuse_form=form)
    try:
        services.refuse_request(req, current_user, form.reason.data)
    except services.PrivacyError as exc:
        form.reason.errors.append(str(exc))
        return _render_admin_request(req, refuse_form=form)
    return _handled(req, "refused", _("The request is refused."))


@bp.post("/admin/privacy-requests/<int:request_id>/done")
@role_required(Role.ADMIN)
def complete_request(request_id: int):
    """Close a request the admin has carried out (a correction, a copy, an objection)."""
    req = get_request_or_404(request_id, for_user=current_user)
    form = CompleteForm(prefix="done")
    if not form.validate_on_submit():
        return _render_admin_request(req, complete_form=form)
    try:
        services.complete_request(req, current_user, form.note.data or "")
    except services.PrivacyError as exc:
        form.note.errors.append(str(exc))
        return _render_admin_request(req, complete_form=form)
    return _handled(req, "completed", _("The request is marked as done."))

