"""Practical work: the lesson panel, handing in, my hand-ins, the review queue, the task editor, the API."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_login import current_user, login_required

from lms.accounts.access import role_required
from lms.accounts.forms import ConfirmActionForm
from lms.accounts.models import Role
from lms.assignments import services
from lms.assignments.forms import (
    ArrangeForm,
    AssignmentForm,
    CriterionForm,
    SubmissionForm,
    SubmissionIn,
    SubmissionOut,
    review_form_for,
    split_ids,
)
from lms.assignments.models import Assignment, RubricCriterion, Submission, SubmissionStatus
from lms.core.api import ErrorBody, api_error, api_login_required, api_operation
from lms.core.db import utcnow, writes_database
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.sniff import MediaKind
from lms.courses.access import can_edit_course, can_view_course
from lms.courses.models import Course, Lesson, LessonKind
from lms.courses.views import (
    get_any_lesson_or_404,
    get_course_for_editing_or_404,
    get_course_or_404,
    get_lesson_or_404,
)
from lms.learning.panels import register_home_notice, register_lesson_panel
from lms.learning.services import is_enrolled
from lms.media.models import MediaAsset
from lms.media.services import UploadPurpose, register_upload_purpose

bp = Blueprint("assignments", __name__)


# --- Who may upload and see hand-in photos and videos ----------------------------------------


def _may_upload_submission(user, course) -> bool:
    """Enrolled trainees upload their work; the course's editors may try the form out."""
    if not getattr(user, "is_authenticated", False):
        return False
    return can_edit_course(user, course) or is_enrolled(user, course)


def _may_view_submission(user, asset, course) -> bool:
    """Only the trainee who uploaded it and the course's editors: never another trainee."""
    if not getattr(user, "is_authenticated", False):
        return False
    return asset.owner_id == user.id or can_edit_course(user, course)


register_upload_purpose(services.SUBMISSION_PURPOSE, UploadPurpose(
    kinds=frozenset({MediaKind.IMAGE, MediaKind.VIDEO}),
    can_upload=_may_upload_submission,
    can_view=_may_view_submission,
))


# --- Loaders ---------------------------------------------------------------------------------


def get_assignment_lesson_or_404(slug: str, lesson_slug: str, for_user) -> Lesson:
    """Load a practical-work lesson the user may open."""
    course = get_course_or_404(slug, for_user)
    if not can_view_course(for_user, course):
        abort(403)
    lesson = get_lesson_or_404(course, lesson_slug)
    if lesson.kind != LessonKind.ASSIGNMENT:
        abort(404)
    return lesson


def get_my_submission_or_404(assignment: Assignment | None, user, number: int) -> Submission:
    """Load one of the user's own hand-ins by its number; anyone else's is not there."""
    submission = None
    if assignment is not None:
        submission = db.session.scalar(sa.select(Submission).where(
            Submission.assignment_id == assignment.id, Submission.user_id == user.id, Submission.number == number))
    if submission is None:
        abort(404)
    return submission


def get_submission_for_review_or_404(submission_id: int, for_user) -> Submission:
    """Load a hand-in for a reviewer who edits its course; 403 for anyone else."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        abort(404)
    if not can_edit_course(for_user, submission.assignment.lesson.course):
        abort(403)
    return submission


def get_criterion_or_404(assignment: Assignment, criterion_id: int) -> RubricCriterion:
    criterion = db.session.get(RubricCriterion, criterion_id)
    if criterion is None or criterion.assignment_id != assignment.id:
        abort(404)
    return criterion


def get_assignment_for_editing_or_404(slug: str, lesson_slug: str) -> tuple[Course, Lesson]:
    course = get_course_for_editing_or_404(slug, current_user)
    lesson = get_any_lesson_or_404(course, lesson_slug)
    if lesson.kind != LessonKind.ASSIGNMENT:
        abort(404)
    return course, lesson


# --- Helpers for templates -------------------------------------------------------------------


def lesson_url(lesson: Lesson, **values) -> str:
    """Return the address of the lesson page, where the panel sits."""
    return url_for("learning.lesson", slug=lesson.course.slug, lesson_slug=lesson.slug, **values)


def submission_url(submission: Submission) -> str:
    lesson = submission.assignment.lesson
    return url_for("assignments.my_submission", slug=lesson.course.slug, lesson_slug=lesson.slug,
                   number=submission.number)


def platform_name(platform: str) -> str:
    return services.PLATFORM_NAMES.get(platform) or _("Website")


def chosen_levels(submission: Submission) -> list:
    """Return the rubric scores of a review in the rubric's order."""
    return sorted(submission.scores, key=lambda score: (score.criterion.position, score.criterion_id))


