"""Consent to the privacy notice, requests about personal data, anonymisation and activity retention.

Every function flushes in the caller's transaction and never commits: the view, job or command does.
"""

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from lms.accounts.models import User
from lms.accounts.services import end_sessions
from lms.certificates.models import Certificate
from lms.core.db import in_chunks, utcnow
from lms.core.extensions import db
from lms.core.timezone import end_of_working_days, local_today
from lms.learning.models import ProgressEvent
from lms.privacy.models import (
    OPEN_STATUSES,
    ConsentChoice,
    ConsentMethod,
    ConsentRecord,
    LessonActivityTotal,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
)

#: Working days (Monday to Friday, Vietnam) within which receipt of a request is acknowledged.
ACKNOWLEDGE_WITHIN_WORKING_DAYS = 2
#: Progress events folded into totals per call, so one transaction stays short beside the site.
FOLD_BATCH = 5000


class PrivacyError(Exception):
    """A request about personal data that cannot be made or handled as asked; the message says why."""


# --- Consent -------------------------------------------------------------------------------------

def notice_version() -> str:
    """Return the version of the privacy notice in force."""
    return current_app.config["PRIVACY_NOTICE_VERSION"]


def record_consent(user: User, choice: ConsentChoice, method: ConsentMethod, *,
                   when: datetime | None = None) -> ConsentRecord:
    """Add a row saying what the user chose about the notice in force, how and when."""
    record = ConsentRecord(user_id=user.id, notice_version=notice_version(), choice=choice, method=method,
                           recorded_at=when or utcnow())
    db.session.add(record)
    db.session.flush()
    return record


def record_consent_given(user: User, how: str) -> None:
    """Record the consent ticked on the registration or activation form (the accounts consent recorder)."""
    record_consent(user, ConsentChoice.GIVEN, ConsentMethod(how))


def latest_consent(user: User) -> ConsentRecord | None:
    """Return the user's last choice about the notice in force, or None if they were never asked."""
    return db.session.scalar(
        sa.select(ConsentRecord)
        .where(ConsentRecord.user_id == user.id, ConsentRecord.notice_version == notice_version())
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc()).limit(1))


def has_current_consent(user: User) -> bool:
    """Tell whether the user's last choice about the notice in force is consent."""
    latest = latest_consent(user)
    return latest is not None and latest.choice == ConsentChoice.GIVEN


def needs_consent(user: User) -> bool:
    """Tell whether the user must answer the notice before using the service (trainees; staff are not held up)."""
    return not user.is_staff


def consent_history(user: User) -> list[ConsentRecord]:
    """Return every choice the user made about any version of the notice, newest first."""
    return list(db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.user_id == user.id)
                                   .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())))


def withdraw_consent(user: User) -> ConsentRecord:
    """Record the withdrawal and end the user's sessions on every device, which cached their consent."""
    record = record_consent(user, ConsentChoice.WITHDRAWN, ConsentMethod.PRIVACY_PAGE)
    end_sessions(user)
    return record


# --- Requests and their clock ----------------------------------------------------------------------

def acknowledgement_due(received_at: datetime) -> datetime:
    """Return the moment by which a request received then must be acknowledged (2 working days, Vietnam)."""
    return end_of_working_days(received_at, ACKNOWLEDGE_WITHIN_WORKING_DAYS)


def last_day_to_acknowledge(request: PrivacyRequest) -> date:
    """Return the last day (in Vietnam) on which the request can be acknowledged in time."""
    return local_today(request.due_at - timedelta(microseconds=1))


def is_overdue(request: PrivacyRequest, now: datetime | None = None) -> bool:
    """Tell whether the request waits for an acknowledgement past its due moment."""
    answered = request.acknowledged_at is not None or request.handled_at is not None
    return not answered and (now or utcnow()) >= request.due_at


def may_request_deletion(user: User) -> bool:
    """Tell whether the account can be deleted by its holder: trainees only (a staff account is the organisation's)."""
    return not user.is_staff


def open_request(user: User, kind: RequestKind) -> PrivacyRequest | None:
    """Return the user's request of this kind still under way, if any."""
    return db.session.scalar(sa.select(PrivacyRequest).where(
        PrivacyRequest.user_id == user.id, PrivacyRequest.kind == kind,
        PrivacyRequest.status.in_(OPEN_STATUSES)).limit(1))


def requests_of(user: User) -> list[PrivacyRequest]:
    """Return the user's requests, newest first."""
    return list(db.session.scalars(sa.select(PrivacyRequest).where(PrivacyRequest.user_id == user.id)
                                   .order_by(PrivacyRequest.received_at.desc(), PrivacyRequest.id.desc())))


