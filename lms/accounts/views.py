"""Login, registration, profile and staff management of accounts."""

import io
import json
from datetime import date, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date, format_datetime
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.routing import BuildError

from lms.accounts import hooks, personal_data, services, throttle
from lms.accounts.access import get_user_or_404, role_required, shows_full_phone, visible_accounts
from lms.accounts.forms import (
    ActivateForm,
    ChangePasswordForm,
    ConfirmActionForm,
    ConfirmForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    StaffForm,
    StaffPlacesForm,
)
from lms.accounts.models import Role, User
from lms.accounts.passwords import ONE_TIME_CODE_DIGITS, HashingBusy, password_hashing
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.core.connection import client_disconnected
from lms.core.db import transactions_that_write, writes_database
from lms.core.extensions import db, limiter
from lms.core.i18n import gettext as _
from lms.core.params import paginate
from lms.core.responses import NO_STORE
from lms.core.text import normalize_code
from lms.core.urls import same_site_path

bp = Blueprint("accounts", __name__)

PAGE_SIZE = 50


def _busy(template: str, form, exc: HashingBusy):
    """Answer 503 with Retry-After: the form again, its phone kept, saying when to try again."""
    response = make_response(render_template(template, form=form, busy_retry_after=exc.retry_after), 503)
    response.headers["Retry-After"] = str(exc.retry_after)
    _keep_retry_after()
    return response


def _keep_retry_after() -> None:
    """Stop Flask-Limiter rewriting this answer's Retry-After.

    Its after-request hook sets Retry-After on every answer of a limited view to the reset of
    its own window: up to 15 minutes after one wrong password. A busy answer's wait is the
    hashing queue's, a few seconds; without a current limit the hook leaves the headers alone.
    """
    limiter.context.view_rate_limit = None


def _look_up(phone: str) -> User | None:
    """Find the account in a reading transaction, ended before the password is hashed.

    A POST's transaction begins as a writer (on SQLite, holding the one write lock): held through
    argon2, it would let one login at a time through on the whole machine. The user's row stays
    loaded after the commit; writing the login (a rehash, the time) opens a short transaction of its own.
    """
    with transactions_that_write(False):
        user = services.find_user_by_phone(phone)
        db.session.commit()
    return user


def _count_code_try(user: User | None) -> None:
    """Count a try of the user's one-time code, in a short transaction of its own, just before it is checked.

    Committed before the hashing, so a wrong code stays counted though the failed login writes
    nothing else; only once the hashing slot is held, so a login answered "busy" or refused by
    the throttle costs no try.
    """
    if services.holds_one_time_code(user):
        services.count_code_try(user)
        db.session.commit()


def _abandoned():
    """Answer a login whose phone has already given up, without spending a hash on it."""
    current_app.logger.info("login dropped: the client closed the connection while it waited")
    return make_response("", 499)


def _looks_like_a_code(typed: str) -> bool:
    code = normalize_code(typed)
    return len(code) == ONE_TIME_CODE_DIGITS and code.isascii() and code.isdigit()


def _safe_next(target: str | None) -> str:
    return same_site_path(target) or url_for("core.home")


