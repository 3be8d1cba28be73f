"""The certificate register: who holds which certificate, filtered as organizers ask."""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from lms.accounts.models import User
from lms.certificates.models import (
    Certificate,
    CertificateStatus,
)
from lms.certificates.services import normalize_code
from lms.cohorts.models import Cohort, CohortMember
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import normalize_text
from lms.core.timezone import start_of_local_day


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
        stmt = stmt.where(Certificate.issued_at >= start_of_local_day(filters.issued_from))
    if filters.issued_to:
        stmt = stmt.where(Certificate.issued_at < start_of_local_day(filters.issued_to + timedelta(days=1)))
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


