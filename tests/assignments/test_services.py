"""Practical-work rules: handing in, reviewing, the review queue and feedback news."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.accounts.models import Role
from lms.assignments import services
from lms.assignments.models import RubricLevel, SubmissionStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning.models import LessonProgress
from lms.media.models import AssetStatus, MediaType
from tests.assignments.helpers import (
    enrolled_trainee,
    instructor_of,
    make_asset,
    make_practical_course,
)
from tests.factories import make_trainee, make_user


def levels_for(assignment, *titles) -> dict[int, int]:
    """Return {criterion id: level id} choosing the level with each title, criterion by criterion."""
    return {c.id: next(lv.id for lv in c.levels if lv.title == title) for c, title in zip(assignment.criteria, titles, strict=True)}


@pytest.mark.parametrize(("link", "platform"), [
    ("https://www.facebook.com/langgom/posts/123", "facebook"),
    ("https://fb.watch/abc/", "facebook"),
    ("https://vt.tiktok.com/ZS123/", "tiktok"),
    ("https://youtu.be/dQw4w9WgXcQ", "youtube"),
    ("https://shopee.vn/Binh-gom-Bat-Trang-i.1.2", "shopee"),
    ("https://zalo.me/0912345678", "zalo"),
    ("http://gomsubattrang.vn/san-pham", "other"),
    ("shopee.vn/binh-gom", "shopee"),
])
def test_links_are_recognised_by_platform(link, platform):
    cleaned = services.clean_link(link)
    assert cleaned["platform"] == platform
    assert cleaned["url"].startswith(("http://", "https://"))


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "ftp://files.example.vn/a.jpg", "banhang", "https://", "https://nohost", "http://exa mple.vn",
    "https://user:pass@facebook.com/", "//facebook.com/x",
])
def test_only_http_and_https_addresses_with_a_host_are_links(link):
    with pytest.raises(ValueError):
        services.clean_link(link)


def test_hand_in_keeps_text_links_and_media_in_order(app):
    course, lesson, assignment = make_practical_course()
    trainee = enrolled_trainee(course)
    photo, video = make_asset(trainee, course), make_asset(trainee, course, kind=MediaType.VIDEO)
    submission = services.submit_work(
        assignment, trainee, text="Bình gốm men lam\nGiá 250.000đ\nLH 0912 345 678",
        links=["", "https://www.facebook.com/p/1", "  "], media_ids=[video.public_id, photo.public_id],
        client_id=str(uuid.uuid4()))
    db.session.commit()
    assert (submission.number, submission.status) == (1, SubmissionStatus.SUBMITTED)
    assert submission.text == "Bình gốm men lam\nGiá 250.000đ\nLH 0912 345 678"
    assert submission.links == [{"url": "https://www.facebook.com/p/1", "platform": "facebook"}]
    assert [item.asset for item in submission.media] == [photo, video]  # photos first, then the video


def test_a_bad_link_is_a_field_error_naming_its_row(app):
    course, _lesson, assignment = make_practical_course()
    trainee = enrolled_trainee(course)
    with pytest.raises(services.FieldError) as caught:
        services.submit_work(assignment, trainee, links=["https://zalo.me/1", "javascript:alert(1)"])
    assert (caught.value.field, caught.value.index) == ("links", 1)


def test_same_client_id_hands_in_once(app):
    course, _lesson, assignment = make_practical_course()
    trainee = enrolled_trainee(course)
    client_id = str(uuid.uuid4())
    first = services.submit_work(assignment, trainee, text="Bài viết", client_id=client_id)
    db.session.commit()
    again = services.submit_work(assignment, trainee, text="Bài viết", client_id=client_id.upper())
    assert again.id == first.id
    assert len(services.submissions_of(assignment, trainee)) == 1


def test_someone_elses_client_id_is_refused(app):
    course, _lesson, assignment = make_practical_course()
    first, second = enrolled_trainee(course), enrolled_trainee(course)
    client_id = str(uuid.uuid4())
    services.submit_work(assignment, first, text="Bài viết", client_id=client_id)
    with pytest.raises(services.SubmissionConflict):
        services.submit_work(assignment, second, text="Bài khác", client_id=client_id)


def test_only_enrolled_trainees_hand_in(app):
    course, _lesson, assignment = make_practical_course()
    with pytest.raises(services.NotAllowed):
        services.submit_work(assignment, make_trainee(), text="Bài viết")


def test_nothing_handed_in_is_refused(app):
    course, _lesson, assignment = make_practical_course()
    with pytest.raises(services.AssignmentError):
        services.submit_work(assignment, enrolled_trainee(course), text="   ", links=["", ""])


def test_a_second_hand_in_waits_for_the_review(app):
    course, _lesson, assignment = make_practical_course()
    trainee = enrolled_trainee(course)
    services.submit_work(assignment, trainee, text="Lần một")
    with pytest.raises(services.SubmissionConflict):
        services.submit_work(assignment, trainee, text="Lần hai")


def test_media_must_be_my_own_hand_in_upload_for_this_course(app):
    course, _lesson, assignment = make_practical_course()
    other_course, _other_lesson, _ = make_practical_course("khoa-khac")
    trainee, classmate = enrolled_trainee(course), enrolled_trainee(course)
    foreign = [
        make_asset(classmate, course),  # someone else's photo
        make_asset(trainee, other_course),  # my photo, for another course
        make_asset(trainee, course, purpose="image"),  # not uploaded as a hand-in
    ]
    for asset in foreign:
        with pytest.raises(services.FieldError) as caught:
            services.submit_work(assignment, trainee, media_ids=[asset.public_id])
        assert caught.value.field == "media"
    with pytest.raises(services.FieldError):
        services.submit_work(assignment, trainee, media_ids=["khong-co-that"])
    assert services.submissions_of(assignment, trainee) == []


def test_what_the_task_accepts_is_respected(app):
    course, _lesson, assignment = make_practical_course(max_photos=1, accepts_video=False, accepts_links=False,
                                                         accepts_text=False)
    trainee = enrolled_trainee(course)
    photos = [make_asset(trainee, course), make_asset(trainee, course)]
    video = make_asset(trainee, course, kind=MediaType.VIDEO)
    failed = make_asset(trainee, course, status=AssetStatus.FAILED)
    cases = [
        ({"media_ids": [p.public_id for p in photos]}, "photos"),
        ({"media_ids": [video.public_id]}, "video"),
        ({"links": ["https://zalo.me/1"]}, "links"),
        ({"text": "Bài viết"}, "text"),
        ({"media_ids": [failed.public_id]}, "photos"),
    ]
    for kwargs, field in cases:
        with pytest.raises(services.FieldError) as caught:
            services.submit_work(assignment, trainee, **kwargs)
        assert caught.value.field == field
    assert services.submit_work(assignment, trainee, media_ids=[photos[0].public_id]).number == 1


def test_approval_scores_with_the_rubric_and_completes_the_lesson_once(app):
    course, lesson, assignment = make_practical_course()
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    submission = services.submit_work(assignment, trainee, text="Bài viết")
    services.review_submission(submission, instructor, decision="approve", comment="Tốt lắm",
                               levels=levels_for(assignment, "Tốt", "Đạt"))
    db.session.commit()
    assert (submission.status, submission.score, submission.reviewer_id) == (SubmissionStatus.APPROVED, 4, instructor.id)
    assert sorted(s.level.title for s in submission.scores) == ["Tốt", "Đạt"]
    progress = db.session.scalar(sa.select(LessonProgress).where(LessonProgress.user_id == trainee.id,
                                                                  LessonProgress.lesson_id == lesson.id))
    assert progress.completed_by == "assignment" and progress.completed_at is not None
    with pytest.raises(services.SubmissionConflict):
        services.review_submission(submission, instructor, decision="redo", comment="Làm lại")
    assert submission.status == SubmissionStatus.APPROVED


def test_approving_needs_every_criterion_and_levels_of_this_rubric(app):
    course, _lesson, assignment = make_practical_course()
    other_course, _l2, other = make_practical_course("khoa-khac")
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    submission = services.submit_work(assignment, trainee, text="Bài viết")
    first = assignment.criteria[0]
    with pytest.raises(services.FieldError):
        services.review_submission(submission, instructor, decision="approve", levels={first.id: first.levels[0].id})
    foreign_level = db.session.scalar(sa.select(RubricLevel).where(RubricLevel.criterion_id == other.criteria[0].id))
    with pytest.raises(services.FieldError):
        services.review_submission(submission, instructor, decision="redo", comment="Sửa",
                                   levels={first.id: foreign_level.id})
    assert submission.status == SubmissionStatus.SUBMITTED


def test_redo_needs_a_comment_then_the_trainee_hands_in_number_two(app):
    course, _lesson, assignment = make_practical_course(rubric=None)
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    first = services.submit_work(assignment, trainee, text="Lần một")
    with pytest.raises(services.FieldError) as caught:
        services.review_submission(first, instructor, decision="redo", comment="  ")
    assert caught.value.field == "comment"
    services.review_submission(first, instructor, decision="redo", comment="Thêm giá bán")
    assert first.score is None
    second = services.submit_work(assignment, trainee, text="Lần hai, giá 250.000đ")
    db.session.commit()
    history = services.submissions_of(assignment, trainee)
    assert [(s.number, s.status, s.comment) for s in history] == [
        (1, SubmissionStatus.NEEDS_REVISION, "Thêm giá bán"), (2, SubmissionStatus.SUBMITTED, "")]
    assert second.number == 2


def test_only_the_courses_editors_review(app):
    course, _lesson, assignment = make_practical_course()
    other_course, _l2, _a2 = make_practical_course("khoa-khac")
    trainee = enrolled_trainee(course)
    submission = services.submit_work(assignment, trainee, text="Bài viết")
    for outsider in (instructor_of(other_course), enrolled_trainee(course), trainee):
        with pytest.raises(services.NotAllowed):
            services.review_submission(submission, outsider, decision="redo", comment="Làm lại")
    services.review_submission(submission, make_user(Role.ORGANIZER), decision="redo", comment="Làm lại")
    assert submission.status == SubmissionStatus.NEEDS_REVISION


def test_review_queue_holds_my_courses_waiting_work_oldest_first(app):
    course, _lesson, assignment = make_practical_course()
    other_course, _l2, other_assignment = make_practical_course("khoa-khac")
    instructor = instructor_of(course)
    newer = services.submit_work(assignment, enrolled_trainee(course, full_name="Trần Văn Mới"), text="B")
    older = services.submit_work(assignment, enrolled_trainee(course, full_name="Lê Thị Cũ"), text="A")
    older.submitted_at = utcnow() - timedelta(days=3)
    reviewed = services.submit_work(assignment, enrolled_trainee(course), text="C")
    services.review_submission(reviewed, instructor, decision="redo", comment="Sửa")
    services.submit_work(other_assignment, enrolled_trainee(other_course), text="D")
    db.session.commit()
    queue = services.review_queue(instructor)
    assert [s.id for s in queue.submissions] == [older.id, newer.id]
    assert [(c.slug, n) for c, n in queue.counts] == [(course.slug, 2)]
    everything = services.review_queue(make_user(Role.ORGANIZER))
    assert everything.total == 3
    assert [s.id for s in services.review_queue(make_user(Role.ADMIN), other_course).submissions] != []
    with pytest.raises(services.NotAllowed):
        services.review_queue(instructor, other_course)


def test_feedback_is_news_until_the_trainee_opens_it(app):
    course, _lesson, assignment = make_practical_course(rubric=None)
    trainee, instructor = enrolled_trainee(course), instructor_of(course)
    submission = services.submit_work(assignment, trainee, text="Bài viết")
    assert services.unseen_feedback(trainee) == []
    services.review_submission(submission, instructor, decision="approve", comment="Đẹp")
    assert services.unseen_feedback(trainee) == [submission]
    services.mark_feedback_seen(submission)
    seen_at = submission.feedback_seen_at
    services.mark_feedback_seen(submission)
    assert services.unseen_feedback(trainee) == [] and submission.feedback_seen_at == seen_at


def test_rubric_rows_are_reused_so_given_scores_survive_an_edit(app):
    course, _lesson, assignment = make_practical_course()
    level_ids = [lv.id for lv in assignment.criteria[0].levels]
    services.update_criterion(assignment.criteria[0], "Nội dung", "", [("Chưa", 0, ""), ("Được", 1, ""), ("Hay", 3, "")])
    assert [lv.id for lv in assignment.criteria[0].levels] == level_ids
    assert [lv.points for lv in assignment.criteria[0].levels] == [0, 1, 3]
    second = assignment.criteria[1]
    assert services.move_criterion(second, "up") is True
    db.session.refresh(assignment)
    assert [c.title for c in assignment.criteria] == ["Hình ảnh", "Nội dung"]
    services.delete_criterion(assignment.criteria[0])
    db.session.commit()
    db.session.refresh(assignment)
    assert [c.title for c in assignment.criteria] == ["Nội dung"]
    assert assignment.max_points == 3


def test_a_criterion_needs_a_title_and_a_level(app):
    _course, _lesson, assignment = make_practical_course(rubric=None)
    with pytest.raises(services.FieldError):
        services.add_criterion(assignment, "Nội dung", "", [("", 1, "")])
    with pytest.raises(services.FieldError):
        services.add_criterion(assignment, " ", "", [("Đạt", 1, "")])
    with pytest.raises(services.AssignmentError):
        services.update_assignment(assignment, accepts_text=False, accepts_links=False, max_photos=0,
                                   accepts_video=False)
