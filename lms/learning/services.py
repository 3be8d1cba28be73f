"""Learning rules: enrolment, progress that only grows, and course completion."""

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from lms.core.db import insert_if_absent, utcnow
from lms.core.extensions import db
from lms.courses.models import Course, CourseStatus, EnrollmentMode, Lesson, LessonKind
from lms.learning import hooks
from lms.learning.models import (
    Enrollment,
    EnrollmentSource,
    EnrollmentStatus,
    LessonProgress,
    ProgressEvent,
    SyncStatus,
)

#: Positions may run past the known duration by this much (players round differently).
DURATION_SLACK_S = 2.0
MANUALLY_COMPLETED_KINDS = {LessonKind.TEXT, LessonKind.DOCUMENT}


class LearningError(Exception):
    """A learning rule was broken; the message is safe to show."""


class NotEnrolled(LearningError):
    pass


class EnrollmentClosed(LearningError):
    pass


class InvalidEvent(LearningError):
    pass


# --- Enrolment -----------------------------------------------------------------------


def get_enrollment(user, course: Course, *, active_only: bool = True) -> Enrollment | None:
    """Return the user's enrolment in the course, or None."""
    if not getattr(user, "is_authenticated", True) or user.id is None:
        return None
    enrollment = _find_enrollment(user.id, course.id)
    if enrollment is None or (active_only and not enrollment.is_active):
        return None
    return enrollment


def _enrollment_cache() -> dict | None:
    from flask import g, has_request_context

    # One page asks several times (access rule, panels, progress): remember the answer for the request.
    return g.setdefault("_lms_enrollments", {}) if has_request_context() else None


def _find_enrollment(user_id: int, course_id: int) -> Enrollment | None:
    cache = _enrollment_cache()
    key = (user_id, course_id)
    if cache is not None and key in cache:
        return cache[key]
    enrollment = db.session.scalar(
        sa.select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)
    )
    if cache is not None:
        cache[key] = enrollment
    return enrollment


def find_course_lesson(user, course_slug: str, lesson_slug: str) -> tuple[Course | None, Lesson | None]:
    """Load a course, its lesson at this address and the user's enrolment in one query (the lesson page's path)."""
    row = db.session.execute(
        sa.select(Course, Lesson, Enrollment)
        .outerjoin(Lesson, sa.and_(Lesson.course_id == Course.id, Lesson.slug == lesson_slug,
                                   Lesson.archived_at.is_(None)))
        .outerjoin(Enrollment, sa.and_(Enrollment.course_id == Course.id, Enrollment.user_id == user.id))
        .where(Course.slug == course_slug)
    ).first()
    if row is None:
        return None, None
    course, lesson, enrollment = row
    cache = _enrollment_cache()
    if cache is not None:
        cache[(user.id, course.id)] = enrollment
    return course, lesson


def is_enrolled(user, course: Course) -> bool:
    return get_enrollment(user, course) is not None


def enrol(user, course: Course, source: EnrollmentSource = EnrollmentSource.SELF) -> Enrollment:
    """Enrol the user (again, after leaving); enrolling twice changes nothing."""
    enrollment = get_enrollment(user, course, active_only=False)
    if enrollment is None:
        enrollment = Enrollment(user_id=user.id, course_id=course.id, source=source, status=EnrollmentStatus.ACTIVE)
        db.session.add(enrollment)
    elif not enrollment.is_active:
        enrollment.status, enrollment.left_at = EnrollmentStatus.ACTIVE, None
    db.session.flush()
    cache = _enrollment_cache()
    if cache is not None:
        cache[(user.id, course.id)] = enrollment
    return enrollment


def self_enrol(user, course: Course) -> Enrollment:
    """Let a trainee join an open, published course."""
    from lms.core.i18n import gettext as _

    if course.status != CourseStatus.PUBLISHED:
        raise EnrollmentClosed(_("This course is not open yet."))
    if course.enrollment_mode != EnrollmentMode.OPEN and get_enrollment(user, course, active_only=False) is None:
        raise EnrollmentClosed(_("This course is for registered classes. Ask your organizer to enrol you."))
    return enrol(user, course, EnrollmentSource.SELF)


