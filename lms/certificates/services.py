"""Certificate rules: templates, issuing (one per trainee and course), revoking, re-issuing, and what is printed and signed.

Importing this module registers `issue_for_enrollment` with the learning rules, so a certificate is
issued the moment a course's completion is first recorded.
"""

import contextlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from lms.accounts.models import User
from lms.certificates import KEYS_PATH
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
from lms.courses.models import Course
from lms.learning import services as learning
from lms.learning.models import Enrollment

logger = logging.getLogger(__name__)
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
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


def _snapshot(user: User, course: Course, template: CertificateTemplate, completed_at: datetime | None,
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
    values = _snapshot(enrollment.user, course, template_for(course), enrollment.completed_at, now)
    certificate = Certificate(serial=allocate_serials(local_time(now).year)[0], code=new_code(),
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


learning.on_course_completed(issue_for_enrollment)


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
        serials = allocate_serials(local_time(now).year, len(chunk))
        values = []
        for (enrollment, user), serial in zip(chunk, serials, strict=True):
            row = _snapshot(user, course, template, enrollment.completed_at, now)
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
    if batch.status != BatchStatus.RUNNING or not jobs.is_stale(batch.heartbeat_at or batch.created_at, now):
        return False
    batch.status, batch.error, batch.finished_at = BatchStatus.FAILED, worker_lost_message(), utcnow()
    return True


@jobs.recoverer("certificate batches")
def recover_stale_batches(now=None) -> int:
    """Fail every running batch whose worker is gone; return how many."""
    running = db.session.scalars(sa.select(CertificateBatch).where(
        CertificateBatch.status == BatchStatus.RUNNING,
        sa.func.coalesce(CertificateBatch.heartbeat_at, CertificateBatch.created_at) <= jobs.stale_cutoff(now)))
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
        values = _snapshot(user, course, template_for(course), certificate.completed_at, now)
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
    replacement = Certificate(serial=allocate_serials(local_time(now).year)[0], code=new_code(),
                              issued_by_id=by.id, **values)
    db.session.add(replacement)
    db.session.flush()
    certificate.superseded_by_id = replacement.id
    db.session.flush()
    return replacement


# --- Finding certificates -------------------------------------------------------------------------------


def certificates_of(user) -> list[Certificate]:
    """Return the user's certificates, newest first (replaced ones only point to their successors)."""
    return list(db.session.scalars(
        sa.select(Certificate).where(Certificate.user_id == user.id, Certificate.status != CertificateStatus.SUPERSEDED)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    ))


@dataclass
class RegisterFilters:
    course_id: int | None = None
    cohort: Cohort | None = None
    commune_code: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    status: CertificateStatus | None = None
    query: str = ""
    phone: str | None = None


def register_query(filters: RegisterFilters) -> sa.Select:
    """Return the certificates matching the register's filters, newest first."""
    stmt = sa.select(Certificate)
    now = utcnow()
    if filters.course_id:
        stmt = stmt.where(Certificate.course_id == filters.course_id)
    if filters.cohort is not None:
        members = sa.select(CohortMember.user_id).where(CohortMember.cohort_id == filters.cohort.id)
        stmt = stmt.where(Certificate.course_id == filters.cohort.course_id, Certificate.user_id.in_(members))
    if filters.commune_code:
        stmt = stmt.where(Certificate.holder_commune_code == filters.commune_code)
    if filters.issued_from:
        stmt = stmt.where(Certificate.issued_at >= _start_of_local_day(filters.issued_from))
    if filters.issued_to:
        stmt = stmt.where(Certificate.issued_at < _start_of_local_day(filters.issued_to + timedelta(days=1)))
    if filters.status == CertificateStatus.EXPIRED:
        stmt = stmt.where(Certificate.status == CertificateStatus.VALID, Certificate.expires_at <= now)
    elif filters.status == CertificateStatus.VALID:
        stmt = stmt.where(Certificate.status == CertificateStatus.VALID,
                          sa.or_(Certificate.expires_at.is_(None), Certificate.expires_at > now))
    elif filters.status is not None:
        stmt = stmt.where(Certificate.status == filters.status)
    if filters.phone:
        stmt = stmt.where(Certificate.user_id.in_(sa.select(User.id).where(User.phone == filters.phone)))
    query = normalize_text(filters.query)
    if query:
        pattern = f"%{query}%"
        code = normalize_code(query)
        stmt = stmt.where(sa.or_(Certificate.holder_name.ilike(pattern), Certificate.serial.ilike(pattern),
                                 Certificate.code == (code or query.upper())))
    return stmt.order_by(Certificate.issued_at.desc(), Certificate.id.desc())


def local_time(moment: datetime) -> datetime:
    """Return a UTC time in Vietnam's time zone."""
    return moment.astimezone(VIETNAM)


def _start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=VIETNAM)


# --- What is printed and signed -------------------------------------------------------------------------


def verify_url(certificate: Certificate, base_url: str) -> str:
    """Return the public verification address printed in the QR code."""
    return f"{base_url.rstrip('/')}/verify/{certificate.code}"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo("UTC")).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def certificate_document(certificate: Certificate, base_url: str, *, now: datetime | None = None) -> dict:
    """Return the certificate as an Open Badges 3.0 shaped credential (unsigned). No phone, birth date or address."""
    base = base_url.rstrip("/")
    url = verify_url(certificate, base)
    status = certificate.effective_status(now)
    achievement = {
        "id": f"{base}/courses/{certificate.course_slug}" if certificate.course_slug else f"{url}#achievement",
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": certificate.course_title,
        "description": certificate.wording,
        "criteria": {"narrative": f"{certificate.wording}: {certificate.course_title}"},
    }
    if certificate.hours:
        achievement["hours"] = certificate.hours
    subject = {"type": ["AchievementSubject"], "name": certificate.holder_name, "achievement": achievement}
    if certificate.completed_at:
        subject["activityEndDate"] = _iso(certificate.completed_at)
    credential_status = {"id": url, "type": "LangSoCertificateStatus", "status": status.value}
    if certificate.status == CertificateStatus.REVOKED:
        credential_status.update(revokedAt=_iso(certificate.revoked_at), revocationReason=certificate.revoke_reason)
    if certificate.superseded_by is not None:
        credential_status["supersededBy"] = verify_url(latest_version(certificate), base)
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{TITLE.capitalize()}: {certificate.course_title}",
        "serialNumber": certificate.serial,
        "verificationCode": certificate.code,
        "documentVersion": certificate.version,
        "issuer": {"id": base + "/", "type": ["Profile"], "name": certificate.issuer_name},
        "validFrom": _iso(certificate.issued_at),
        "credentialSubject": subject,
        "credentialStatus": credential_status,
    }
    if certificate.expires_at is not None:
        document["validUntil"] = _iso(certificate.expires_at)
    return document


