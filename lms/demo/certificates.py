"""The demo's certificates: one issued, one revoked, one superseded."""

import contextlib
from datetime import timedelta

import sqlalchemy as sa

from lms.certificates.models import (
    Certificate,
    CertificateStatus,
)
from lms.certificates.services import (
    RevokedBefore,
    issue_certificate,
    reissue_certificate,
    revoke_certificate,
)
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import fold_diacritics
from lms.courses.models import Course
from lms.learning import services as learning
from lms.learning.models import Enrollment

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
