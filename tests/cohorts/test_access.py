"""Who runs a class: one rule for the class pages, attendance, sign-in sheets, certificates and the home page."""

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.cohorts.access import classes_run_by, runs_class, runs_every_class
from lms.cohorts.models import Cohort
from lms.core.extensions import db
from tests.factories import make_class, make_user


def test_staff_access_rule(app):
    cohort, instructor, (huong, _) = make_class()
    assert runs_class(instructor, cohort)
    assert runs_class(make_user(Role.ORGANIZER), cohort)
    assert runs_class(make_user(Role.ADMIN), cohort)
    assert not runs_class(make_user(Role.INSTRUCTOR), cohort)
    assert not runs_class(huong, cohort)


def test_the_query_keeps_the_classes_the_rule_lets_in(app):
    cohort, instructor, (huong, _) = make_class()
    for user in (instructor, make_user(Role.ORGANIZER), make_user(Role.ADMIN), make_user(Role.INSTRUCTOR), huong):
        kept = set(db.session.scalars(sa.select(Cohort.id).where(classes_run_by(user))))
        assert (cohort.id in kept) == runs_class(user, cohort), user.roles
    assert runs_every_class(make_user(Role.ORGANIZER)) and not runs_every_class(instructor)
