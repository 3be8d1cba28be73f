"""Every route with an id, filled with one trainee's objects, asked by every role: nobody sees what is not theirs.

The world is the demo (courses with quizzes and practical work, classes with sessions, a
certificate, messages), what people start (a trainee's unfinished upload, the organizer's export,
import preview and certificate batch), plus the people the matrix needs: the demo trainee is the owner; a
classmate in the same class and courses; a trainee enrolled in nothing; an instructor of another
course; the demo organizer and admin; and the course's own instructor, who must be let in where
staff are (so a route refusing everyone cannot pass for a safe one).

Each GET is asked by every role and must be answered as EXPECTED says: shown (2xx) to the roles
listed, refused (403, 404, or the login page) to all others. A POST is sent only by roles that must
be refused (it would change the world for the next ones) and must be refused. The count of cases
and of cross-accesses is printed for the closing note (`pytest tests/test_access_matrix.py -s`). The one
route left out, the signed check-in link of a scanned QR, is bound to whoever redeems it
(tests/attendance/test_checkin_replay.py).
"""

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from lms import create_app
from lms.accounts.models import Role, User
from lms.accounts.passwords import hash_password
from lms.core.extensions import db
from tests.conftest import TEST_CONFIG, FreshGlobalsClient, _create_postgres_database, csrf_token
from tests.factories import DEFAULT_PASSWORD, make_course, make_trainee, make_user

ROLES = ["anonymous", "owner", "classmate", "unenrolled", "other_instructor", "course_instructor", "organizer", "admin",
         "official"]
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
ENROLLED = {"owner", "classmate"}
COURSE_STAFF = {"course_instructor", "organizer", "admin"}
PROGRAMME_STAFF = {"organizer", "admin"}
OWNER_AND_STAFF = {"owner"} | COURSE_STAFF

#: Who may see each GET route, filled with the owner's objects.
EXPECTED = {
    # The owner sees the certificate at /verify and downloads its PDF; the register is the organizer's.
    "certificates.detail": PROGRAMME_STAFF,
    "certificates.pdf": {"owner"} | PROGRAMME_STAFF,
    "certificates.verify": EVERYONE,
    "certificates.verify_json": EVERYONE,
    "certificates.edit_template": COURSE_STAFF,  # a course's certificate is edited with the course
    "certificates.preview": COURSE_STAFF,
    "certificates.export": PROGRAMME_STAFF,
    "certificates.cohort_certificates": PROGRAMME_STAFF,
    "cohorts.detail": COURSE_STAFF,
    "cohorts.edit": PROGRAMME_STAFF,
    "cohorts.history": COURSE_STAFF,
    "cohorts.withdraw": PROGRAMME_STAFF,
    # Moving and withdrawing many: the organizer's, asked about the owner ticked on the class page.
    "cohorts.move_members": PROGRAMME_STAFF,
    "cohorts.withdraw_members": PROGRAMME_STAFF,
    "cohorts.reschedule": COURSE_STAFF,  # the class's instructor moves a session
    "imports.slips": PROGRAMME_STAFF,
    "imports.upload": PROGRAMME_STAFF,
    "imports.template": PROGRAMME_STAFF,
    # Lists of people leave the site through the organizer; the instructor prints the sign-in sheet.
    "attendance_exports.cohort_attendance_summary_csv": PROGRAMME_STAFF,
    "attendance_exports.cohort_attendance_csv": PROGRAMME_STAFF,
    "attendance_exports.cohort_attendance_xlsx": PROGRAMME_STAFF,
    "attendance_exports.sign_in_sheet": COURSE_STAFF,
    "attendance.session_detail": COURSE_STAFF,
    "attendance.history": COURSE_STAFF,
    "attendance.check_in_code": COURSE_STAFF,
    "attendance.check_in_screen": COURSE_STAFF,
    "attendance.roll_call": COURSE_STAFF,
    "attendance.scan": COURSE_STAFF,
    "courses.course_detail": EVERYONE,
    "courses.edit": COURSE_STAFF,
    "courses.edit_lesson": COURSE_STAFF,
    "courses.new_lesson": COURSE_STAFF,
    "learning.learners": COURSE_STAFF,
    "learning.leave": ENROLLED,
    "learning.lesson": ENROLLED | COURSE_STAFF,
    "learning.course_progress_api": SIGNED_IN,  # the asker's own progress (none when not enrolled)
    "assignments.edit_assignment": COURSE_STAFF,
    "assignments.delete_criterion": COURSE_STAFF,
    "assignments.hand_in": ENROLLED | COURSE_STAFF,  # staff see the task as trainees will
    # By number among the asker's own: a classmate asking for "hand-in 1" sees their own (checked below).
    "assignments.my_submission": ENROLLED,
    "assignments.review": COURSE_STAFF,
    "quizzes.edit_quiz": COURSE_STAFF,
    "quizzes.edit_question": COURSE_STAFF,
    "quizzes.new_question": COURSE_STAFF,
    "quizzes.take_quiz": ENROLLED,
    "quizzes.attempt_result": ENROLLED,
    "media.serve": ENROLLED | COURSE_STAFF,
    "media.media_status": COURSE_STAFF,
    "core.province_communes": EVERYONE,
    "accounts.user_detail": OWNER_AND_STAFF - {"owner"},
    "accounts.reset_password": PROGRAMME_STAFF,
    "accounts.staff_places": set(),  # the owner is a trainee, who answers for no places: 404 even to the admin
    # Made by someone: only they (and for the organizer's files, the admin) follow them.
    "media.upload_status": {"owner"},
    "media.tus_upload": {"owner"},
    "attendance_exports.export_job": PROGRAMME_STAFF,
    "attendance_exports.download_export": PROGRAMME_STAFF,
    "certificates.batch": PROGRAMME_STAFF,
    "certificates.batch_status": PROGRAMME_STAFF,
    "imports.preview": PROGRAMME_STAFF,
    "imports.errors_file": PROGRAMME_STAFF,
    "imports.progress": PROGRAMME_STAFF,
    "imports.status": PROGRAMME_STAFF,
    "privacy.admin_request": {"admin"},
    "audit.export": {"admin"},
    # The owner's commune's official reads the programme's lists of that commune, and nothing else.
    "reports.trainees": PROGRAMME_STAFF | {"official"},
    "reports.trainees_export": PROGRAMME_STAFF | {"official"},
}