def signed_document(certificate: Certificate, base_url: str) -> dict:
    """Return the certificate's document signed with the installation's active key."""
    from lms.certificates.signing import (  # cryptography: only when signing
        keyring_for,
        sign_document,
    )

    key = keyring_for(current_app).active()
    return sign_document(certificate_document(certificate, base_url), key,
                         verification_method=f"{base_url.rstrip('/')}{KEYS_PATH}#{key.kid}")


def published_keys() -> dict:
    """Return the public keys anyone verifies signed certificates with."""
    from lms.certificates.signing import keyring_for

    return keyring_for(current_app).published()


def _vietnamese_date(moment: datetime | None) -> str | None:
    return None if moment is None else local_time(moment).strftime("%d/%m/%Y")


#: Printed across a certificate that is no longer valid, so a paper copy cannot pass for a good one.
BANNERS = {
    CertificateStatus.REVOKED: "ĐÃ THU HỒI – KHÔNG CÒN GIÁ TRỊ",
    CertificateStatus.SUPERSEDED: "ĐÃ ĐƯỢC THAY THẾ",
    CertificateStatus.EXPIRED: "ĐÃ HẾT HẠN",
}
PREVIEW_BANNER = "BẢN XEM THỬ"


def _image_bytes(asset_id: int | None) -> bytes | None:
    """Return a ready image asset's bytes (its 640 px rendition when there is one), cached per process."""
    from lms.core.storage import get_storage
    from lms.media.models import MediaAsset, MediaType

    if asset_id is None:
        return None
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or not asset.is_ready or asset.media_type != MediaType.IMAGE:
        return None
    variant = asset.variant("w640")
    key = variant.storage_key if variant is not None else asset.storage_key
    if key not in _image_cache:
        try:
            with get_storage().open(key) as fh:
                data = fh.read()
        except Exception:  # a missing file must not stop a certificate from printing
            logger.warning("certificate image %s could not be read", key)
            return None
        if len(_image_cache) > 64:
            _image_cache.clear()
        _image_cache[key] = data
    return _image_cache[key]


_image_cache: dict[str, bytes] = {}


