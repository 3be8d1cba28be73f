import re

from lms.core.extensions import db
from lms.courses import services
from lms.courses.models import CourseStatus
from tests.factories import make_course, make_trainee


def test_catalogue_lists_only_published_courses(client, app):
    make_course("viet-bai-ban-hang")
    make_course("khoa-nhap", status=CourseStatus.DRAFT)
    html = client.get("/courses").get_data(as_text=True)
    assert "Khoá viet-bai-ban-hang" in html
    assert "khoa-nhap" not in html


def test_course_page_lists_modules_and_lessons_in_order(client, app):
    make_course(lessons=3)
    html = client.get("/courses/viet-bai-ban-hang").get_data(as_text=True)
    assert html.index("Bài 1") < html.index("Bài 2") < html.index("Bài 3")
    assert "/courses/viet-bai-ban-hang/lessons/bai-1" in html


def test_draft_course_is_hidden_from_trainees(client, auth, app):
    make_course("khoa-nhap", status=CourseStatus.DRAFT)
    trainee = make_trainee()
    auth.login(trainee.phone)
    assert client.get("/courses/khoa-nhap").status_code == 404
    assert client.get("/courses/khoa-nhap/lessons/bai-1").status_code == 404


def test_lesson_needs_login_then_shows_text_and_neighbours(client, auth, app):
    course = make_course(lessons=3)
    assert client.get("/courses/viet-bai-ban-hang/lessons/bai-2").status_code == 302
    auth.login(make_trainee(enrolled_in=course).phone)
    html = client.get("/courses/viet-bai-ban-hang/lessons/bai-2").get_data(as_text=True)
    assert "<strong>bài 2</strong>" in html
    assert 'rel="prev" href="/courses/viet-bai-ban-hang/lessons/bai-1"' in html
    assert 'rel="next" href="/courses/viet-bai-ban-hang/lessons/bai-3"' in html


def test_unknown_lesson_is_404_with_a_friendly_page(client, auth, app):
    course = make_course()
    auth.login(make_trainee(enrolled_in=course).phone)
    response = client.get("/courses/viet-bai-ban-hang/lessons/khong-co")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)


def test_lesson_markdown_is_sanitised(client, auth, app):
    course = make_course(lessons=1)
    lesson = services.ordered_lessons(course)[0]
    services.set_lesson_body(
        lesson,
        "Xin chào <script>alert(1)</script>\n\n[bấm](javascript:alert(2)) "
        "<img src=x onerror=alert(3)>\n\n# Tiêu đề",
    )
    db.session.commit()
    auth.login(make_trainee(enrolled_in=course).phone)
    html = client.get("/courses/viet-bai-ban-hang/lessons/bai-1").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert 'href="javascript' not in html
    assert not re.search(r"<img[^>]*onerror", html)
    assert "<h2>Tiêu đề</h2>" in html