def request_deletion(user: User, *, now: datetime | None = None) -> PrivacyRequest:
    """Receive a request to delete the account; it is carried out after the cool-off unless cancelled."""
    from lms.core.i18n import gettext as _

    if not may_request_deletion(user):
        raise PrivacyError(_("A staff account is deleted by an administrator: ask one."))
    if open_request(user, RequestKind.DELETION) is not None:
        raise PrivacyError(_("You have already asked for your account to be deleted."))
    now = now or utcnow()
    request = PrivacyRequest(
        user_id=user.id, kind=RequestKind.DELETION, status=RequestStatus.COOLING_OFF, received_at=now,
        due_at=acknowledgement_due(now),
        cool_off_until=now + timedelta(days=current_app.config["DELETION_COOL_OFF_DAYS"]))
    db.session.add(request)
    db.session.flush()
    return request


def file_request(user: User, kind: RequestKind, details: str, *, now: datetime | None = None) -> PrivacyRequest:
    """Receive a request to correct, copy or stop processing personal data, for an admin to handle."""
    from lms.core.i18n import gettext as _

    if kind == RequestKind.DELETION:
        raise PrivacyError(_("Ask for deletion on the deletion page."))
    if open_request(user, kind) is not None:
        raise PrivacyError(_("You already have a request of this kind under way."))
    now = now or utcnow()
    request = PrivacyRequest(user_id=user.id, kind=kind, status=RequestStatus.RECEIVED, details=details.strip(),
                             received_at=now, due_at=acknowledgement_due(now))
    db.session.add(request)
    db.session.flush()
    return request


def cancel_request(request: PrivacyRequest, by: User, *, now: datetime | None = None) -> None:
    """Let the person withdraw their own request while it is still under way."""
    from lms.core.i18n import gettext as _

    if not request.is_open:
        raise PrivacyError(_("This request is already closed."))
    request.status = RequestStatus.CANCELLED
    request.handled_at = now or utcnow()
    request.handled_by_id = by.id


def acknowledge_request(request: PrivacyRequest, by: User, *, now: datetime | None = None) -> None:
    """Note that an admin has seen the request and told the person it is being handled."""
    from lms.core.i18n import gettext as _

    if not request.is_open:
        raise PrivacyError(_("This request is already closed."))
    if request.acknowledged_at is not None:
        raise PrivacyError(_("This request has already been acknowledged."))
    request.acknowledged_at = now or utcnow()
    request.acknowledged_by_id = by.id


def refuse_request(request: PrivacyRequest, by: User, reason: str, *, now: datetime | None = None) -> None:
    """Close the request without doing it, for a reason the person is shown (a legal duty to keep the data)."""
    from lms.core.i18n import gettext as _

    if not request.is_open:
        raise PrivacyError(_("This request is already closed."))
    if not reason.strip():
        raise PrivacyError(_("Write the reason for refusing: the person will read it."))
    _close(request, RequestStatus.REFUSED, by, reason, now or utcnow())


def complete_request(request: PrivacyRequest, by: User, note: str = "", *, now: datetime | None = None) -> None:
    """Close a correction, copy or objection request that an admin has carried out."""
    from lms.core.i18n import gettext as _

    if not request.is_open:
        raise PrivacyError(_("This request is already closed."))
    if request.kind == RequestKind.DELETION:
        raise PrivacyError(_("A deletion is carried out automatically when its waiting time ends."))
    _close(request, RequestStatus.DONE, by, note, now or utcnow())


def _close(request: PrivacyRequest, status: RequestStatus, by: User | None, reason: str, now: datetime) -> None:
    request.status = status
    request.reason = reason.strip()
    request.handled_at = now
    request.handled_by_id = by.id if by else None
    if request.acknowledged_at is None:
        request.acknowledged_at = now
        request.acknowledged_by_id = by.id if by else None


def requests_for_admin(*, open_only: bool = True) -> sa.Select:
    """Return the requests admins work through: the oldest deadline first."""
    stmt = sa.select(PrivacyRequest).options(sa.orm.joinedload(PrivacyRequest.user))
    if open_only:
        stmt = stmt.where(PrivacyRequest.status.in_(OPEN_STATUSES))
    return stmt.order_by(PrivacyRequest.due_at, PrivacyRequest.id)


# --- Anonymisation ---------------------------------------------------------------------------------

def anonymised_name(user_id: int) -> str:
    """Return the name an anonymised account carries."""
    return f"Học viên đã xoá #{user_id}"


def anonymised_phone(user_id: int) -> str:
    """Return the phone column of an anonymised account: unique, and never a phone anyone can type."""
    return f"deleted-{user_id}"


