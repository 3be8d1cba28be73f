"""Who runs a class, and the loaders of the class pages (used by other packages' routes too)."""

from flask import abort

from lms.accounts.models import Role
from lms.cohorts.models import ClassSession, Cohort
from lms.cohorts.services import get_cohort_by_code
from lms.extensions import db


def can_manage(user, cohort: Cohort) -> bool:
    return user.has_role(Role.ADMIN, Role.ORGANIZER) or any(i.id == user.id for i in cohort.instructors)


# --- Loaders ----------------------------------------------------------------------------------


def get_cohort_or_404(code: str, for_user) -> Cohort:
    """Load a class the user runs (organizers: any; instructors: their own); 403 for others."""
    cohort = get_cohort_by_code(code)
    if cohort is None:
        abort(404)
    if not can_manage(for_user, cohort):
        abort(403)
    return cohort


def get_session_or_404(cohort: Cohort, session_id: int) -> ClassSession:
    """Load a session of this class."""
    session = db.session.get(ClassSession, session_id)
    if session is None or session.cohort_id != cohort.id:
        abort(404)
    return session
