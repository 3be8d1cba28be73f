"""What certificates hold about a person: the certificates issued to them."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.certificates.models import Certificate
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


def personal_data(user) -> list[DataSection]:
    """Return the user's certificates, with the name printed on each."""
    certificates = db.session.scalars(sa.select(Certificate).where(Certificate.user_id == user.id)
                                      .order_by(Certificate.issued_at))
    return [DataSection(
        "certificates", _l("Certificates"),
        (("serial", _l("Serial number")), ("course", _l("Course")), ("holder_name", _l("Name on the certificate")),
         ("issued_at", _l("Issued on")), ("expires_at", _l("Valid until")), ("status", _l("Status"))),
        tuple({"serial": c.serial, "course": c.course_title, "holder_name": c.holder_name, "issued_at": c.issued_at,
               "expires_at": c.expires_at, "status": c.effective_status().label} for c in certificates))]
