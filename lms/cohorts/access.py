"""Who runs a class, and the loaders that apply it in every route of every package.

One rule, used by the class pages, attendance, sign-in sheets, certificates and the staff home:
admins and organizers run every class; instructors run the classes they are listed on.
"""

import sqlalchemy as sa
from flask import abort

from lms.accounts.models import Role, User
from lms.cohorts.models import ClassSession, Cohort, CohortMember, cohort_instructors
from lms.cohorts.services import get_cohort_by_code
from lms.core.extensions import db


def runs_every_class(user) -> bool:
    """Return True for admins and organizers, who run every class."""
    return getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN, Role.ORGANIZER)


def runs_class(user, cohort: Cohort) -> bool:
    """Return True for admins, organizers and the class's own instructors."""
    if not getattr(user, "is_authenticated", False):
        return False
    return runs_every_class(user) or any(i.id == user.id for i in cohort.instructors)


def classes_run_by(user) -> sa.ColumnElement[bool]:
    """Return the condition on Cohort that keeps the classes this user runs (true for all for organizers)."""
    if runs_every_class(user):
        return sa.true()
    return Cohort.instructors.any(User.id == user.id)


# --- Loaders ----------------------------------------------------------------------------------


def get_cohort_or_404(code: str, for_user) -> Cohort:
    """Load a class the user runs (organizers: any; instructors: their own); 403 for others."""
    cohort = get_cohort_by_code(code)
    if cohort is None:
        abort(404)
    if not runs_class(for_user, cohort):
        abort(403)
    return cohort


def get_session_or_404(cohort: Cohort, session_id: int) -> ClassSession:
    """Load a session of this class."""
    session = db.session.get(ClassSession, session_id)
    if session is None or session.cohort_id != cohort.id:
        abort(404)
    return session


def get_upload_or_404(cohort: Cohort, token: str, for_user) -> dict:
    """Return a stored import upload of this class that the user may see (the uploader, or an admin)."""
    from lms.cohorts.importing import store

    meta = store.load_upload(token)
    if meta is None or meta["cohort_id"] != cohort.id:
        abort(404)
    if meta["user_id"] != for_user.id and not for_user.has_role(Role.ADMIN):
        abort(404)
    return meta


def members_of_classes_run_by(staff) -> sa.Select:
    """Select the ids of the trainees of the classes this staff member runs."""
    return (sa.select(CohortMember.user_id)
            .join(cohort_instructors, cohort_instructors.c.cohort_id == CohortMember.cohort_id)
            .where(cohort_instructors.c.user_id == staff.id))
