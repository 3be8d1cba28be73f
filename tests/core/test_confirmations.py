"""Withdrawing a trainee, resetting a password and leaving a course ask first, on a page that needs no JavaScript."""

import sqlalchemy as sa

from lms.accounts.models import Role, User
from lms.cohorts import services as cohorts
from lms.cohorts.models import CohortMember, MemberStatus
from lms.core.extensions import db
from lms.learning import services as learning
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user


def make_class(code="PX-01"):
    course = make_course(code.lower())
    cohort = cohorts.create_cohort(code=code, course=course, name="Lớp Phú Xuyên", commune_code=10273, venue="")
    hương = make_trainee(full_name="Nguyễn Thị Hương")
    member, _added = cohorts.add_member(cohort, hương)
    db.session.commit()
    return cohort, member


def member_status(member_id):
    db.session.expire_all()
    return db.session.get(CohortMember, member_id).status


# --- Withdraw a trainee from a class ---------------------------------------------------------


def test_class_page_links_to_a_confirmation_that_names_the_trainee_and_the_class(client, auth, app):
    cohort, member = make_class()
    auth.login(make_user(Role.ORGANIZER).phone)
    page = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    url = f"/cohorts/{cohort.code}/members/{member.id}/withdraw"
    assert f'href="{url}"' in page
    confirm = client.get(url)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "Rút Nguyễn Thị Hương khỏi lớp PX-01?" in html
    assert "Tiến độ học và điểm danh vẫn được giữ." in html
    assert 'name="confirm" value="yes"' in html and f'href="/cohorts/{cohort.code}#members"' in html
    assert member_status(member.id) == MemberStatus.ACTIVE


def test_a_withdraw_post_without_the_confirmation_does_nothing(client, auth, app):
    cohort, member = make_class()
    auth.login(make_user(Role.ORGANIZER).phone)
    token = csrf_token(client, f"/cohorts/{cohort.code}")
    url = f"/cohorts/{cohort.code}/members/{member.id}/withdraw"
    response = client.post(url, data={"csrf_token": token})  # the old one-tap button
    assert response.status_code == 200 and "Rút Nguyễn Thị Hương khỏi lớp PX-01?" in response.get_data(as_text=True)
    assert member_status(member.id) == MemberStatus.ACTIVE
    assert client.post(url, data={"confirm": "yes"}).status_code == 400  # no CSRF token: refused
    assert member_status(member.id) == MemberStatus.ACTIVE


def test_confirming_withdraws_the_trainee(client, auth, app):
    cohort, member = make_class()
    auth.login(make_user(Role.ORGANIZER).phone)
    url = f"/cohorts/{cohort.code}/members/{member.id}/withdraw"
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "confirm": "yes"}, follow_redirects=True)
    assert "Nguyễn Thị Hương đã được rút khỏi lớp." in response.get_data(as_text=True)
    assert member_status(member.id) == MemberStatus.WITHDRAWN
    again = client.get(url, follow_redirects=True).get_data(as_text=True)  # a second tap, from a stale page
    assert "Nguyễn Thị Hương đã không còn trong lớp." in again


def test_withdraw_confirmation_is_only_for_organizers_and_the_class_own_members(client, auth, app):
    cohort, member = make_class()
    other, _ = make_class("PX-02")
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get(f"/cohorts/{other.code}/members/{member.id}/withdraw").status_code == 404
    assert client.get(f"/cohorts/{cohort.code}/members/99999999/withdraw").status_code == 404
    auth.logout()
    auth.login(make_user(Role.INSTRUCTOR).phone)
    assert client.get(f"/cohorts/{cohort.code}/members/{member.id}/withdraw").status_code == 403


# --- Reset a trainee's password ----------------------------------------------------------------


def test_reset_password_asks_first_and_keeps_the_password_until_confirmed(client, auth, app):
    trainee = make_trainee(full_name="Trần Văn Bình")
    old_hash = trainee.password_hash
    auth.login(make_user(Role.ORGANIZER).phone)
    page = client.get(f"/users/{trainee.id}").get_data(as_text=True)
    assert f'href="/users/{trainee.id}/reset-password"' in page
    html = client.get(f"/users/{trainee.id}/reset-password").get_data(as_text=True)
    assert "Đặt lại mật khẩu của Trần Văn Bình?" in html and "đăng xuất trên mọi thiết bị" in html
    token = csrf_token(client, f"/users/{trainee.id}")
    response = client.post(f"/users/{trainee.id}/reset-password", data={"csrf_token": token})
    assert 'class="code"' not in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, trainee.id).password_hash == old_hash

    response = client.post(f"/users/{trainee.id}/reset-password", data={"csrf_token": token, "confirm": "yes"})
    assert 'class="code"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, trainee.id).password_hash != old_hash


def test_the_reset_confirmation_is_refused_to_those_who_cannot_reset(client, auth, app):
    trainee = make_trainee()
    admin = make_user(Role.ADMIN)
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get(f"/users/{admin.id}/reset-password").status_code == 403
    auth.logout()
    auth.login(make_user(Role.INSTRUCTOR).phone)
    assert client.get(f"/users/{trainee.id}/reset-password").status_code == 403


# --- Leave a course ----------------------------------------------------------------------------


def test_leaving_a_course_asks_first(client, auth, app):
    course = make_course("dong-goi")
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    page = client.get(f"/courses/{course.slug}").get_data(as_text=True)
    assert f'href="/courses/{course.slug}/leave"' in page
    html = client.get(f"/courses/{course.slug}/leave").get_data(as_text=True)
    assert "Rời khoá học “Khoá dong-goi”?" in html and "Tiến độ học vẫn được giữ" in html
    token = csrf_token(client, f"/courses/{course.slug}")
    client.post(f"/courses/{course.slug}/leave", data={"csrf_token": token})
    assert learning.is_enrolled(db.session.get(User, trainee.id), course)

    client.post(f"/courses/{course.slug}/leave", data={"csrf_token": token, "confirm": "yes"})
    db.session.expire_all()
    assert not learning.is_enrolled(db.session.get(User, trainee.id), course)
    # Not enrolled any more: the confirmation sends back to the course instead of asking.
    assert client.get(f"/courses/{course.slug}/leave").headers["Location"].endswith(f"/courses/{course.slug}")


def test_nothing_to_leave_for_a_stranger(client, auth, app):
    course = make_course("dong-goi")
    auth.login(make_trainee().phone)
    token = csrf_token(client, f"/courses/{course.slug}")
    response = client.post(f"/courses/{course.slug}/leave", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CohortMember)) == 0
