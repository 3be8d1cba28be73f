"""Enrolments made by the thousand (the trainee import): plain statements, no ORM objects.

Nothing here commits, and nothing goes through the session's identity map: a caller that holds
loaded Enrollment objects expires them after these writes.
"""

from collections.abc import Collection

import sqlalchemy as sa

from lms.core.db import in_chunks
from lms.core.extensions import db
from lms.learning.models import Enrollment, EnrollmentSource, EnrollmentStatus


def enroll_in_bulk(course_id: int, user_ids: list[int], *, source: EnrollmentSource,
                   new_user_ids: Collection[int] = ()) -> None:
    """Enrol users in a course: a new enrolment for those without one, the old one reopened for those who left.

    Users in new_user_ids (created in this transaction) cannot have an enrolment, so are not looked up.
    """
    new = set(new_user_ids)
    enrolments: dict[int, tuple[int, EnrollmentStatus]] = {}
    for chunk in in_chunks([user_id for user_id in user_ids if user_id not in new]):
        for enrolment_id, user_id, status in db.session.execute(
                sa.select(Enrollment.id, Enrollment.user_id, Enrollment.status).where(
                    Enrollment.course_id == course_id, Enrollment.user_id.in_(chunk))):
            enrolments[user_id] = (enrolment_id, status)
    to_insert, to_reopen = [], []
    for user_id in user_ids:
        enrolment = enrolments.get(user_id)
        if enrolment is None:
            to_insert.append({"user_id": user_id, "course_id": course_id, "source": source,
                              "status": EnrollmentStatus.ACTIVE})
        elif enrolment[1] != EnrollmentStatus.ACTIVE:
            to_reopen.append(enrolment[0])
    if to_insert:
        db.session.execute(sa.insert(Enrollment.__table__), to_insert)
    for chunk in in_chunks(to_reopen):
        db.session.execute(sa.update(Enrollment).where(Enrollment.id.in_(chunk))
                           .values(status=EnrollmentStatus.ACTIVE, left_at=None))
