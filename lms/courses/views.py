"""The catalogue, course pages and lesson pages."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from lms.accounts.access import role_required
from lms.accounts.models import Role, User, UserRole
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.params import int_arg
from lms.core.text import mask_phone
from lms.courses import services
from lms.courses.access import can_edit_course
from lms.courses.forms import CourseForm, LessonForm, ModuleForm, MoveForm
from lms.courses.models import (
    Course,
    CourseLevel,
    CourseStatus,
    EnrollmentMode,
    Lesson,
    LessonKind,
    Module,
)

bp = Blueprint("courses", __name__, url_prefix="/courses")


def get_course_or_404(slug: str, for_user) -> Course:
    """Load a course the user may see: published, or a draft to its editors."""
    return visible_course_or_404(db.session.scalar(sa.select(Course).where(Course.slug == slug)), for_user)


def visible_course_or_404(course: Course | None, for_user) -> Course:
    """Return the course if the user may see it (published, or a draft to its editors), else 404."""
    if course is None or (not course.is_published and not can_edit_course(for_user, course)):
        abort(404)
    return course


def get_lesson_or_404(course: Course, slug: str) -> Lesson:
    """Load a lesson of this course by its address; archived lessons are gone for trainees."""
    lesson = db.session.scalar(
        sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == slug, Lesson.archived_at.is_(None))
    )
    if lesson is None:
        abort(404)
    return lesson


@bp.route("")
def catalogue():
    """List the published courses."""
    return render_template("courses/catalogue.html", courses=services.published_courses())


@bp.route("/<slug>")
def course_detail(slug: str):
    """Show a course's summary and its lessons by module."""
    course = get_course_or_404(slug, for_user=current_user)
    from lms.learning.services import course_progress, is_enrolled

    summary = course_progress(current_user, course) if current_user.is_authenticated else None
    enrolled = current_user.is_authenticated and is_enrolled(current_user, course)
    return render_template("courses/course.html", course=course, summary=summary, enrolled=enrolled,
                           can_edit=can_edit_course(current_user, course) and request.args.get("preview") != "1")


# --- Authoring: instructors, organizers and admins --------------------------------------


def get_course_for_editing_or_404(slug: str, for_user) -> Course:
    """Load a course the user may edit; others get 404 (or 403 when they may see it)."""
    course = db.session.scalar(sa.select(Course).where(Course.slug == slug))
    if course is None:
        abort(404)
    if not can_edit_course(for_user, course):
        abort(403)
    return course


def get_module_or_404(course: Course, module_id: int) -> Module:
    module = db.session.get(Module, module_id)
    if module is None or module.course_id != course.id:
        abort(404)
    return module


def get_any_lesson_or_404(course: Course, slug: str) -> Lesson:
    """Load a lesson of this course, archived ones included."""
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == slug))
    if lesson is None:
        abort(404)
    return lesson


def instructor_choices() -> list[tuple[int, str]]:
    stmt = (sa.select(User).where(User.role_rows.any(UserRole.role == Role.INSTRUCTOR))
            .order_by(User.full_name))
    return [SelectChoice(u.id, f"{u.full_name} ({mask_phone(u.phone)})") for u in db.session.scalars(stmt)]


def find_course_media(course: Course, public_id: str | None):
    """Return an asset uploaded for this course, or None."""
    from lms.media.models import MediaAsset

    if not public_id:
        return None
    asset = db.session.scalar(sa.select(MediaAsset).where(MediaAsset.public_id == public_id))
    if asset is None or asset.course_id != course.id:
        return None
    return asset


@bp.route("/manage")
@role_required(Role.INSTRUCTOR, Role.ORGANIZER)
def manage():
    """List the courses the user may edit."""
    return render_template("courses/manage.html", courses=services.courses_editable_by(current_user))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.INSTRUCTOR, Role.ORGANIZER)
def create():
    """Create a course as a draft."""
    form = CourseForm()
    del form.instructors, form.status, form.cover_media_id, form.enrollment_mode, form.video_completion_percent
    if form.validate_on_submit():
        try:
            course = services.create_course(
                title=form.title.data, slug=form.slug.data or None, summary=form.summary.data or "",
                level=CourseLevel(form.level.data), estimated_hours=form.estimated_hours.data,
            )
        except services.CourseError as exc:
            form.slug.errors.append(str(exc))
        else:
            if current_user.has_role(Role.INSTRUCTOR):
                services.set_instructors(course, [current_user._get_current_object()])
            services.add_module(course, _("Part 1"))
            db.session.commit()
            flash(_("The course has been created as a draft."), "success")
            return redirect(url_for("courses.edit", slug=course.slug))
    return render_template("courses/course_new.html", form=form)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    """Edit a course's settings and see its outline."""
    course = get_course_for_editing_or_404(slug, current_user)
    form = CourseForm(obj=course if request.method == "GET" else None)
    form.instructors.choices = instructor_choices()
    if request.method == "GET":
        form.level.data, form.status.data = course.level.value, course.status.value
        form.enrollment_mode.data = course.enrollment_mode.value
        form.instructors.data = [u.id for u in course.instructors]
    if form.validate_on_submit():
        try:
            services.update_course(
                course, title=form.title.data, summary=form.summary.data or "", level=CourseLevel(form.level.data),
                estimated_hours=form.estimated_hours.data, slug=form.slug.data or None,
            )
        except services.CourseError as exc:
            form.slug.errors.append(str(exc))
        else:
            services.set_course_status(course, CourseStatus(form.status.data))
            course.enrollment_mode = EnrollmentMode(form.enrollment_mode.data)
            course.video_completion_percent = form.video_completion_percent.data
            chosen = [db.session.get(User, uid) for uid in form.instructors.data]
            services.set_instructors(course, [u for u in chosen if u is not None])
            cover = find_course_media(course, form.cover_media_id.data)
            if cover is not None and cover.media_type.value == "image":
                course.cover = cover
            db.session.commit()
            flash(_("The course has been saved."), "success")
            return redirect(url_for("courses.edit", slug=course.slug))
    module_form = ModuleForm()
    # The course's own title field is "title" on the same page: ids must differ for labels to work.
    module_form.title.id = module_form.title.label.field_id = "new-module-title"
    return render_template("courses/course_edit.html", course=course, form=form, module_form=module_form,
                           archived=services.archived_lessons(course), move_form=MoveForm())


