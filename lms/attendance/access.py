"""The loaders of attendance's routes (roll call, check-in screens, exports, sign-in sheets).

Who runs a class is cohorts' rule (`lms.cohorts.access.runs_class`); these apply it.
"""

from flask import abort

from lms.accounts.models import User
from lms.attendance import export_jobs
from lms.attendance.models import AttendanceExportJob
from lms.cohorts.access import runs_class
from lms.cohorts.models import ClassSession, Cohort
from lms.cohorts.services import get_cohort_by_code, get_member
from lms.core.extensions import db


def get_session_for_staff_or_404(session_id: int, user) -> ClassSession:
    """Load a session whose attendance the user may take (the class's instructors, organizers, admins)."""
    session = db.session.get(ClassSession, session_id)
    if session is None:
        abort(404)
    if not runs_class(user, session.cohort):
        abort(403)
    return session


def get_trainee_of_session_or_404(session: ClassSession, user_id: int) -> User:
    """Load a trainee who is (or was) in the session's class."""
    user = db.session.get(User, user_id)
    if user is None or get_member(session.cohort, user) is None:
        abort(404)
    return user


def get_session_for_sheet_or_404(session_id: int, for_user) -> ClassSession:
    """Load a session for those who run its class; 404 for anyone else (a sheet names every trainee)."""
    session = db.session.get(ClassSession, session_id)
    if session is None or not runs_class(for_user, session.cohort):
        abort(404)
    return session


def get_any_cohort_or_404(code: str) -> Cohort:
    """Load any class by its code, for the organizers' downloads (organizers and admins see every class)."""
    cohort = get_cohort_by_code(code)
    if cohort is None:
        abort(404)
    return cohort


def get_export_job_or_404(public_id: str, for_user) -> AttendanceExportJob:
    """Load an export for the organizer who asked for it, or an admin; 404 for anyone else."""
    job = export_jobs.get_export_job(public_id, for_user=for_user)
    if job is None:
        abort(404)
    return job
