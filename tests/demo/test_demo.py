import pytest
import sqlalchemy as sa

from lms import demo
from lms.accounts import services as accounts
from lms.accounts.models import Role, User
from lms.core.extensions import db
from lms.core.places import get_commune
from lms.core.text import normalize_phone
from lms.core.timezone import VIETNAM
from lms.courses.models import Course, Lesson, LessonKind


def test_demo_has_three_real_courses_and_the_fixed_accounts(app):
    demo.load_demo()
    db.session.commit()
    courses = {c.slug: c for c in db.session.scalars(sa.select(Course))}
    assert set(courses) == {"viet-bai-ban-hang", "quay-video-quang-cao", "livestream-ban-hang"}
    assert courses["viet-bai-ban-hang"].title == "Viết bài bán hàng trên mạng xã hội"
    for course in courses.values():
        assert course.is_published
        assert len(course.modules) >= 3
        lessons = [lesson for m in course.modules for lesson in m.lessons]
        assert len(lessons) >= 8
        texts = [lesson for lesson in lessons if lesson.kind == LessonKind.TEXT]
        assert len(texts) >= 8
        assert all(len(lesson.body_markdown.split()) >= 300 for lesson in texts)
    for phone, role in [("0900000001", Role.ADMIN), ("0900000002", Role.ORGANIZER),
                        ("0900000003", Role.INSTRUCTOR), ("0900000004", Role.TRAINEE)]:
        user = accounts.authenticate(phone, "demo12345")
        assert user is not None and role in user.roles


def test_demo_is_idempotent(app):
    demo.load_demo(extra_trainees=50, random_seed=7, with_media=False)
    db.session.commit()
    counts = (db.session.scalar(sa.select(sa.func.count(User.id))), db.session.scalar(sa.select(sa.func.count(Lesson.id))))
    report = demo.load_demo(extra_trainees=50, random_seed=7, with_media=False)
    db.session.commit()
    assert report.trainees_created == 0
    assert report.accounts_created == []
    assert (db.session.scalar(sa.select(sa.func.count(User.id))), db.session.scalar(sa.select(sa.func.count(Lesson.id)))) == counts


def test_generated_trainees_are_valid_unique_and_deterministic(app):
    demo.load_demo(extra_trainees=300, random_seed=42, with_media=False)
    db.session.commit()
    trainees = db.session.scalars(
        sa.select(User).where(User.role_rows.any(role=Role.TRAINEE), User.phone.not_like("0900000%")).order_by(User.id)
    ).all()
    assert len(trainees) == 300
    assert len({t.phone for t in trainees}) == 300
    assert all(normalize_phone(t.phone) == t.phone for t in trainees)
    assert all(get_commune(t.commune_code) is not None for t in trainees)
    assert all(t.password_hash is None for t in trainees)  # they activate with a code: no hash cost
    assert all(len(t.full_name.split()) >= 3 for t in trainees)
    first_run = [(t.full_name, t.phone, t.commune_code, t.village) for t in trainees]

    # On the connection, below the ORM: the session refuses to delete audit events, a test may wipe them.
    for table in reversed(db.metadata.sorted_tables):
        db.session.connection().execute(table.delete())
    db.session.commit()
    db.session.expunge_all()  # bulk deletes bypass the session: forget the objects it still holds
    demo.load_demo(extra_trainees=300, random_seed=42, with_media=False)
    db.session.commit()
    again = db.session.scalars(
        sa.select(User).where(User.role_rows.any(role=Role.TRAINEE), User.phone.not_like("0900000%")).order_by(User.id)
    ).all()
    assert [(t.full_name, t.phone, t.commune_code, t.village) for t in again] == first_run


def test_seed_communes_are_the_former_phu_xuyen_district(app):
    places = demo.read_yaml(demo.SEED_DIR / "places.yaml")
    names = {c["name"] for c in places["communes"]}
    assert {"Xã Phú Xuyên", "Xã Chuyên Mỹ", "Xã Đại Xuyên", "Xã Phượng Dực"} <= names
    for commune in places["communes"]:
        assert get_commune(commune["code"]).name == commune["name"]
        assert commune["villages"]