@bp.route("/<slug>/modules", methods=["POST"])
@login_required
def add_module(slug: str):
    """Add a part at the end of the course."""
    course = get_course_for_editing_or_404(slug, current_user)
    form = ModuleForm()
    if form.validate_on_submit():
        services.add_module(course, form.title.data)
        db.session.commit()
        flash(_("The part has been added."), "success")
    else:
        flash(_("Enter a title for the part."), "error")
    return redirect(url_for("courses.edit", slug=slug, _anchor="outline"))


@bp.route("/<slug>/modules/<int:module_id>", methods=["POST"])
@login_required
def update_module(slug: str, module_id: int):
    """Rename, move or delete a part."""
    course = get_course_for_editing_or_404(slug, current_user)
    module = get_module_or_404(course, module_id)
    action = request.form.get("action")
    form = ModuleForm() if action == "rename" else MoveForm()
    if not form.validate_on_submit():
        if action != "rename" or not form.title.errors:
            abort(400)
        # An empty or too long title: say so on the editor, keep everything else.
        flash(form.title.errors[0], "error")
        return redirect(url_for("courses.edit", slug=slug, _anchor=f"module-{module.id}"))
    try:
        if action == "rename":
            services.rename_module(module, form.title.data)
            flash(_("The part has been renamed."), "success")
        elif action == "move":
            services.move_module(module, form.direction.data)
        elif action == "delete":
            services.delete_module(module)
        else:
            abort(400)
    except services.CourseError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
    return redirect(url_for("courses.edit", slug=slug, _anchor="outline"))


@bp.route("/<slug>/lessons/new", methods=["GET", "POST"])
@login_required
def new_lesson(slug: str):
    """Add a lesson to a part."""
    course = get_course_for_editing_or_404(slug, current_user)
    form = LessonForm()
    form.module_id.choices = [SelectChoice(m.id, m.title) for m in course.modules]
    if request.method == "GET" and int_arg("module"):
        form.module_id.data = int_arg("module")
    if form.validate_on_submit():
        module = get_module_or_404(course, form.module_id.data)
        try:
            lesson = services.add_lesson(module, title=form.title.data, kind=LessonKind(form.kind.data),
                                         body_markdown=form.body_markdown.data or "")
        except services.CourseError as exc:
            form.title.errors.append(str(exc))
        else:
            lesson.required = form.required.data
            db.session.commit()
            flash(_("The lesson has been added."), "success")
            return redirect(url_for("courses.edit_lesson", slug=slug, lesson_slug=lesson.slug))
    return render_template("courses/lesson_new.html", course=course, form=form)


@bp.route("/<slug>/lessons/<lesson_slug>/edit", methods=["GET", "POST"])
@login_required
def edit_lesson(slug: str, lesson_slug: str):
    """Edit a lesson: its text, its video or PDF, and where it sits."""
    course = get_course_for_editing_or_404(slug, current_user)
    lesson = get_any_lesson_or_404(course, lesson_slug)
    form = LessonForm(obj=lesson if request.method == "GET" else None)
    del form.kind
    form.module_id.choices = [SelectChoice(m.id, m.title) for m in course.modules]
    if request.method == "GET":
        form.module_id.data = lesson.module_id
        form.media_id.data = lesson.media.public_id if lesson.media else ""
    if form.validate_on_submit():
        services.update_lesson(lesson, title=form.title.data, body_markdown=form.body_markdown.data or "",
                               required=form.required.data)
        services.place_lesson(lesson, get_module_or_404(course, form.module_id.data))
        asset = find_course_media(course, form.media_id.data)
        try:
            if asset is not None and asset is not lesson.media:
                services.attach_media(lesson, asset)
        except services.CourseError as exc:
            form.media_id.errors.append(str(exc))
            db.session.rollback()
        else:
            db.session.commit()
            flash(_("The lesson has been saved."), "success")
            return redirect(url_for("courses.edit_lesson", slug=slug, lesson_slug=lesson.slug))
    return render_template("courses/lesson_edit.html", course=course, lesson=lesson, form=form,
                           move_form=MoveForm())


@bp.route("/<slug>/lessons/<lesson_slug>/arrange", methods=["POST"])
@login_required
def arrange_lesson(slug: str, lesson_slug: str):
    """Move a lesson up or down, archive it or bring it back."""
    course = get_course_for_editing_or_404(slug, current_user)
    lesson = get_any_lesson_or_404(course, lesson_slug)
    form = MoveForm()
    action = request.form.get("action")
    if action in {"archive", "restore"}:
        form.direction.data = action
    if not form.validate_on_submit():
        abort(400)
    if action == "move":
        services.move_lesson(lesson, form.direction.data)
    elif action == "archive":
        services.archive_lesson(lesson)
        flash(_("The lesson has been removed from the course. Trainees' progress on it is kept."), "info")
    elif action == "restore":
        services.restore_lesson(lesson)
    else:
        abort(400)
    db.session.commit()
    return redirect(url_for("courses.edit", slug=slug, _anchor=f"lesson-{lesson.id}"))
