"""Practical-work rules: task settings and rubrics, handing work in, reviewing it, feedback news."""

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from lms.assignments.models import (
    DEFAULT_MAX_PHOTOS,
    Assignment,
    RubricCriterion,
    RubricLevel,
    RubricScore,
    Submission,
    SubmissionMedia,
    SubmissionStatus,
)
from lms.core.db import move_in_order, utcnow
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.text import normalize_text, vietnamese_key
from lms.courses.access import can_edit_course
from lms.courses.models import Course, Lesson, LessonKind
from lms.courses.services import normalize_text_block

#: The media purpose trainees upload their photos and videos with (registered by the views).
SUBMISSION_PURPOSE = "submission"
MAX_TEXT_CHARS = 20_000
MAX_LINKS = 10
MAX_LINK_CHARS = 2_000
MAX_VIDEOS = 1
#: Most photos an instructor may allow on one hand-in.
PHOTO_LIMIT = 20
MAX_LEVELS = 4
MAX_POINTS = 100


class AssignmentError(Exception):
    """A rule about practical work was broken; the message is safe to show."""


class NotAllowed(AssignmentError):
    """The person may not do this (not enrolled, not an editor of the course)."""


class SubmissionConflict(AssignmentError):
    """The state of the work forbids it now (waiting for review, approved, reviewed already)."""


class FieldError(AssignmentError):
    """One input is wrong: `field` names it ("text", "links", "photos", "video", "comment", "levels")."""

    def __init__(self, field: str, message: str, index: int | None = None):
        super().__init__(message)
        self.field, self.index = field, index


# --- Task settings and rubric ----------------------------------------------------------


def find_assignment(lesson: Lesson) -> Assignment | None:
    return db.session.scalar(sa.select(Assignment).where(Assignment.lesson_id == lesson.id))


def get_or_create_assignment(lesson: Lesson) -> Assignment:
    """Return the settings of a practical-work lesson, creating them with the defaults."""
    if lesson.kind != LessonKind.ASSIGNMENT:
        raise AssignmentError(_("This lesson is not practical work."))
    assignment = find_assignment(lesson)
    if assignment is None:
        assignment = Assignment(lesson_id=lesson.id, accepts_text=True, accepts_links=True,
                                max_photos=DEFAULT_MAX_PHOTOS, accepts_video=True)
        db.session.add(assignment)
        db.session.flush()
    return assignment


def assignment_for(lesson: Lesson) -> Assignment:
    """Return the lesson's saved settings, or unsaved defaults (for showing a page, without writing)."""
    # Lesson has no relationship back to Assignment, so this one stays out of the session.
    return find_assignment(lesson) or Assignment(
        lesson_id=lesson.id, lesson=lesson, accepts_text=True, accepts_links=True,
        max_photos=DEFAULT_MAX_PHOTOS, accepts_video=True)


def update_assignment(assignment: Assignment, *, accepts_text: bool, accepts_links: bool, max_photos: int,
                      accepts_video: bool) -> None:
    """Say what trainees may hand in; at least one kind of work must be accepted."""
    if not 0 <= max_photos <= PHOTO_LIMIT:
        raise FieldError("max_photos", _("Allow between 0 and %(max)d photos.", max=PHOTO_LIMIT))
    if not (accepts_text or accepts_links or max_photos or accepts_video):
        raise AssignmentError(_("Trainees must be able to hand in at least one thing."))
    assignment.accepts_text, assignment.accepts_links = accepts_text, accepts_links
    assignment.max_photos, assignment.accepts_video = max_photos, accepts_video
    db.session.flush()


LevelSpec = tuple[str, int, str]
CriterionSpec = tuple[str, str, Sequence[LevelSpec]]


def _clean_levels(levels: Iterable[LevelSpec]) -> list[LevelSpec]:
    cleaned = []
    for title, points, description in levels:
        title = normalize_text(title)
        if not title:
            continue  # an empty row of the form
        try:
            points = int(points if points is not None else 0)
        except (TypeError, ValueError):
            raise FieldError("levels", _("Points must be a whole number.")) from None
        if not 0 <= points <= MAX_POINTS:
            raise FieldError("levels", _("Points go from 0 to %(max)d.", max=MAX_POINTS))
        cleaned.append((title[:120], points, normalize_text_block(description or "")))
    if not cleaned:
        raise FieldError("levels", _("Give the criterion at least one level, e.g. “Pass”."))
    if len(cleaned) > MAX_LEVELS:
        raise FieldError("levels", _("A criterion has at most %(max)d levels.", max=MAX_LEVELS))
    return cleaned


