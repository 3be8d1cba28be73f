"""Small factories and helpers that build test data through the services, for every package's tests."""

import base64
import io
import itertools
import re
import uuid
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from PIL import Image

from lms.accounts import services as accounts
from lms.accounts.models import Role, User
from lms.assignments import services as assignments
from lms.assignments.models import Submission
from lms.cohorts import services as cohorts
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import VIETNAM
from lms.courses import services as courses
from lms.courses.models import Course, CourseStatus, LessonKind
from lms.learning import services as learning
from lms.learning.services import ProgressEventData, enrol
from lms.media.models import AssetStatus, MediaAsset, MediaType
from lms.privacy import services as privacy
from lms.privacy.models import ConsentChoice, ConsentMethod
from lms.quizzes import services as quizzes
from lms.quizzes.models import QuestionKind
from tests.conftest import csrf_token

DEFAULT_PASSWORD = "secret-pass-1"
CHUYEN_MY = 10330
_phones = itertools.count(1)


def next_phone() -> str:
    """Return a fresh valid mobile number."""
    return f"0912{next(_phones):06d}"


def make_user(*roles: Role, password: str | None = DEFAULT_PASSWORD, commit=True, consented=True, **fields) -> User:
    """Create an account; it has agreed to the privacy notice in force unless `consented=False`."""
    fields.setdefault("full_name", "Nguyễn Thị Hường")
    fields.setdefault("phone", next_phone())
    fields.setdefault("commune_code", CHUYEN_MY)
    user = accounts.create_user(roles=set(roles) or {Role.TRAINEE}, password=password, **fields)
    if consented:
        give_consent(user)
    if commit:
        db.session.commit()
    return user


def give_consent(user: User) -> None:
    """Record that the user agreed to the privacy notice in force, as test data (nobody was asked)."""
    privacy.record_consent(user, ConsentChoice.GIVEN, ConsentMethod.SEED)


def make_trainee(enrolled_in: Course | list[Course] | None = None, **fields) -> User:
    """Create a trainee, enrolled in the given course(s)."""
    from lms.learning.services import enrol

    trainee = make_user(Role.TRAINEE, **fields)
    for course in ([enrolled_in] if isinstance(enrolled_in, Course) else enrolled_in or []):
        enrol(trainee, course)
    db.session.commit()
    return trainee


def make_course(
    slug: str = "viet-bai-ban-hang",
    *,
    status: CourseStatus = CourseStatus.PUBLISHED,
    lessons: int = 3,
    commit=True,
) -> Course:
    """Create a course with one module and a few text lessons."""
    course = courses.create_course(title=f"Khoá {slug}", slug=slug, summary="Tóm tắt", status=status)
    module = courses.add_module(course, "Phần một")
    for i in range(1, lessons + 1):
        courses.add_lesson(module, title=f"Bài {i}", slug=f"bai-{i}", body_markdown=f"Nội dung **bài {i}**.")
    if commit:
        db.session.commit()
    return course


# --- Test helpers for media: tiny real files and a tus client built on the Flask test client --------


PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def png_bytes(width=800, height=600) -> bytes:
    """Return a noisy photo-like PNG (noise keeps it large, like a real photo)."""
    import numpy as np

    pixels = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes(text: str = "Tài liệu") -> bytes:
    from lms.core.pdf import render_handout

    return render_handout(f"# {text}\nNội dung.")


