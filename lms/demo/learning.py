"""The demo's learning: quizzes and practical work from seed/, the demo trainee's journey,
classmates whose work waits for review, and thousands of generated trainees at varied progress."""

import random
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.assignments import services as assignments
from lms.assignments.models import Assignment, Submission, SubmissionStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import Course, Lesson, LessonKind
from lms.learning import services as learning
from lms.learning.models import Enrollment, EnrollmentSource, EnrollmentStatus, LessonProgress
from lms.quizzes import services as quizzes
from lms.quizzes.models import Quiz, QuizAttempt

#: Fixed classmates of the demo trainee, whose practical work fills the review queue.
CLASSMATES = [
    ("0900000101", "Phạm Thị Thu Hương", "Chuôn Ngọ"),
    ("0900000102", "Nguyễn Văn Tùng", "Từ Thuận"),
    ("0900000103", "Đỗ Thị Lan", "Giẽ Hạ"),
    ("0900000104", "Vũ Đức Thắng", "Chanh Thôn"),
    ("0900000105", "Trần Thị Ngọc Ánh", "Thao Nội"),
    ("0900000106", "Lê Văn Bảo", "Đại Nghiệp"),
]


def read_yaml(path: Path):
    import yaml

    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_course_assignments(course: Course, folder: Path) -> int:
    """Create the practical-work lessons of seed/courses/<slug>/assignments.yaml that are missing."""
    path = folder / "assignments.yaml"
    if not path.exists():
        return 0
    created = 0
    for spec in read_yaml(path)["assignments"]:
        exists = db.session.scalar(sa.select(Lesson.id).where(Lesson.course_id == course.id, Lesson.slug == spec["lesson_slug"]))
        if exists:
            continue
        lesson = courses.add_lesson(course.modules[spec["module"] - 1], title=spec["title"], slug=spec["lesson_slug"],
                                    kind=LessonKind.ASSIGNMENT, body_markdown=spec["instructions"])
        assignment = assignments.get_or_create_assignment(lesson)
        assignments.update_assignment(assignment, accepts_text=spec.get("accepts_text", True),
                                      accepts_links=spec.get("accepts_links", True),
                                      max_photos=spec.get("max_photos", 3), accepts_video=spec.get("accepts_video", False))
        assignments.set_rubric(assignment, [
            (c["title"], c.get("description", ""), [(lv["title"], lv["points"], lv.get("description", "")) for lv in c["levels"]])
            for c in spec["rubric"]
        ])
        created += 1
    return created


def _samples(course: Course, folder: Path) -> dict:
    path = folder / "assignments.yaml"
    return read_yaml(path)["assignments"][0] if path.exists() else {}


# --- Doing the work through the services ---------------------------------------------------


def finish_lesson(user, lesson: Lesson, when) -> None:
    """Complete one lesson the way a trainee would: read it, watch it, pass it."""
    enrollment = learning.get_enrollment(user, lesson.course)
    if enrollment is not None and enrollment.enrolled_at is not None and enrollment.enrolled_at > when:
        enrollment.enrolled_at = when  # a made-up past: they joined before doing the work
    if lesson.kind in learning.MANUALLY_COMPLETED_KINDS:
        learning.record_event(user, learning.ProgressEventData(str(uuid.uuid4()), lesson.id, "complete", when))
    elif lesson.kind == LessonKind.VIDEO and lesson.media and lesson.media.duration_s:
        duration = float(lesson.media.duration_s)
        learning.record_event(user, learning.ProgressEventData(
            str(uuid.uuid4()), lesson.id, "position", when, position_s=duration, segments=((0.0, duration),)))
    elif lesson.kind == LessonKind.QUIZ:
        pass_quiz(user, lesson)


def pass_quiz(user, lesson: Lesson, *, right: bool = True) -> QuizAttempt:
    quiz = quizzes.get_or_create_quiz(lesson)
    attempt = quizzes.start_attempt(quiz, user)
    answers = {}
    for question in quiz.questions:
        correct = [c.id for c in question.choices if c.is_correct]
        wrong = [c.id for c in question.choices if not c.is_correct][:1]
        answers[question.id] = correct if right else wrong
    return quizzes.submit_attempt(attempt, answers, str(uuid.uuid4()), user=user)


