"""What cohorts hold about a person: the classes they belong to."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.cohorts.models import Cohort, CohortMember
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.courses.models import Course


def personal_data(user) -> list[DataSection]:
    """Return the user's classes, joined and left."""
    members = db.session.execute(
        sa.select(CohortMember, Cohort, Course.title).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .join(Course, Course.id == Cohort.course_id).where(CohortMember.user_id == user.id)
        .order_by(CohortMember.joined_at))
    return [DataSection(
        "classes", _l("Your classes"),
        (("code", _l("Class code")), ("name", _l("Class")), ("course", _l("Course")), ("status", _l("Status")),
         ("joined_at", _l("Joined on")), ("withdrawn_at", _l("Left on"))),
        tuple({"code": cohort.code, "name": cohort.name, "course": course, "status": m.status.label,
               "joined_at": m.joined_at, "withdrawn_at": m.withdrawn_at} for m, cohort, course in members))]