#: Who may send each POST; it is sent by everyone else, who must be refused.
MAY_POST = {
    "assignments.api_hand_in": ENROLLED, "quizzes.api_submit": ENROLLED,
    "assignments.hand_in": ENROLLED, "quizzes.take_quiz": ENROLLED,
    "learning.mark_done": ENROLLED | COURSE_STAFF, "learning.leave": EVERYONE, "learning.enrol": EVERYONE,  # one's own enrolment only
    "notifications.open_message": {"owner"},
    "certificates.reissue": PROGRAMME_STAFF, "certificates.revoke": PROGRAMME_STAFF,
    "certificates.cohort_certificates": PROGRAMME_STAFF,
    "certificates.edit_template": COURSE_STAFF, "certificates.preview": COURSE_STAFF,
    "cohorts.edit": PROGRAMME_STAFF, "cohorts.withdraw": PROGRAMME_STAFF, "cohorts.add_member": PROGRAMME_STAFF,
    "cohorts.move_members": PROGRAMME_STAFF, "cohorts.withdraw_members": PROGRAMME_STAFF,
    "cohorts.add_sessions": COURSE_STAFF, "cohorts.cancel": COURSE_STAFF, "cohorts.reschedule": COURSE_STAFF,
    "imports.slips": PROGRAMME_STAFF, "imports.upload": PROGRAMME_STAFF,
    "courses.edit": COURSE_STAFF, "courses.arrange_lesson": COURSE_STAFF, "courses.edit_lesson": COURSE_STAFF,
    "courses.new_lesson": COURSE_STAFF, "courses.add_module": COURSE_STAFF, "courses.update_module": COURSE_STAFF,
    "assignments.edit_assignment": COURSE_STAFF, "assignments.add_criterion": COURSE_STAFF,
    "assignments.update_criterion": COURSE_STAFF, "assignments.arrange_criterion": COURSE_STAFF,
    "assignments.delete_criterion": COURSE_STAFF, "assignments.review": COURSE_STAFF,
    "quizzes.edit_quiz": COURSE_STAFF, "quizzes.edit_question": COURSE_STAFF, "quizzes.new_question": COURSE_STAFF,
    "quizzes.arrange_question": COURSE_STAFF,
    "attendance.mark": COURSE_STAFF, "attendance.roll_call": COURSE_STAFF, "attendance.scan": COURSE_STAFF,
    "accounts.reveal_phone": COURSE_STAFF, "accounts.reset_password": PROGRAMME_STAFF,
    "accounts.staff_places": set(), "core.set_language": EVERYONE,
    "media.tus_patch": {"owner"}, "imports.commit": PROGRAMME_STAFF,
    "attendance_exports.retry_export": PROGRAMME_STAFF,
    "privacy.cancel_request": {"owner"},
    "privacy.acknowledge_request": {"admin"}, "privacy.refuse_request": {"admin"}, "privacy.complete_request": {"admin"},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Load the demo into a database of its own and name the people and objects of the matrix."""
    from lms.demo import load_demo

    tmp = tmp_path_factory.mktemp("matrix")
    base = os.environ.get("TEST_DATABASE_URL")
    url, drop = _create_postgres_database(base) if base else (f"sqlite:///{tmp / 'matrix.sqlite3'}", lambda: None)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp / "instance"),
                      "LOGIN_LIMIT_PER_IP": "1000 per minute"})
    app.test_client_class = FreshGlobalsClient
    with app.app_context():
        upgrade()
        load_demo(with_media=True)
        db.session.commit()
        yield app, _objects()
        db.session.remove()
        db.engine.dispose()
    drop()


def _phone(phone: str) -> User:
    """Return the demo's account with this phone, given a password and the current notice's consent."""
    from lms.privacy import services as privacy
    from lms.privacy.models import ConsentChoice, ConsentMethod

    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    user.password_hash = hash_password(DEFAULT_PASSWORD)
    if not privacy.has_current_consent(user):
        privacy.record_consent(user, ConsentChoice.GIVEN, ConsentMethod.SEED)
    return user


def _official_of(commune_code: int):
    """Return a commune official of the owner's commune."""
    from lms.accounts.services import set_staff_places

    official = make_user(Role.OFFICIAL, commit=False)
    set_staff_places(official, communes=[commune_code])
    return official


def _objects() -> dict:
    """Return the matrix's people and the owner's objects, by URL argument."""
    from lms.assignments.models import Assignment, RubricCriterion, Submission
    from lms.certificates.models import Certificate
    from lms.cohorts.models import ClassSession, Cohort, CohortMember
    from lms.courses.models import Lesson
    from lms.media.models import MediaAsset
    from lms.notifications.models import Notification
    from lms.quizzes.models import Question, Quiz, QuizAttempt

    owner = _phone("0900000004")
    submission = db.session.scalars(sa.select(Submission).where(Submission.user_id == owner.id)).first()
    attempt = db.session.scalars(sa.select(QuizAttempt).where(QuizAttempt.user_id == owner.id)).first()
    certificate = db.session.scalars(sa.select(Certificate).where(Certificate.user_id == owner.id)).first()
    member = db.session.scalars(sa.select(CohortMember).where(CohortMember.user_id == owner.id)).first()
    cohort = db.session.get(Cohort, member.cohort_id)
    from lms.courses.models import Course

    course = db.session.get(Course, cohort.course_id)
    classmate_member = db.session.scalars(sa.select(CohortMember).where(
        CohortMember.cohort_id == cohort.id, CohortMember.user_id != owner.id)).first()
    other_course = make_course("khoa-cua-nguoi-khac", commit=False)
    other_instructor = make_user(Role.INSTRUCTOR, commit=False)
    from lms.courses import services as courses

    courses.set_instructors(other_course, [other_instructor])
    assignment_lesson = db.session.get(Lesson, db.session.get(Assignment, submission.assignment_id).lesson_id)
    quiz_lesson = db.session.get(Lesson, db.session.get(Quiz, attempt.quiz_id).lesson_id)
    submission.text = "Bài riêng của chủ tài khoản. " + submission.text  # found on no other page
    people = {
        "owner": owner,
        "classmate": _phone(db.session.get(User, classmate_member.user_id).phone),
        "unenrolled": make_trainee(commit=False),
        "other_instructor": other_instructor,
        "course_instructor": _phone("0900000003"),
        "organizer": _phone("0900000002"),
        "admin": _phone("0900000001"),
        "official": _official_of(owner.commune_code),
    }
    db.session.commit()
    made = _things_people_made(cohort, owner, people["organizer"])
    media = db.session.scalars(sa.select(MediaAsset).where(  # a lesson's PDF: for the course's people only
        MediaAsset.course_id == course.id, MediaAsset.purpose == "lesson", MediaAsset.media_type == "document")).first()
    return {
        "people": people,
        "owner_text": "Bài riêng của chủ tài khoản.", "course": course, "assignment_lesson": assignment_lesson, "quiz_lesson": quiz_lesson,
        "lesson_course": {lesson.id: db.session.get(Course, lesson.course_id) for lesson in (assignment_lesson, quiz_lesson)},
        "values": {
            "user_id": owner.id, "member_id": member.id, "submission_id": submission.id,
            "session_id": db.session.scalars(sa.select(ClassSession.id).where(ClassSession.cohort_id == cohort.id)).first(),
            "criterion_id": db.session.scalars(sa.select(RubricCriterion.id).where(
                RubricCriterion.assignment_id == submission.assignment_id)).first(),
            "question_id": db.session.scalars(sa.select(Question.id).where(Question.quiz_id == attempt.quiz_id)).first(),
            "notification_id": db.session.scalars(sa.select(Notification.id).where(Notification.user_id == owner.id)).first(),
            "module_id": assignment_lesson.module_id, "province_code": 1, "fmt": "csv",
            "public_id": media.public_id if media else None, "variant": "original",
            "cohort_code": cohort.code, "certificate_code": certificate.code,
            "attempt_number": attempt.number, "submission_number": submission.number,
            **made,
        },
    }


def _things_people_made(cohort, owner, organizer) -> dict:
    """Return ids of what the owner and the organizer started: an upload, an export, a batch, an import."""
    from lms.attendance.export_jobs import start_export_job
    from lms.certificates.services import start_cohort_batch
    from lms.cohorts.importing.store import save_upload
    from lms.core.db import utcnow
    from lms.media.models import Upload

    upload = Upload(owner_id=owner.id, course_id=cohort.course_id, filename="bai-thuc-hanh.png",
                    purpose="submission", length=1000, offset=0, expires_at=utcnow() + timedelta(days=1))
    db.session.add(upload)
    job, _ = start_export_job({}, file_format="csv", filename="diem-danh.csv", total_rows=0, by=organizer)
    batch, _ = start_cohort_batch(cohort, by=organizer)
    db.session.commit()
    from lms.cohorts.importing import dry_run

    data = "Họ và tên,Số điện thoại\nNguyễn Thị Mai,0912777001\n".encode()
    token = save_upload(data, cohort_id=cohort.id, user_id=organizer.id, filename="danh-sach.csv",
                        report=dry_run(cohort, data).to_dict())
    from lms.privacy import services as privacy
    from lms.privacy.models import RequestKind

    request = privacy.file_request(owner, RequestKind.CORRECTION, "Ngày sinh của tôi bị sai.")
    db.session.commit()
    return {"request_id": request.id, "upload_id": upload.id, "export_public_id": job.public_id, "batch_id": batch.public_id,
            "import_token": token}


def _url(app, rule, world: dict) -> str | None:
    """Fill rule's arguments with the owner's objects; None when the world has nothing for one."""
    values, endpoint = dict(world["values"]), rule.endpoint
    lesson = world["quiz_lesson"] if endpoint.startswith("quizzes.") else world["assignment_lesson"]
    course = world["lesson_course"][lesson.id] if "lesson_slug" in rule.arguments else world["course"]
    fill = {}
    for name in rule.arguments:
        if name == "code":
            fill[name] = values["cohort_code"] if endpoint.split(".")[0] in {
                "cohorts", "imports", "attendance_exports"} or endpoint in {"certificates.cohort_certificates", "certificates.batch", "certificates.batch_status"} \
                else "en" if endpoint == "core.set_language" else values["certificate_code"]
        elif name == "slug":
            fill[name] = course.slug
        elif name == "lesson_slug":
            fill[name] = lesson.slug
        elif name == "public_id" and endpoint.startswith("attendance_exports."):
            fill[name] = values["export_public_id"]
        elif name == "token" and endpoint.startswith("imports."):
            fill[name] = values["import_token"]
        elif name == "figure":
            fill[name] = "enrolled"
        elif name == "fmt" and endpoint.startswith("audit."):
            fill[name] = "csv"
        elif name == "lesson_id":
            fill[name] = lesson.id
        elif name == "number":
            fill[name] = values["attempt_number"] if endpoint.startswith("quizzes.") else values["submission_number"]
        elif values.get(name) is not None:
            fill[name] = values[name]
        else:
            return None
    if endpoint in TICKED_MEMBERS:
        fill["member"] = values["member_id"]  # the owner ticked on the class page: a query string, not a rule argument
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **fill)


