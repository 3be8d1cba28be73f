"""Who sees the programme's figures, and whose: organizers, admins and commune officials, each within their places."""

from flask import abort
from flask_login import current_user

from lms.accounts.access import role_required
from lms.accounts.models import Role
from lms.core.places import communes_of
from lms.reports.figures import WHOLE, Scope

#: The decorator of every reports route: officials only read, and these routes only read.
programme_staff_required = role_required(Role.ORGANIZER, Role.OFFICIAL)


def scope_of(user) -> Scope:
    """Return whose figures the user may see.

    An admin, and an organizer given no places, see the whole programme. An organizer or an
    official given places sees the trainees living in those communes (a province stands for all its
    communes). An official given none, or anyone else, sees nobody.
    """
    if not getattr(user, "is_authenticated", False):
        return Scope(frozenset())
    if user.has_role(Role.ADMIN):
        return WHOLE
    if not user.has_role(Role.ORGANIZER, Role.OFFICIAL):
        return Scope(frozenset())
    if not user.places and user.has_role(Role.ORGANIZER):
        return WHOLE
    communes = set()
    for place in user.places:
        if place.commune_code is not None:
            communes.add(place.commune_code)
        else:
            communes.update(c.code for c in communes_of(place.province_code))
    return Scope(frozenset(communes))


def current_scope() -> Scope:
    """Return the current user's scope."""
    return scope_of(current_user)


def check_commune_in_scope(scope: Scope, commune_code: int | None) -> None:
    """Answer 404 for a commune the scope does not reach, as for one that does not exist."""
    if commune_code is not None and not scope.allows(commune_code):
        abort(404)
