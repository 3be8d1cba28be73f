"""Certificate rules: templates, serials and codes, issuing (one per trainee and course), revoking and re-issuing.

`issue_for_enrollment` listens to the learning rules (connected in `lms.register_hooks`), so a
certificate is issued the moment a course's completion is first recorded.
"""

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from lms.accounts.models import User
from lms.certificates.models import (
    DEFAULT_WORDING,
    BatchStatus,
    Certificate,
    CertificateBatch,
    CertificateSerial,
    CertificateStatus,
    CertificateTemplate,
)
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.core import jobs
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import fold_diacritics, normalize_text
from lms.core.timezone import to_local
from lms.courses.models import Course
from lms.learning import services as learning
from lms.learning.models import Enrollment

logger = logging.getLogger(__name__)
#: No 0/O, 1/I/L: a code read aloud over the phone or typed from paper cannot be misread.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: 16 characters of 31: about 79 bits, far beyond guessing at 30 tries a minute.
CODE_LENGTH = 16
#: Version of what is printed and signed (Certificate.version).
DOCUMENT_VERSION = 1
TITLE = "GIẤY CHỨNG NHẬN"
SAMPLE_NAME = "Nguyễn Thị Hường"


class CertificateError(Exception):
    """A rule about certificates was broken; the message is safe to show."""


class NotComplete(CertificateError):
    pass


class RevokedBefore(CertificateError):
    """The trainee's certificate for this course was revoked: only an explicit re-issue gives a new one."""


# --- Templates -------------------------------------------------------------------------------


def get_template(course: Course) -> CertificateTemplate | None:
    return db.session.scalar(sa.select(CertificateTemplate).where(CertificateTemplate.course_id == course.id))


def template_for(course: Course) -> CertificateTemplate:
    """Return the course's template, or an unsaved one with the defaults."""
    return get_template(course) or CertificateTemplate(
        course_id=course.id, course=course, issuer_name="", wording=DEFAULT_WORDING, hours=None,
        validity_months=None, signer1_name="", signer1_title="", signer2_name="", signer2_title="",
        auto_issue=True)


TEMPLATE_FIELDS = ("issuer_name", "wording", "hours", "validity_months", "logo_asset_id", "signer1_name",
                   "signer1_title", "signer1_signature_asset_id", "signer2_name", "signer2_title",
                   "signer2_signature_asset_id", "auto_issue")


def save_template(course: Course, *, by=None, **values) -> CertificateTemplate:
    """Create or update the course's certificate template (texts are normalised to NFC)."""
    from lms.core.i18n import gettext as _

    unknown = set(values) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"unknown template fields: {sorted(unknown)}")
    template = get_template(course)
    if template is None:
        template = template_for(course)
        db.session.add(template)
    for name, value in values.items():
        setattr(template, name, normalize_text(value) if isinstance(value, str) else value)
    if template.hours is not None and not 1 <= template.hours <= 5000:
        raise CertificateError(_("Hours must be between 1 and 5000."))
    if template.validity_months is not None and not 1 <= template.validity_months <= 600:
        raise CertificateError(_("Validity must be between 1 and 600 months."))
    if not template.wording:
        template.wording = DEFAULT_WORDING
    template.updated_by_id = getattr(by, "id", None)
    template.updated_at = utcnow()
    db.session.flush()
    return template


def _signers(template: CertificateTemplate) -> list[dict]:
    signers = []
    for n in (1, 2):
        name, title = getattr(template, f"signer{n}_name") or "", getattr(template, f"signer{n}_title") or ""
        if name or title:
            signers.append({"name": name, "title": title,
                            "signature_asset_id": getattr(template, f"signer{n}_signature_asset_id")})
    return signers


# --- Serial numbers and codes ---------------------------------------------------------------------


