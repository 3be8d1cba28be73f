"""Attendance: roll call, the class's rotating check-in code, card scans, and trainees' own attendance."""

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from lms.accounts.access import role_required
from lms.accounts.forms import ConfirmForm
from lms.accounts.models import Role, User
from lms.attendance import checkin, figures, services
from lms.attendance.access import get_session_for_staff_or_404, get_trainee_of_session_or_404
from lms.attendance.forms import CardScanForm, CodeForm, MarkForm
from lms.attendance.models import ATTENDED, AttendanceStatus, CheckInMethod
from lms.attendance.schemas import TypedCodeIn, TypedCodeOut
from lms.cohorts.models import ClassSession
from lms.core.api import ErrorBody, api_error, api_login_required, api_operation
from lms.core.db import utcnow, writes_database
from lms.core.extensions import db, limiter
from lms.core.i18n import gettext as _
from lms.core.timezone import local_today

bp = Blueprint("attendance", __name__)

#: Typed check-in codes a trainee may try per minute: 6 digits must not be guessable by trying.
CODE_LIMIT = "10 per minute"
STAFF_ROLES = (Role.INSTRUCTOR, Role.ORGANIZER)


# --- What every screen shows of a trainee's attendance (figures.py defines it) ------------------


@bp.app_template_filter("attendance_percent")
def attendance_percent_filter(percent: float | None) -> str:
    return figures.format_percent(percent)


@bp.app_template_global("attendance_rule")
def attendance_rule_text() -> str:
    """Return the rule of the attendance rate in words, in the reader's language."""
    return str(figures.RULE)


@bp.app_template_global("attendance_figures_of")
def attendance_figures_of(cohort, members) -> dict[int, figures.AttendanceFigure]:
    """Return user id -> attendance figure for the class members a page lists (two queries)."""
    return figures.figures_of_class(cohort.id, [m.user_id for m in members])


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _status_labels() -> list[tuple[str, str]]:
    return [(s.value, s.label) for s in AttendanceStatus]


# --- Staff: today's sessions and one session --------------------------------------------------


@bp.route("/sessions/today")
@role_required(*STAFF_ROLES)
def today():
    """List today's sessions of the classes I take attendance for."""
    sessions = services.sessions_for_staff(current_user, local_today())
    return render_template("attendance/today.html", sessions=sessions, now=utcnow(), is_open=checkin.is_open)


@bp.route("/sessions/<int:session_id>")
@role_required(*STAFF_ROLES)
def session_detail(session_id: int):
    """Show one session with its counts and the three ways to take attendance."""
    session = get_session_for_staff_or_404(session_id, current_user)
    return render_template("attendance/session.html", class_session=session, counts=services.session_counts(session),
                           open_now=checkin.is_open(session), statuses=_status_labels())


# --- Roll call --------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/roll-call", methods=["GET", "POST"])
@role_required(*STAFF_ROLES)
def roll_call(session_id: int):
    """Show the class list with one tap per status; POST marks everyone not yet marked as absent."""
    session = get_session_for_staff_or_404(session_id, current_user)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            marked = services.mark_unmarked_absent(session, by=current_user)
        except checkin.CheckInRefused as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("%(n)d trainees marked absent.", n=marked), "success")
        return redirect(url_for(".roll_call", session_id=session.id))
    rows = services.roll_call(session)
    query = (request.args.get("q") or "").strip()[:100]
    shown = services.search_rows(rows, query)
    return render_template("attendance/roll_call.html", class_session=session, rows=shown, total=len(rows),
                           counts=services.count(rows), query=query, statuses=_status_labels(),
                           absent_form=form, figures=figures.figures_of_class(session.cohort_id,
                                                                              [row.user.id for row in shown]))


@bp.route("/sessions/<int:session_id>/attendance/<int:user_id>", methods=["POST"])
@role_required(*STAFF_ROLES)
def mark(session_id: int, user_id: int):
    """Set one trainee's status from the roll call; answer JSON to attendance.js, else go back to the row."""
    session = get_session_for_staff_or_404(session_id, current_user)
    trainee = get_trainee_of_session_or_404(session, user_id)
    form = MarkForm()
    if not form.validate_on_submit():
        if _wants_json():
            return jsonify(error=_("Reload the page and try again.")), 400
        abort(400)
    try:
        record = services.record_attendance(session, trainee, AttendanceStatus(form.status.data),
                                            by=current_user, method=CheckInMethod.ROLL_CALL)
    except checkin.CheckInRefused as exc:
        if _wants_json():
            return jsonify(error=str(exc)), 409
        flash(str(exc), "error")
    else:
        db.session.commit()
        if _wants_json():
            figure = figures.figures_of_class(session.cohort_id, [trainee.id])[trainee.id]
            figure_html = get_template_attribute("attendance/_figure.html", "figure_short")(figure)
            return jsonify(user_id=trainee.id, status=record.status.value, label=record.status.label,
                           counts=services.session_counts(session).as_dict(), figure_html=str(figure_html))
    return redirect(url_for(".roll_call", session_id=session.id, q=form.q.data or None, _anchor=f"m-{trainee.id}"))