def _apply_criterion(criterion: RubricCriterion, title: str, description: str, levels) -> None:
    title = normalize_text(title)
    if not title:
        raise FieldError("title", _("Enter what is judged."))
    cleaned = _clean_levels(levels)
    criterion.title, criterion.description = title[:200], normalize_text_block(description or "")
    # Rows are reused by position, so reviews already given keep pointing at their level.
    existing = sorted(criterion.levels, key=lambda level: level.position)
    for position, (level_title, points, level_description) in enumerate(cleaned):
        if position < len(existing):
            level = existing[position]
        else:
            level = RubricLevel(position=position)
            criterion.levels.append(level)
        level.position, level.title, level.points, level.description = (
            position, level_title, points, level_description)
    for level in existing[len(cleaned):]:
        criterion.levels.remove(level)


def add_criterion(assignment: Assignment, title: str, description: str,
                  levels: Sequence[LevelSpec]) -> RubricCriterion:
    """Append a criterion with its levels (title, points, description) to the rubric."""
    criterion = RubricCriterion(position=len(assignment.criteria))
    _apply_criterion(criterion, title, description, levels)
    assignment.criteria.append(criterion)
    db.session.flush()
    return criterion


def update_criterion(criterion: RubricCriterion, title: str, description: str,
                     levels: Sequence[LevelSpec]) -> None:
    """Change a criterion's words and levels."""
    _apply_criterion(criterion, title, description, levels)
    db.session.flush()


def delete_criterion(criterion: RubricCriterion) -> None:
    """Remove a criterion; the scores already given on it go with it (the total score stays)."""
    assignment = criterion.assignment
    assignment.criteria.remove(criterion)
    for position, each in enumerate(assignment.criteria):
        each.position = position
    db.session.flush()


def move_criterion(criterion: RubricCriterion, direction: str) -> bool:
    """Move a criterion one place up or down; return False at either end."""
    if not move_in_order(sorted(criterion.assignment.criteria, key=lambda c: c.position), criterion, direction):
        return False
    db.session.flush()
    db.session.expire(criterion.assignment, ["criteria"])
    return True


def set_rubric(assignment: Assignment, criteria: Sequence[CriterionSpec]) -> None:
    """Make the rubric exactly these criteria, each (title, description, [(title, points, description)])."""
    existing = sorted(assignment.criteria, key=lambda c: c.position)
    for position, (title, description, levels) in enumerate(criteria):
        if position < len(existing):
            existing[position].position = position
            _apply_criterion(existing[position], title, description, levels)
        else:
            criterion = RubricCriterion(position=position)
            _apply_criterion(criterion, title, description, levels)
            assignment.criteria.append(criterion)
    for criterion in existing[len(criteria):]:
        assignment.criteria.remove(criterion)
    db.session.flush()


# --- Handing work in -------------------------------------------------------------------

#: Host suffix -> platform, for showing where a link goes.
_PLATFORMS = (
    (("facebook.com", "fb.com", "fb.watch", "fb.me", "messenger.com"), "facebook"),
    (("tiktok.com",), "tiktok"),
    (("youtube.com", "youtu.be"), "youtube"),
    (("shopee.vn", "shopee.com", "shp.ee"), "shopee"),
    (("zalo.me", "zalo.vn"), "zalo"),
)
PLATFORM_NAMES = {"facebook": "Facebook", "tiktok": "TikTok", "youtube": "YouTube", "shopee": "Shopee",
                  "zalo": "Zalo"}
