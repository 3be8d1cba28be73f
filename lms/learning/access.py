"""Who may learn in a course: the rule learning connects to courses (in `lms.register_hooks`)."""

import sqlalchemy as sa

from lms.courses.models import course_instructors
from lms.learning.models import Enrollment
from lms.learning.services import is_enrolled


def may_learn(user, course) -> bool:
    """Trainees learn only in courses they are enrolled in."""
    return is_enrolled(user, course)


def learners_taught_by(staff) -> sa.Select:
    """Select the ids of the learners enrolled in a course this staff member teaches."""
    return (sa.select(Enrollment.user_id)
            .join(course_instructors, course_instructors.c.course_id == Enrollment.course_id)
            .where(course_instructors.c.user_id == staff.id))