@bp.route("/sessions/<int:session_id>/attendance/<int:user_id>/history")
@role_required(*STAFF_ROLES)
def history(session_id: int, user_id: int):
    """Show every change of one trainee's attendance at a session: who, when, from what to what, how."""
    session = get_session_for_staff_or_404(session_id, current_user)
    trainee = get_trainee_of_session_or_404(session, user_id)
    record = services.get_record(session, trainee)
    changes = services.history(record) if record is not None else []
    by_ids = {c.changed_by_id for c in changes if c.changed_by_id}
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(by_ids)))} if by_ids else {}
    return render_template("attendance/history.html", class_session=session, trainee=trainee, record=record,
                           changes=changes, people=people)


# --- The class's rotating code ----------------------------------------------------------------


def _screen_state(session: ClassSession) -> dict:
    """Return what the check-in screen shows now: the QR (as a data: URI), the code, the counts."""
    now = utcnow()
    state = {"open": not session.is_cancelled and checkin.is_open(session, now), "cancelled": session.is_cancelled,
             "counts": services.session_counts(session).as_dict(),
             "refresh_in": min(checkin.seconds_left(now), checkin.seconds_left(now, checkin.CODE_WINDOW_S)) + 1}
    if state["open"]:
        url = url_for(".check_in_link", token=checkin.make_token(session, now), _external=True)
        state.update(url=url, qr=checkin.qr_data_uri(url), code=checkin.make_code(session, now))
    return state


@bp.route("/sessions/<int:session_id>/check-in-screen")
@role_required(*STAFF_ROLES)
def check_in_screen(session_id: int):
    """Show the class's QR code and 6-digit code for trainees' phones; they change every half minute."""
    session = get_session_for_staff_or_404(session_id, current_user)
    return render_template("attendance/check_in_screen.html", class_session=session, state=_screen_state(session),
                           opens_at=session.starts_at - checkin.OPEN_BEFORE,
                           closes_at=session.ends_at + checkin.OPEN_AFTER)


@bp.route("/sessions/<int:session_id>/check-in-code.json")
@role_required(*STAFF_ROLES)
def check_in_code(session_id: int):
    """Return the current QR, code and counts for attendance.js to swap in."""
    session = get_session_for_staff_or_404(session_id, current_user)
    response = jsonify(_screen_state(session))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Trainees check themselves in ---------------------------------------------------------------


def _refused(exc: checkin.CheckInRefused):
    db.session.rollback()
    code = 403 if isinstance(exc, services.NotInClass) else 400
    return make_response(render_template("attendance/check_in_result.html", result=None, message=str(exc)), code)