def anonymise_user(user: User) -> None:
    """Replace the account's personal details, make it unusable and end its sessions; keep its rows.

    Enrolments, progress, quiz attempts, hand-ins and attendance stay (by id), so every count stays
    exact. Issued certificates keep the holder's name and course as printed: the legal exception
    that keeps a paper certificate verifiable (docs/privacy.md); the commune noted on them goes.
    """
    user.full_name = anonymised_name(user.id)
    user.phone = anonymised_phone(user.id)
    user.email = None
    user.date_of_birth = None
    user.commune_code = None
    user.village = None
    user.business_name = None
    user.password_hash = None
    user.activation_code_hash = None
    user.activation_expires_at = None
    user.must_change_password = False
    user.locale = None
    user.active = False
    end_sessions(user)
    db.session.execute(sa.update(Certificate).where(Certificate.user_id == user.id)
                       .values(holder_commune_code=None))
    erase_contents_of(user)


def erase_contents_of(user: User) -> None:
    """Erase what the person wrote, showed and was told: hand-in texts, links, photos and videos, feedback, messages.

    A hand-in's row, status and score stay, so "handed in" and "passed" still count; what it said,
    and the instructor's words about it, go. Messages to the person go whole (they may quote them).
    """
    from lms.assignments.models import Submission, SubmissionMedia
    from lms.media.models import MediaAsset
    from lms.media.services import delete_asset_files
    from lms.notifications.models import Notification

    db.session.execute(sa.update(Submission).where(Submission.user_id == user.id)
                       .values(text="", links=[], comment=""))
    assets = list(db.session.scalars(sa.select(MediaAsset).where(
        MediaAsset.owner_id == user.id, MediaAsset.purpose == "submission")))
    for asset in assets:
        delete_asset_files(asset)
    asset_ids = [asset.id for asset in assets]
    for chunk in in_chunks(asset_ids):
        db.session.execute(sa.delete(SubmissionMedia).where(SubmissionMedia.asset_id.in_(chunk)))
        db.session.execute(sa.delete(MediaAsset).where(MediaAsset.id.in_(chunk)))
    db.session.execute(sa.delete(Notification).where(Notification.user_id == user.id))


def carry_out_due_deletions(*, now: datetime | None = None) -> list[int]:
    """Anonymise the accounts whose deletion cool-off has ended; return the requests' ids."""
    now = now or utcnow()
    due = db.session.scalars(sa.select(PrivacyRequest).where(
        PrivacyRequest.kind == RequestKind.DELETION, PrivacyRequest.status == RequestStatus.COOLING_OFF,
        PrivacyRequest.cool_off_until <= now).order_by(PrivacyRequest.id)).all()
    for request in due:
        anonymise_user(request.user)
        _close(request, RequestStatus.DONE, None, "", now)
    db.session.flush()
    return [r.id for r in due]


# --- Retention of lesson activity ------------------------------------------------------------------

def activity_cutoff(now: datetime | None = None) -> datetime:
    """Return the moment before which lesson-activity detail is past its retention."""
    return (now or utcnow()) - timedelta(days=current_app.config["ACTIVITY_RETENTION_DAYS"])


def fold_old_activity(cutoff: datetime, *, limit: int = FOLD_BATCH) -> int:
    """Add up to `limit` progress events from before `cutoff` into per-lesson totals and delete them.

    Returns how many were folded (0: none left). Lesson progress rows, which every figure reads
    (completion, watched share, where to resume), are not touched.
    """
    # No ORDER BY: any old events will do, and without one the scan stops at `limit` instead of sorting the table.
    ids = list(db.session.scalars(sa.select(ProgressEvent.id).where(ProgressEvent.occurred_at < cutoff).limit(limit)))
    if not ids:
        return 0
    sums: dict[tuple[int, int, str], int] = {}
    for chunk in in_chunks(ids):
        rows = db.session.execute(
            sa.select(ProgressEvent.user_id, ProgressEvent.lesson_id, ProgressEvent.kind, sa.func.count())
            .where(ProgressEvent.id.in_(chunk))
            .group_by(ProgressEvent.user_id, ProgressEvent.lesson_id, ProgressEvent.kind))
        for user_id, lesson_id, kind, count in rows:
            sums[(user_id, lesson_id, kind)] = sums.get((user_id, lesson_id, kind), 0) + count
    existing = {
        (t.user_id, t.lesson_id, t.kind): t
        for chunk in in_chunks(sorted({user_id for user_id, _, _ in sums}))
        for t in db.session.scalars(sa.select(LessonActivityTotal).where(LessonActivityTotal.user_id.in_(chunk)))
    }
    for key, count in sums.items():
        if key in existing:
            existing[key].events += count
        else:
            user_id, lesson_id, kind = key
            db.session.add(LessonActivityTotal(user_id=user_id, lesson_id=lesson_id, kind=kind, events=count))
    for chunk in in_chunks(ids):
        db.session.execute(sa.delete(ProgressEvent).where(ProgressEvent.id.in_(chunk)))
    db.session.flush()
    return len(ids)
