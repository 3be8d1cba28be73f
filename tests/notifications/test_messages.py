"""Messages reach the trainee's "Tin nhắn", in their language, and are read only by a POST."""

import re
from datetime import date, time

import sqlalchemy as sa

from lms.assignments import services as assignments
from lms.certificates import services as certificates
from lms.cohorts import services as cohorts
from lms.core.extensions import db
from lms.notifications import services
from lms.notifications.models import Notification
from tests.assignments.helpers import enrolled_trainee, instructor_of, make_practical_course
from tests.certificates.helpers import complete_course, make_organizer
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee


def messages_of(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def inbox_html(client, auth, user) -> str:
    auth.login(user.phone)
    response = client.get("/notifications")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def make_class(course=None, members=()):
    cohort = cohorts.create_cohort(code="PX-01", course=course or make_course(), name="Lớp Chuyên Mỹ",
                                   commune_code=10330, venue="Nhà văn hoá thôn Chuôn Ngọ")
    for trainee in members:
        cohorts.add_member(cohort, trainee)
    db.session.commit()
    return cohort


def test_joining_a_class_leaves_a_message_once(client, auth, app):
    trainee = make_trainee()
    cohort = make_class(members=[trainee])
    cohorts.add_member(cohort, trainee)  # already in: no second message
    db.session.commit()
    assert [m.kind for m in messages_of(trainee)] == ["class_joined"]
    html = inbox_html(client, auth, trainee)
    assert "Bạn đã vào lớp PX-01" in html and "Lớp Chuyên Mỹ" in html
    assert "Lớp Lớp" not in html


def test_moved_and_cancelled_sessions_are_told_in_vietnam_time(client, auth, app):
    trainee = make_trainee()
    cohort = make_class(members=[trainee])
    session = cohorts.add_session(cohort, day=date(2026, 12, 10), start=time(8, 0), end=time(10, 0))
    cohorts.reschedule_session(session, day=date(2026, 12, 11), start=time(14, 0), end=time(16, 0),
                               venue="Hội trường xã")
    cohorts.cancel_session(session, "Mưa bão")
    db.session.commit()
    assert [m.kind for m in messages_of(trainee)] == ["class_joined", "session_moved", "session_cancelled"]
    html = inbox_html(client, auth, trainee)
    assert "Một buổi học của lớp PX-01 đã đổi lịch" in html
    assert "10/12/2026 08:00" in html and "11/12/2026 14:00" in html and "Hội trường xã" in html
    assert "Một buổi học của lớp PX-01 bị huỷ" in html and "Mưa bão" in html


def test_review_feedback_reaches_the_trainee(client, auth, app):
    course, lesson, assignment = make_practical_course()
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    submission = assignments.submit_work(assignment, trainee, text="Bài viết bán hàng")
    db.session.commit()
    assert messages_of(trainee) == []
    level_ids = {c.id: c.levels[0].id for c in assignment.criteria}
    assignments.review_submission(submission, instructor, decision="redo", comment="Thêm giá bán",
                                  levels=level_ids)
    db.session.commit()
    [message] = messages_of(trainee)
    assert message.kind == "work_redo" and message.link == f"/courses/{course.slug}/lessons/{lesson.slug}"
    html = inbox_html(client, auth, trainee)
    assert "Bạn cần làm lại bài thực hành" in html and "Thêm giá bán" in html


def test_a_certificate_issued_alone_or_to_a_class_is_told(client, auth, app):
    course = make_course()
    alone = make_trainee(enrolled_in=course)
    complete_course(alone, course)  # auto-issued on completion
    certificates.save_template(course, auto_issue=False)
    in_class = [make_trainee(enrolled_in=course) for _ in range(3)]
    for trainee in in_class:
        complete_course(trainee, course)
    cohort = make_class(course, members=in_class)
    summary = certificates.issue_for_cohort(cohort, by=make_organizer(), chunk_size=2)
    db.session.commit()
    assert summary.issued == 3
    for trainee in [alone, *in_class]:
        issued = [m for m in messages_of(trainee) if m.kind == "certificate_issued"]
        assert len(issued) == 1 and issued[0].link == "/my/certificates"
    html = inbox_html(client, auth, in_class[0])
    serial = certificates.certificates_of(in_class[0])[0].serial
    assert "Bạn đã được cấp chứng chỉ" in html and serial in html


def test_opening_the_list_reads_nothing_and_a_post_reads_one(client, auth, app):
    trainee = make_trainee()
    cohort = make_class(members=[trainee])
    session = cohorts.add_session(cohort, day=date(2026, 12, 10), start=time(8, 0), end=time(10, 0))
    cohorts.cancel_session(session, "Mưa bão")
    db.session.commit()
    html = inbox_html(client, auth, trainee)
    client.get("/notifications")
    assert services.unread_count(trainee) == 2
    assert re.search(r'class="badge"[^>]*>2<', html)  # the count on the menu
    first = messages_of(trainee)[0]
    token = csrf_token(client, "/notifications")
    response = client.post(f"/notifications/{first.id}/open", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/attendance")
    assert services.unread_count(trainee) == 1
    assert client.post(f"/notifications/{first.id}/open").status_code == 400  # no CSRF token
    client.post("/notifications/read", data={"csrf_token": token})
    assert services.unread_count(trainee) == 0


def test_nobody_opens_someone_elses_message(client, auth, app):
    owner, other = make_trainee(), make_trainee()
    make_class(members=[owner])
    [message] = messages_of(owner)
    auth.login(other.phone)
    token = csrf_token(client, "/notifications")
    assert client.post(f"/notifications/{message.id}/open", data={"csrf_token": token}).status_code == 404
    assert services.unread_count(owner) == 1
    assert "PX-01" not in client.get("/notifications").get_data(as_text=True)


def test_a_message_never_sends_the_reader_off_site(client, auth, app):
    trainee = make_trainee()
    services.notify([trainee.id], "class_joined", link="//evil.example/", class_code="X", class_name="Y", course="Z")
    db.session.commit()
    auth.login(trainee.phone)
    token = csrf_token(client, "/notifications")
    [message] = messages_of(trainee)
    response = client.post(f"/notifications/{message.id}/open", data={"csrf_token": token})
    assert response.headers["Location"].endswith("/notifications")


def test_messages_are_written_in_the_readers_language(client, auth, app):
    trainee = make_trainee()
    make_class(members=[trainee])
    auth.login(trainee.phone)
    token = csrf_token(client, "/notifications")
    client.post("/language/en", data={"csrf_token": token, "next": "/notifications"})
    html = client.get("/notifications").get_data(as_text=True)
    assert "You have joined class PX-01" in html


def test_an_import_tells_every_trainee_who_joins_in_one_go(app):
    from lms.cohorts import importing
    from tests.cohorts import fixtures

    returning = make_trainee(phone="0912000111", full_name="Trần Văn Bình")
    cohort = make_class()
    data = fixtures.xlsx([["Họ và tên", "Số điện thoại", "Xã/Phường"],
                          ["Nguyễn Thị Hoa", "0987000001", "Chuyên Mỹ"],
                          ["Lê Văn Đức", "0987000002", "Chuyên Mỹ"],
                          ["Trần Văn Bình", "0912000111", "Chuyên Mỹ"]])
    importing.commit_import(cohort, data, today=date(2026, 6, 1))
    db.session.commit()
    told = db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == "class_joined")).all()
    assert len(told) == 3 and returning.id in told