def allocate_serials(year: int, count: int = 1) -> list[str]:
    """Reserve `count` consecutive serial numbers of a year: LS-<year>-<6 digits>.

    One UPDATE ... RETURNING increments the year's counter: PostgreSQL holds the row lock and
    SQLite the write lock until commit, so two issuers never get the same numbers.
    """
    if count < 1:
        return []
    for _attempt in range(5):
        last = db.session.execute(
            sa.update(CertificateSerial).where(CertificateSerial.year == year)
            .values(last_value=CertificateSerial.last_value + count)
            .returning(CertificateSerial.last_value)
            .execution_options(synchronize_session=False)
        ).scalar()
        if last is not None:
            return [f"LS-{year}-{n:06d}" for n in range(last - count + 1, last + 1)]
        try:
            with db.session.begin_nested():
                db.session.add(CertificateSerial(year=year, last_value=0))
        except sa.exc.IntegrityError:
            pass  # another issuer created the year's counter first: use theirs
    raise CertificateError("could not allocate a serial number")


def new_code() -> str:
    """Return a new unguessable verification code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str | None) -> str | None:
    """Return the code as stored (upper case, no dashes or spaces), or None if it cannot be one."""
    code = "".join(ch for ch in (text or "").upper() if ch not in "- ")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


_SERIAL = re.compile(r"^LS\W*(\d{4})\W*(\d{1,9})$")


def normalize_serial(text: str | None) -> str | None:
    """Return a serial number as printed (LS-2026-000123) from how it was typed, or None."""
    match = _SERIAL.match(normalize_text(text).upper().replace(" ", "-"))
    return f"LS-{match[1]}-{int(match[2]):06d}" if match else None


def certificate_by_serial(serial: str | None, holder_name: str | None) -> Certificate | None:
    """Return the certificate with this serial number if the holder's name matches too (tones and case aside).

    A serial alone is a counter anyone can count up: asking for the name as well keeps the list
    of holders from being read off by trying LS-2026-000001, 000002, ...
    """
    number = normalize_serial(serial)
    name = fold_diacritics(holder_name or "")
    if number is None or not name:
        return None
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.serial == number))
    if certificate is None or fold_diacritics(certificate.holder_name) != name:
        return None
    return certificate


def certificate_by_code(text: str | None) -> Certificate | None:
    """Return the certificate with this verification code, or None (a malformed code is not looked up)."""
    code = normalize_code(text)
    return None if code is None else db.session.scalar(sa.select(Certificate).where(Certificate.code == code))


def latest_version(certificate: Certificate) -> Certificate:
    """Follow the superseded_by chain to the newest certificate."""
    seen = {certificate.id}
    while certificate.superseded_by is not None and certificate.superseded_by.id not in seen:
        certificate = certificate.superseded_by
        seen.add(certificate.id)
    return certificate


# --- Issuing ---------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Return the same day `months` later (the last day of a shorter month)."""
    import calendar

    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _blocking_certificates(user_ids, course_id: int) -> dict[int, Certificate]:
    """Return, by user, the certificate that stops a new issue: a valid one, or a revoked one not re-issued."""
    rows = db.session.scalars(
        sa.select(Certificate).where(
            Certificate.user_id.in_(list(user_ids)), Certificate.course_id == course_id,
            sa.or_(Certificate.status == CertificateStatus.VALID,
                   sa.and_(Certificate.status == CertificateStatus.REVOKED, Certificate.superseded_by_id.is_(None))))
    )
    found: dict[int, Certificate] = {}
    for row in rows:
        if row.user_id not in found or row.status == CertificateStatus.VALID:
            found[row.user_id] = row
    return found


