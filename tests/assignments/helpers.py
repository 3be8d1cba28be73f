"""Test helpers for practical work: a course with a practical lesson, people, uploads and hand-ins."""

import uuid

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.assignments import services
from lms.assignments.models import Submission
from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import LessonKind
from lms.learning.services import enrol
from lms.media.models import AssetStatus, MediaAsset, MediaType
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user
from tests.media.helpers import Tus, png_bytes

TASK = "Viết một bài đăng bán sản phẩm của làng bạn: có giá, có cách liên hệ, có ảnh đẹp."
RUBRIC = [
    ("Nội dung bài viết", "Có giá, có cách liên hệ", [("Chưa đạt", 0, ""), ("Đạt", 1, ""), ("Tốt", 2, "Hấp dẫn")]),
    ("Hình ảnh", "", [("Chưa đạt", 0, ""), ("Đạt", 2, "")]),
]


def make_practical_course(slug: str = "ban-hang-online", *, rubric=RUBRIC, **settings):
    """Create a published course whose second lesson is practical work; return (course, lesson, assignment)."""
    course = make_course(slug, lessons=1, commit=False)
    lesson = courses.add_lesson(course.modules[0], title="Thực hành: viết bài bán hàng", slug="thuc-hanh",
                                kind=LessonKind.ASSIGNMENT, body_markdown=TASK)
    assignment = services.get_or_create_assignment(lesson)
    for name, value in settings.items():
        setattr(assignment, name, value)
    if rubric:
        services.set_rubric(assignment, rubric)
    db.session.commit()
    return course, lesson, assignment


def enrolled_trainee(course, **fields):
    trainee = make_trainee(**fields)
    enrol(trainee, course)
    db.session.commit()
    return trainee


def instructor_of(course, **fields):
    instructor = make_user(Role.INSTRUCTOR, **fields)
    courses.set_instructors(course, [*course.instructors, instructor])
    db.session.commit()
    return instructor


def log_in(client, auth, user) -> str:
    """Log the client in as this person; return a CSRF token of the new session."""
    auth.logout()
    auth.login(user.phone)
    return csrf_token(client, "/courses")


def upload_photo(client, token: str, course, filename="san-pham.png") -> str:
    """Upload a real photo through tus as the logged-in person, for a hand-in; return its media id."""
    response = Tus(client, token).upload(png_bytes(320, 240), course.slug, filename=filename, purpose="submission")
    assert response.status_code == 204, response.get_data(as_text=True)
    return response.headers["Lms-Media-Id"]


def make_asset(owner, course, *, kind=MediaType.IMAGE, purpose="submission", status=AssetStatus.READY) -> MediaAsset:
    """Create an asset row directly (no file): enough for the rules about whose media a hand-in may use."""
    asset = MediaAsset(course_id=course.id, owner_id=owner.id, media_type=kind,
                       mime="image/png" if kind == MediaType.IMAGE else "video/mp4",
                       original_filename="anh.png", storage_key="media/x/original.png", purpose=purpose,
                       status=status)
    db.session.add(asset)
    db.session.commit()
    return asset


def hand_in_form(token: str, *, text="", links=(), photos=(), video="", client_id=None) -> dict:
    """Return the fields the hand-in form posts."""
    data = {"csrf_token": token, "client_id": client_id or str(uuid.uuid4()), "text": text,
            "photo_ids": ",".join(photos), "video_id": video}
    for index, link in enumerate(links):
        data[f"links-{index}"] = link
    return data


def hand_in_url(course, lesson) -> str:
    return f"/courses/{course.slug}/lessons/{lesson.slug}/submissions"


def submissions() -> list[Submission]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Submission).order_by(Submission.id)))
