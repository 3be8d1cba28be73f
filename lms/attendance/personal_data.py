"""What attendance holds about a person: every session they were marked for."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.attendance.models import AttendanceRecord
from lms.cohorts.models import ClassSession, Cohort
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


def personal_data(user) -> list[DataSection]:
    """Return the user's attendance records."""
    records = db.session.execute(
        sa.select(AttendanceRecord, ClassSession.starts_at, Cohort.code)
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .join(Cohort, Cohort.id == ClassSession.cohort_id).where(AttendanceRecord.user_id == user.id)
        .order_by(ClassSession.starts_at))
    return [DataSection(
        "attendance", _l("Attendance"),
        (("class", _l("Class code")), ("session", _l("Session")), ("status", _l("Status")),
         ("method", _l("How it was recorded")), ("recorded_at", _l("Recorded at"))),
        tuple({"class": code, "session": starts_at, "status": r.status.label, "method": r.method.label,
               "recorded_at": r.recorded_at} for r, starts_at, code in records))]
