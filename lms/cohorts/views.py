"""Classes (cohorts): create them, put trainees in, schedule, move and cancel sessions."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from lms.accounts import services as accounts
from lms.accounts.access import role_required
from lms.accounts.forms import ConfirmActionForm, ConfirmForm
from lms.accounts.models import Role, User, UserRole
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.cohorts import services
from lms.cohorts.access import (
    classes_run_by,
    get_cohort_or_404,
    get_session_or_404,
    runs_class,
    runs_every_class,
)
from lms.cohorts.forms import (
    AddMemberForm,
    CancelForm,
    ChooseMembersForm,
    CohortEditForm,
    CohortForm,
    MoveMembersForm,
    SeriesForm,
    SessionForm,
    WithdrawMembersForm,
)
from lms.cohorts.models import Cohort, CohortMember
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.text import mask_phone
from lms.core.timezone import VIETNAM
from lms.courses.models import Course

bp = Blueprint("cohorts", __name__, url_prefix="/cohorts")
# Templates ask the same question as the routes: who runs this class, who runs them all.
bp.add_app_template_global(runs_class)
bp.add_app_template_global(runs_every_class)


def _course_choices():
    return [SelectChoice(c.id, c.title) for c in db.session.scalars(sa.select(Course).order_by(Course.title))]


def _instructor_choices():
    stmt = sa.select(User).where(User.role_rows.any(UserRole.role == Role.INSTRUCTOR)).order_by(User.full_name)
    return [SelectChoice(u.id, f"{u.full_name} ({mask_phone(u.phone)})") for u in db.session.scalars(stmt)]


@bp.route("")
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def index():
    """List the classes I run."""
    stmt = (sa.select(Cohort).where(classes_run_by(current_user))
            .order_by(Cohort.start_date.desc().nulls_last(), Cohort.code))
    cohorts = list(db.session.scalars(stmt))
    counts = dict(db.session.execute(
        sa.select(CohortMember.cohort_id, sa.func.count(CohortMember.id))
        .where(CohortMember.status == "active").group_by(CohortMember.cohort_id)).all())
    return render_template("cohorts/index.html", cohorts=cohorts, counts=counts)


@bp.route("/find")
@role_required(Role.ORGANIZER)
def find():
    """Find a trainee in any class by name (tone marks optional) or by some digits of their phone."""
    query = request.args.get("q", "").strip()[:100]
    found = services.find_trainees(query, page=request.args.get("page", 1, type=int))
    return render_template("cohorts/find.html", query=query, found=found)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def create():
    """Create a class."""
    form = CohortForm()
    form.course.choices = _course_choices()
    form.instructors.choices = _instructor_choices()
    form.fill_place_choices()
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(
                code=form.code.data, course=db.session.get(Course, form.course.data), name=form.name.data,
                commune_code=form.commune.data or None, venue=form.venue.data or "", start_date=form.start_date.data,
                end_date=form.end_date.data, capacity=form.capacity.data,
                instructors=[db.session.get(User, uid) for uid in form.instructors.data or []])
        except services.CohortError as exc:
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The class has been created."), "success")
            return redirect(url_for("cohorts.detail", code=cohort.code))
    return render_template("cohorts/form.html", form=form)


@bp.route("/<code>")
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def detail(code: str):
    """A class: trainees (a page at a time, searchable), sessions, and what can be done with them."""
    cohort = get_cohort_or_404(code, current_user)
    query = request.args.get("q", "").strip()[:100]
    members = services.member_page(cohort, query=query, page=request.args.get("page", 1, type=int))
    sessions = services.sessions_of(cohort)
    all_sessions = request.args.get("sessions") == "all"
    return render_template("cohorts/detail.html", cohort=cohort, members=members, query=query,
                           sessions=sessions if all_sessions else services.sessions_shown(sessions),
                           session_total=len(sessions), member_form=AddMemberForm(),
                           session_form=SessionForm(prefix="one"), series_form=SeriesForm(prefix="series"),
                           action=ConfirmForm())


@bp.route("/<code>/edit", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def edit(code: str):
    """Change a class's name, commune, venue, dates, capacity or instructors; each change is kept."""
    cohort = get_cohort_or_404(code, current_user)
    form = CohortEditForm()
    choices = _instructor_choices()
    offered = {choice.value for choice in choices}
    # Someone who is no longer an instructor stays listed while they teach this class.
    form.instructors.choices = choices + [SelectChoice(u.id, u.full_name) for u in cohort.instructors
                                          if u.id not in offered]
    if request.method == "GET":
        form.name.data, form.venue.data, form.capacity.data = cohort.name, cohort.venue, cohort.capacity
        form.start_date.data, form.end_date.data = cohort.start_date, cohort.end_date
        form.commune.data = cohort.commune_code or 0
        form.instructors.data = [u.id for u in cohort.instructors]
    form.fill_place_choices(default_commune=cohort.commune_code)
    if form.validate_on_submit():
        try:
            changes = services.update_cohort(
                cohort, changed_by=current_user, name=form.name.data, commune_code=form.commune.data or None,
                venue=form.venue.data or "", start_date=form.start_date.data, end_date=form.end_date.data,
                capacity=form.capacity.data,
                instructors=[db.session.get(User, uid) for uid in form.instructors.data or []])
        except services.CohortError as exc:
            form[exc.field or "name"].errors.append(str(exc))
        else:
            db.session.commit()
            if changes:
                flash(_("Saved: %(fields)s.", fields=", ".join(c.field.label for c in changes)), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("cohorts.detail", code=cohort.code))
    return render_template("cohorts/edit.html", cohort=cohort, form=form)