def snapshot_values(user: User, course: Course, template: CertificateTemplate, completed_at: datetime | None,
              issued_at: datetime) -> dict:
    validity = template.validity_months
    return {
        "user_id": user.id,
        "course_id": course.id,
        "holder_name": normalize_text(user.full_name),
        "holder_commune_code": user.commune_code,
        "course_title": normalize_text(course.title),
        "course_slug": course.slug,
        "hours": template.hours if template.hours is not None else course.estimated_hours,
        "issuer_name": template.issuer_name or current_app.config.get("LMS_ORG_NAME", "Làng Số"),
        "wording": template.wording or DEFAULT_WORDING,
        "signers": _signers(template),
        "logo_asset_id": template.logo_asset_id,
        "completed_at": completed_at,
        "issued_at": issued_at,
        "expires_at": add_months(issued_at, validity) if validity else None,
        "version": DOCUMENT_VERSION,
        "status": CertificateStatus.VALID,
    }


def issue_certificate(enrollment: Enrollment, *, by=None, reissue: bool = False) -> tuple[Certificate, bool]:
    """Issue the certificate of a completed enrolment; return (certificate, newly issued).

    Issuing twice gives the same certificate. A revoked certificate blocks a new one unless
    `reissue` is set (an organizer's explicit decision).
    """
    from lms.core.i18n import gettext as _

    if enrollment.completed_at is None:
        raise NotComplete(_("The trainee has not completed this course yet."))
    blocking = _blocking_certificates([enrollment.user_id], enrollment.course_id).get(enrollment.user_id)
    if blocking is not None and blocking.status == CertificateStatus.VALID:
        return blocking, False
    if blocking is not None and not reissue:
        raise RevokedBefore(_("This trainee's certificate was revoked. Re-issue it from the certificate's page."))
    now = utcnow()
    course = enrollment.course
    values = snapshot_values(enrollment.user, course, template_for(course), enrollment.completed_at, now)
    certificate = Certificate(serial=allocate_serials(to_local(now).year)[0], code=new_code(),
                              issued_by_id=getattr(by, "id", None), **values)
    db.session.add(certificate)
    db.session.flush()
    if blocking is not None:
        blocking.superseded_by_id = certificate.id
        db.session.flush()
    _tell_holders([(enrollment.user_id, certificate.serial)], course)
    return certificate, True


def _tell_holders(holders, course: Course) -> int:
    """Leave each new holder (user id, serial) a message that their certificate is issued."""
    from lms.notifications import messages
    from lms.notifications.services import notify_each

    return notify_each((user_id, messages.CERTIFICATE_ISSUED, "/my/certificates",
                        {"course": course.title, "serial": serial}) for user_id, serial in holders)


def issue_for_enrollment(enrollment: Enrollment) -> Certificate | None:
    """Issue a certificate automatically when an enrolment is first completed (the learning listener).

    A certificate problem must never undo the trainee's progress: it is logged, and an
    organizer can still issue from the class page.
    """
    course = enrollment.course
    template = get_template(course) if course is not None else None
    if template is not None and not template.auto_issue:
        return None
    try:
        with db.session.begin_nested():
            certificate, _created = issue_certificate(enrollment)
    except RevokedBefore:
        return None
    except (CertificateError, sa.exc.SQLAlchemyError):
        logger.exception("could not issue the certificate of enrolment %s", enrollment.id)
        return None
    return certificate



@dataclass
class IssueSummary:
    """What issuing to a class did; `processed` grows as it goes."""

    total: int = 0
    processed: int = 0
    issued: int = 0
    already: int = 0
    not_complete: int = 0
    revoked: int = 0
    serials: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.already + self.not_complete + self.revoked