def waited(since: datetime) -> str:
    """Return how long something has waited, in words ("3 days")."""
    return format_timedelta(utcnow() - since, granularity="minute", threshold=1.1)


HELPERS = {"platform_name": platform_name, "chosen_levels": chosen_levels, "lesson_url": lesson_url,
           "submission_url": submission_url, "waited": waited, "SubmissionStatus": SubmissionStatus}


def _own_assets(user, course: Course, public_ids: list[str]) -> list[MediaAsset]:
    """Return the user's own hand-in uploads among these ids (to show them again after an error)."""
    if not public_ids:
        return []
    assets = db.session.scalars(sa.select(MediaAsset).where(
        MediaAsset.public_id.in_(public_ids), MediaAsset.owner_id == user.id, MediaAsset.course_id == course.id,
        MediaAsset.purpose == services.SUBMISSION_PURPOSE))
    by_id = {a.public_id: a for a in assets}
    return [by_id[p] for p in public_ids if p in by_id]


# --- The lesson panel and the home notice ----------------------------------------------------


def render_panel(lesson: Lesson, user, form: SubmissionForm | None = None) -> str:
    """Return the practical-work part of a lesson page: my status, the review, the hand-in form."""
    course = lesson.course
    assignment = services.assignment_for(lesson)
    history = services.submissions_of(assignment, user)
    latest = history[-1] if history else None
    can_submit = services.may_submit(assignment, user)
    if can_submit and form is None:
        form = SubmissionForm(formdata=None, data=_redo_data(latest))
    photos = video = None
    if form is not None and getattr(user, "is_authenticated", False):
        photos = _own_assets(user, course, split_ids(form.photo_ids.data))
        videos = _own_assets(user, course, split_ids(form.video_id.data))
        video = videos[0] if videos else None
    return render_template(
        "assignments/_panel.html", lesson=lesson, course=course, assignment=assignment, history=history,
        latest=latest, form=form if can_submit else None, photos=photos or [],
        video=video, enrolled=getattr(user, "is_authenticated", False) and is_enrolled(user, course),
        can_edit=can_edit_course(user, course), **HELPERS,
    )


def _redo_data(latest: Submission | None) -> dict:
    """Start a redo from the work handed in last time: improving beats retyping on a phone."""
    if latest is None or latest.status != SubmissionStatus.NEEDS_REVISION:
        return {}
    return {"text": latest.text, "links": [link["url"] for link in latest.links or []],
            "photo_ids": ",".join(a.public_id for a in latest.photos),
            "video_id": ",".join(a.public_id for a in latest.videos)}


def render_home_notice(user) -> str:
    """Return a badge listing hand-ins with a review the trainee has not opened, or ""."""
    if not getattr(user, "is_authenticated", False):
        return ""
    news = services.unseen_feedback(user)
    if not news:
        return ""
    return render_template("assignments/_home_notice.html", news=news, **HELPERS)


register_lesson_panel(LessonKind.ASSIGNMENT, render_panel)
register_home_notice("assignments", render_home_notice)


# --- Trainees: handing in and reading the review ---------------------------------------------


@bp.route("/courses/<slug>/lessons/<lesson_slug>/submissions", methods=["GET", "POST"])
@login_required
def hand_in(slug: str, lesson_slug: str):
    """Show the task with its hand-in form; hand the work in and go back to the lesson."""
    lesson = get_assignment_lesson_or_404(slug, lesson_slug, current_user)
    if request.method == "GET":
        return _render_hand_in(lesson)
    if not is_enrolled(current_user, lesson.course):
        abort(403)
    form = SubmissionForm()
    if not form.validate_on_submit():
        if form.client_id.errors:
            form.form_errors.extend(form.client_id.errors)
            form.client_id.data = str(uuid.uuid4())
        return _render_hand_in(lesson, form)
    assignment = services.get_or_create_assignment(lesson)
    try:
        services.submit_work(assignment, current_user, text=form.text.data or "",
                             links=[entry.data or "" for entry in form.links.entries],
                             media_ids=form.media_ids(), client_id=form.client_id.data)
    except services.NotAllowed:
        db.session.rollback()
        abort(403)
    except services.SubmissionConflict as exc:
        db.session.rollback()
        flash(str(exc), "info")
        return redirect(lesson_url(lesson, _anchor="practical"))
    except services.FieldError as exc:
        db.session.rollback()
        _attach_error(form, exc)
        return _render_hand_in(lesson, form)
    except services.AssignmentError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_hand_in(lesson, form)
    db.session.commit()
    flash(_("Your work has been handed in. Your instructor will review it."), "success")
    return redirect(lesson_url(lesson, _anchor="practical"))


