"""The trainee's learning: 'Học tiếp' home, enrolment, the lesson player and the progress API."""

import uuid
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from lms.accounts.access import role_required
from lms.accounts.forms import ConfirmActionForm
from lms.accounts.models import Role
from lms.core.api import ErrorBody, api_login_required, api_operation
from lms.core.db import utcnow, writes_database
from lms.core.extensions import db, limiter
from lms.core.i18n import gettext as _
from lms.core.params import paginate
from lms.core.timezone import local_today, start_of_local_day
from lms.courses import services as courses
from lms.courses.access import (
    can_edit_course,
    can_view_course,
    get_course_for_editing_or_404,
    get_course_or_404,
    get_lesson_or_404,
    visible_course_or_404,
)
from lms.courses.models import Course, Lesson
from lms.learning import figures, hooks, services
from lms.learning.forms import LessonDoneForm
from lms.learning.models import Enrollment, EnrollmentStatus, LessonProgress
from lms.learning.schemas import (
    CourseProgressOut,
    EventResultOut,
    LessonProgressOut,
    ProgressBatchIn,
    ProgressBatchOut,
    ProgressEventIn,
    SyncStatusIn,
    SyncStatusOut,
)

bp = Blueprint("learning", __name__)



def course_page_learner(user, course: Course) -> dict:
    """Return the learner's side of the course page (connected to courses in `lms.register_hooks`)."""
    return {"summary": services.course_progress(user, course), "enrolled": services.is_enrolled(user, course)}


@bp.route("/learn")
@login_required
def home():
    """'Học tiếp': my courses with progress, and one button that continues where I stopped."""
    summaries = [(e, services.course_progress(current_user, e.course)) for e in services.enrollments_of(current_user)]
    current = next(((e, s) for e, s in summaries if s.completed_at is None and s.resume_lesson), None)
    return render_template("learning/home.html", summaries=summaries, current=current,
                           notices=hooks.render_home_notices(current_user),
                           open_courses=_open_courses_not_joined(summaries))


def _open_courses_not_joined(summaries) -> list[Course]:
    joined = {e.course_id for e, _ in summaries}
    return [c for c in courses.published_courses() if c.id not in joined]


@bp.route("/courses/<slug>/enrol", methods=["POST"])
@login_required
def enrol(slug: str):
    """Join an open course."""
    course = get_course_or_404(slug, for_user=current_user)
    if not LessonDoneForm(meta={"csrf": True}).validate_on_submit() and not _csrf_only_valid():
        abort(400)
    try:
        services.self_enrol(current_user, course)
    except services.EnrollmentClosed as exc:
        flash(str(exc), "error")
        return redirect(url_for("courses.course_detail", slug=slug))
    db.session.commit()
    flash(_("You are enrolled. Good luck!"), "success")
    first = services.course_progress(current_user, course).resume_lesson
    if first is None:
        return redirect(url_for("courses.course_detail", slug=slug))
    return redirect(url_for("learning.lesson", slug=slug, lesson_slug=first.slug))


def _csrf_only_valid() -> bool:
    from lms.accounts.forms import ConfirmForm

    return ConfirmForm().validate_on_submit()


@bp.route("/courses/<slug>/leave", methods=["GET", "POST"])
@login_required
def leave(slug: str):
    """Ask, then leave a course; the history stays."""
    course = get_course_or_404(slug, for_user=current_user)
    enrollment = services.get_enrollment(current_user, course)
    if enrollment is None:
        return redirect(url_for("courses.course_detail", slug=course.slug))
    form = ConfirmActionForm()
    if not form.validate_on_submit():
        return render_template(
            "core/confirm.html", form=form, action=url_for("learning.leave", slug=course.slug),
            question=_("Leave the course “%(title)s”?", title=course.title),
            consequences=[_("It leaves your list of courses."),
                          _("Your progress is kept: if you come back, you continue where you stopped.")],
            confirm_label=_("Yes, leave the course"), cancel_url=url_for("courses.course_detail", slug=course.slug))
    services.leave_course(enrollment)
    db.session.commit()
    flash(_("You have left the course. Your progress is kept if you come back."), "info")
    return redirect(url_for("learning.home"))


