"""Builders for certificate tests."""

from lms.accounts.models import Role
from lms.cohorts import services as cohorts
from lms.core.extensions import db
from lms.courses import services as courses
from lms.learning import services as learning
from tests.factories import make_course, make_trainee, make_user


def complete_course(trainee, course) -> None:
    """Do every lesson of the course, as the trainee would; the last one completes the course."""
    for lesson in courses.ordered_lessons(course):
        learning.complete_lesson(trainee, lesson, by="staff")
    db.session.commit()


def completed_trainee(course, **fields):
    """Return a trainee enrolled in the course who has completed it."""
    trainee = make_trainee(enrolled_in=course, **fields)
    complete_course(trainee, course)
    return trainee


def make_organizer(**fields):
    fields.setdefault("full_name", "Nguyễn Thị Thu Hà")
    return make_user(Role.ORGANIZER, **fields)


def make_cohort(course=None, code="PX-VBBH-01", members=()):
    """Create a class of the course with these trainees in it."""
    course = course or make_course()
    cohort = cohorts.create_cohort(code=code, course=course, name="Lớp Chuyên Mỹ", commune_code=10330)
    for trainee in members:
        cohorts.add_member(cohort, trainee, check_capacity=False)
    db.session.commit()
    return cohort


def certificate_of(trainee, course):
    from lms.certificates import services

    return next((c for c in services.certificates_of(trainee) if c.course_id == course.id), None)