def issue_for_cohort(cohort: Cohort, *, by=None, chunk_size: int = 500,
                     on_progress: Callable[[IssueSummary], None] | None = None) -> IssueSummary:
    """Issue certificates to every active member of the class whose enrolment in its course is complete.

    Members who already hold one are counted, not issued again; members whose certificate was
    revoked are left for an explicit re-issue. Rows are written in chunks, with one serial block each.
    """
    course = cohort.course
    template = template_for(course)
    rows = db.session.execute(
        sa.select(Enrollment, User)
        .join(CohortMember, sa.and_(CohortMember.user_id == Enrollment.user_id, CohortMember.cohort_id == cohort.id))
        .join(User, User.id == Enrollment.user_id)
        .where(CohortMember.status == MemberStatus.ACTIVE, Enrollment.course_id == course.id)
        .order_by(User.full_name, User.id)
    ).all()
    summary = IssueSummary(total=len(rows))
    blocking = _blocking_certificates([user.id for _, user in rows], course.id)
    ready: list[tuple[Enrollment, User]] = []
    for enrollment, user in rows:
        # The rules may be met by now (attendance recorded later): record it, which may issue by itself.
        if user.id not in blocking and enrollment.completed_at is None and learning.refresh_course_completion(enrollment):
            blocking.update(_blocking_certificates([user.id], course.id))
            if user.id in blocking and blocking[user.id].status == CertificateStatus.VALID:
                summary.issued += 1
                summary.processed += 1
                summary.serials.append(blocking[user.id].serial)
                continue
        if user.id in blocking:
            summary.processed += 1
            if blocking[user.id].status == CertificateStatus.VALID:
                summary.already += 1
            else:
                summary.revoked += 1
        elif enrollment.completed_at is None:
            summary.processed += 1
            summary.not_complete += 1
        else:
            ready.append((enrollment, user))
    if on_progress:
        on_progress(summary)
    issued_by = getattr(by, "id", None)
    for start in range(0, len(ready), chunk_size):
        chunk = ready[start:start + chunk_size]
        now = utcnow()
        serials = allocate_serials(to_local(now).year, len(chunk))
        values = []
        for (enrollment, user), serial in zip(chunk, serials, strict=True):
            row = snapshot_values(user, course, template, enrollment.completed_at, now)
            values.append({**row, "serial": serial, "code": new_code(), "issued_by_id": issued_by})
        db.session.execute(sa.insert(Certificate), values)
        _tell_holders([(user.id, serial) for (_enrollment, user), serial in zip(chunk, serials, strict=True)], course)
        summary.issued += len(chunk)
        summary.processed += len(chunk)
        summary.serials.extend(serials)
        if on_progress:
            on_progress(summary)
    return summary


def start_cohort_batch(cohort: Cohort, *, by) -> tuple[CertificateBatch, bool]:
    """Record a request to issue a class's certificates; return (batch, newly created).

    While one is waiting or running (for under an hour) the same one is returned, so a double
    tap does not queue the work twice.
    """
    recent = utcnow() - timedelta(hours=1)
    recover_stale_batches()  # a dead worker's batch is not "the one still running"
    active = db.session.scalar(sa.select(CertificateBatch).where(
        CertificateBatch.cohort_id == cohort.id, CertificateBatch.created_at > recent,
        CertificateBatch.status.in_([BatchStatus.QUEUED, BatchStatus.RUNNING])))
    if active is not None:
        return active, False
    total = db.session.scalar(sa.select(sa.func.count(CohortMember.id)).where(
        CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE)) or 0
    batch = CertificateBatch(public_id=secrets.token_urlsafe(16), cohort_id=cohort.id,
                             requested_by_id=getattr(by, "id", None), status=BatchStatus.QUEUED, total=total)
    db.session.add(batch)
    db.session.flush()
    return batch, True


def worker_lost_message() -> str:
    from lms.core.i18n import gettext as _

    return _("The background worker stopped while issuing. The certificates already issued are kept: "
             "press Try again to issue the rest.")


def recover_stale_batch(batch: CertificateBatch, now=None) -> bool:
    """Fail a running batch whose worker is gone, so it may be tried again; return whether it was.

    Certificates of the chunks committed before it died are real and kept; trying again skips their holders.
    """
    if batch.status != BatchStatus.RUNNING or not jobs.is_row_stale(batch, now):
        return False
    batch.status, batch.error, batch.finished_at = BatchStatus.FAILED, worker_lost_message(), utcnow()
    return True


def recover_stale_batches(now=None) -> int:
    """Fail every running batch whose worker is gone; return how many."""
    running = db.session.scalars(jobs.stale_rows(CertificateBatch, CertificateBatch.status, BatchStatus.RUNNING, now))
    return sum(recover_stale_batch(batch, now) for batch in running.all())