def pdf_data(certificate: Certificate, base_url: str, *, banner: str | None = None) -> dict:
    """Return what lms.core.pdf.render_certificate prints for a certificate."""
    issued = local_time(certificate.issued_at)
    return {
        "title": TITLE,
        "holder_name": certificate.holder_name,
        "course_title": certificate.course_title,
        "wording": certificate.wording,
        "issuer_name": certificate.issuer_name,
        "hours": certificate.hours,
        "serial": certificate.serial,
        "code": certificate.display_code,
        "verify_url": verify_url(certificate, base_url),
        "issued_on": _vietnamese_date(certificate.issued_at),
        "completed_on": _vietnamese_date(certificate.completed_at),
        "expires_on": _vietnamese_date(certificate.expires_at),
        "date_line": f"Ngày {issued.day:02d} tháng {issued.month:02d} năm {issued.year}",
        "signers": [{"name": s.get("name", ""), "title": s.get("title", ""),
                     "signature": _image_bytes(s.get("signature_asset_id"))} for s in certificate.signers or []],
        "logo": _image_bytes(certificate.logo_asset_id),
        "banner": banner if banner is not None else BANNERS.get(certificate.effective_status()),
    }


def certificate_pdf(certificate: Certificate, base_url: str) -> bytes:
    """Render the certificate's PDF (marked across the page when it is no longer valid)."""
    from lms.core.pdf import render_certificate

    return render_certificate(pdf_data(certificate, base_url))


def preview_certificate(course: Course, template: CertificateTemplate, base_url: str,
                        holder_name: str = SAMPLE_NAME) -> Certificate:
    """Return an unsaved certificate as the template would issue it now, for a sample holder."""
    from types import SimpleNamespace

    now = utcnow()
    sample = SimpleNamespace(id=None, full_name=holder_name, commune_code=None)
    values = _snapshot(sample, course, template, now, now)
    return Certificate(serial=f"LS-{local_time(now).year}-000000", code="X" * CODE_LENGTH, **values)


def preview_pdf(course: Course, template: CertificateTemplate, base_url: str) -> bytes:
    """Render the template's preview for the sample name, marked as a preview."""
    from lms.core.pdf import render_certificate

    certificate = preview_certificate(course, template, base_url)
    return render_certificate(pdf_data(certificate, base_url, banner=PREVIEW_BANNER))


# --- The demo -----------------------------------------------------------------------------------------------


DEMO_COURSE_SLUG = "viet-bai-ban-hang"
DEMO_REVOKED_PHONE = "0900000101"
DEMO_SUPERSEDED_PHONE = "0900000102"


def load_demo_certificates(demo_trainee, organizer) -> int:
    """Give the demo trainee her certificate, and show one revoked and one superseded; return how many were issued.

    The two classmates get a certificate for a course they completed (or, if they completed none,
    for viet-bai-ban-hang, marked complete). Idempotent: a classmate whose revoked or superseded
    certificate is already there is left alone.
    """
    from lms.accounts.services import find_user_by_phone

    course = db.session.scalar(sa.select(Course).where(Course.slug == DEMO_COURSE_SLUG))
    if course is None:
        return 0
    created = 0
    enrollment = learning.get_enrollment(demo_trainee, course, active_only=False)
    if enrollment is not None and enrollment.completed_at is not None:
        with contextlib.suppress(RevokedBefore):
            created += issue_certificate(enrollment, by=organizer)[1]
    plans = ((DEMO_REVOKED_PHONE, CertificateStatus.REVOKED), (DEMO_SUPERSEDED_PHONE, CertificateStatus.SUPERSEDED))
    for days_ago, (phone, shown) in enumerate(plans, start=9):
        person = find_user_by_phone(phone)
        if person is None or db.session.scalar(sa.select(Certificate.id).where(
                Certificate.user_id == person.id, Certificate.status == shown).limit(1)) is not None:
            continue
        enrollment = db.session.scalar(
            sa.select(Enrollment).where(Enrollment.user_id == person.id, Enrollment.completed_at.is_not(None))
            .order_by(Enrollment.completed_at, Enrollment.id).limit(1))
        if enrollment is None:
            enrollment = learning.get_enrollment(person, course, active_only=False) or learning.enrol(person, course)
            # The demo needs finished classmates; none has finished a course, so mark one finished.
            enrollment.completed_at = utcnow() - timedelta(days=days_ago)
        try:
            certificate, issued = issue_certificate(enrollment, by=organizer)
        except RevokedBefore:
            continue
        created += issued
        if shown == CertificateStatus.REVOKED:
            revoke_certificate(certificate, by=organizer,
                               reason="Cấp nhầm: học viên chưa nộp bài thực hành cuối khoá.")
        else:
            # First printed without accents (a spreadsheet typo), then corrected and re-issued.
            if issued:
                certificate.holder_name = fold_diacritics(certificate.holder_name).title()
            db.session.flush()
            reissue_certificate(certificate, by=organizer, holder_name=person.full_name)
            created += 1
    db.session.flush()
    return created