def hand_in(user, lesson: Lesson, sample: dict) -> Submission:
    assignment = assignments.get_or_create_assignment(lesson)
    links = sample.get("links", []) if assignment.accepts_links else []
    return assignments.submit_work(assignment, user, text=sample.get("text", "") if assignment.accepts_text else "",
                                   links=links, client_id=str(uuid.uuid4()))


def review(submission: Submission, instructor, decision: str, comment: str) -> None:
    assignment = db.session.get(Assignment, submission.assignment_id)
    levels = {c.id: (max(c.levels, key=lambda lv: lv.points).id if decision == "approve"
                     else min(c.levels, key=lambda lv: lv.points).id) for c in assignment.criteria}
    assignments.review_submission(submission, instructor, decision=decision, comment=comment, levels=levels)


def lessons_before(course: Course, kind: LessonKind) -> list[Lesson]:
    """Return the required lessons that come before the first lesson of this kind."""
    ordered = courses.ordered_lessons(course)
    stop = next((i for i, lesson in enumerate(ordered) if lesson.kind == kind), len(ordered))
    return ordered[:stop]


# --- The demo trainee, and classmates ----------------------------------------------------------


def demo_trainee_journey(trainee, instructor, by_slug: dict[str, Course], folders: dict[str, Path]) -> None:
    """Finish viet-bai-ban-hang, get part-way through the other two (only once)."""
    writing = by_slug["viet-bai-ban-hang"]
    if learning.get_enrollment(trainee, writing).completed_at is None:
        start = utcnow() - timedelta(days=21)
        for index, lesson in enumerate(courses.ordered_lessons(writing)):
            if lesson.kind == LessonKind.ASSIGNMENT:
                submission = hand_in(trainee, lesson, _samples(writing, folders[writing.slug])["sample_submissions"][0])
                review(submission, instructor, "approve", "Bài viết rõ ràng, có giá và lời mời mua. Chúc mừng chị!")
            else:
                finish_lesson(trainee, lesson, start + timedelta(days=index))
    video = by_slug["quay-video-quang-cao"]
    if not learning.course_progress(trainee, video).required_done:
        for index, lesson in enumerate(courses.ordered_lessons(video)[:5]):
            finish_lesson(trainee, lesson, utcnow() - timedelta(days=6 - index))
        learning.open_lesson(trainee, courses.ordered_lessons(video)[5])
    live = by_slug["livestream-ban-hang"]
    if not learning.course_progress(trainee, live).required_done:
        ordered = courses.ordered_lessons(live)
        for index, lesson in enumerate(ordered[:3]):
            finish_lesson(trainee, lesson, utcnow() - timedelta(days=2, hours=-index))
        learning.open_lesson(trainee, ordered[3])