def recent_batches(cohort: Cohort, limit: int = 5) -> list[CertificateBatch]:
    return list(db.session.scalars(sa.select(CertificateBatch).where(CertificateBatch.cohort_id == cohort.id)
                                   .order_by(CertificateBatch.created_at.desc(), CertificateBatch.id.desc())
                                   .limit(limit)))


def cohort_counts(cohort: Cohort) -> dict[str, int]:
    """Count a class's active members, those who completed its course, and those holding a valid certificate."""
    members = (sa.select(CohortMember.user_id)
               .where(CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE))
    completed = db.session.scalar(sa.select(sa.func.count(Enrollment.id)).where(
        Enrollment.course_id == cohort.course_id, Enrollment.user_id.in_(members),
        Enrollment.completed_at.is_not(None))) or 0
    holding = db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(
        Certificate.course_id == cohort.course_id, Certificate.user_id.in_(members),
        Certificate.status == CertificateStatus.VALID)) or 0
    member_count = db.session.scalar(sa.select(sa.func.count()).select_from(members.subquery())) or 0
    return {"members": member_count, "completed": completed, "holding": holding}


# --- Revoking and re-issuing --------------------------------------------------------------------------


def revoke_certificate(certificate: Certificate, *, by, reason: str) -> None:
    """Revoke a certificate, keeping it on record with who, when and why."""
    from lms.core.i18n import gettext as _

    reason = normalize_text(reason)
    if not reason:
        raise CertificateError(_("Give the reason for revoking."))
    if certificate.status != CertificateStatus.VALID:
        raise CertificateError(_("Only a valid certificate can be revoked."))
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at, certificate.revoked_by_id, certificate.revoke_reason = utcnow(), by.id, reason[:300]
    db.session.flush()


def reissue_certificate(certificate: Certificate, *, by, holder_name: str | None = None) -> Certificate:
    """Issue a new certificate in place of this one (a corrected name, or after a revocation).

    A valid certificate becomes "superseded"; a revoked one stays revoked. Either way it points
    to the new one, which gets a new serial number and code.
    """
    from lms.core.i18n import gettext as _

    if certificate.superseded_by_id is not None or certificate.status == CertificateStatus.SUPERSEDED:
        raise CertificateError(_("This certificate has already been replaced; re-issue the newest one."))
    now = utcnow()
    user = db.session.get(User, certificate.user_id) if certificate.user_id else None
    course = db.session.get(Course, certificate.course_id) if certificate.course_id else None
    if user is not None and course is not None:
        values = snapshot_values(user, course, template_for(course), certificate.completed_at, now)
    else:
        # The account or the course is gone: keep what the old certificate said.
        values = {name: getattr(certificate, name) for name in (
            "user_id", "course_id", "holder_name", "holder_commune_code", "course_title", "course_slug", "hours",
            "issuer_name", "wording", "signers", "logo_asset_id", "completed_at")}
        validity = certificate.expires_at is not None
        values.update(issued_at=now, status=CertificateStatus.VALID, version=DOCUMENT_VERSION,
                      expires_at=now + (certificate.expires_at - certificate.issued_at) if validity else None)
    if holder_name is not None:
        values["holder_name"] = normalize_text(holder_name)
    if not values["holder_name"]:
        raise CertificateError(_("Enter the holder's name."))
    if certificate.status == CertificateStatus.VALID:
        # Before the new row: only one valid certificate per trainee and course may exist at a time.
        certificate.status = CertificateStatus.SUPERSEDED
        db.session.flush()
    replacement = Certificate(serial=allocate_serials(to_local(now).year)[0], code=new_code(),
                              issued_by_id=by.id, **values)
    db.session.add(replacement)
    db.session.flush()
    certificate.superseded_by_id = replacement.id
    db.session.flush()
    return replacement
