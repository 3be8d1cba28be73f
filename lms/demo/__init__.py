"""Load the demo (`lms seed demo`) from the hand-written files in seed/, through the services."""

import random
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import yaml

from lms.accounts import services as accounts
from lms.accounts.models import Role, User, UserRole
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import InvalidPhoneNumber, normalize_phone
from lms.courses import services as courses
from lms.courses.models import Course, CourseLevel, CourseStatus, Lesson, LessonKind
from lms.demo import cohorts as demo_cohorts
from lms.demo import learning as demo_learning
from lms.learning import services as learning
from lms.privacy import services as privacy
from lms.privacy.models import ConsentChoice, ConsentMethod

SEED_DIR = Path(__file__).resolve().parents[2] / "seed"
DEMO_PASSWORD = "demo12345"  # noqa: S105 - printed in the README on purpose
DEMO_ACCOUNTS = [
    ("0900000001", "Quản trị viên Làng Số", {Role.ADMIN}),
    ("0900000002", "Nguyễn Thị Thu Hà", {Role.ORGANIZER}),
    ("0900000003", "Trần Văn Đức", {Role.INSTRUCTOR}),
    ("0900000004", "Lê Thị Hường", {Role.TRAINEE}),
    ("0900000005", "Phạm Văn Toàn", {Role.OFFICIAL}),  # an official of the demo trainee's commune
]
DEMO_ACCOUNTS_TABLE = [(phone, ", ".join(sorted(r.value for r in roles))) for phone, _, roles in DEMO_ACCOUNTS]
DEMO_INSTRUCTOR_PHONE = "0900000003"
DEMO_TRAINEE_PHONE = "0900000004"
COURSE_SLUGS = ("viet-bai-ban-hang", "quay-video-quang-cao", "livestream-ban-hang")
#: Mobile prefixes in use in Vietnam (Viettel, Vinaphone, MobiFone, Vietnamobile).
MOBILE_PREFIXES = ["032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093", "094", "096", "097", "098", "056", "058"]


@dataclass
class DemoReport:
    courses_created: int = 0
    courses_updated: int = 0
    lessons: int = 0
    accounts_created: list[str] = field(default_factory=list)
    trainees_created: int = 0
    media_created: int = 0
    quizzes_created: int = 0
    assignments_created: int = 0
    classmates_created: int = 0
    cohorts_created: int = 0
    certificates_created: int = 0
    learning: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.courses_created} courses created, {self.courses_updated} updated, "
            f"{self.lessons} lessons, {self.quizzes_created} quizzes, {self.assignments_created} practical assignments, "
            f"{self.media_created} media files processed, "
            f"{len(self.accounts_created)} demo accounts created, {self.classmates_created} classmates, "
            f"{self.cohorts_created} classes, {self.certificates_created} certificates, "
            f"{self.trainees_created} trainees generated"
            + (f" ({', '.join(f'{v} {k}' for k, v in self.learning.items())})" if self.learning else "")
        )


