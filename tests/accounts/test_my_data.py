"""My data: a trainee sees, downloads and corrects everything held about them, and nobody else's."""

import io
import json
import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from python_calamine import CalamineWorkbook

from lms.accounts.models import User
from lms.attendance import services as attendance
from lms.attendance.models import AttendanceStatus, CheckInMethod
from lms.audit.models import AuditAction, AuditEvent, AuditObject
from lms.core.extensions import db
from lms.courses.models import Course
from lms.notifications import services as notifications
from tests.conftest import csrf_token
from tests.factories import (
    CHUYEN_MY,
    complete_course,
    make_class,
    make_course,
    make_organizer,
    session_now,
)

OWN_PHONE, OTHER_PHONE = "0912666001", "0912666002"


def _two_trainees():
    """Two members of one class with a session marked, a finished course and a message each."""
    course = make_course("viet-bai-ban-hang", lessons=2)
    cohort, _instructor, (mine, other) = make_class(course, trainees=("Nguyễn Thị Hường", "Trần Văn Bình"))
    mine.phone, other.phone = OWN_PHONE, OTHER_PHONE
    mine.village, other.village = "Thôn Chuôn Ngọ", "Thôn Đông Cứu"
    session = session_now(cohort)
    organizer = make_organizer()
    attendance.record_attendance(session, mine, AttendanceStatus.PRESENT, by=organizer, method=CheckInMethod.ROLL_CALL)
    attendance.record_attendance(session, other, AttendanceStatus.ABSENT, by=organizer, method=CheckInMethod.ROLL_CALL)
    notifications.notify([mine.id], "class_joined", class_code=cohort.code, class_name=cohort.name, course=course.title)
    notifications.notify([other.id], "class_joined", class_code="KHAC-99", class_name="Lớp khác", course=course.title)
    db.session.commit()
    complete_course(mine, course)
    complete_course(other, course)
    return mine, other, cohort


def test_the_json_holds_my_rows_and_none_of_another_trainees(client, auth, app):
    mine, other, cohort = _two_trainees()
    auth.login(mine.phone)
    response = client.get("/my/data.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    data = json.loads(text)
    sections = data["sections"]
    assert data["account_id"] == mine.id
    assert sections["profile"]["rows"] == [{
        "full_name": "Nguyễn Thị Hường", "phone": OWN_PHONE, "date_of_birth": None, "commune": "Xã Chuyên Mỹ",
        "village": "Thôn Chuôn Ngọ", "business_name": None, "email": None}]
    assert [row["code"] for row in sections["classes"]["rows"]] == [cohort.code]
    assert [row["status"] for row in sections["attendance"]["rows"]] == ["Có mặt"]
    assert len(sections["lesson_progress"]["rows"]) == 2
    assert all(row["completed_at"] for row in sections["lesson_progress"]["rows"])
    assert len(sections["enrolments"]["rows"]) == 1 and sections["enrolments"]["rows"][0]["completed_at"]
    assert any(cohort.code in row["title"] for row in sections["notifications"]["rows"])
    assert [row["holder_name"] for row in sections["certificates"]["rows"]] == ["Nguyễn Thị Hường"]
    for section in ("quiz_attempts", "submissions", "certificates", "activity", "account"):
        assert section in sections
    for theirs in (OTHER_PHONE, "Trần Văn Bình", "Thôn Đông Cứu", "KHAC-99", "Vắng"):
        assert theirs not in text


def test_the_workbook_has_a_sheet_per_section_with_the_same_rows(client, auth, app):
    mine, _other, cohort = _two_trainees()
    auth.login(mine.phone)
    as_json = client.get("/my/data.json").get_json()["sections"]
    response = client.get("/my/data.xlsx")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.data))
    assert book.sheet_names[:3] == ["Thông tin của bạn", "Tài khoản của bạn", "Khoá học bạn đã đăng ký"]
    assert len(book.sheet_names) == len(as_json)
    by_title = {section["title"]: section for section in as_json.values()}
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python()
        assert rows[0] == list(by_title[name]["columns"].values())
        assert len(rows) == 1 + len(by_title[name]["rows"]), name
    profile = book.get_sheet_by_name("Thông tin của bạn").to_python()
    assert OWN_PHONE in profile[1] and "Nguyễn Thị Hường" in profile[1]


def test_the_page_shows_every_section_in_vietnamese_and_links_from_the_account(client, auth, app):
    mine, _other, cohort = _two_trainees()
    auth.login(mine.phone)
    assert "/my/data" in client.get("/account").get_data(as_text=True)
    page = client.get("/my/data").get_data(as_text=True)
    for words in ("Dữ liệu của tôi", "Thông tin của bạn", "Lớp của bạn", "Điểm danh", "Tin nhắn",
                  "Thôn Chuôn Ngọ", cohort.code, OWN_PHONE, "Có mặt"):
        assert words in page
    assert "Trần Văn Bình" not in page and OTHER_PHONE not in page
    # The deletion request is the privacy package's page, linked from here.
    assert "/my/data.json" in page and "/my/data.xlsx" in page and 'href="/privacy/delete"' in page


def test_only_the_owner_sees_their_data_and_downloads_are_audit_events(client, auth, app):
    mine, _other, _cohort = _two_trainees()
    for path in ("/my/data", "/my/data.json", "/my/data.xlsx", "/my/data/profile"):
        assert client.get(path).status_code in (302, 401)
    assert client.get("/my/data.json").headers.get("Location", "").startswith("/login")
    auth.login(mine.phone)
    client.get("/my/data")  # looking at one's own page is not an event
    client.get("/my/data.json")
    client.get("/my/data.xlsx")
    events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.subject_id,
                                          AuditEvent.object_kind, AuditEvent.object_ref).order_by(AuditEvent.id)).all()
    assert events == [(AuditAction.DOWNLOADED_OWN_DATA, mine.id, mine.id, AuditObject.OWN_DATA, "json"),
                      (AuditAction.DOWNLOADED_OWN_DATA, mine.id, mine.id, AuditObject.OWN_DATA, "xlsx")]