def _with_scan_pass(response, session: ClassSession, token: str):
    value, lifetime = checkin.make_scan_pass(session, token)
    response.set_cookie(checkin.SCAN_COOKIE, value, max_age=lifetime, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


@bp.route("/check-in/<token>")
@writes_database
def check_in_link(token: str):
    """Check in with the class's QR code: the phone's camera opens this address."""
    if not current_user.is_authenticated:
        try:
            session = checkin.verify_token(token)
        except checkin.CheckInRefused as exc:
            return _refused(exc)
        # Logging in may take longer than the code lives: the stamp and this browser's pass honour the
        # scan until the token's redeem deadline (checkin's docstring).
        flash(_("Log in on this phone within %(minutes)d minutes to finish checking in.",
                minutes=int(checkin.LOGIN_ALLOWANCE.total_seconds()) // 60), "info")
        target = url_for(".check_in_link", token=token, seen=checkin.stamp_seen(token))
        return _with_scan_pass(redirect(url_for("accounts.login", next=target)), session, token)
    scan_pass = request.cookies.get(checkin.SCAN_COOKIE)
    scanned_at = checkin.scanned_at(token, request.args.get("seen"), scan_pass)
    try:
        result = services.check_in_with_token(token, current_user, scanned_at=scanned_at)
    except checkin.CheckInRefused as exc:
        response = _refused(exc)
    else:
        db.session.commit()
        response = make_response(render_template("attendance/check_in_result.html", result=result, message=None))
    if scanned_at is not None:
        # One scan checks in one person, once: whatever came of it, the pass is spent.
        response.delete_cookie(checkin.SCAN_COOKIE, httponly=True, samesite="Lax",
                               secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def _code_limit() -> str:
    return current_app.config.get("CHECK_IN_CODE_LIMIT", CODE_LIMIT)


def _code_limit_key() -> str:
    if current_user.is_authenticated:
        return f"check-in-code:user:{current_user.id}"
    return f"check-in-code:ip:{get_remote_address()}"


@bp.route("/check-in", methods=["GET", "POST"])
@login_required
@limiter.limit(_code_limit, key_func=_code_limit_key, methods=["POST"])
def check_in():
    """Check in by typing the 6-digit code on the instructor's screen."""
    form = CodeForm()
    if form.validate_on_submit():
        try:
            result = services.check_in_with_code(form.code.data, current_user)
        except checkin.CheckInRefused as exc:
            db.session.rollback()
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            return render_template("attendance/check_in_result.html", result=result, message=None)
    return render_template("attendance/check_in.html", form=form,
                           today=services.todays_sessions(current_user), attended=ATTENDED)


@bp.route("/api/v1/check-ins", methods=["POST"])
@api_login_required
@limiter.limit(_code_limit, key_func=_code_limit_key)
@api_operation("/api/v1/check-ins", "POST", summary="Check in with a code typed on the phone, perhaps while offline",
               body=TypedCodeIn, tags=["attendance"],
               responses={200: ("Checked in as of the moment typed, or already checked in", TypedCodeOut),
                          401: ("Not logged in", ErrorBody),
                          422: ("Refused: wrong or expired code, check-in not open then, not in the class", ErrorBody)})
def check_in_typed_code(payload: TypedCodeIn):
    """Check the current user in as of the moment the code was typed; sending it again changes nothing."""
    try:
        result = services.check_in_with_typed_code(payload.code, current_user, typed_at=payload.typed_at)
    except checkin.CheckInRefused as exc:
        db.session.rollback()
        return api_error(422, "refused", str(exc))
    db.session.commit()
    return jsonify(TypedCodeOut(id=str(payload.id), status="already" if result.already else "checked_in",
                                session_id=result.session.id, arrival=str(result.record.status.label)).model_dump())


# --- Trainees' cards, scanned by the instructor -------------------------------------------------


@bp.route("/my/attendance-card", methods=["GET", "POST"])
@writes_database
@login_required
def my_card():
    """Show the trainee's own QR card (made on first view); POST replaces a lost card."""
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        services.replace_card(current_user)
        db.session.commit()
        flash(_("Your new card is ready. The old one no longer works."), "success")
        return redirect(url_for(".my_card"))
    card = services.issue_card(current_user)
    db.session.commit()
    return render_template("attendance/card.html", card=card, qr=checkin.qr_data_uri(card.token, scale=8),
                           form=form)


@bp.route("/sessions/<int:session_id>/scan", methods=["GET", "POST"])
@role_required(*STAFF_ROLES)
def scan(session_id: int):
    """Scan trainees' cards with the camera (where the browser can) or a hardware scanner, or type a code."""
    session = get_session_for_staff_or_404(session_id, current_user)
    form = CardScanForm()
    if request.method == "POST":
        outcome = _scan_card(session, form)
        if _wants_json():
            return jsonify(outcome), (200 if outcome["ok"] else 400)
        flash(outcome["message"], "success" if outcome["ok"] else "error")
        return redirect(url_for(".scan", session_id=session.id))
    return render_template("attendance/scan.html", class_session=session, form=form,
                           counts=services.session_counts(session))


def _scan_card(session: ClassSession, form: CardScanForm) -> dict:
    if not form.validate_on_submit():
        message = next(iter(form.card.errors), None) or _("Reload the page and try again.")
        return {"ok": False, "message": str(message)}
    try:
        result = services.check_in_with_card(session, form.card.data, by=current_user)
    except checkin.CheckInRefused as exc:
        db.session.rollback()
        return {"ok": False, "message": str(exc)}
    db.session.commit()
    trainee = db.session.get(User, result.record.user_id)
    if result.already:
        message = _("%(name)s was already checked in.", name=trainee.full_name)
    else:
        message = _("%(name)s: %(status)s.", name=trainee.full_name, status=result.record.status.label)
    return {"ok": True, "already": result.already, "message": message, "name": trainee.full_name,
            "status": result.record.status.value, "counts": services.session_counts(session).as_dict()}


# --- Trainees see their own attendance ----------------------------------------------------------


@bp.route("/my/attendance")
@login_required
def my_attendance():
    """List my classes and their sessions with my status, and the share I attended."""
    return render_template("attendance/my_attendance.html", classes=services.attendance_of(current_user))


def render_home_notice(user) -> str:
    """Return today's sessions of the trainee's classes, with a Check in button while one is on, or ""."""
    if not getattr(user, "is_authenticated", False):
        return ""
    lines = services.todays_sessions(user)
    if not lines:
        return ""
    return render_template("attendance/_home_notice.html", lines=lines, attended=ATTENDED)