@bp.route("/<code>/history")
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def history(code: str):
    """What has changed about a class, who changed it and when."""
    cohort = get_cohort_or_404(code, current_user)
    return render_template("cohorts/history.html", cohort=cohort, changes=services.cohort_history(cohort))


@bp.route("/<code>/members", methods=["POST"])
@role_required(Role.ORGANIZER)
def add_member(code: str):
    """Put one trainee (by phone number) into the class."""
    cohort = get_cohort_or_404(code, current_user)
    form = AddMemberForm()
    if form.validate_on_submit():
        user = accounts.find_user_by_phone(form.phone.data)
        if user is None:
            flash(_("No account has this phone number. Import the trainee from a spreadsheet, or ask them to register."), "error")
        else:
            try:
                _member, added = services.add_member(cohort, user)
            except services.CohortError as exc:
                flash(str(exc), "error")
            else:
                db.session.commit()
                flash(_("%(name)s is in the class.", name=user.full_name) if added
                      else _("%(name)s was already in the class.", name=user.full_name), "success")
    return redirect(url_for("cohorts.detail", code=code, _anchor="members"))


@bp.route("/<code>/members/<int:member_id>/withdraw", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def withdraw(code: str, member_id: int):
    """Ask, then take a trainee out of the class (their record stays)."""
    cohort = get_cohort_or_404(code, current_user)
    member = db.session.get(CohortMember, member_id)
    if member is None or member.cohort_id != cohort.id:
        abort(404)
    back = url_for("cohorts.detail", code=code, _anchor="members")
    if member.withdrawn_at is not None:
        flash(_("%(name)s is no longer in the class.", name=member.user.full_name), "info")
        return redirect(back)
    form = ConfirmActionForm()
    if not form.validate_on_submit():
        return render_template(
            "core/confirm.html", form=form, action=url_for("cohorts.withdraw", code=code, member_id=member.id),
            question=_("Withdraw %(name)s from class %(code)s?", name=member.user.full_name, code=cohort.code),
            consequences=[_("Their learning progress and attendance are kept."),
                          _("You can add them to the class again later.")],
            confirm_label=_("Yes, withdraw %(name)s", name=member.user.full_name), cancel_url=back)
    services.withdraw_members([member], withdrawn_by=current_user)
    _record_in_audit_log(AuditAction.WITHDREW_FROM_CLASS, [member], cohort.code)
    db.session.commit()
    flash(_("%(name)s has been withdrawn from the class.", name=member.user.full_name), "info")
    return redirect(back)


#: A message after a move or a withdrawal names the trainees up to this many (the history names them all).
NAMES_IN_A_MESSAGE = 10


def _record_in_audit_log(action: AuditAction, members, object_ref: str) -> None:
    for member in members:
        record_event(action, current_user, subject_id=member.user_id, object_kind=AuditObject.CLASS_MEMBERSHIP,
                     object_ref=object_ref, client_address=request.remote_addr)


def _chosen_members(cohort, form) -> list[CohortMember]:
    """Return the members the form names, all active in this class; raise CohortError with the reason otherwise."""
    try:
        ids = form.chosen_ids()
    except ValueError as exc:
        raise services.CohortError(str(exc)) from exc
    return services.chosen_members(cohort, ids)


@bp.route("/<code>/members/move", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def move_members(code: str):
    """Ask which class of the course to move the ticked trainees to, then move them all or none."""
    cohort = get_cohort_or_404(code, current_user)
    back = url_for("cohorts.detail", code=cohort.code, _anchor="members")
    form = MoveMembersForm() if request.method == "POST" else MoveMembersForm(formdata=None)
    try:
        members = _chosen_members(cohort, form if request.method == "POST" else ChooseMembersForm(request.args))
    except services.CohortError as exc:
        flash(str(exc), "error")
        return redirect(back)
    targets = services.move_targets(cohort)
    form.target.choices = [SelectChoice("", _("Choose a class"))] + [
        SelectChoice(t.cohort.id, _target_label(t)) for t in targets]
    if request.method == "POST" and form.validate_on_submit():
        target = db.session.get(Cohort, form.target.data)
        try:
            # The target by id from the form: the same rule as every class route (organizers run them all).
            if target is None or not runs_class(current_user, target):
                raise services.CohortError(_("Choose a class from the list."))
            services.move_members(members, target, moved_by=current_user)
        except services.CohortError as exc:
            form.target.errors.append(str(exc))
        else:
            _record_in_audit_log(AuditAction.MOVED_TO_CLASS, members, f"{cohort.code} → {target.code}")
            db.session.commit()
            if len(members) <= NAMES_IN_A_MESSAGE:
                flash(_("%(n)d trainee(s) moved to class %(code)s: %(names)s.", n=len(members), code=target.code,
                        names=", ".join(m.user.full_name for m in members)), "success")
            else:
                flash(_("%(n)d trainee(s) moved to class %(code)s.", n=len(members), code=target.code), "success")
            return redirect(back)
    return render_template("cohorts/move.html", cohort=cohort, form=form, members=members, targets=targets,
                           back=back)


def _target_label(target: services.MoveTarget) -> str:
    # What tells classes apart first (code, commune, room left): a closed select on a phone shows only the start.
    parts = [target.cohort.code]
    if target.commune_name:
        parts.append(target.commune_name)
    if target.left is None:
        parts.append(_("%(n)d trainees", n=target.members))
    elif target.left == 0:
        parts.append(_("%(n)d trainees, full", n=target.members))
    else:
        parts.append(_("%(n)d trainees, %(left)d place(s) left", n=target.members, left=target.left))
    return " — ".join([*parts, target.cohort.name])


@bp.route("/<code>/members/withdraw", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def withdraw_members(code: str):
    """Show who will be withdrawn and ask for a reason, then withdraw them all."""
    cohort = get_cohort_or_404(code, current_user)
    back = url_for("cohorts.detail", code=cohort.code, _anchor="members")
    form = WithdrawMembersForm() if request.method == "POST" else WithdrawMembersForm(formdata=None)
    try:
        members = _chosen_members(cohort, form if request.method == "POST" else ChooseMembersForm(request.args))
    except services.CohortError as exc:
        flash(str(exc), "error")
        return redirect(back)
    if request.method == "POST" and form.validate_on_submit():
        services.withdraw_members(members, withdrawn_by=current_user, reason=form.reason.data or "")
        _record_in_audit_log(AuditAction.WITHDREW_FROM_CLASS, members, cohort.code)
        db.session.commit()
        if len(members) <= NAMES_IN_A_MESSAGE:
            flash(_("%(n)d trainee(s) withdrawn from the class: %(names)s.", n=len(members),
                    names=", ".join(m.user.full_name for m in members)), "info")
        else:
            flash(_("%(n)d trainee(s) withdrawn from the class.", n=len(members)), "info")
        return redirect(back)
    return render_template("cohorts/withdraw_many.html", cohort=cohort, form=form, members=members,
                           back=back)


@bp.route("/<code>/sessions", methods=["POST"])
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def add_sessions(code: str):
    """Schedule one session, or a weekly series."""
    cohort = get_cohort_or_404(code, current_user)
    weekly = request.form.get("kind") == "series"
    form = SeriesForm(prefix="series") if weekly else SessionForm(prefix="one")
    if not form.validate_on_submit():
        # Show the form again with what was typed, and the errors beside their fields.
        return render_template("cohorts/sessions_form.html", cohort=cohort, form=form, weekly=weekly)
    try:
        if weekly:
            made = services.add_weekly_sessions(cohort, first_day=form.day.data, weekdays=set(form.weekdays.data),
                                                start=form.start.data, end=form.end.data, count=form.count.data,
                                                venue=form.venue.data or "", topic=form.topic.data or "")
        else:
            made = [services.add_session(cohort, day=form.day.data, start=form.start.data, end=form.end.data,
                                         venue=form.venue.data or "", topic=form.topic.data or "")]
    except services.CohortError as exc:
        form.end.errors.append(str(exc))
        return render_template("cohorts/sessions_form.html", cohort=cohort, form=form, weekly=weekly)
    db.session.commit()
    flash(_("%(n)d session(s) scheduled.", n=len(made)), "success")
    return redirect(url_for("cohorts.detail", code=code, _anchor="sessions"))


@bp.route("/<code>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def reschedule(code: str, session_id: int):
    """Move a session to another day or time; the trainees are told."""
    cohort = get_cohort_or_404(code, current_user)
    session = get_session_or_404(cohort, session_id)
    form = SessionForm()
    if request.method == "GET":
        local = session.starts_at.astimezone(VIETNAM)
        form.day.data, form.start.data = local.date(), local.time()
        form.end.data, form.venue.data, form.topic.data = (session.ends_at.astimezone(VIETNAM).time(),
                                                           session.venue, session.topic)
    if form.validate_on_submit():
        try:
            services.reschedule_session(session, day=form.day.data, start=form.start.data, end=form.end.data,
                                        venue=form.venue.data)
        except services.CohortError as exc:
            form.end.errors.append(str(exc))
        else:
            session.topic = form.topic.data or session.topic
            db.session.commit()
            flash(_("The session has been moved and the trainees told."), "success")
            return redirect(url_for("cohorts.detail", code=code, _anchor="sessions"))
    return render_template("cohorts/session_form.html", cohort=cohort, session=session, form=form,
                           cancel_form=CancelForm())


@bp.route("/<code>/sessions/<int:session_id>/cancel", methods=["POST"])
@role_required(Role.ORGANIZER, Role.INSTRUCTOR)
def cancel(code: str, session_id: int):
    """Cancel a session; the trainees are told."""
    cohort = get_cohort_or_404(code, current_user)
    session = get_session_or_404(cohort, session_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    services.cancel_session(session, form.reason.data or "")
    db.session.commit()
    flash(_("The session has been cancelled and the trainees told."), "info")
    return redirect(url_for("cohorts.detail", code=code, _anchor="sessions"))