def _throttled(template: str, form, wait: int):
    """Answer 429 with Retry-After: the form again, its phone kept, saying how long to wait."""
    if wait >= 120:
        flash(_("Too many wrong tries for this phone number. Wait %(minutes)s minutes, then try again.",
                minutes=-(-wait // 60)), "error")
    else:
        flash(_("Too many wrong tries for this phone number. Wait %(seconds)s seconds, then try again.",
                seconds=wait), "error")
    response = make_response(render_template(template, form=form), 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _logged_in(user: User, target: str, *, remember: bool):
    """Start user's session and redirect to target, marking this browser as one of their devices."""
    _start_session(user, remember=remember)
    response = redirect(target)
    throttle.remember_device(response, user)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with phone number and password."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if request.method == "GET" and session.get("registered_phone"):
        form.phone.data = session.pop("registered_phone")
    if form.validate_on_submit():
        if client_disconnected():
            return _abandoned()
        found = _look_up(form.phone.data)
        if wait := throttle.login_refusal(form.phone.data, found):
            return _throttled("accounts/login.html", form, wait)
        try:
            # The slot, then the hash: a queue of logins waits holding no database connection.
            with password_hashing():
                if client_disconnected():  # the phone gave up while this login waited its turn
                    return _abandoned()
                _count_code_try(found)
                user = services.authenticate_user(found, form.password.data)
        except HashingBusy as exc:
            return _busy("accounts/login.html", form, exc)
        if user is None:
            throttle.record_failed_login(form.phone.data, found)
        if user is None and _looks_like_a_code(form.password.data) and services.code_locked(found):
            flash(_("This code was typed wrong too many times and no longer works. Ask your class "
                    "organizer for a new code."), "error")
        elif user is None and _looks_like_a_code(form.password.data):
            # Perhaps the code from a slip: say the code is wrong, and where codes go.
            flash(_("Wrong code or password. If you typed the code from your slip, it is wrong or "
                    "has expired: use the activation page, or ask your class organizer for a new "
                    "code."), "error")
        elif user is None:
            # Same words for an unknown phone and a wrong password.
            flash(_("Wrong phone number or password."), "error")
        elif user.must_change_password:
            return _logged_in(user, url_for("accounts.change_password"), remember=form.remember.data)
        else:
            return _logged_in(user, _safe_next(request.args.get("next")), remember=form.remember.data)
    return render_template("accounts/login.html", form=form)


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    """First login with the code on a printed slip (or a reset code): choose one's own password."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = ActivateForm()
    if form.validate_on_submit():
        if client_disconnected():
            return _abandoned()
        found = _look_up(form.phone.data)
        if wait := throttle.login_refusal(form.phone.data, found):
            return _throttled("accounts/activate.html", form, wait)
        try:
            with password_hashing():
                if client_disconnected():
                    return _abandoned()
                _count_code_try(found)
                user = services.activate_user(found, form.code.data, form.password.data)
        except HashingBusy as exc:
            return _busy("accounts/activate.html", form, exc)
        except services.WrongCode as exc:
            throttle.record_failed_login(form.phone.data, found)
            form.code.errors.append(str(exc))
        except services.WeakPassword as exc:
            db.session.commit()  # the right code's try is given back
            form.password.errors.append(str(exc))
        else:
            hooks.record_consent(user, "activation")
            response = _logged_in(user, url_for("core.home"), remember=True)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.full_name), "success")  # after the fresh session
            return response
    return render_template("accounts/activate.html", form=form)


def _start_session(user: User, *, remember: bool) -> None:
    """Log the user in on a fresh session (keeping the chosen language) and commit."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user, remember=remember)
    services.record_login(user)
    db.session.commit()


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out, so no copy of this login's session or remember-me cookie works any more."""
    _end_sessions()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """Log out on every phone and computer at once."""
    _end_sessions()
    flash(_("You have logged out on every device."), "info")
    return redirect(url_for("accounts.login"))


def _end_sessions() -> None:
    """End the user's sessions everywhere, then forget this one (keeping the chosen language)."""
    if current_user.is_authenticated:
        # One epoch per account: ending this login's cookies ends every other device's as well.
        services.end_sessions(current_user)
        db.session.commit()
    lang = session.get("lang")
    session.clear()
    logout_user()  # after clear(): it leaves the flag that deletes the remember-me cookie
    if lang:
        session["lang"] = lang


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """Let a trainee create their own account."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = RegisterForm()
    form.fill_place_choices()
    if form.validate_on_submit():
        try:
            user = services.register_trainee(
                full_name=form.full_name.data,
                phone=form.phone.data,
                password=form.password.data,
                email=form.email.data,
                date_of_birth=form.date_of_birth.data,
                commune_code=form.commune.data,
                village=form.village.data,
                business_name=form.business_name.data,
            )
        except services.PhoneAlreadyRegistered:
            # Answered as a new account is, so that the form tells nobody which phones have an account;
            # whoever had one already reads what to do on the login page, in the same words.
            db.session.rollback()
        except services.AccountError as exc:
            form.password.errors.append(str(exc))
            return render_template("accounts/register.html", form=form)
        else:
            hooks.record_consent(user, "registration")
            db.session.commit()
        session["registered_phone"] = form.phone.data  # typed already: the login form starts with it
        flash(_("Thank you. If this phone number had no account yet, yours is ready: log in with the password "
                "you just chose. If it already had one, log in with that account's password, or ask your class "
                "organizer for a one-time code if you forgot it."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/register.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's password; required after a reset to a one-time code."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data or "", form.new_password.data
            )
        except services.WeakPassword as exc:
            form.new_password.errors.append(str(exc))
        except services.AccountError as exc:
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            # The cookie must carry the new epoch, or this device would be logged out too; a
            # remember-me cookie is renewed only if this device had one.
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(current_user._get_current_object(), remember=remembered)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("core.home"))
    return render_template("accounts/change_password.html", form=form)


def _own_profile_form() -> ProfileForm:
    """Return the logged-in person's details form: filled from the account on GET, from the post otherwise."""
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    if request.method == "GET":
        form.commune.data = current_user.commune_code
    form.fill_place_choices(current_user.commune_code)
    return form


def _save_own_profile(form: ProfileForm) -> None:
    services.update_profile(current_user, full_name=form.full_name.data, email=form.email.data,
                            date_of_birth=form.date_of_birth.data, commune_code=form.commune.data,
                            village=form.village.data, business_name=form.business_name.data)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    """Show and edit one's own details."""
    form = _own_profile_form()
    if form.validate_on_submit():
        _save_own_profile(form)
        db.session.commit()
        flash(_("Your details have been saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form)


#: Rows of one section the page shows (the latest); a cheap phone on 3G should not load thousands of
#: activity events. The downloads hold every row.
MY_DATA_PAGE_ROWS = 100


@bp.get("/my/data")
@login_required
def my_data():
    """Show the logged-in person everything held about them, with downloads and a way to correct it."""
    return render_template("accounts/my_data.html", data=personal_data.collect_personal_data(current_user),
                           show=_shown, deletion_url=_deletion_url(), page_rows=MY_DATA_PAGE_ROWS)


@bp.get("/my/data.json")
@writes_database
@login_required
def my_data_json():
    """Download everything held about the logged-in person as JSON; the download is an audit event."""
    data = personal_data.collect_personal_data(current_user)
    _record_own_download("json")
    # Not jsonify: it sorts keys, and a person reads their sections and columns in the page's order.
    response = Response(json.dumps(personal_data.as_json(data), ensure_ascii=False, indent=2),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="du-lieu-cua-toi-{current_user.id}.json"'
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.get("/my/data.xlsx")
@writes_database
@login_required
def my_data_xlsx():
    """Download everything held about the logged-in person as a workbook, one sheet per section."""
    buffer = io.BytesIO()
    personal_data.write_workbook(personal_data.collect_personal_data(current_user), buffer)
    _record_own_download("xlsx")
    response = Response(buffer.getvalue(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="du-lieu-cua-toi-{current_user.id}.xlsx"'
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.route("/my/data/profile", methods=["GET", "POST"])
@login_required
def correct_my_data():
    """Let a person correct their own details; the phone number is changed by an organizer."""
    form = _own_profile_form()
    if form.validate_on_submit():
        try:
            _save_own_profile(form)
        except services.UnknownCommune as exc:
            form.commune.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your details have been corrected."), "success")
            return redirect(url_for("accounts.my_data"))
    return render_template("accounts/correct_my_data.html", form=form)


def _record_own_download(fmt: str) -> None:
    record_event(AuditAction.DOWNLOADED_OWN_DATA, current_user, subject_id=current_user.id,
                 object_kind=AuditObject.OWN_DATA, object_ref=fmt, client_address=request.remote_addr)
    db.session.commit()


def _deletion_url() -> str | None:
    """Return the address where a person asks for their data to be deleted, once that page exists."""
    try:
        return url_for("privacy.request_deletion")
    except BuildError:
        return None


def _shown(value) -> str:
    """Return a value of "my data" as the page shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return format_datetime(value, "short")
    if isinstance(value, date):
        return format_date(value, "medium")
    return str(value)


@bp.route("/users")
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def users():
    """List and search accounts."""
    query = request.args.get("q", "")
    role_value = request.args.get("role") or None
    role = Role(role_value) if role_value in {r.value for r in Role} else None
    page = paginate(services.search_users(query, role, within=visible_accounts(current_user)), per_page=PAGE_SIZE,
                    count=True)
    return render_template(
        "accounts/users.html", page=page, query=query, role=role, roles=list(Role)
    )


@bp.route("/users/<int:user_id>")
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def user_detail(user_id: int):
    """Show one account to staff."""
    user = get_user_or_404(user_id)
    return render_template("accounts/user_detail.html", user=user, full_phone=shows_full_phone(current_user),
                           reveal_form=ConfirmForm())


@bp.post("/users/<int:user_id>/phone")
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def reveal_phone(user_id: int):
    """Show one trainee's whole phone number to a staff member who needs to call, and note who asked."""
    user = get_user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    record_event(AuditAction.REVEALED_PHONE, current_user, subject_id=user.id, client_address=request.remote_addr)
    db.session.commit()
    return render_template("accounts/user_detail.html", user=user, full_phone=True, reveal_form=form)


@bp.route("/users/<int:user_id>/places", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def staff_places(user_id: int):
    """Let an admin change the province or communes an official or organizer answers for."""
    user = get_user_or_404(user_id)
    if not user.has_role(Role.OFFICIAL, Role.ORGANIZER):
        abort(404)
    form = StaffPlacesForm(roles=user.roles)
    form.fill_answer_choices(user.places)
    if form.validate_on_submit():
        services.set_staff_places(user, provinces=form.province_codes, communes=form.commune_codes)
        record_event(AuditAction.CHANGED_ROLES, current_user, subject_id=user.id, object_kind=AuditObject.ROLES,
                     object_ref=("places:" + ",".join(
                         f"p{p.province_code}" if p.province_code else f"c{p.commune_code}" for p in user.places))[:200],
                     client_address=request.remote_addr)
        db.session.commit()
        flash(_("The places %(name)s answers for are saved.", name=user.full_name), "success")
        return redirect(url_for("accounts.user_detail", user_id=user.id))
    return render_template("accounts/staff_places.html", form=form, user=user)


@bp.route("/users/<int:user_id>/reset-password", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def reset_password(user_id: int):
    """Ask, then give a trainee a one-time code to log in with and change."""
    user = get_user_or_404(user_id)
    if user.is_staff and not current_user.has_role(Role.ADMIN):
        abort(403)
    form = ConfirmActionForm()
    if not form.validate_on_submit():
        return render_template(
            "core/confirm.html", form=form, action=url_for("accounts.reset_password", user_id=user.id),
            question=_("Reset the password of %(name)s?", name=user.full_name),
            consequences=[_("Their current password stops working and they are logged out on every device."),
                          _("You will see a one-time code to give them; they choose a new password when they log in with it.")],
            confirm_label=_("Yes, reset the password"), cancel_url=url_for("accounts.user_detail", user_id=user.id))
    code = services.reset_password_to_code(user)
    record_event(AuditAction.RESET_PASSWORD, current_user, subject_id=user.id, client_address=request.remote_addr)
    db.session.commit()
    return render_template("accounts/one_time_code.html", user=user, code=code)


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create_staff():
    """Let an admin create an instructor, organizer or admin account."""
    form = StaffForm()
    form.fill_place_choices()
    form.fill_answer_choices()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                full_name=form.full_name.data,
                phone=form.phone.data,
                roles={Role(r) for r in form.roles.data},
                email=form.email.data,
                date_of_birth=form.date_of_birth.data,
                commune_code=form.commune.data or None,
                village=form.village.data,
                business_name=form.business_name.data,
            )
            services.set_staff_places(user, provinces=form.province_codes, communes=form.commune_codes)
            code = services.reset_password_to_code(user)
        except services.PhoneAlreadyRegistered as exc:
            form.phone.errors.append(str(exc))
        else:
            record_event(AuditAction.CHANGED_ROLES, current_user, subject_id=user.id,
                         object_kind=AuditObject.ROLES, object_ref=",".join(sorted(r.value for r in user.roles)),
                         client_address=request.remote_addr)
            db.session.commit()
            return render_template("accounts/one_time_code.html", user=user, code=code)
    return render_template("accounts/staff_form.html", form=form)


@bp.app_errorhandler(HashingBusy)
def hashing_busy(exc: HashingBusy):
    """Answer any other page that hashes a password (registration, a new password) 503 with Retry-After."""
    from lms.core.responses import render_error

    db.session.rollback()
    _keep_retry_after()
    return render_error(503, _("Many people are logging in. Try again in %(seconds)s seconds.", seconds=exc.retry_after),
                        headers=[("Retry-After", str(exc.retry_after))], error="busy")


@bp.before_app_request
def force_password_change():
    """Send a user who logged in with a one-time code to choose a password first."""
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint
        not in {"accounts.change_password", "accounts.logout", "static", "core.healthz", "core.set_language",
                # The app shell: a redirect would fail the service worker's install.
                "core.manifest", "core.service_worker", "core.offline"}
    ):
        return redirect(url_for("accounts.change_password"))
    return None