def demo_classmates(instructor, by_slug: dict[str, Course], folders: dict[str, Path], home_commune: int) -> int:
    """Create six classmates who reached the practical work; some reviewed, most waiting. Return how many new."""
    created = 0
    for index, (phone, name, village) in enumerate(CLASSMATES):
        if accounts.find_user_by_phone(phone) is not None:
            continue
        person = accounts.create_user(full_name=name, phone=phone, roles={Role.TRAINEE}, commune_code=home_commune,
                                      village=village)
        created += 1
        for course in by_slug.values():
            learning.enrol(person, course, EnrollmentSource.COHORT)
            sample_spec = _samples(course, folders[course.slug])
            samples, feedback = sample_spec.get("sample_submissions", []), sample_spec.get("sample_feedback", [])
            before = lessons_before(course, LessonKind.ASSIGNMENT)
            for day, lesson in enumerate(before):
                finish_lesson(person, lesson, utcnow() - timedelta(days=12 - day // 2))
            task = next((lesson for lesson in courses.ordered_lessons(course) if lesson.kind == LessonKind.ASSIGNMENT), None)
            if task is None or not samples:
                continue
            submission = hand_in(person, task, samples[index % len(samples)])
            # The first classmates have been reviewed; the rest wait in the instructor's queue.
            if index < len(feedback):
                review(submission, instructor, feedback[index]["decision"], feedback[index]["comment"])
    return created


# --- Thousands of generated trainees, in bulk ------------------------------------------------


def generate_learning(trainee_ids: list[int], random_seed: int, instructor_id: int) -> dict:
    """Enrol generated trainees in 1–3 courses with varied, consistent progress, written in bulk.

    Completed quizzes get a passed attempt with the right answers; completed practical work an
    approved hand-in; a course whose required lessons are all done gets its completion date.
    """
    rng = random.Random(random_seed + 7)
    course_rows = list(db.session.scalars(sa.select(Course).order_by(Course.id)))
    plans = {}
    for course in course_rows:
        lessons = courses.ordered_lessons(course)
        quizzes_by_lesson = {q.lesson_id: q for q in db.session.scalars(
            sa.select(Quiz).where(Quiz.lesson_id.in_([lesson.id for lesson in lessons])))}
        tasks = {a.lesson_id: a for a in db.session.scalars(
            sa.select(Assignment).where(Assignment.lesson_id.in_([lesson.id for lesson in lessons])))}
        plans[course.id] = (course, lessons, quizzes_by_lesson, tasks)
    now = utcnow()
    enrollments, progress, attempts, submissions = [], [], [], []
    for user_id in trainee_ids:
        for course_id in rng.sample(sorted(plans), k=rng.choice([1, 1, 2, 2, 3])):
            course, lessons, quiz_of, task_of = plans[course_id]
            enrolled = now - timedelta(days=rng.randint(10, 120), minutes=rng.randint(0, 1440))
            # Progress spread: some never started, many part-way, about a third finished.
            share = rng.choice([0, 0.1, 0.3, 0.5, 0.7, 0.9, 1, 1, 1])
            done = lessons[: round(len(lessons) * share)]
            when = enrolled
            for lesson in done:
                when = min(now - timedelta(minutes=5), when + timedelta(hours=rng.randint(2, 72)))
                progress.append({"user_id": user_id, "lesson_id": lesson.id, "course_id": course_id,
                                 "position_s": 0.0, "coverage": b"", "watched_fraction": 1.0 if lesson.kind == LessonKind.VIDEO else 0.0,
                                 "first_opened_at": when - timedelta(minutes=20), "updated_at": when, "completed_at": when,
                                 "completed_by": _completed_by(lesson.kind)})
                if lesson.id in quiz_of:
                    attempts.append(_passed_attempt(quiz_of[lesson.id], user_id, when))
                if lesson.id in task_of:
                    submissions.append({"assignment_id": task_of[lesson.id].id, "user_id": user_id, "number": 1,
                                        "text": "Bài thực hành của học viên.", "links": [],
                                        "status": SubmissionStatus.APPROVED, "submitted_at": when - timedelta(hours=20),
                                        "reviewed_at": when, "reviewer_id": instructor_id, "comment": "Đạt yêu cầu.",
                                        "score": None, "feedback_seen_at": when})
            required = [lesson for lesson in lessons if lesson.required]
            finished = {lesson.id for lesson in done}
            complete = bool(required) and all(lesson.id in finished for lesson in required)
            last = done[-1] if done else None
            enrollments.append({"user_id": user_id, "course_id": course_id, "status": EnrollmentStatus.ACTIVE,
                                "source": EnrollmentSource.COHORT, "enrolled_at": enrolled,
                                "completed_at": when if complete else None,
                                "last_lesson_id": last.id if last else None,
                                "last_activity_at": when if last else None})
    for table, rows in ((Enrollment, enrollments), (LessonProgress, progress), (QuizAttempt, attempts),
                        (Submission, submissions)):
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(table), rows[start : start + 5000])
    return {"enrollments": len(enrollments), "lesson_progress": len(progress), "quiz_attempts": len(attempts),
            "approved_submissions": len(submissions)}


def _completed_by(kind: LessonKind) -> str:
    return {LessonKind.VIDEO: "watched", LessonKind.QUIZ: "quiz", LessonKind.ASSIGNMENT: "assignment"}.get(kind, "marked")


def _passed_attempt(quiz: Quiz, user_id: int, when) -> dict:
    answers = {str(q.id): [c.id for c in q.choices if c.is_correct] for q in quiz.questions}
    points = sum(q.points for q in quiz.questions)
    return {"quiz_id": quiz.id, "user_id": user_id, "number": 1, "started_at": when - timedelta(minutes=9),
            "submitted_at": when, "question_order": [q.id for q in quiz.questions],
            "choice_order": {str(q.id): [c.id for c in q.choices] for q in quiz.questions},
            "answers": answers, "score": points, "max_score": points, "percent": 100, "passed": True,
            "submission_id": str(uuid.uuid4())}