def _attach_error(form: SubmissionForm, exc: services.FieldError) -> None:
    """Show a service's field error beside the input it is about."""
    if exc.field == "links" and exc.index is not None and exc.index < len(form.links.entries):
        form.links.entries[exc.index].errors = [*form.links.entries[exc.index].errors, str(exc)]
        return
    target = {"text": form.text, "photos": form.photo_ids, "video": form.video_id, "media": form.photo_ids,
              "links": form.links}.get(exc.field)
    if target is None or target is form.links:
        form.form_errors.append(str(exc))
    else:
        target.errors = [*target.errors, str(exc)]


def _render_hand_in(lesson: Lesson, form: SubmissionForm | None = None):
    from lms.media.presenters import responsive_images

    return render_template("assignments/hand_in.html", lesson=lesson, course=lesson.course,
                           body_html=responsive_images(lesson.body_html),
                           panel=render_panel(lesson, current_user, form), **HELPERS)


@bp.route("/courses/<slug>/lessons/<lesson_slug>/submissions/<int:number>")
@writes_database
@login_required
def my_submission(slug: str, lesson_slug: str, number: int):
    """Show one of my hand-ins with its review; opening it marks the review as read."""
    lesson = get_assignment_lesson_or_404(slug, lesson_slug, current_user)
    assignment = services.find_assignment(lesson)
    submission = get_my_submission_or_404(assignment, current_user, number)
    services.mark_feedback_seen(submission)
    db.session.commit()
    return render_template("assignments/submission.html", lesson=lesson, course=lesson.course,
                           submission=submission, history=services.submissions_of(assignment, current_user),
                           **HELPERS)


# --- Instructors: the review queue -----------------------------------------------------------


def _course_filter(slug: str | None) -> Course | None:
    return get_course_for_editing_or_404(slug, current_user) if slug else None


@bp.route("/review")
@role_required(Role.INSTRUCTOR, Role.ORGANIZER)
def review_queue():
    """List the hand-ins waiting for review in my courses, oldest first."""
    course = _course_filter(request.args.get("course"))
    queue = services.review_queue(current_user, course)
    return render_template("assignments/review_queue.html", queue=queue, course=course, **HELPERS)


@bp.route("/review/<int:submission_id>", methods=["GET", "POST"])
@role_required(Role.INSTRUCTOR, Role.ORGANIZER)
def review(submission_id: int):
    """Review one hand-in with the rubric; after saving, open the next one waiting."""
    submission = get_submission_for_review_or_404(submission_id, current_user)
    course_filter = _course_filter(request.args.get("course"))
    form = review_form_for(submission.assignment)()
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.review_submission(submission, current_user, decision=form.decision.data,
                                       comment=form.comment.data or "", levels=form.levels())
        except services.NotAllowed:
            db.session.rollback()
            abort(403)
        except services.FieldError as exc:
            db.session.rollback()
            if exc.field == "comment":
                form.comment.errors = [*form.comment.errors, str(exc)]
            else:
                form.form_errors.append(str(exc))
        except services.AssignmentError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("assignments.review", submission_id=submission_id,
                                    course=course_filter.slug if course_filter else None))
        else:
            db.session.commit()
            flash(_("Your review has been saved and the trainee can read it."), "success")
            return _redirect_to_next(course_filter)
    elif request.method == "POST" and form.decision.errors:
        form.form_errors.append(_("Choose “Approve” or “Please redo”."))
    earlier = [s for s in services.submissions_of(submission.assignment, submission.user) if s.id != submission.id]
    return render_template("assignments/review.html", submission=submission, form=form, earlier=earlier,
                           lesson=submission.assignment.lesson, course=submission.assignment.lesson.course,
                           course_filter=course_filter, **HELPERS)


def _redirect_to_next(course: Course | None):
    waiting = services.review_queue(current_user, course).submissions
    if waiting:
        return redirect(url_for("assignments.review", submission_id=waiting[0].id,
                                course=course.slug if course else None))
    flash(_("Nothing else is waiting for review."), "info")
    return redirect(url_for("assignments.review_queue", course=course.slug if course else None))


# --- Authoring: what trainees hand in and the rubric -----------------------------------------


def _default_levels() -> list[dict]:
    return [{"title": _("Not yet"), "points": 0}, {"title": _("Pass"), "points": 1},
            {"title": _("Good"), "points": 2}, {"title": "", "points": None}]


