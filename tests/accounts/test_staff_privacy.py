"""Least privilege for staff: an instructor sees only their own trainees, with phones masked until they ask."""

import logging

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.courses import services as courses
from tests.conftest import csrf_token
from tests.factories import make_class, make_course, make_trainee, make_user


def _people(app):
    teacher = make_user(Role.INSTRUCTOR, full_name="Lê Văn Giảng")
    idle = make_user(Role.INSTRUCTOR, full_name="Đỗ Văn Rảnh")  # teaches nothing
    course = make_course("ban-hang-online")
    courses.set_instructors(course, [teacher])
    learner = make_trainee(enrolled_in=course, full_name="Phạm Thị Học", phone="0912555001",
                           village="Thôn Đông")
    _cohort, _i, (member, _) = make_class(instructor=teacher)
    stranger = make_trainee(full_name="Ngô Văn Lạ", phone="0912555002")
    db.session.commit()
    return teacher, idle, learner, member, stranger


def test_an_instructor_who_teaches_nothing_sees_no_one_else(client, auth, app):
    teacher, idle, learner, member, stranger = _people(app)
    auth.login(idle.phone)
    for person in (learner, member, stranger, teacher):
        assert client.get(f"/users/{person.id}").status_code == 404
    listing = client.get("/users", query_string={"q": "0912555"}).get_data(as_text=True)
    assert "Phạm Thị Học" not in listing and "Ngô Văn Lạ" not in listing
    assert client.get(f"/users/{idle.id}").status_code == 200  # their own account


def test_an_instructor_sees_their_own_trainees_masked_and_no_one_else(client, auth, app):
    teacher, _idle, learner, member, stranger = _people(app)
    auth.login(teacher.phone)
    page = client.get(f"/users/{learner.id}").get_data(as_text=True)
    assert "0912555001" not in page and "Thôn Đông" not in page and "Phạm Thị Học" in page
    assert client.get(f"/users/{member.id}").status_code == 200
    assert client.get(f"/users/{stranger.id}").status_code == 404
    listing = client.get("/users", query_string={"q": "0912555"}).get_data(as_text=True)
    assert "Phạm Thị Học" in listing and "Ngô Văn Lạ" not in listing


def test_revealing_a_phone_takes_a_tap_and_is_noted_without_the_number(client, auth, app, caplog):
    teacher, _idle, learner, _member, stranger = _people(app)
    auth.login(teacher.phone)
    token = csrf_token(client, f"/users/{learner.id}")
    with caplog.at_level(logging.INFO, logger="lms.audit"):
        page = client.post(f"/users/{learner.id}/phone", data={"csrf_token": token}).get_data(as_text=True)
    assert "0912555001" in page
    audit = [r.getMessage() for r in caplog.records if r.name == "lms.audit"]
    assert audit == [f"account {teacher.id} revealed_phone; subject account {learner.id}; object - -"]
    assert "0912555001" not in " ".join(audit)
    assert client.post(f"/users/{stranger.id}/phone", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/users/{learner.id}/phone").status_code == 400  # no CSRF token


def test_organizers_see_every_trainee_in_full(client, auth, app):
    _teacher, _idle, learner, _member, stranger = _people(app)
    organizer = make_user(Role.ORGANIZER, full_name="Cán Bộ")
    auth.login(organizer.phone)
    assert "0912555002" in client.get(f"/users/{stranger.id}").get_data(as_text=True)
    assert "Thôn Đông" in client.get(f"/users/{learner.id}").get_data(as_text=True)