def _correction(client, **changes):
    token = csrf_token(client, "/my/data/profile")
    form = {"csrf_token": token, "full_name": "Nguyễn Thị Hường", "date_of_birth": "1985-03-08",
            "province": "1", "commune": str(CHUYEN_MY), "village": "Thôn Chuôn Ngọ", "business_name": "", "email": ""}
    return client.post("/my/data/profile", data={**form, **changes})


def test_a_trainee_corrects_their_details_with_vietnamese_messages(client, auth, app):
    mine, _other, _cohort = _two_trainees()
    auth.login(mine.phone)
    page = client.get("/my/data/profile").get_data(as_text=True)
    assert "hỏi cán bộ tổ chức" in page.lower()  # the phone number is changed by the organizer

    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    for changes, message in (({"full_name": "  "}, "Hãy nhập họ và tên"),
                             ({"date_of_birth": tomorrow}, "Hãy kiểm tra ngày sinh"),
                             ({"date_of_birth": "1066-01-01"}, "Hãy kiểm tra ngày sinh"),
                             ({"date_of_birth": "08/03/85x"}, "Ngày không hợp lệ")):
        response = _correction(client, **changes)
        assert response.status_code == 200 and message in response.get_data(as_text=True), changes

    response = _correction(client, full_name="Nguyễn Thị Hường Mai", business_name="Xưởng khảm trai Chuôn Ngọ")
    assert response.status_code == 302 and response.headers["Location"] == "/my/data"
    saved = db.session.get(User, mine.id)
    db.session.refresh(saved)
    assert (saved.full_name, saved.date_of_birth, saved.business_name, saved.phone) == (
        "Nguyễn Thị Hường Mai", date(1985, 3, 8), "Xưởng khảm trai Chuôn Ngọ", OWN_PHONE)
    assert "Xưởng khảm trai Chuôn Ngọ" in client.get("/my/data").get_data(as_text=True)


def test_a_long_history_shows_its_latest_rows_and_downloads_them_all(client, auth, app):
    from lms.core.db import utcnow
    from lms.courses import services as courses
    from lms.learning.models import ProgressEvent

    mine, _other, _cohort = _two_trainees()
    lesson = courses.ordered_lessons(db.session.scalar(sa.select(Course)))[0]
    start = utcnow() - timedelta(days=1)
    for n in range(120):
        db.session.add(ProgressEvent(id=f"evt-{n:03d}", user_id=mine.id, lesson_id=lesson.id, kind="position",
                                     occurred_at=start + timedelta(minutes=n)))
    db.session.commit()
    auth.login(mine.phone)
    page = client.get("/my/data").get_data(as_text=True)
    assert "chỉ hiện 100 dòng gần nhất" in page and "đủ cả 120 dòng" in page
    assert page.count("Xem hoặc đọc đến một đoạn") == 100
    rows = client.get("/my/data.json").get_json()["sections"]["activity"]["rows"]
    assert len(rows) == 120 and rows[0]["kind"] == "Xem hoặc đọc đến một đoạn"


def test_the_deletion_request_button_leads_to_the_privacy_request_page(client, auth, app):
    mine, _other, _cohort = _two_trainees()
    auth.login(mine.phone)
    page = client.get("/my/data").get_data(as_text=True)
    assert 'href="/privacy/delete"' in page and "Yêu cầu xoá dữ liệu" in page
    assert "Muốn xoá dữ liệu" not in page
    assert client.get("/privacy/delete").status_code == 200


def test_quiz_attempts_and_practical_work_are_in_my_data_with_their_links(client, auth, app):
    from lms.assignments import services as assignments
    from lms.learning.services import enrol
    from lms.quizzes import services as quizzes
    from tests.factories import make_practical_course, make_quiz, make_trainee, right_answers

    course, _lesson, assignment = make_practical_course()
    _course, _quiz_lesson, quiz = make_quiz(course=course, slug="kiem-tra-nhanh")
    mine, other = make_trainee(phone=OWN_PHONE), make_trainee(phone=OTHER_PHONE)
    for trainee in (mine, other):
        enrol(trainee, course)
    db.session.commit()
    assignments.submit_work(assignment, mine, text="Khay khảm trai 30×40 cm, giá 850.000đ",
                            links=["https://www.facebook.com/khamtrai/posts/1"])
    assignments.submit_work(assignment, other, text="Bài của người khác")
    attempt = quizzes.start_attempt(quiz, mine)
    quizzes.submit_attempt(attempt, right_answers(quiz), str(uuid.uuid4()), user=mine)
    db.session.commit()

    auth.login(mine.phone)
    sections = client.get("/my/data.json").get_json()["sections"]
    [work] = sections["submissions"]["rows"]
    assert work["text"] == "Khay khảm trai 30×40 cm, giá 850.000đ"
    assert work["links"] == "https://www.facebook.com/khamtrai/posts/1"
    [quiz_row] = sections["quiz_attempts"]["rows"]
    assert (quiz_row["percent"], quiz_row["passed"]) == (100, True)
    page = client.get("/my/data").get_data(as_text=True)
    assert "Khay khảm trai" in page and "Bài của người khác" not in page
    assert client.get("/my/data.xlsx").status_code == 200