#: Routes that are asked about trainees ticked on the class page (?member=…).
TICKED_MEMBERS = {"cohorts.move_members", "cohorts.withdraw_members"}


def _clients(app, people) -> dict:
    clients = {"anonymous": app.test_client()}
    for role, user in people.items():
        client = app.test_client()
        token = csrf_token(client, "/login")
        answer = client.post("/login", data={"phone": user.phone, "password": DEFAULT_PASSWORD, "csrf_token": token})
        assert answer.status_code == 302, role
        clients[role] = client
    return clients


def _refused(response) -> bool:
    # 400 and 422: the request was turned away whole (a form or body that cannot be right), nothing shown or done.
    return response.status_code in (400, 401, 403, 404, 422) or (
        response.status_code in (302, 303) and "/login" in response.headers.get("Location", ""))


def test_no_role_reaches_another_persons_data_through_any_route_with_an_id(world):
    app, objects = world
    clients = _clients(app, objects["people"])
    tokens = {role: csrf_token(client, "/verify") for role, client in clients.items()}
    rules = [r for r in app.url_map.iter_rules() if r.arguments and r.endpoint != "static"]
    cases, cross, uncovered, observed = 0, [], [], {}
    for rule in sorted(rules, key=lambda r: r.rule):
        url = _url(app, rule, objects)
        if url is None:
            uncovered.append(rule.rule)
            continue
        if "GET" in rule.methods and rule.endpoint in EXPECTED:
            for role in ROLES:
                response = clients[role].get(url)
                response.get_data()  # a streamed export runs to its end inside its own context
                response.close()
                cases += 1
                shown = 200 <= response.status_code < 300
                observed.setdefault(rule.endpoint, {})[role] = response.status_code
                if shown and role not in EXPECTED[rule.endpoint]:
                    cross.append(f"{role} GET {url} -> {response.status_code}")
                elif role in EXPECTED[rule.endpoint] and _refused(response):  # a redirect onwards is fine
                    cross.append(f"{role} is refused GET {url} -> {response.status_code} (a fixture or a bug)")
        elif "GET" in rule.methods:
            uncovered.append(rule.rule + " (no expectation)")
        if rule.endpoint == "assignments.my_submission":
            mine = clients["owner"].get(url).get_data(as_text=True)
            theirs = clients["classmate"].get(url).get_data(as_text=True)
            assert objects["owner_text"] in mine and objects["owner_text"] not in theirs
    # Then the POSTs, which would change the world for the GETs had they gone through.
    for rule in sorted(rules, key=lambda r: r.rule):
        url = _url(app, rule, objects)
        if url is None or "POST" not in rule.methods:
            continue
        if rule.endpoint not in MAY_POST:
            uncovered.append(rule.rule + " (POST, no expectation)")
            continue
        for role in sorted(EVERYONE - MAY_POST[rule.endpoint]):
            token = tokens[role]
            response = clients[role].post(url, data={"csrf_token": token}, headers={"X-CSRFToken": token})
            cases += 1
            observed.setdefault("POST " + rule.endpoint, {})[role] = response.status_code
            if not _refused(response):
                cross.append(f"{role} POST {url} -> {response.status_code} {response.headers.get('Location', '')}")
    for line in cross:
        print("  WRONG:", line)
    print(f"\naccess matrix: {cases} cases, {len(cross)} wrong answers, {len(uncovered)} routes not covered")
    for line in uncovered:
        print("  not covered:", line)
    for endpoint, row in sorted(observed.items()):
        print(f"  {endpoint:48} " + " ".join(f"{role[:6]}={row.get(role, '-')}" for role in ROLES))
    assert cross == []