def read_yaml(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_demo(extra_trainees: int = 0, random_seed: int = 2026, with_media: bool = True) -> DemoReport:
    """Create or refresh the demo courses and accounts; add generated trainees."""
    report = DemoReport()
    for slug in COURSE_SLUGS:
        course = load_course(SEED_DIR / "courses" / slug, report)
        report.quizzes_created += load_course_quizzes(course, SEED_DIR / "courses" / slug)
        report.assignments_created += demo_learning.load_course_assignments(course, SEED_DIR / "courses" / slug)
        if with_media:
            load_course_media(course, SEED_DIR / "courses" / slug, report)
    places = read_yaml(SEED_DIR / "places.yaml")
    create_demo_accounts(places, report)
    instructor = accounts.find_user_by_phone(DEMO_INSTRUCTOR_PHONE)
    trainee = accounts.find_user_by_phone(DEMO_TRAINEE_PHONE)
    by_slug = {c.slug: c for c in db.session.scalars(sa.select(Course).where(Course.slug.in_(COURSE_SLUGS)))}
    folders = {slug: SEED_DIR / "courses" / slug for slug in by_slug}
    for course in by_slug.values():
        if instructor not in course.instructors:
            courses.set_instructors(course, [*course.instructors, instructor])
        learning.enrol(trainee, course)
    demo_learning.demo_trainee_journey(trainee, instructor, by_slug, folders)
    report.classmates_created = demo_learning.demo_classmates(instructor, by_slug, folders, trainee.commune_code)
    if extra_trainees:
        new_ids = generate_trainees(extra_trainees, random_seed, places)
        report.trainees_created = len(new_ids)
        if new_ids:
            report.learning = demo_learning.generate_learning(new_ids, random_seed, instructor.id)
    classmates = [accounts.find_user_by_phone(phone) for phone, _, _ in demo_learning.CLASSMATES]
    organizer = accounts.find_user_by_phone("0900000002")
    report.cohorts_created = demo_cohorts.load_demo_cohorts(
        instructor, organizer, trainee, [c for c in classmates if c], random_seed)
    from lms.demo.certificates import load_demo_certificates

    report.certificates_created = load_demo_certificates(trainee, organizer)
    return report


def load_course(folder: Path, report: DemoReport) -> Course:
    """Create the course described in folder/course.yaml, or bring it up to date."""
    spec = read_yaml(folder / "course.yaml")
    course = db.session.scalar(sa.select(Course).where(Course.slug == spec["slug"]))
    if course is None:
        course = courses.create_course(
            title=spec["title"],
            slug=spec["slug"],
            summary=spec.get("summary", ""),
            level=CourseLevel(spec.get("level", "beginner")),
            estimated_hours=spec.get("estimated_hours"),
            status=CourseStatus.PUBLISHED,
        )
        report.courses_created += 1
    else:
        course.title, course.summary = spec["title"], spec.get("summary", "")
        report.courses_updated += 1
    for position, module_spec in enumerate(spec["modules"]):
        module = course.modules[position] if position < len(course.modules) else None
        if module is None:
            module = courses.add_module(course, module_spec["title"])
        module.title = module_spec["title"]
        for lesson_spec in module_spec["lessons"]:
            body = (folder / lesson_spec["file"]).read_text(encoding="utf-8")
            lesson = db.session.scalar(
                sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == lesson_spec["slug"])
            )
            if lesson is None:
                courses.add_lesson(module, title=lesson_spec["title"], slug=lesson_spec["slug"], body_markdown=body)
            else:
                lesson.title = lesson_spec["title"]
                courses.set_lesson_body(lesson, body)
            report.lessons += 1
    db.session.flush()
    return course


INTRO_SLUG = "video-gioi-thieu"
HANDOUT_SLUG = "phieu-ghi-nho"


def load_course_media(course: Course, folder: Path, report: DemoReport) -> None:
    """Give a demo course its cover, an intro video and a PDF handout, through the media pipeline."""
    import tempfile

    from lms.demo import media as demo_media
    from lms.media import services as media

    with tempfile.TemporaryDirectory(prefix="lms-demo-") as tmp:
        work = Path(tmp)
        if course.cover is None:
            cover = media.ingest_file(demo_media.save_cover(course.slug, course.title, work / "cover.jpg"),
                                      owner_id=None, course_id=course.id, filename="anh-bia.jpg", purpose="cover")
            media.process_asset(cover)
            course.cover = cover
            report.media_created += 1
        intro = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == INTRO_SLUG))
        if intro is None:
            intro = courses.add_lesson(
                course.modules[0], title="Video: Giới thiệu khoá học", slug=INTRO_SLUG, kind=LessonKind.VIDEO,
                body_markdown=f"Xem video ngắn này để biết khoá **{course.title}** gồm những gì.\n\n"
                "Bấm nút phát, rồi bấm **Tiếp** để sang bài đầu tiên.",
            )
            intro.required = False
            courses.place_first(intro)
        if intro.media is None or not intro.media.is_ready:
            clip = demo_media.make_intro_clip(course.slug, course.title, work / "intro.mp4")
            asset = media.ingest_file(clip, owner_id=None, course_id=course.id, filename="gioi-thieu.mp4")
            media.process_asset(asset)
            courses.attach_media(intro, asset)
            report.media_created += 1
        handout_md = folder / "handout.md"
        handout = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == HANDOUT_SLUG))
        if handout is None and handout_md.exists():
            handout = courses.add_lesson(
                course.modules[-1], title="Phiếu ghi nhớ (PDF để in)", slug=HANDOUT_SLUG, kind=LessonKind.DOCUMENT,
                body_markdown="Tải phiếu này về điện thoại hoặc in ra giấy, để bên cạnh khi thực hành.",
            )
            handout.required = False
        if handout is not None and handout.media is None:
            pdf = demo_media.make_handout(handout_md, work / "handout.pdf")
            asset = media.ingest_file(pdf, owner_id=None, course_id=course.id, filename=f"Phiếu ghi nhớ - {course.title}.pdf")
            courses.attach_media(handout, asset)
            report.media_created += 1
    db.session.flush()