_LOOKS_LIKE_DOMAIN = re.compile(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:[/?#]|$)", re.IGNORECASE)
_HOST = re.compile(r"^[\w-]+(?:\.[\w-]+)+$")


def link_platform(host: str) -> str:
    """Return "facebook", "tiktok", "youtube", "shopee", "zalo" or "other" for a host name."""
    host = host.lower().rstrip(".")
    for suffixes, platform in _PLATFORMS:
        if any(host == suffix or host.endswith("." + suffix) for suffix in suffixes):
            return platform
    return "other"


def clean_link(raw: str) -> dict:
    """Return {"url", "platform"} for a web address, or raise ValueError.

    Only http and https with a real host name pass: `javascript:`, `data:`, `ftp:` and bare words
    never become links. An address pasted without its scheme ("shopee.vn/...") gets https.
    """
    text = raw.strip()
    if not text or len(text) > MAX_LINK_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValueError(raw)
    if "://" not in text and _LOOKS_LIKE_DOMAIN.match(text):
        text = "https://" + text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.scheme.lower() not in {"http", "https"} or not _HOST.match(host) or parts.username:
        raise ValueError(raw)
    return {"url": text, "platform": link_platform(host)}


def _clean_links(assignment: Assignment, links: Sequence[str]) -> list[dict]:
    given = [(index, (link or "").strip()) for index, link in enumerate(links)]
    given = [(index, link) for index, link in given if link]
    if given and not assignment.accepts_links:
        raise FieldError("links", _("This task does not take links."))
    if len(given) > MAX_LINKS:
        raise FieldError("links", _("Hand in at most %(max)d links.", max=MAX_LINKS))
    cleaned, seen = [], set()
    for index, link in given:
        try:
            item = clean_link(link)
        except ValueError:
            raise FieldError("links", _("“%(link)s” is not a web address. Copy the whole link, starting with https://",
                                        link=link[:80]), index=index) from None
        if item["url"] not in seen:
            seen.add(item["url"])
            cleaned.append(item)
    return cleaned


def _find_media(assignment: Assignment, user, media_ids: Sequence[str]) -> list:
    from lms.media.models import AssetStatus, MediaAsset, MediaType

    wanted = list(dict.fromkeys(m.strip() for m in media_ids if m and m.strip()))
    if not wanted:
        return []
    found = {a.public_id: a for a in db.session.scalars(sa.select(MediaAsset).where(MediaAsset.public_id.in_(wanted)))}
    course_id = assignment.lesson.course_id
    assets = []
    for public_id in wanted:
        asset = found.get(public_id)
        if asset is None or asset.owner_id != user.id or asset.course_id != course_id \
                or asset.purpose != SUBMISSION_PURPOSE:
            raise FieldError("media", _("A photo or video was not uploaded by you for this task. Upload it again."))
        if asset.status == AssetStatus.FAILED:
            field_name = "video" if asset.media_type == MediaType.VIDEO else "photos"
            raise FieldError(field_name, _("“%(name)s” could not be processed. Upload it again.",
                                           name=asset.original_filename))
        assets.append(asset)
    photos = [a for a in assets if a.media_type == MediaType.IMAGE]
    videos = [a for a in assets if a.media_type == MediaType.VIDEO]
    if len(photos) > assignment.max_photos:
        if assignment.max_photos == 0:
            raise FieldError("photos", _("This task does not take photos."))
        raise FieldError("photos", _("Hand in at most %(max)d photos.", max=assignment.max_photos))
    if videos and not assignment.accepts_video:
        raise FieldError("video", _("This task does not take a video."))
    if len(videos) > MAX_VIDEOS:
        raise FieldError("video", _("Hand in one video only."))
    if len(photos) + len(videos) != len(assets):
        raise FieldError("media", _("Only photos and a video can be handed in."))
    return photos + videos


def find_submission_by_client_id(client_id: str) -> Submission | None:
    return db.session.scalar(sa.select(Submission).where(Submission.client_id == client_id))


def submissions_of(assignment: Assignment, user) -> list[Submission]:
    """Return the trainee's hand-ins on this task, first one first."""
    if assignment.id is None or getattr(user, "id", None) is None:
        return []
    return list(db.session.scalars(
        sa.select(Submission).where(Submission.assignment_id == assignment.id, Submission.user_id == user.id)
        .order_by(Submission.number)
    ))


def latest_submission(assignment: Assignment, user) -> Submission | None:
    history = submissions_of(assignment, user)
    return history[-1] if history else None


def may_submit(assignment: Assignment, user) -> bool:
    """Return True if the trainee may hand in now: enrolled, and nothing waiting or approved."""
    from lms.learning.services import is_enrolled

    if not getattr(user, "is_authenticated", False) or not is_enrolled(user, assignment.lesson.course):
        return False
    latest = latest_submission(assignment, user)
    return latest is None or latest.status == SubmissionStatus.NEEDS_REVISION


def _normalise_client_id(client_id: str | None) -> str | None:
    if client_id is None or str(client_id).strip() == "":
        return None
    try:
        return str(uuid.UUID(str(client_id).strip()))
    except ValueError:
        raise AssignmentError(_("The form is out of date. Reload the page and hand in again.")) from None


def submit_work(assignment: Assignment, user, *, text: str = "", links: Sequence[str] = (),
                media_ids: Sequence[str] = (), client_id: str | None = None) -> Submission:
    """Hand in a trainee's work; the same client_id hands it in once, however often it is sent.

    :param media_ids: public ids of photos and a video the trainee uploaded with purpose "submission".
    """
    from lms.learning.services import is_enrolled

    client_id = _normalise_client_id(client_id)
    if client_id is not None:
        earlier = find_submission_by_client_id(client_id)
        if earlier is not None:
            if earlier.user_id != user.id or earlier.assignment_id != assignment.id:
                raise SubmissionConflict(_("This hand-in was already sent from another form. Reload the page."))
            return earlier
    lesson = assignment.lesson
    if not is_enrolled(user, lesson.course):
        raise NotAllowed(_("You are not enrolled in this course."))
    latest = latest_submission(assignment, user)
    if latest is not None and latest.status == SubmissionStatus.SUBMITTED:
        raise SubmissionConflict(_("Your work is waiting for review. You can hand in again if the instructor asks you to redo it."))
    if latest is not None and latest.status == SubmissionStatus.APPROVED:
        raise SubmissionConflict(_("Your work on this task has been approved already."))

    text = normalize_text_block(text or "")
    if text and not assignment.accepts_text:
        raise FieldError("text", _("This task does not take text."))
    if len(text) > MAX_TEXT_CHARS:
        raise FieldError("text", _("The text is too long: at most %(max)d characters.", max=MAX_TEXT_CHARS))
    cleaned_links = _clean_links(assignment, links)
    assets = _find_media(assignment, user, media_ids)
    if not (text or cleaned_links or assets):
        raise AssignmentError(_("Your hand-in is empty. Write your text, add a link, a photo or a video."))

    submission = Submission(
        assignment_id=assignment.id, user_id=user.id, number=(latest.number + 1) if latest else 1,
        text=text, links=cleaned_links, status=SubmissionStatus.SUBMITTED, submitted_at=utcnow(),
        client_id=client_id, comment="",
    )
    submission.media = [SubmissionMedia(asset=asset, position=i) for i, asset in enumerate(assets)]
    try:
        with db.session.begin_nested():
            db.session.add(submission)
    except sa.exc.IntegrityError:
        # The same hand-in arrived twice at the same moment (a double tap, two tabs).
        earlier = find_submission_by_client_id(client_id) if client_id else None
        if earlier is not None and earlier.user_id == user.id:
            return earlier
        raise SubmissionConflict(_("Your work was just handed in from another screen. Reload the page.")) from None
    return submission


# --- Reviewing -------------------------------------------------------------------------

DECISIONS = {"approve": SubmissionStatus.APPROVED, "redo": SubmissionStatus.NEEDS_REVISION}


def _chosen_levels(assignment: Assignment, levels: dict, *, complete: bool) -> list[tuple[RubricCriterion, RubricLevel]]:
    criteria = {c.id: c for c in assignment.criteria}
    chosen = []
    for criterion_id, level_id in (levels or {}).items():
        if level_id in (None, ""):
            continue
        try:
            criterion_id, level_id = int(criterion_id), int(level_id)
        except (TypeError, ValueError):
            criterion_id = level_id = None
        criterion = criteria.get(criterion_id)
        level = next((lv for lv in criterion.levels if lv.id == level_id), None) if criterion else None
        if level is None:
            raise FieldError("levels", _("A chosen level does not belong to this task's rubric. Reload the page."))
        chosen.append((criterion, level))
    if complete and len(chosen) < len(criteria):
        raise FieldError("levels", _("Choose a level for every criterion before approving."))
    return chosen


def review_submission(submission: Submission, reviewer, *, decision: str, comment: str = "",
                      levels: dict[int, int] | None = None) -> Submission:
    """Approve a hand-in (which completes the lesson) or ask for it to be redone, once.

    :param levels: criterion id -> chosen level id; approving needs a level for every criterion.
    """
    from lms.learning.services import complete_lesson

    assignment = submission.assignment
    lesson = assignment.lesson
    if not can_edit_course(reviewer, lesson.course):
        raise NotAllowed(_("Only the course's instructors can review this work."))
    if reviewer.id == submission.user_id:
        raise NotAllowed(_("You cannot review your own work."))
    if submission.status != SubmissionStatus.SUBMITTED:
        raise SubmissionConflict(_("This work has been reviewed already."))
    if decision not in DECISIONS:
        raise FieldError("decision", _("Choose “Approve” or “Please redo”."))
    comment = normalize_text_block(comment or "")
    if decision == "redo" and not comment:
        raise FieldError("comment", _("Tell the trainee what to change before asking for a redo."))
    if len(comment) > MAX_TEXT_CHARS:
        raise FieldError("comment", _("The comment is too long."))
    chosen = _chosen_levels(assignment, levels or {}, complete=decision == "approve")
    now = utcnow()
    # Only a waiting hand-in changes: of two reviewers saving at once, the second is refused.
    result = db.session.execute(
        sa.update(Submission)
        .where(Submission.id == submission.id, Submission.status == SubmissionStatus.SUBMITTED)
        .values(status=DECISIONS[decision], reviewed_at=now, reviewer_id=reviewer.id, comment=comment,
                score=sum(level.points for _criterion, level in chosen) if chosen else None, feedback_seen_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(submission)
        raise SubmissionConflict(_("This work has been reviewed already."))
    db.session.refresh(submission)
    for criterion, level in chosen:
        submission.scores.append(RubricScore(criterion_id=criterion.id, level_id=level.id))
    db.session.flush()
    if decision == "approve":
        complete_lesson(submission.user, lesson, by="assignment", when=now)
    _tell_author(submission, decision)
    return submission


def _tell_author(submission: Submission, decision: str) -> None:
    """Leave the trainee a message that their work was reviewed, with the comment."""
    from lms.notifications import messages
    from lms.notifications.services import notify

    lesson = submission.assignment.lesson
    kind = messages.WORK_APPROVED if decision == "approve" else messages.WORK_REDO
    notify([submission.user_id], kind, link=f"/courses/{lesson.course.slug}/lessons/{lesson.slug}",
           lesson=lesson.title, course=lesson.course.title, comment=submission.comment or "")


@dataclass
class ReviewQueue:
    """Hand-ins waiting for review, oldest first, and how many wait in each course."""

    submissions: list[Submission]
    counts: list[tuple[Course, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(count for _course, count in self.counts)


def _editable_course_ids(user) -> list[int]:
    from lms.courses.services import courses_editable_by

    return [course.id for course in courses_editable_by(user)]


def review_queue(user, course: Course | None = None) -> ReviewQueue:
    """Return the hand-ins waiting in the courses this person may edit (or in one of them), oldest first."""
    if course is not None and not can_edit_course(user, course):
        raise NotAllowed(_("You do not edit this course."))
    course_ids = _editable_course_ids(user)
    if not course_ids:
        return ReviewQueue([], [])
    waiting = (
        sa.select(Submission)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .where(Submission.status == SubmissionStatus.SUBMITTED, Lesson.course_id.in_(course_ids))
    )
    if course is not None:
        waiting = waiting.where(Lesson.course_id == course.id)
    waiting = waiting.options(
        selectinload(Submission.user),
        selectinload(Submission.assignment).selectinload(Assignment.lesson).selectinload(Lesson.course),
    )
    submissions = list(db.session.scalars(waiting.order_by(Submission.submitted_at, Submission.id)))
    per_course = db.session.execute(
        sa.select(Lesson.course_id, sa.func.count(Submission.id))
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .where(Submission.status == SubmissionStatus.SUBMITTED, Lesson.course_id.in_(course_ids))
        .group_by(Lesson.course_id)
    ).all()
    courses = {c.id: c for c in db.session.scalars(sa.select(Course).where(Course.id.in_([r[0] for r in per_course])))}
    counts = sorted(((courses[cid], n) for cid, n in per_course), key=lambda item: vietnamese_key(item[0].title))
    return ReviewQueue(submissions, counts)


# --- Feedback news ---------------------------------------------------------------------


def unseen_feedback(user) -> list[Submission]:
    """Return the trainee's reviewed hand-ins whose review they have not opened yet, newest first."""
    if getattr(user, "id", None) is None:
        return []
    return list(db.session.scalars(
        sa.select(Submission)
        .where(Submission.user_id == user.id, Submission.status != SubmissionStatus.SUBMITTED,
               Submission.feedback_seen_at.is_(None))
        .order_by(Submission.reviewed_at.desc(), Submission.id.desc())
    ))


def mark_feedback_seen(submission: Submission) -> None:
    """Record that the trainee has read the review (the first time only)."""
    if submission.is_reviewed and submission.feedback_seen_at is None:
        submission.feedback_seen_at = utcnow()
        db.session.flush()