@bp.route("/courses/<slug>/lessons/<lesson_slug>")
@writes_database
@login_required
def lesson(slug: str, lesson_slug: str):
    """The lesson player: text, video, document, or a quiz or practical work."""
    user = current_user._get_current_object()  # the hottest page: one proxy lookup, not dozens
    course, lesson = services.find_course_lesson(user, slug, lesson_slug)
    visible_course_or_404(course, for_user=user)
    if not can_view_course(user, course):
        if course.is_published:
            flash(_("Enrol in the course to open its lessons."), "info")
            return redirect(url_for("courses.course_detail", slug=slug))
        abort(403)
    if lesson is None:
        abort(404)
    lessons = courses.lesson_outline(course)
    summary = services.course_progress(user, course, lessons)
    progress = None
    if services.is_enrolled(user, course):
        progress = services.open_lesson(user, lesson, progress=summary.progress.get(lesson.id))
        # Re-reading a lesson writes nothing; the first open (or a move) is saved before the page renders.
        if db.session.new or any(db.session.is_modified(obj) for obj in db.session.dirty):
            db.session.commit()
    before, after = courses.neighbours(course, lesson, lessons)
    from lms.media.presenters import responsive_images

    return render_template(
        "learning/lesson.html", course=course, lesson=lesson, before=before, after=after, progress=progress,
        summary=summary, body_html=responsive_images(lesson.body_html),
        new_event_id=str(uuid.uuid4()), panel=hooks.render_lesson_panel(lesson, user),
        can_edit=can_edit_course(user, course) and request.args.get("preview") != "1",
    )


@bp.route("/courses/<slug>/lessons/<lesson_slug>/done", methods=["POST"])
@login_required
def mark_done(slug: str, lesson_slug: str):
    """'Tôi đã học xong' without JavaScript: the same idempotent event as the API."""
    course = get_course_or_404(slug, for_user=current_user)
    lesson = get_lesson_or_404(course, lesson_slug)
    form = LessonDoneForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.record_event(current_user, services.ProgressEventData(
            id=form.event_id.data, lesson_id=lesson.id, kind="complete", occurred_at=utcnow()))
    except services.NotEnrolled:
        abort(403)
    except services.InvalidEvent as exc:
        flash(str(exc), "error")
        return redirect(url_for("learning.lesson", slug=slug, lesson_slug=lesson_slug))
    db.session.commit()
    _, after = courses.neighbours(course, lesson)
    if after is not None:
        return redirect(url_for("learning.lesson", slug=slug, lesson_slug=after.slug))
    return redirect(url_for("courses.course_detail", slug=slug))


# --- Progress API ----------------------------------------------------------------------


def progress_json(progress: LessonProgress | None, lesson_id: int) -> LessonProgressOut:
    if progress is None:
        return LessonProgressOut(lesson_id=lesson_id, position_s=0, watched_percent=0, completed=False, completed_at=None)
    return LessonProgressOut(
        lesson_id=progress.lesson_id, position_s=round(progress.position_s, 1),
        watched_percent=int(progress.watched_fraction * 100), completed=progress.completed_at is not None,
        completed_at=progress.completed_at.isoformat() if progress.completed_at else None,
    )


