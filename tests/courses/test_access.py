"""Who may see a course: its editors always, others only by a rule a higher package connects."""

from lms.accounts.models import Role
from lms.courses import hooks
from lms.courses import services as courses
from lms.courses.access import can_view_course
from lms.courses.models import CourseStatus
from tests.factories import make_course, make_trainee, make_user


def test_enrolled_trainees_see_a_published_course_and_others_do_not(app):
    course = make_course()
    assert can_view_course(make_trainee(enrolled_in=course), course)
    assert not can_view_course(make_trainee(), course)
    draft = make_course("ban-nhap", status=CourseStatus.DRAFT)
    assert not can_view_course(make_trainee(enrolled_in=draft), draft)


def test_no_view_rule_means_only_the_editors_get_in(app, monkeypatch):
    course = make_course()
    trainee, instructor = make_trainee(enrolled_in=course), make_user(Role.INSTRUCTOR)
    courses.set_instructors(course, [instructor])
    monkeypatch.setattr(hooks, "_view_rules", {})  # as if learning were not connected
    assert not can_view_course(trainee, course)
    assert not can_view_course(make_user(Role.TRAINEE), course)
    assert can_view_course(instructor, course)
    assert can_view_course(make_user(Role.ORGANIZER), course)