def leave_course(enrollment: Enrollment) -> None:
    """Leave a course; progress and any completion stay on record."""
    enrollment.status, enrollment.left_at = EnrollmentStatus.LEFT, utcnow()


def enrollments_of(user) -> list[Enrollment]:
    """Return the user's active enrolments, most recently active first."""
    return list(db.session.scalars(
        sa.select(Enrollment)
        .where(Enrollment.user_id == user.id, Enrollment.status == EnrollmentStatus.ACTIVE)
        .order_by(sa.func.coalesce(Enrollment.last_activity_at, Enrollment.enrolled_at).desc())
    ))


# --- Lesson progress -------------------------------------------------------------------


def get_progress(user, lesson: Lesson, *, lock: bool = False) -> LessonProgress | None:
    """Return the user's progress on the lesson; `lock` holds its row until commit (PostgreSQL)."""
    query = sa.select(LessonProgress).where(LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def _progress(user, lesson: Lesson, when: datetime, *, lock: bool = False) -> LessonProgress:
    progress = get_progress(user, lesson, lock=lock)
    if progress is None:
        # Two first events at once (two tabs, a replay beside a live send) both get the one row.
        insert_if_absent(db.session, LessonProgress, {
            "user_id": user.id, "lesson_id": lesson.id, "course_id": lesson.course_id, "first_opened_at": when,
            "coverage": b"", "position_s": 0.0, "watched_fraction": 0.0}, unique=["user_id", "lesson_id"])
        progress = get_progress(user, lesson, lock=lock)
    return progress


def _require_enrollment(user, lesson: Lesson) -> Enrollment:
    from lms.core.i18n import gettext as _

    enrollment = get_enrollment(user, lesson.course)
    if enrollment is None:
        raise NotEnrolled(_("You are not enrolled in this course."))
    return enrollment


def _touch(enrollment: Enrollment, lesson: Lesson, when: datetime) -> None:
    if enrollment.last_activity_at is None or when >= enrollment.last_activity_at:
        enrollment.last_activity_at = when
        enrollment.last_lesson_id = lesson.id


#: Re-opening the same lesson within this time is not worth a database write.
TOUCH_INTERVAL = timedelta(minutes=2)


def open_lesson(user, lesson: Lesson, when: datetime | None = None, *,
                progress: LessonProgress | None = None) -> LessonProgress:
    """Record that the trainee opened a lesson: 'Học tiếp' continues here (`progress`: theirs, if loaded)."""
    when = when or utcnow()
    enrollment = _require_enrollment(user, lesson)
    if progress is None or progress.user_id != user.id or progress.lesson_id != lesson.id:
        progress = _progress(user, lesson, when)
    recent = enrollment.last_activity_at is not None and when - enrollment.last_activity_at < TOUCH_INTERVAL
    if not (recent and enrollment.last_lesson_id == lesson.id):
        _touch(enrollment, lesson, when)
    return progress


@dataclass(frozen=True)
class ProgressEventData:
    """One progress event as the phone made it (validated by the API schema or the caller)."""

    id: str
    lesson_id: int
    kind: str  # "open", "position" or "complete"
    occurred_at: datetime
    position_s: float | None = None
    segments: tuple[tuple[float, float], ...] = ()


@dataclass
class EventOutcome:
    id: str
    status: str  # "applied" or "duplicate"
    progress: LessonProgress | None


@dataclass
class LessonInBatch:
    """What events on one lesson need, read once per request: the lesson (with its course), the trainee's
    enrolment, the video's length, and their progress row once read (and, on PostgreSQL, locked)."""

    lesson: Lesson
    enrollment: Enrollment | None
    duration: float | None
    progress: LessonProgress | None = None


#: lesson id -> what a request has read of it; one per request (or batch), never kept across transactions.
EventBatch = dict[int, LessonInBatch]


def _lesson_for_event(user, lesson_id: int, batch: EventBatch) -> LessonInBatch | None:
    """Load the lesson, its course, the user's enrolment and the video's length in one query (once per batch)."""
    from lms.media.models import MediaAsset

    if lesson_id in batch:
        return batch[lesson_id]
    row = db.session.execute(
        sa.select(Lesson, Enrollment, MediaAsset.duration_s)
        .join(Lesson.course)
        .outerjoin(Enrollment, sa.and_(Enrollment.course_id == Lesson.course_id, Enrollment.user_id == user.id))
        .outerjoin(MediaAsset, MediaAsset.id == Lesson.media_asset_id)
        .where(Lesson.id == lesson_id)
        # A lesson's text is not needed to record progress on it, and can be long.
        .options(sa.orm.contains_eager(Lesson.course), sa.orm.defer(Lesson.body_markdown),
                 sa.orm.defer(Lesson.body_html))
    ).first()
    if row is None:
        return None
    lesson, enrollment, duration = row
    cache = _enrollment_cache()
    if cache is not None:
        cache[(user.id, lesson.course_id)] = enrollment
    batch[lesson_id] = LessonInBatch(lesson, enrollment, float(duration) if duration else None)
    return batch[lesson_id]


def record_event(user, event: ProgressEventData, batch: EventBatch | None = None) -> EventOutcome:
    """Apply one progress event, once: replays, late, concurrent and out-of-order events never lower progress.

    The event's id and its effect are saved in the caller's one transaction, so an event refused or
    lost to a crash leaves no id behind and its retry is applied. Every refusal is raised before
    anything is written, so a batch needs no savepoint per event. `batch` carries what the events
    of one request have read already (see EventBatch).
    """
    from lms.core.i18n import gettext as _

    try:
        event_id = str(uuid.UUID(event.id))
    except (ValueError, AttributeError, TypeError):
        raise InvalidEvent(_("The event has no valid id.")) from None
    loaded = _lesson_for_event(user, event.lesson_id, {} if batch is None else batch)
    if loaded is None:
        raise InvalidEvent(_("Unknown lesson."))
    lesson = loaded.lesson
    if loaded.enrollment is None or not loaded.enrollment.is_active:
        raise NotEnrolled(_("You are not enrolled in this course."))
    enrollment = _lock_enrollment(loaded.enrollment)
    now = utcnow()
    try:
        when = _event_time(event, enrollment, now)
        _validate(event, loaded.duration)
        if event.kind == "complete" and lesson.kind not in MANUALLY_COMPLETED_KINDS:
            raise InvalidEvent(_("This lesson is completed by doing it, not by a button."))
    except InvalidEvent:
        # An event applied before is answered as such, even were it refused today (a shorter video since).
        if db.session.get(ProgressEvent, event_id) is not None:
            return EventOutcome(event_id, "duplicate", get_progress(user, lesson))
        raise
    # The insert is the duplicate check: an id seen before (a replay, a double tap, two tabs) inserts nothing.
    # Changes of earlier events in the batch are written at commit, once, not before each insert.
    with db.session.no_autoflush:
        inserted = insert_if_absent(db.session, ProgressEvent, {
            "id": event_id, "user_id": user.id, "lesson_id": lesson.id, "kind": event.kind, "occurred_at": when,
            "received_at": now}, unique=["id"])
    if not inserted:
        return EventOutcome(event_id, "duplicate", get_progress(user, lesson))
    if loaded.progress is None:
        # Read once per batch: the row stays locked (PostgreSQL), or the database written by this
        # transaction alone (SQLite), until commit.
        loaded.progress = _progress(user, lesson, when, lock=True)
    progress = loaded.progress
    _touch(enrollment, lesson, when)
    if event.kind in {"position", "open"}:
        _apply_position(progress, lesson, event, when, duration=loaded.duration, enrollment=enrollment)
    if event.kind == "complete":
        complete_lesson_progress(progress, lesson, by="marked", when=when, enrollment=enrollment)
    return EventOutcome(event_id, "applied", progress)


def _lock_enrollment(enrollment: Enrollment) -> Enrollment:
    """Hold the enrolment's row until commit, so one trainee's events in a course apply one after another.

    Without it, two events at once each read the other's lesson as unfinished and neither completes
    the course, or both merge watched seconds into a stale copy. SQLite needs no row lock: its
    writing transactions begin IMMEDIATE and so already run one at a time.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return enrollment
    return db.session.scalar(sa.select(Enrollment).where(Enrollment.id == enrollment.id)
                             .with_for_update().execution_options(populate_existing=True))


#: An event this much older than the enrolment is a phone's wrong clock, not progress.
BEFORE_ENROLMENT_SLACK = timedelta(days=1)


def _event_time(event: ProgressEventData, enrollment: Enrollment, now: datetime) -> datetime:
    """Return when the event counts as having happened: the phone's time, within what can be true.

    A time ahead of the server's is taken as now (a phone set to 2099 would otherwise hold back
    every newer position for as long as the slack allowed). A time long before enrolling is a wrong
    clock and refused; one shortly before (a phone a few hours off) keeps its order among the
    trainee's events, and a completion it brings is dated no earlier than the enrolment.
    """
    from lms.core.i18n import gettext as _

    if not event.occurred_at.tzinfo:
        return now
    when = min(event.occurred_at, now)
    if enrollment.enrolled_at is not None and when < enrollment.enrolled_at - BEFORE_ENROLMENT_SLACK:
        raise InvalidEvent(_("The event is dated before you joined the course: check the date on the phone."))
    return when


def _validate(event: ProgressEventData, duration: float | None) -> None:
    """Refuse an event no player could have sent (`duration`: the video's length, if known)."""
    from lms.core.i18n import gettext as _

    if event.kind not in {"open", "position", "complete"}:
        raise InvalidEvent(_("Unknown kind of event."))
    limit = (duration + DURATION_SLACK_S) if duration else 24 * 3600
    values = [event.position_s] if event.position_s is not None else []
    values += [v for segment in event.segments for v in segment]
    if any(not math.isfinite(v) or v < 0 or v > limit for v in values):
        raise InvalidEvent(_("The video position is impossible."))
    if any(end < start for start, end in event.segments):
        raise InvalidEvent(_("A watched stretch ends before it starts."))


#: Watched seconds may accumulate this much faster than the clock: players at 1.25× or 1.5×, phones'
#: clocks that drift, and stretches rounded out to whole seconds.
REAL_TIME_RATE = 1.5
#: Seconds credited beyond that: what was watched before the first event the server knows of.
REAL_TIME_SLACK_S = 10.0


def watch_allowance(progress: LessonProgress) -> int:
    """Return how many seconds of video may count as watched in all, given how long the trainee has been on it.

    A video counts as watched only as fast as it can be watched: the seconds credited never exceed
    REAL_TIME_RATE times the time from the first moment known on the lesson (the page opened, or the
    earliest event) to the newest event, plus REAL_TIME_SLACK_S. One forged event claiming the whole
    video thus earns the slack and no more; a player reporting every 10 s stays well inside. The
    times are the events' own (the phone's clock, never past the server's), not when they arrived:
    a burst of events queued offline and replayed later spans the time it was watched in, and the
    total does not depend on the order they arrive in. What this cannot stop is a client that makes
    up a whole timeline of plausible events; it does stop claiming more than that timeline allows.
    """
    until = progress.last_event_at or progress.first_opened_at
    span = max(0.0, (until - progress.first_opened_at).total_seconds()) if until and progress.first_opened_at else 0.0
    return math.floor(REAL_TIME_RATE * span + REAL_TIME_SLACK_S)


def _credit(bits: int, first: int, last: int, room: int) -> tuple[int, int]:
    """Add the unwatched seconds first..last-1 to the coverage bits, the earliest first, at most `room` of them."""
    span = ((1 << (last - first)) - 1) << first
    new = span & ~bits
    count = bin(new).count("1")
    if count <= room:
        return bits | new, room - count
    for second in range(first, last):
        if not room:
            break
        if not bits >> second & 1:
            bits |= 1 << second
            room -= 1
    return bits, room


def _apply_position(progress: LessonProgress, lesson: Lesson, event: ProgressEventData, when: datetime, *,
                    duration: float | None, enrollment: Enrollment | None = None) -> None:
    # A player that had not loaded the video yet reports 0 s with nothing watched (older pages
    # still in phones' caches do): that says nothing about where the trainee is, so it never
    # erases a saved place. Going back to the start by watching it carries segments and counts.
    blank = event.position_s is not None and event.position_s < 1 and not event.segments
    newer = progress.position_at is None or when >= progress.position_at
    if event.position_s is not None and newer and not (blank and progress.position_s):
        progress.position_s, progress.position_at = event.position_s, when
    # The time on the lesson, for watch_allowance: widened by each event, whatever order they come in.
    if progress.first_opened_at is None or when < progress.first_opened_at:
        progress.first_opened_at = when
    if progress.last_event_at is None or when > progress.last_event_at:
        progress.last_event_at = when
    if not duration or not event.segments:
        return
    buckets = max(1, math.ceil(duration))
    every_second = (1 << buckets) - 1
    bits = int.from_bytes(progress.coverage or b"", "little")
    room = max(0, watch_allowance(progress) - bin(bits & every_second).count("1"))
    for start, end in event.segments:
        first, last = int(start), min(buckets, math.ceil(end))
        if last > first and room:
            bits, room = _credit(bits, first, last, room)
    progress.coverage = bits.to_bytes((buckets + 7) // 8, "little")
    progress.duration_s = duration
    progress.watched_fraction = min(1.0, bin(bits & every_second).count("1") / buckets)
    if progress.watched_fraction * 100 >= lesson.course.video_completion_percent and lesson.kind == LessonKind.VIDEO:
        complete_lesson_progress(progress, lesson, by="watched", when=when, enrollment=enrollment)


def complete_lesson(user, lesson: Lesson, *, by: str, when: datetime | None = None) -> LessonProgress:
    """Mark a lesson complete for the user (once; the first date stays) and re-check the course."""
    when = when or utcnow()
    progress = _progress(user, lesson, when)
    complete_lesson_progress(progress, lesson, by=by, when=when)
    db.session.flush()
    return progress


def complete_lesson_progress(progress: LessonProgress, lesson: Lesson, *, by: str, when: datetime,
                             enrollment: Enrollment | None = None) -> None:
    """Date the lesson's completion once and re-check the course (`enrollment`: the trainee's, if loaded)."""
    if enrollment is None:
        enrollment = db.session.scalar(sa.select(Enrollment).where(
            Enrollment.user_id == progress.user_id, Enrollment.course_id == lesson.course_id))
    if progress.completed_at is None:
        # The lesson's date is when the trainee did it (a replayed offline event keeps its
        # time), never before joining the course; the course's date is when the server first
        # saw every rule met.
        done_at = min(when, utcnow())
        if enrollment is not None and enrollment.enrolled_at is not None:
            done_at = max(done_at, enrollment.enrolled_at)
        progress.completed_at, progress.completed_by = done_at, by
    db.session.flush()
    if enrollment is not None:
        refresh_course_completion(enrollment)


# --- Course completion ---------------------------------------------------------------


@dataclass(frozen=True)
class RuleOutcome:
    met: bool
    label: str
    detail: str = ""


def required_lessons(course: Course) -> list[Lesson]:
    return list(db.session.scalars(
        sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.required.is_(True), Lesson.archived_at.is_(None))
    ))


def completed_lesson_ids(user_id: int, course_id: int) -> set[int]:
    return set(db.session.scalars(
        sa.select(LessonProgress.lesson_id).where(
            LessonProgress.user_id == user_id, LessonProgress.course_id == course_id,
            LessonProgress.completed_at.is_not(None))
    ))


def completion_status(enrollment: Enrollment) -> list[RuleOutcome]:
    """Return every completion rule of the enrolment's course with whether it is met."""
    from lms.core.i18n import gettext as _

    required = required_lessons(enrollment.course)
    done = completed_lesson_ids(enrollment.user_id, enrollment.course_id)
    finished = sum(1 for lesson in required if lesson.id in done)
    outcomes = [RuleOutcome(bool(required) and finished == len(required),
                            _("Required lessons, quizzes and practical work"),
                            _("%(done)d of %(total)d done", done=finished, total=len(required)))]
    for rule in hooks.completion_rules():  # those higher packages add (attendance)
        outcome = rule(enrollment)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def refresh_course_completion(enrollment: Enrollment) -> bool:
    """Record the completion date the first time every rule is met; return whether the course is complete."""
    if enrollment.completed_at is not None:
        return True
    if all(outcome.met for outcome in completion_status(enrollment)):
        enrollment.completed_at = utcnow()
        db.session.flush()
        _notify_completed(enrollment)
        return True
    return False


def _notify_completed(enrollment: Enrollment) -> None:
    for listener in hooks.completion_listeners():  # certificates listen here
        listener(enrollment)


# --- Summaries -----------------------------------------------------------------------


@dataclass
class CourseProgress:
    enrollment: Enrollment | None
    lessons: list[Lesson]
    progress: dict[int, LessonProgress] = field(default_factory=dict)
    required_total: int = 0
    required_done: int = 0

    @property
    def percent(self) -> int:
        if not self.required_total:
            return 0
        return math.floor(100 * self.required_done / self.required_total)

    @property
    def completed_at(self):
        return self.enrollment.completed_at if self.enrollment else None

    def is_done(self, lesson: Lesson) -> bool:
        item = self.progress.get(lesson.id)
        return item is not None and item.completed_at is not None

    @property
    def resume_lesson(self) -> Lesson | None:
        """The lesson to continue: the last one opened if unfinished, else the first unfinished one."""
        last = self.enrollment.last_lesson if self.enrollment else None
        if last is not None and last.archived_at is None and not self.is_done(last):
            return last
        return next((lesson for lesson in self.lessons if not self.is_done(lesson)), last or (self.lessons[0] if self.lessons else None))


def course_progress(user, course: Course, lessons=None) -> CourseProgress:
    """Summarise a trainee's progress in a course (over `lessons` in order, Lessons or an outline, if given)."""
    from lms.courses.services import ordered_lessons

    lessons = lessons if lessons is not None else ordered_lessons(course)
    enrollment = get_enrollment(user, course, active_only=False)
    rows = db.session.scalars(
        sa.select(LessonProgress).where(LessonProgress.user_id == user.id, LessonProgress.course_id == course.id)
    ) if getattr(user, "id", None) else []
    summary = CourseProgress(enrollment=enrollment, lessons=lessons, progress={p.lesson_id: p for p in rows})
    required = [lesson for lesson in lessons if lesson.required]
    summary.required_total = len(required)
    summary.required_done = sum(1 for lesson in required if summary.is_done(lesson))
    return summary


# --- What the phones report about their outboxes ---------------------------------------

#: A phone's clock (or the Date header it read) may run a little ahead of this server's.
SYNC_CLOCK_SLACK = timedelta(minutes=5)


def record_sync_status(user, waiting: int, last_synced_at: datetime | None, now: datetime | None = None) -> SyncStatus:
    """Keep what the user's phone says is waiting in its outbox; flush in the caller's transaction.

    A last sync in the future is the phone's wrong clock: it is kept as now. A report without one
    keeps the last known sync, as "nothing sent yet" does not undo an earlier one.
    """
    now = now or utcnow()
    if last_synced_at is not None and last_synced_at > now + SYNC_CLOCK_SLACK:
        last_synced_at = now
    elif last_synced_at is not None:
        last_synced_at = min(last_synced_at, now)
    insert_if_absent(db.session, SyncStatus, {"user_id": user.id, "waiting": waiting, "reported_at": now,
                                              "last_synced_at": last_synced_at}, unique=["user_id"])
    status = db.session.get(SyncStatus, user.id, populate_existing=True)
    status.waiting, status.reported_at = waiting, now
    if last_synced_at is not None and (status.last_synced_at is None or last_synced_at > status.last_synced_at):
        status.last_synced_at = last_synced_at
    db.session.flush()
    return status


def sync_statuses_of(user_ids) -> dict[int, SyncStatus]:
    """Return the last sync reports of these users, by user id, in one query."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    return {s.user_id: s for s in db.session.scalars(sa.select(SyncStatus).where(SyncStatus.user_id.in_(ids)))}