def mp4_bytes(seconds: float = 2.0, width: int = 640, height: int = 360) -> bytes:
    """Encode a short real H.264/AAC clip in memory."""
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        frames = int(seconds * 25)
        for i in range(frames):
            image = np.zeros((height, width, 3), dtype=np.uint8)
            image[:, : (i * width) // frames] = (30, 160, 90)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        samples = int(seconds * 44100)
        t = np.arange(samples) / 44100
        wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in audio.encode(frame):
            container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return buffer.getvalue()


def meta(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


class Tus:
    """Speak tus 1.0 to the app through a logged-in Flask test client."""

    def __init__(self, client, csrf: str):
        self.client = client
        self.headers = {"Tus-Resumable": "1.0.0", "X-CSRFToken": csrf}

    def create(self, length: int, course: str, filename="bai-hoc.mp4", purpose="lesson"):
        return self.client.post("/api/v1/uploads/", headers={
            **self.headers, "Upload-Length": str(length),
            "Upload-Metadata": meta(filename=filename, course=course, purpose=purpose)})

    def patch(self, location: str, offset: int, data: bytes):
        return self.client.patch(location, data=data, headers={
            **self.headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})

    def head(self, location: str):
        return self.client.head(location, headers=self.headers)

    def upload(self, data: bytes, course: str, filename="bai-hoc.mp4", purpose="lesson", chunk=64 * 1024):
        """Upload all of data in chunks; return the last response."""
        created = self.create(len(data), course, filename, purpose)
        assert created.status_code == 201, created.get_data(as_text=True)
        location = created.headers["Location"]
        offset = 0
        response = None
        while offset < len(data):
            response = self.patch(location, offset, data[offset : offset + chunk])
            if response.status_code != 204:
                return response
            offset = int(response.headers["Upload-Offset"])
        return response


def csrf_from(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


# --- Builders for learning tests --------------------------------------------------------------------


def add_video_lesson(course, slug="video-1", duration_s=100.0, required=True):
    """Add a video lesson whose (unstored) media has a known duration."""
    asset = MediaAsset(public_id=uuid.uuid4().hex[:22], course_id=course.id, media_type=MediaType.VIDEO,
                       mime="video/mp4", original_filename="v.mp4", storage_key=f"media/{slug}/original.mp4",
                       status=AssetStatus.READY, duration_s=duration_s)
    db.session.add(asset)
    lesson = courses.add_lesson(course.modules[0], title=f"Video {slug}", slug=slug, kind=LessonKind.VIDEO)
    lesson.media, lesson.required = asset, required
    db.session.commit()
    return lesson


def opened(trainee, lesson, minutes_ago=30):
    """Have the trainee open the lesson's page this long ago: time enough to have watched what events claim."""
    from lms.learning.services import open_lesson

    progress = open_lesson(trainee, lesson, utcnow() - timedelta(minutes=minutes_ago))
    db.session.commit()
    return progress


def event(lesson, kind="position", minutes_ago=0, **fields):
    return ProgressEventData(id=str(uuid.uuid4()), lesson_id=lesson.id, kind=kind,
                             occurred_at=utcnow() - timedelta(minutes=minutes_ago), **fields)


# --- Build quiz lessons for tests, and read the quiz pages back -------------------------------------


COURSE = "ban-hang-online"
QUIZ = "kiem-tra"
QUIZ_PAGE = f"/courses/{COURSE}/lessons/{QUIZ}/quiz"
ATTEMPT_PAGE = f"{QUIZ_PAGE}/attempt"


def make_quiz(*, slug: str = QUIZ, course=None, max_attempts: int | None = 3, shuffle: bool = False,
              pass_percent: int = 70):
    """Create (or extend) a published course with a three-question quiz lesson followed by a reading."""
    if course is None:
        course = make_course(COURSE, lessons=1, commit=False)
    module = course.modules[0]
    lesson = courses.add_lesson(module, title=f"Bài kiểm tra {slug}", slug=slug, kind=LessonKind.QUIZ)
    quiz = quizzes.get_or_create_quiz(lesson)
    quizzes.update_quiz_settings(quiz, pass_percent=pass_percent, max_attempts=max_attempts,
                                 shuffle_questions=shuffle, shuffle_choices=shuffle)
    quizzes.add_question(quiz, QuestionKind.SINGLE, "Nên ghi giá bán ở đâu?",
                         [("Ngay trong bài đăng", True), ("Không cần ghi", False), ("Chỉ báo qua điện thoại", False)],
                         "Khách hàng hay bỏ qua bài đăng không có giá.")
    quizzes.add_question(quiz, QuestionKind.MULTIPLE, "Ảnh sản phẩm tốt cần gì?",
                         [("Đủ ánh sáng", True), ("Nền gọn gàng", True), ("Chụp thật xa", False)],
                         "Ánh sáng và nền gọn làm sản phẩm nổi bật.")
    quizzes.add_question(quiz, QuestionKind.TRUE_FALSE, "Có thể bán hàng qua Zalo.",
                         quizzes.true_false_choices(True), "Nhiều làng nghề đã bán hàng qua Zalo.")
    if slug == QUIZ:
        courses.add_lesson(module, title="Bài sau", slug="bai-sau")
    db.session.commit()
    return course, lesson, quiz


def right_answers(quiz) -> dict[int, list[int]]:
    return {q.id: sorted(q.correct_choice_ids) for q in quiz.questions}


def wrong_answers(quiz) -> dict[int, list[int]]:
    return {q.id: [next(c.id for c in q.choices if not c.is_correct)] for q in quiz.questions}


def hidden(html: str, name: str) -> str:
    """Return the value of a hidden input in a page."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def question_ids_in_page(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'<fieldset class="question[^"]*" id="question-(\d+)"', html)]


def choice_ids_in_page(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'name="q\d+" value="(\d+)"', html)]


def sheet(html: str, answers: dict[int, list[int]], **extra) -> dict:
    """Return the form data of the answer sheet in a page, with these answers ticked."""
    data = {name: hidden(html, name) for name in ("csrf_token", "attempt", "submission_id", "confirm_unanswered")}
    for question_id, choice_ids in answers.items():
        data[f"q{question_id}"] = [str(c) for c in choice_ids]
    return {**data, **extra}


# --- Test helpers for practical work: a course with a practical lesson, people, uploads and hand-ins ---


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
    assignment = assignments.get_or_create_assignment(lesson)
    for name, value in settings.items():
        setattr(assignment, name, value)
    if rubric:
        assignments.set_rubric(assignment, rubric)
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


# --- Builders for attendance tests: a class with an instructor and trainees, sessions at chosen times ---


_codes = itertools.count(1)


def make_class(course=None, *, trainees=("Nguyễn Thị Hường", "Trần Văn Bình"), instructor=None, joined_at=None):
    """Create a class with an instructor and active trainees; return (cohort, instructor, [trainees]).

    The trainees joined at `joined_at`, by default a year ago: before any session a test schedules, since a
    session held before a trainee joined does not count for them (lms/attendance/figures.py).
    """
    joined_at = joined_at or utcnow() - timedelta(days=365)
    course = course or make_course(f"khoa-{next(_codes)}", lessons=1)
    instructor = instructor or make_user(Role.INSTRUCTOR, full_name="Lê Văn Giảng")
    cohort = cohorts.create_cohort(code=f"PX-{next(_codes):02d}", course=course, name="Lớp gốm Phú Xuyên",
                                   instructors=[instructor])
    people = []
    for name in trainees:
        trainee = make_trainee(full_name=name)
        member, _ = cohorts.add_member(cohort, trainee)
        member.joined_at = joined_at
        people.append(trainee)
    db.session.commit()
    return cohort, instructor, people


def add_session_at(cohort, starts_at: datetime, *, minutes: int = 120):
    """Schedule a session starting at an exact UTC moment: tests of code windows need times to the second."""
    session = cohorts.add_session(cohort, day=starts_at.astimezone(VIETNAM).date(), start=time(8), end=time(10))
    session.starts_at, session.ends_at = starts_at, starts_at + timedelta(minutes=minutes)
    db.session.commit()
    return session


def session_now(cohort, *, started_minutes_ago: int = 5, minutes: int = 120):
    """Schedule a session that is on now."""
    return add_session_at(cohort, utcnow() - timedelta(minutes=started_minutes_ago), minutes=minutes)


def log_in_in_english(client, auth, user) -> str:
    """Log the user in, in English; return a CSRF token for their session."""
    auth.login(user.phone)
    token = csrf_token(client, "/my/attendance" if not user.is_staff else "/")
    client.post("/language/en", data={"csrf_token": token})
    return token


# --- Builders for certificate tests -----------------------------------------------------------------


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
    from lms.certificates.register import certificates_of

    return next((c for c in certificates_of(trainee) if c.course_id == course.id), None)