def criterion_form(criterion: RubricCriterion) -> CriterionForm:
    data = {"title": criterion.title, "description": criterion.description,
            "levels": [{"title": lv.title, "points": lv.points, "detail": lv.description}
                       for lv in criterion.levels]}
    return CriterionForm(formdata=None, prefix=f"c{criterion.id}", data=data)


def _render_editor(course: Course, lesson: Lesson, *, settings: AssignmentForm | None = None,
                   new: CriterionForm | None = None, edited: dict[int, CriterionForm] | None = None):
    assignment = services.assignment_for(lesson)
    if settings is None:
        settings = AssignmentForm(formdata=None, obj=assignment)
    if new is None:
        new = CriterionForm(formdata=None, prefix="new", data={"levels": _default_levels()})
    forms = {c.id: (edited or {}).get(c.id) or criterion_form(c) for c in assignment.criteria}
    return render_template("assignments/edit.html", course=course, lesson=lesson, assignment=assignment,
                           settings=settings, new=new, criterion_forms=forms,
                           **HELPERS)


@bp.route("/courses/<slug>/lessons/<lesson_slug>/assignment", methods=["GET", "POST"])
@login_required
def edit_assignment(slug: str, lesson_slug: str):
    """Set what trainees may hand in for a practical-work lesson, and see its rubric."""
    course, lesson = get_assignment_for_editing_or_404(slug, lesson_slug)
    if request.method == "GET":
        return _render_editor(course, lesson)
    form = AssignmentForm()
    if form.validate_on_submit():
        assignment = services.get_or_create_assignment(lesson)
        try:
            services.update_assignment(assignment, accepts_text=form.accepts_text.data,
                                       accepts_links=form.accepts_links.data,
                                       max_photos=form.max_photos.data or 0, accepts_video=form.accepts_video.data)
        except services.FieldError as exc:
            db.session.rollback()
            form.max_photos.errors = [*form.max_photos.errors, str(exc)]
        except services.AssignmentError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved: trainees can hand in what you chose."), "success")
            return redirect(url_for("assignments.edit_assignment", slug=slug, lesson_slug=lesson_slug))
    return _render_editor(course, lesson, settings=form)


@bp.route("/courses/<slug>/lessons/<lesson_slug>/assignment/criteria", methods=["POST"])
@login_required
def add_criterion(slug: str, lesson_slug: str):
    """Add a criterion with its levels to the rubric."""
    course, lesson = get_assignment_for_editing_or_404(slug, lesson_slug)
    form = CriterionForm(prefix="new")
    if form.validate_on_submit():
        assignment = services.get_or_create_assignment(lesson)
        try:
            criterion = services.add_criterion(assignment, form.title.data, form.description.data or "",
                                               form.level_specs())
        except services.AssignmentError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The criterion has been added."), "success")
            return redirect(url_for("assignments.edit_assignment", slug=slug, lesson_slug=lesson_slug,
                                    _anchor=f"criterion-{criterion.id}"))
    return _render_editor(course, lesson, new=form)


@bp.route("/courses/<slug>/lessons/<lesson_slug>/assignment/criteria/<int:criterion_id>", methods=["POST"])
@login_required
def update_criterion(slug: str, lesson_slug: str, criterion_id: int):
    """Save a criterion's words and levels."""
    course, lesson = get_assignment_for_editing_or_404(slug, lesson_slug)
    criterion = get_criterion_or_404(services.get_or_create_assignment(lesson), criterion_id)
    form = CriterionForm(prefix=f"c{criterion.id}")
    if form.validate_on_submit():
        try:
            services.update_criterion(criterion, form.title.data, form.description.data or "", form.level_specs())
        except services.AssignmentError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The criterion has been saved."), "success")
            return redirect(url_for("assignments.edit_assignment", slug=slug, lesson_slug=lesson_slug,
                                    _anchor=f"criterion-{criterion.id}"))
    return _render_editor(course, lesson, edited={criterion.id: form})


@bp.route("/courses/<slug>/lessons/<lesson_slug>/assignment/criteria/<int:criterion_id>/arrange",
          methods=["POST"])
@login_required
def arrange_criterion(slug: str, lesson_slug: str, criterion_id: int):
    """Move a criterion up or down, or delete it."""
    _course, lesson = get_assignment_for_editing_or_404(slug, lesson_slug)
    criterion = get_criterion_or_404(services.get_or_create_assignment(lesson), criterion_id)
    form = ArrangeForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for("assignments.edit_assignment", slug=slug, lesson_slug=lesson_slug, _anchor="rubric")
    if form.action.data == "delete":  # an old page's button: ask first, as the page's link does now
        return redirect(url_for("assignments.delete_criterion", slug=slug, lesson_slug=lesson_slug,
                                criterion_id=criterion.id))
    services.move_criterion(criterion, form.action.data)
    db.session.commit()
    return redirect(back)


