"""Practical work in the browser: the lesson panel, handing in, my hand-ins, reviewing, authoring."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import url_for

from lms.accounts.models import Role
from lms.assignments import services
from lms.assignments.models import Assignment, RubricCriterion, SubmissionStatus
from lms.assignments.views import render_home_notice, render_panel
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning.models import LessonProgress
from lms.learning.panels import render_home_notices
from tests.assignments.helpers import (
    enrolled_trainee,
    hand_in_form,
    hand_in_url,
    instructor_of,
    log_in,
    make_practical_course,
    submissions,
    upload_photo,
)
from tests.factories import make_trainee, make_user
from tests.media.helpers import Tus, mp4_bytes


def review_levels(assignment, *titles) -> dict[str, int]:
    return {f"criterion_{c.id}": next(lv.id for lv in c.levels if lv.title == title)
            for c, title in zip(assignment.criteria, titles, strict=True)}


def lesson_path(course, lesson) -> str:
    return f"/courses/{course.slug}/lessons/{lesson.slug}"


def test_trainee_hands_in_text_links_and_photos(client, auth, app):
    course, lesson, assignment = make_practical_course()
    trainee = enrolled_trainee(course)
    token = log_in(client, auth, trainee)
    photos = [upload_photo(client, token, course, "binh-gom.png"), upload_photo(client, token, course, "chum.png")]
    response = client.post(hand_in_url(course, lesson), data=hand_in_form(
        token, text="Bình gốm men lam\nGiá 250.000đ", photos=photos,
        links=["https://www.facebook.com/langgom/posts/1", "", "vt.tiktok.com/ZS123/"]))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(lesson_path(course, lesson))
    [submission] = submissions()
    assert (submission.user_id, submission.number, submission.status) == (trainee.id, 1, SubmissionStatus.SUBMITTED)
    assert submission.text == "Bình gốm men lam\nGiá 250.000đ"
    assert [link["platform"] for link in submission.links] == ["facebook", "tiktok"]
    assert [item.asset.public_id for item in submission.media] == photos
    assert all(item.asset.is_ready for item in submission.media)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "ftp://files.langgom.vn/anh.jpg", "banhang"])
def test_a_link_that_is_not_a_web_address_gets_a_field_error_and_nothing_is_saved(client, auth, app, bad):
    course, lesson, _assignment = make_practical_course()
    token = log_in(client, auth, enrolled_trainee(course))
    response = client.post(hand_in_url(course, lesson), data=hand_in_form(
        token, text="Bài viết của tôi", links=["https://zalo.me/0912345678", bad]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="links-1-error"' in html and 'aria-invalid="true"' in html
    assert "Bài viết của tôi" in html  # what was typed is kept
    assert submissions() == []


def test_a_double_tap_hands_in_once(client, auth, app):
    course, lesson, _assignment = make_practical_course()
    token = log_in(client, auth, enrolled_trainee(course))
    form = hand_in_form(token, text="Bài viết")
    assert client.post(hand_in_url(course, lesson), data=form).status_code == 302
    assert client.post(hand_in_url(course, lesson), data=form).status_code == 302
    assert len(submissions()) == 1


def test_a_trainee_not_enrolled_gets_403(client, auth, app):
    course, lesson, _assignment = make_practical_course()
    token = log_in(client, auth, make_trainee())
    assert client.post(hand_in_url(course, lesson), data=hand_in_form(token, text="Bài")).status_code == 403
    assert client.get(hand_in_url(course, lesson)).status_code == 403
    assert submissions() == []


def test_another_trainee_sees_neither_my_hand_in_nor_my_photos(client, auth, app):
    course, lesson, _assignment = make_practical_course()
    me, classmate, instructor = enrolled_trainee(course), enrolled_trainee(course), instructor_of(course)
    token = log_in(client, auth, me)
    photo = upload_photo(client, token, course)
    client.post(hand_in_url(course, lesson), data=hand_in_form(token, text="Bài của tôi", photos=[photo]))
    [submission] = submissions()
    mine = f"{hand_in_url(course, lesson)}/1"
    assert "Bài của tôi" in client.get(mine).get_data(as_text=True)
    assert client.get(f"/media/{photo}/original").status_code == 200

    log_in(client, auth, classmate)
    assert client.get(mine).status_code == 404
    assert client.get(f"/media/{photo}/original").status_code == 403
    assert client.get(f"/media/{photo}/w320").status_code == 403
    assert client.get(f"/api/v1/media/{photo}").status_code == 403
    assert client.get(f"/review/{submission.id}").status_code == 403

    log_in(client, auth, instructor)
    assert client.get(f"/media/{photo}/original").status_code == 200


def test_the_lesson_panel_shows_my_status_and_the_hand_in_form(client, auth, app):
    course, lesson, _assignment = make_practical_course()
    trainee = enrolled_trainee(course)
    token = log_in(client, auth, trainee)
    html = client.get(lesson_path(course, lesson)).get_data(as_text=True)
    assert 'data-status="none"' in html
    assert "Nội dung bài viết" in html and "Hấp dẫn" in html  # the rubric, before handing in
    assert f'action="{hand_in_url(course, lesson)}"' in html
    assert re.search(r'name="client_id" type="hidden" value="[0-9a-f-]{36}"', html)
    assert 'data-purpose="submission"' in html and "data-multiple" in html
    assert "/assignment" not in html  # no editor link for trainees
    client.post(hand_in_url(course, lesson), data=hand_in_form(token, text="Bài viết"))
    html = client.get(lesson_path(course, lesson)).get_data(as_text=True)
    assert 'data-status="submitted"' in html
    assert f'action="{hand_in_url(course, lesson)}"' not in html  # waiting: no second hand-in


def test_staff_see_a_link_to_the_editor_in_the_panel(app):
    course, lesson, _assignment = make_practical_course()
    instructor = instructor_of(course)
    with app.test_request_context():
        html = render_panel(lesson, instructor)
        editor = url_for("assignments.edit_assignment", slug=course.slug, lesson_slug=lesson.slug)
    assert f'href="{editor}"' in html


def test_the_review_queue_lists_only_my_courses_oldest_first(client, auth, app):
    course, _lesson, assignment = make_practical_course()
    other_course, _l2, other_assignment = make_practical_course("khoa-khac")
    instructor = instructor_of(course)
    newer = services.submit_work(assignment, enrolled_trainee(course, full_name="Trần Văn Mới"), text="B")
    older = services.submit_work(assignment, enrolled_trainee(course, full_name="Lê Thị Cũ"), text="A")
    older.submitted_at = utcnow() - timedelta(days=2)
    services.submit_work(other_assignment, enrolled_trainee(other_course, full_name="Phạm Khác Khoá"), text="C")
    db.session.commit()
    log_in(client, auth, instructor)
    html = client.get("/review").get_data(as_text=True)
    assert re.findall(r'data-submission="(\d+)"', html) == [str(older.id), str(newer.id)]
    assert "Phạm Khác Khoá" not in html
    assert html.index("Lê Thị Cũ") < html.index("Trần Văn Mới")
    assert client.get(f"/review?course={other_course.slug}").status_code == 403
    log_in(client, auth, enrolled_trainee(course))
    assert client.get("/review").status_code == 403


def test_another_courses_instructor_cannot_review(client, auth, app):
    course, _lesson, assignment = make_practical_course()
    other_course, _l2, _a2 = make_practical_course("khoa-khac")
    submission = services.submit_work(assignment, enrolled_trainee(course), text="Bài viết")
    db.session.commit()
    token = log_in(client, auth, instructor_of(other_course))
    assert client.get(f"/review/{submission.id}").status_code == 403
    response = client.post(f"/review/{submission.id}", data={
        "csrf_token": token, "decision": "approve", **review_levels(assignment, "Tốt", "Đạt")})
    assert response.status_code == 403
    assert submissions()[0].status == SubmissionStatus.SUBMITTED


def test_approving_completes_the_lesson_and_opens_the_next_waiting_hand_in(client, auth, app):
    course, lesson, assignment = make_practical_course()
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    first = services.submit_work(assignment, trainee, text="Bài viết")
    first.submitted_at = utcnow() - timedelta(hours=5)
    waiting = services.submit_work(assignment, enrolled_trainee(course), text="Bài khác")
    db.session.commit()
    token = log_in(client, auth, instructor)
    page = client.get(f"/review/{first.id}").get_data(as_text=True)
    assert 'value="approve"' in page and 'value="redo"' in page
    assert page.count('type="radio"') == 5  # 3 + 2 levels
    response = client.post(f"/review/{first.id}", data={
        "csrf_token": token, "decision": "approve", "comment": "Bài viết rõ ràng",
        **review_levels(assignment, "Tốt", "Đạt")})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/review/{waiting.id}")
    db.session.expire_all()
    assert (first.status, first.score, first.comment) == (SubmissionStatus.APPROVED, 4, "Bài viết rõ ràng")
    progress = db.session.scalar(sa.select(LessonProgress).where(
        LessonProgress.user_id == trainee.id, LessonProgress.lesson_id == lesson.id))
    assert progress.completed_by == "assignment"
    again = client.post(f"/review/{first.id}", data={"csrf_token": token, "decision": "redo", "comment": "Sửa"})
    assert again.status_code == 302
    db.session.expire_all()
    assert first.status == SubmissionStatus.APPROVED  # a submission is reviewed once


def test_redo_without_a_comment_is_refused_then_the_trainee_hands_in_again(client, auth, app):
    course, lesson, assignment = make_practical_course()
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    token = log_in(client, auth, trainee)
    client.post(hand_in_url(course, lesson), data=hand_in_form(token, text="Lần một"))
    [first] = submissions()

    token = log_in(client, auth, instructor)
    refused = client.post(f"/review/{first.id}", data={"csrf_token": token, "decision": "redo", "comment": ""})
    assert refused.status_code == 200 and 'id="comment-error"' in refused.get_data(as_text=True)
    assert submissions()[0].status == SubmissionStatus.SUBMITTED
    done = client.post(f"/review/{first.id}", data={
        "csrf_token": token, "decision": "redo", "comment": "Thêm giá bán và số điện thoại"})
    assert done.status_code == 302 and done.headers["Location"].startswith("/review")
    assert submissions()[0].status == SubmissionStatus.NEEDS_REVISION

    token = log_in(client, auth, trainee)
    panel = client.get(lesson_path(course, lesson)).get_data(as_text=True)
    assert 'data-status="needs_revision"' in panel and "Thêm giá bán và số điện thoại" in panel
    assert f'action="{hand_in_url(course, lesson)}"' in panel
    assert "Lần một</textarea>" in panel  # the redo starts from the work handed in
    client.post(hand_in_url(course, lesson), data=hand_in_form(token, text="Lần hai, giá 250.000đ"))
    assert [(s.number, s.status) for s in submissions()] == [
        (1, SubmissionStatus.NEEDS_REVISION), (2, SubmissionStatus.SUBMITTED)]
    history = client.get(f"{hand_in_url(course, lesson)}/1").get_data(as_text=True)
    assert "Lần một" in history and "Thêm giá bán và số điện thoại" in history
    assert f'href="{hand_in_url(course, lesson)}/2"' in history


def test_the_home_notice_shows_new_feedback_until_it_is_opened(client, auth, app):
    course, lesson, assignment = make_practical_course(rubric=None)
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    submission = services.submit_work(assignment, trainee, text="Bài viết")
    db.session.commit()
    with app.test_request_context():
        assert render_home_notice(trainee) == ""
    services.review_submission(submission, instructor, decision="redo", comment="Ảnh còn tối")
    db.session.commit()
    link = f'href="{hand_in_url(course, lesson)}/1"'
    with app.test_request_context():
        assert link in render_home_notice(trainee)
        assert any(link in notice for notice in render_home_notices(trainee))
    log_in(client, auth, trainee)
    assert "Ảnh còn tối" in client.get(f"{hand_in_url(course, lesson)}/1").get_data(as_text=True)
    db.session.expire_all()
    with app.test_request_context():
        assert render_home_notice(trainee) == ""


def test_review_page_shows_the_work_safely(client, auth, app):
    course, lesson, _assignment = make_practical_course()
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    token = log_in(client, auth, trainee)
    photo = upload_photo(client, token, course)
    clip = Tus(client, token).upload(mp4_bytes(1.0, 640, 360), course.slug, filename="quang-cao.mp4",
                                     purpose="submission", chunk=200_000)
    assert clip.status_code == 204
    video = clip.headers["Lms-Media-Id"]
    client.post(hand_in_url(course, lesson), data=hand_in_form(
        token, text="<script>alert(1)</script>\nDòng hai", links=["https://shopee.vn/binh-gom"],
        photos=[photo], video=video))
    [submission] = submissions()
    log_in(client, auth, instructor)
    html = client.get(f"/review/{submission.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;\nDòng hai" in html
    assert ('<a href="https://shopee.vn/binh-gom" rel="noopener noreferrer nofollow" target="_blank">' in html)
    assert f"/media/{photo}/w320" in html and "srcset=" in html
    assert re.search(r'<video controls playsinline preload="metadata"', html)
    assert f'src="/media/{video}/360p"' in html
    assert client.get(f"/media/{video}/360p").status_code == 200


def test_instructor_sets_what_trainees_hand_in_and_the_rubric(client, auth, app):
    course, lesson, _assignment = make_practical_course(rubric=None)
    editor_url = f"/courses/{course.slug}/lessons/{lesson.slug}/assignment"
    token = log_in(client, auth, instructor_of(course))
    assert client.get(editor_url).status_code == 200
    response = client.post(editor_url, data={"csrf_token": token, "accepts_text": "y", "max_photos": "2"})
    assert response.status_code == 302
    assignment = db.session.scalar(sa.select(Assignment).where(Assignment.lesson_id == lesson.id))
    db.session.refresh(assignment)
    assert (assignment.accepts_text, assignment.accepts_links, assignment.max_photos, assignment.accepts_video) == (
        True, False, 2, False)
    for title in ("Nội dung", "Hình ảnh"):
        added = client.post(f"{editor_url}/criteria", data={
            "csrf_token": token, "new-title": title, "new-description": "",
            "new-levels-0-title": "Chưa đạt", "new-levels-0-points": "0",
            "new-levels-1-title": "Đạt", "new-levels-1-points": "1",
            "new-levels-2-title": "", "new-levels-2-points": ""})
        assert added.status_code == 302
    criteria = list(db.session.scalars(sa.select(RubricCriterion).order_by(RubricCriterion.position)))
    assert [(c.title, [(lv.title, lv.points) for lv in c.levels]) for c in criteria] == [
        ("Nội dung", [("Chưa đạt", 0), ("Đạt", 1)]), ("Hình ảnh", [("Chưa đạt", 0), ("Đạt", 1)])]
    second = criteria[1]
    client.post(f"{editor_url}/criteria/{second.id}", data={
        "csrf_token": token, f"c{second.id}-title": "Ảnh sản phẩm",
        f"c{second.id}-levels-0-title": "Mờ", f"c{second.id}-levels-0-points": "0",
        f"c{second.id}-levels-1-title": "Rõ", f"c{second.id}-levels-1-points": "2",
        f"c{second.id}-levels-2-title": "Đẹp", f"c{second.id}-levels-2-points": "3"})
    client.post(f"{editor_url}/criteria/{second.id}/arrange", data={"csrf_token": token, "action": "up"})
    db.session.expire_all()
    criteria = list(db.session.scalars(sa.select(RubricCriterion).order_by(RubricCriterion.position)))
    assert [c.title for c in criteria] == ["Ảnh sản phẩm", "Nội dung"]
    assert [lv.points for lv in criteria[0].levels] == [0, 2, 3]
    # Deleting asks first: the old button and the page's link both land on the question, nothing is gone yet.
    delete_url = f"{editor_url}/criteria/{criteria[1].id}/delete"
    old_button = client.post(f"{editor_url}/criteria/{criteria[1].id}/arrange",
                             data={"csrf_token": token, "action": "delete"})
    assert old_button.headers["Location"].endswith(delete_url)
    question = client.get(delete_url).get_data(as_text=True)
    assert "Xoá tiêu chí “Nội dung”?" in question and "Có, xoá tiêu chí" in question
    assert client.post(delete_url, data={"csrf_token": token}).status_code == 200  # not confirmed: asked again
    assert db.session.scalar(sa.select(sa.func.count(RubricCriterion.id))) == 2
    client.post(delete_url, data={"csrf_token": token, "confirm": "yes"})
    assert db.session.scalar(sa.select(sa.func.count(RubricCriterion.id))) == 1


def test_the_editor_is_for_the_courses_editors_only(client, auth, app):
    course, lesson, assignment = make_practical_course()
    other_course, _l2, _a2 = make_practical_course("khoa-khac")
    editor_url = f"/courses/{course.slug}/lessons/{lesson.slug}/assignment"
    token = log_in(client, auth, instructor_of(other_course))
    assert client.get(editor_url).status_code == 403
    criterion = assignment.criteria[0]
    response = client.post(f"{editor_url}/criteria/{criterion.id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 403
    log_in(client, auth, make_user(Role.ORGANIZER))
    assert client.get(f"/courses/{course.slug}/lessons/bai-1/assignment").status_code == 404  # a reading lesson
    assert db.session.get(RubricCriterion, criterion.id) is not None