def test_demo_media_went_through_the_pipeline_and_plays(app, client, auth):
    from lms.media.models import AssetStatus, MediaAsset

    report = demo.load_demo()
    db.session.commit()
    assert report.media_created == 9  # a cover, an intro video and a handout per course
    assets = db.session.scalars(sa.select(MediaAsset)).all()
    assert all(a.status == AssetStatus.READY for a in assets), [(a.original_filename, a.failure_reason) for a in assets]
    videos = [a for a in assets if a.media_type.value == "video"]
    assert len(videos) == 3 and all({"360p", "720p", "poster"} <= {v.label for v in a.variants} for a in videos)
    assert demo.load_demo().media_created == 0  # idempotent
    auth.login("0900000004", "demo12345")
    html = client.get("/courses/viet-bai-ban-hang/lessons/video-gioi-thieu").get_data(as_text=True)
    assert "<video" in html and "/360p" in html
    handout = client.get("/courses/viet-bai-ban-hang/lessons/phieu-ghi-nho").get_data(as_text=True)
    assert "?download=1" in handout


def test_demo_learning_states(app):
    from lms.assignments.models import Submission, SubmissionStatus
    from lms.learning import services as learning

    demo.load_demo(extra_trainees=200, random_seed=5, with_media=False)
    db.session.commit()
    trainee = accounts.find_user_by_phone("0900000004")
    by_slug = {c.slug: c for c in db.session.scalars(sa.select(Course))}
    writing = learning.course_progress(trainee, by_slug["viet-bai-ban-hang"])
    assert writing.completed_at is not None and writing.percent == 100
    for slug in ("quay-video-quang-cao", "livestream-ban-hang"):
        part = learning.course_progress(trainee, by_slug[slug])
        assert part.completed_at is None and 0 < part.percent < 100
    waiting = db.session.scalars(sa.select(Submission).where(Submission.status == SubmissionStatus.SUBMITTED)).all()
    assert len(waiting) >= 6  # the demo instructor's review queue
    # Generated trainees: completion dates only where every required lesson is done.
    from lms.learning.models import Enrollment

    for enrollment in db.session.scalars(sa.select(Enrollment).where(Enrollment.completed_at.is_not(None))):
        required = {lesson.id for lesson in learning.required_lessons(enrollment.course)}
        assert required <= learning.completed_lesson_ids(enrollment.user_id, enrollment.course_id)


def test_demo_loads_just_after_midnight_in_vietnam(app, monkeypatch):
    """The session "happening now" stays inside today when the clock has just passed midnight."""
    from datetime import datetime as real_datetime

    from lms.cohorts.models import ClassSession
    from lms.demo import cohorts as demo_cohorts

    class JustAfterMidnight(real_datetime):
        @classmethod
        def now(cls, tz=None):
            return real_datetime(2026, 12, 3, 0, 5, tzinfo=VIETNAM).astimezone(tz)

    monkeypatch.setattr(demo_cohorts, "datetime", JustAfterMidnight)
    demo.load_demo(extra_trainees=0, with_media=False)
    db.session.commit()
    topics = [s for s in db.session.scalars(sa.select(ClassSession)) if s.topic == "Buổi thực hành hôm nay"]
    assert len(topics) == 1 and topics[0].starts_at < topics[0].ends_at

@pytest.mark.parametrize(("now", "start", "end"), [
    ("12:00:40", "11:40", "13:40"),
    ("00:05:00", "00:00", "01:45"),  # 20 minutes ago is yesterday: `make run` used to fail here
    ("23:50:00", "23:30", "23:59"),
])
def test_the_demo_session_happening_now_stays_inside_today(now, start, end):
    from datetime import datetime, time

    from lms.core.timezone import VIETNAM
    from lms.demo.cohorts import live_session_times

    at = datetime.combine(datetime(2026, 12, 3).date(), time.fromisoformat(now), tzinfo=VIETNAM)
    assert live_session_times(at) == (time.fromisoformat(start), time.fromisoformat(end))