def _apply(event: ProgressEventIn, batch: services.EventBatch | None = None) -> EventResultOut:
    data = services.ProgressEventData(
        id=str(event.id), lesson_id=event.lesson_id, kind=event.kind, occurred_at=event.occurred_at,
        position_s=event.position_s, segments=tuple(tuple(s) for s in event.segments))
    try:
        outcome = services.record_event(current_user, data, batch)
    except services.NotEnrolled as exc:
        return EventResultOut(id=str(event.id), status="forbidden", message=str(exc))
    except services.InvalidEvent as exc:
        return EventResultOut(id=str(event.id), status="invalid", message=str(exc))
    return EventResultOut(id=outcome.id, status=outcome.status, progress=progress_json(outcome.progress, event.lesson_id))


@bp.route("/api/v1/progress", methods=["POST"])
@api_login_required
@api_operation("/api/v1/progress", "POST", summary="Record one progress event (position, watched stretches, completion)",
               body=ProgressEventIn, tags=["progress"],
               responses={200: ("Applied, or recognised as a duplicate", EventResultOut),
                          401: ("Not logged in", ErrorBody),
                          403: ("Not enrolled in the lesson's course", EventResultOut),
                          404: ("No such lesson", EventResultOut),
                          422: ("Impossible values, e.g. a position past the video's end", EventResultOut)})
def record_progress(payload: ProgressEventIn):
    """Apply one event; the same id twice counts once."""
    if db.session.get(Lesson, payload.lesson_id) is None:
        return jsonify(EventResultOut(id=str(payload.id), status="invalid", message=_("Unknown lesson.")).model_dump()), 404
    result = _apply(payload)
    status = {"forbidden": 403, "invalid": 422}.get(result.status, 200)
    if status == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return jsonify(result.model_dump()), status


@bp.route("/api/v1/progress/batch", methods=["POST"])
@api_login_required
@api_operation("/api/v1/progress/batch", "POST", summary="Replay progress events kept while offline, in any order",
               body=ProgressBatchIn, tags=["progress"],
               responses={200: ("One result per event", ProgressBatchOut), 401: ("Not logged in", ErrorBody)})
def record_progress_batch(payload: ProgressBatchIn):
    """Apply many events; each succeeds or fails on its own."""
    results, seen, batch = [], {}, {}
    for event in sorted(payload.events, key=lambda e: e.occurred_at):
        if event.id in seen:  # the same event twice in one batch: answered without the database
            first = seen[event.id]
            status = "duplicate" if first.status in {"applied", "duplicate"} else first.status
            results.append(first.model_copy(update={"status": status}))
            continue
        # No savepoint per event: record_event refuses an event before writing anything of it.
        result = _apply(event, batch)
        seen[event.id] = result
        results.append(result)
    db.session.commit()
    return jsonify(ProgressBatchOut(results=results).model_dump())


@bp.route("/api/v1/courses/<slug>/progress")
@api_login_required
@api_operation("/api/v1/courses/{slug}/progress", "GET", summary="My progress in a course, to resume on any device",
               tags=["progress"], responses={200: ("Progress", CourseProgressOut), 401: ("Not logged in", ErrorBody),
                                             404: ("No such course", None)})
def course_progress_api(slug: str):
    course = get_course_or_404(slug, for_user=current_user)
    summary = services.course_progress(current_user, course)
    resume = summary.resume_lesson
    body = CourseProgressOut(
        course=course.slug, enrolled=services.is_enrolled(current_user, course), percent=summary.percent,
        completed_at=summary.completed_at.isoformat() if summary.completed_at else None,
        resume_lesson=resume.slug if resume else None,
        lessons=[progress_json(summary.progress.get(lesson.id), lesson.id) for lesson in summary.lessons],
    )
    return jsonify(body.model_dump())


#: A phone reports after each sending attempt; a few a minute is plenty, more is a loop gone wrong.
SYNC_STATUS_LIMIT = "20 per minute"


def _sync_status_limit() -> str:
    return current_app.config.get("SYNC_STATUS_LIMIT", SYNC_STATUS_LIMIT)


def _sync_status_key() -> str:
    return f"sync-status:user:{current_user.id}" if current_user.is_authenticated else "sync-status:anonymous"