@bp.route("/courses/<slug>/lessons/<lesson_slug>/assignment/criteria/<int:criterion_id>/delete",
          methods=["GET", "POST"])
@login_required
def delete_criterion(slug: str, lesson_slug: str, criterion_id: int):
    """Ask, then delete a rubric criterion (the scores given on it go with it)."""
    _course, lesson = get_assignment_for_editing_or_404(slug, lesson_slug)
    criterion = get_criterion_or_404(services.get_or_create_assignment(lesson), criterion_id)
    back = url_for("assignments.edit_assignment", slug=slug, lesson_slug=lesson_slug, _anchor="rubric")
    form = ConfirmActionForm()
    if not form.validate_on_submit():
        return render_template(
            "core/confirm.html", form=form, cancel_url=back,
            action=url_for("assignments.delete_criterion", slug=slug, lesson_slug=lesson_slug,
                           criterion_id=criterion.id),
            question=_("Delete the criterion “%(title)s”?", title=criterion.title),
            consequences=[_("The points already given on it are removed from the reviews; each review's total "
                            "score stays as it was.")],
            confirm_label=_("Yes, delete the criterion"))
    services.delete_criterion(criterion)
    db.session.commit()
    flash(_("The criterion has been deleted."), "info")
    return redirect(back)


# --- JSON API (the offline mode replays hand-ins made without a network) ---------------------


def submission_json(submission: Submission) -> dict:
    lesson = submission.assignment.lesson
    return SubmissionOut(
        id=submission.id, lesson_id=lesson.id, number=submission.number, status=submission.status.value,
        status_label=submission.status.label, client_id=submission.client_id,
        submitted_at=submission.submitted_at, text=submission.text, links=submission.links or [],
        media_ids=[item.asset.public_id for item in submission.media], reviewed_at=submission.reviewed_at,
        comment=(submission.comment or None) if submission.is_reviewed else None, score=submission.score,
        levels=[{"criterion": s.criterion.title, "level": s.level.title, "points": s.level.points}
                for s in chosen_levels(submission)],
    ).model_dump(mode="json")


@bp.route("/api/v1/assignments/<int:lesson_id>/submissions", methods=["POST"])
@api_login_required
@api_operation(
    "/api/v1/assignments/{lesson_id}/submissions", "post",
    summary="Hand in practical work; sending the same client_id again returns the first hand-in.",
    body=SubmissionIn,
    responses={201: ("Handed in", SubmissionOut),
               200: ("Already handed in with this client_id", SubmissionOut),
               401: ("Not logged in", ErrorBody),
               403: ("Not enrolled in the course", ErrorBody),
               404: ("No such practical-work lesson", ErrorBody),
               409: ("Waiting for review, approved already, or the client_id belongs to another hand-in", ErrorBody)},
    tags=["assignments"],
)
def api_hand_in(lesson_id: int, payload: SubmissionIn):
    """Hand in practical work from the phone's offline queue."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.archived_at is not None or lesson.kind != LessonKind.ASSIGNMENT:
        return api_error(404, "not_found", _("This practical work does not exist."))
    course = lesson.course
    if not course.is_published and not can_edit_course(current_user, course):
        return api_error(404, "not_found", _("This practical work does not exist."))
    if not can_view_course(current_user, course):
        return api_error(403, "forbidden", _("You are not enrolled in this course."))
    client_id = str(payload.client_id)
    replay = services.find_submission_by_client_id(client_id) is not None
    assignment = services.get_or_create_assignment(lesson)
    try:
        submission = services.submit_work(assignment, current_user, text=payload.text, links=payload.links,
                                          media_ids=payload.media_ids, client_id=client_id)
    except services.NotAllowed as exc:
        db.session.rollback()
        return api_error(403, "forbidden", str(exc))
    except services.SubmissionConflict as exc:
        db.session.rollback()
        return api_error(409, "conflict", str(exc))
    except services.FieldError as exc:
        db.session.rollback()
        where = exc.field if exc.index is None else f"{exc.field}.{exc.index}"
        return api_error(422, "invalid", [{"field": where, "message": str(exc)}])
    except services.AssignmentError as exc:
        db.session.rollback()
        return api_error(422, "invalid", [{"field": "", "message": str(exc)}])
    db.session.commit()
    return jsonify(submission_json(submission)), 200 if replay else 201
