"""Who may see a certificate, and the loaders of the certificate routes.

Designing a course's certificate is editing the course (`lms.courses.access`); issuing to a class
needs someone who runs it (`lms.cohorts.access`).
"""

import sqlalchemy as sa
from flask import abort

from lms.accounts.models import Role
from lms.certificates import services
from lms.certificates.models import Certificate, CertificateBatch
from lms.cohorts.models import Cohort
from lms.core.extensions import db


def can_see_certificate(user, certificate: Certificate) -> bool:
    """The holder, organizers and admins may download a certificate's PDF."""
    if not getattr(user, "is_authenticated", False):
        return False
    return certificate.user_id == user.id or user.has_role(Role.ADMIN, Role.ORGANIZER)


def get_certificate_or_404(code: str, for_user) -> Certificate:
    """Load a certificate by its code for someone allowed to see it (others get 403)."""
    certificate = services.certificate_by_code(code)
    if certificate is None:
        abort(404)
    if not can_see_certificate(for_user, certificate):
        abort(403)
    return certificate


def get_batch_or_404(cohort: Cohort, batch_id: str) -> CertificateBatch:
    """Load an issuing run of this class by its public id."""
    batch = db.session.scalar(sa.select(CertificateBatch).where(CertificateBatch.public_id == batch_id))
    if batch is None or batch.cohort_id != cohort.id:
        abort(404)
    return batch