def load_course_quizzes(course: Course, folder: Path) -> int:
    """Create the quiz lessons of seed/courses/<slug>/quizzes.yaml that are missing; return how many."""
    from lms.quizzes import services as quizzes
    from lms.quizzes.models import QuestionKind

    path = folder / "quizzes.yaml"
    if not path.exists():
        return 0
    created = 0
    for spec in read_yaml(path)["quizzes"]:
        if db.session.scalar(sa.select(Lesson.id).where(Lesson.course_id == course.id, Lesson.slug == spec["lesson_slug"])):
            continue
        lesson = courses.add_lesson(course.modules[spec["module"] - 1], title=spec["title"], slug=spec["lesson_slug"],
                                    kind=LessonKind.QUIZ, body_markdown=spec.get("intro", ""))
        quiz = quizzes.get_or_create_quiz(lesson)
        quizzes.update_quiz_settings(quiz, pass_percent=spec.get("pass_percent", 70),
                                     max_attempts=spec.get("max_attempts", 3), shuffle_questions=True,
                                     shuffle_choices=True)
        for question in spec["questions"]:
            kind = QuestionKind(question["kind"])
            choices = (quizzes.true_false_choices(bool(question["answer"])) if kind == QuestionKind.TRUE_FALSE
                       else [(c["text"], bool(c["correct"])) for c in question["choices"]])
            quizzes.add_question(quiz, kind, question["text"], choices, question.get("explanation", ""))
        created += 1
    return created


def create_demo_accounts(places: dict, report: DemoReport) -> None:
    """Create the fixed demo accounts if they are missing; the official answers for the trainee's commune."""
    home = places["communes"][2] if len(places["communes"]) > 2 else places["communes"][0]
    for phone, name, roles in DEMO_ACCOUNTS:
        if accounts.find_user_by_phone(phone) is not None:
            continue
        is_trainee = Role.TRAINEE in roles
        village = home["villages"][0] if is_trainee else None
        user = accounts.create_user(
            full_name=name,
            phone=phone,
            roles=roles,
            password=DEMO_PASSWORD,
            commune_code=home["code"],
            village=village["name"] if village else None,
            business_name=f"Cơ sở {village['products'][0]} {name.split()[-1]}" if village else None,
        )
        if Role.OFFICIAL in roles:
            accounts.set_staff_places(user, communes=[home["code"]])
        # The demo's journeys start logged in: its accounts have read the notice, in fiction.
        privacy.record_consent(user, ConsentChoice.GIVEN, ConsentMethod.SEED)
        report.accounts_created.append(phone)


def generate_trainees(count: int, random_seed: int, places: dict) -> list[int]:
    """Add `count` realistic trainees, the same ones for the same seed; return the new ones' ids.

    Generated trainees get no password hash (they activate with a code), so
    thousands load in seconds.
    """
    names = read_yaml(SEED_DIR / "names.yaml")
    rng = random.Random(random_seed)
    families = [f["name"] for f in names["family_names"]]
    family_weights = [f["weight"] for f in names["family_names"]]
    existing = set(db.session.scalars(sa.select(User.phone)))
    rows: list[dict] = []
    planned: set[str] = set()
    now = utcnow()
    while len(rows) < count:
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
        gender = "female" if rng.random() < 0.62 else "male"  # most craft-village trainees are women
        full_name = " ".join(
            [
                rng.choices(families, family_weights)[0],
                rng.choice(names["middle_names"][gender]),
                rng.choice(names["given_names"][gender]),
            ]
        )
        commune = rng.choice(places["communes"])
        village = rng.choice(commune["villages"])
        business = rng.choice(names["business_name_patterns"]).format(
            given=full_name.split()[-1], village=village["name"], product=rng.choice(village["products"])
        )
        birth = _date(rng.randint(1960, 2003), rng.randint(1, 12), rng.randint(1, 28))
        # Every random draw happens above, so a skipped row leaves the sequence unchanged.
        if phone in planned:
            continue
        planned.add(phone)
        if phone in existing:
            # Already loaded by an earlier run with this seed: keep the sequence, skip the row.
            count -= 1
            continue
        try:
            normalize_phone(phone)
        except InvalidPhoneNumber:
            continue
        rows.append(
            {
                "full_name": full_name,
                "phone": phone,
                "commune_code": commune["code"],
                "village": village["name"],
                "business_name": business,
                "date_of_birth": birth,
                "created_at": now,
                "must_change_password": False,
                "auth_epoch": 0,
                "active": True,
            }
        )
    if not rows:
        return []
    ids = db.session.scalars(sa.insert(User).returning(User.id), rows).all()
    db.session.execute(sa.insert(UserRole), [{"user_id": i, "role": Role.TRAINEE} for i in ids])
    return list(ids)


def _date(year: int, month: int, day: int):
    from datetime import date

    return date(year, month, day)