@bp.route("/api/v1/sync-status", methods=["POST"])
@api_login_required
@limiter.limit(_sync_status_limit, key_func=_sync_status_key)
@api_operation("/api/v1/sync-status", "POST", summary="Report how many items wait on this phone and when it last synced",
               body=SyncStatusIn, tags=["progress"],
               responses={200: ("Kept, for the trainee's instructors and organizers to see", SyncStatusOut),
                          401: ("Not logged in", ErrorBody)})
def report_sync_status(payload: SyncStatusIn):
    """Keep the current user's own outbox report: nobody can report for another."""
    status = services.record_sync_status(current_user, payload.waiting, payload.last_synced_at)
    db.session.commit()
    return jsonify(SyncStatusOut(
        waiting=status.waiting, reported_at=status.reported_at.isoformat(),
        last_synced_at=status.last_synced_at.isoformat() if status.last_synced_at else None).model_dump())


# --- Instructors' view -----------------------------------------------------------------


@bp.route("/courses/<slug>/learners")
@role_required(Role.INSTRUCTOR, Role.ORGANIZER)
def learners(slug: str):
    """Each trainee's progress and last activity; who has been stuck for a week or more."""
    course = get_course_for_editing_or_404(slug, current_user)
    required = services.required_lessons(course)
    required_ids = [lesson.id for lesson in required] or [0]
    only_stuck = request.args.get("stuck") == "1"
    # The programme's rules (lms.learning.figures), at the dashboard's moment: the end of today in Vietnam,
    # so that a course's stuck trainees are the dashboard's, to the trainee.
    now = start_of_local_day(local_today() + timedelta(days=1))
    stuck_condition = figures.stuck_at(now)
    last_seen = sa.func.coalesce(Enrollment.last_activity_at, Enrollment.enrolled_at)
    stmt = (
        sa.select(Enrollment)
        .options(sa.orm.selectinload(Enrollment.user))
        .where(Enrollment.course_id == course.id, Enrollment.status == EnrollmentStatus.ACTIVE)
        .order_by(last_seen.asc(), Enrollment.id)
    )
    if only_stuck:
        stmt = stmt.where(stuck_condition)
    page = paginate(stmt, per_page=50, count=True)
    user_ids = [enrollment.user_id for enrollment in page.items]
    stuck_ids = set(db.session.scalars(sa.select(Enrollment.id).where(
        Enrollment.id.in_([e.id for e in page.items] or [0]), stuck_condition)))
    done = dict(db.session.execute(
        sa.select(LessonProgress.user_id, sa.func.count(LessonProgress.id))
        .where(LessonProgress.course_id == course.id, LessonProgress.completed_at.is_not(None),
               LessonProgress.lesson_id.in_(required_ids), LessonProgress.user_id.in_(user_ids or [0]))
        .group_by(LessonProgress.user_id)
    ).all())
    counts = db.session.execute(
        sa.select(sa.func.count(Enrollment.id),
                  sa.func.count(Enrollment.id).filter(figures.completed_by(now)),
                  sa.func.count(Enrollment.id).filter(stuck_condition))
        .where(Enrollment.course_id == course.id, Enrollment.status == EnrollmentStatus.ACTIVE)
    ).one()
    rows = [(enrollment, enrollment.user, int(done.get(enrollment.user_id, 0)), enrollment.id in stuck_ids)
            for enrollment in page.items]
    return render_template("learning/learners.html", course=course, rows=rows, page=page,
                           sync=services.sync_statuses_of(user_ids),
                           total_required=len(required), only_stuck=only_stuck, stuck_days=figures.STUCK_DAYS,
                           counts={"enrolled": counts[0], "completed": counts[1], "stuck": int(counts[2] or 0)})


@bp.app_template_global()
def lesson_url(lesson: Lesson) -> str:
    return url_for("learning.lesson", slug=lesson.course.slug, lesson_slug=lesson.slug)
