"""Who may see which privacy request: its owner, and admins."""

import sqlalchemy as sa
from flask import abort

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.privacy.models import PrivacyRequest


def get_own_request_or_404(request_id: int, *, for_user) -> PrivacyRequest:
    """Load one of the user's own requests; 404 for anyone else's (ids are sequential)."""
    request = db.session.scalar(sa.select(PrivacyRequest).where(PrivacyRequest.id == request_id,
                                                                PrivacyRequest.user_id == for_user.id))
    if request is None:
        abort(404)
    return request


def get_request_or_404(request_id: int, *, for_user) -> PrivacyRequest:
    """Load any request for an admin, who handles them; 404 for everyone else."""
    if not for_user.has_role(Role.ADMIN):
        abort(404)
    request = db.session.get(PrivacyRequest, request_id)
    if request is None:
        abort(404)
    return request
