"""What the privacy package holds about a person: their consent choices and their requests."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.privacy.models import ConsentRecord, PrivacyRequest


def personal_data(user) -> list[DataSection]:
    """Return every consent choice the user made and every request they filed, oldest first."""
    consents = db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.user_id == user.id)
                                  .order_by(ConsentRecord.recorded_at, ConsentRecord.id))
    requests = db.session.scalars(sa.select(PrivacyRequest).where(PrivacyRequest.user_id == user.id)
                                  .order_by(PrivacyRequest.received_at, PrivacyRequest.id))
    return [
        DataSection("consent", _l("Privacy consent"),
                    (("recorded_at", _l("When")), ("notice_version", _l("Notice version")),
                     ("choice", _l("Choice")), ("method", _l("How"))),
                    tuple({"recorded_at": c.recorded_at, "notice_version": c.notice_version,
                           "choice": c.choice.label, "method": c.method.label} for c in consents)),
        DataSection("privacy_requests", _l("Requests about your data"),
                    (("received_at", _l("Received")), ("kind", _l("Request")), ("status", _l("Status")),
                     ("handled_at", _l("Handled"))),
                    tuple({"received_at": r.received_at, "kind": r.kind.label, "status": r.status.label,
                           "handled_at": r.handled_at} for r in requests)),
    ]
