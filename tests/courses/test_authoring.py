import sqlalchemy as sa

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.courses import services
from lms.courses.models import Course, CourseStatus, Lesson, LessonKind
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user


def post(client, url, data, token_page):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, token_page)})


def test_instructor_creates_a_draft_course_and_is_its_instructor(client, auth, app):
    instructor = make_user(Role.INSTRUCTOR)
    auth.login(instructor.phone)
    response = post(client, "/courses/new", {"title": "Chụp ảnh sản phẩm bằng điện thoại", "level": "beginner",
                                             "summary": "Ảnh đẹp bán hàng tốt."}, "/courses/new")
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course))
    assert course.slug == "chup-anh-san-pham-bang-dien-thoai"
    assert course.status == CourseStatus.DRAFT
    assert [u.id for u in course.instructors] == [instructor.id]
    assert len(course.modules) == 1
    # A draft stays hidden from trainees.
    auth.logout()
    auth.login(make_trainee().phone)
    assert client.get(f"/courses/{course.slug}").status_code == 404


def test_trainee_and_other_instructors_cannot_edit(client, auth, app):
    course = make_course()
    owner = make_user(Role.INSTRUCTOR)
    services.set_instructors(course, [owner])
    db.session.commit()
    auth.login(make_trainee().phone)
    assert client.get("/courses/new").status_code == 403
    assert client.get("/courses/viet-bai-ban-hang/edit").status_code == 403
    auth.logout()
    auth.login(make_user(Role.INSTRUCTOR).phone)
    assert client.get("/courses/viet-bai-ban-hang/edit").status_code == 403
    response = post(client, "/courses/viet-bai-ban-hang/modules", {"title": "Lén thêm"}, "/courses/manage")
    assert response.status_code == 403
    assert len(course.modules) == 1
    auth.logout()
    auth.login(owner.phone)
    assert client.get("/courses/viet-bai-ban-hang/edit").status_code == 200


def test_organizer_edits_any_course(client, auth, app):
    make_course()
    auth.login(make_user(Role.ORGANIZER).phone)
    page = "/courses/viet-bai-ban-hang/edit"
    response = post(client, page, {"title": "Tên mới", "slug": "viet-bai-ban-hang", "summary": "S", "level": "advanced",
                                   "estimated_hours": "5", "status": "published", "enrollment_mode": "restricted",
                                   "video_completion_percent": "80"}, page)
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course))
    assert (course.title, course.level.value, course.estimated_hours) == ("Tên mới", "advanced", 5)
    assert (course.enrollment_mode.value, course.video_completion_percent) == ("restricted", 80)
    assert course.first_published_at is not None


def test_published_course_keeps_its_address(client, auth, app):
    make_course()
    course = db.session.scalar(sa.select(Course))
    services.set_course_status(course, CourseStatus.PUBLISHED)
    db.session.commit()
    auth.login(make_user(Role.ORGANIZER).phone)
    page = "/courses/viet-bai-ban-hang/edit"
    response = post(client, page, {"title": "T", "slug": "dia-chi-moi", "level": "beginner", "status": "published",
                                   "enrollment_mode": "open", "video_completion_percent": "90"}, page)
    assert response.status_code == 200
    assert "giữ nguyên địa chỉ web" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Course.slug)) == "viet-bai-ban-hang"


def test_add_parts_and_lessons_and_reorder_them(client, auth, app):
    make_course(lessons=2)
    auth.login(make_user(Role.ORGANIZER).phone)
    edit = "/courses/viet-bai-ban-hang/edit"
    post(client, "/courses/viet-bai-ban-hang/modules", {"title": "Phần hai"}, edit)
    course = db.session.scalar(sa.select(Course))
    second = course.modules[1]
    response = post(client, "/courses/viet-bai-ban-hang/lessons/new",
                    {"title": "Video mẫu", "kind": "video", "module_id": str(second.id), "required": "y"}, edit)
    assert response.status_code == 302
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.slug == "video-mau"))
    assert lesson.kind == LessonKind.VIDEO and lesson.module_id == second.id

    # Move the new lesson up: it crosses into the end of part one.
    post(client, "/courses/viet-bai-ban-hang/lessons/video-mau/arrange", {"action": "move", "direction": "up"}, edit)
    db.session.expire_all()
    assert [item.slug for item in services.ordered_lessons(course)] == ["bai-1", "bai-2", "video-mau"]
    assert lesson.module_id == course.modules[0].id
    post(client, "/courses/viet-bai-ban-hang/lessons/video-mau/arrange", {"action": "move", "direction": "up"}, edit)
    db.session.expire_all()
    assert [item.slug for item in services.ordered_lessons(course)] == ["bai-1", "video-mau", "bai-2"]

    # Move part two above part one.
    post(client, f"/courses/viet-bai-ban-hang/modules/{second.id}", {"action": "move", "direction": "up"}, edit)
    db.session.expire_all()
    assert [m.title for m in course.modules] == ["Phần hai", "Phần một"]


def test_editing_a_published_lesson_keeps_its_identity(client, auth, app):
    course = make_course(lessons=2)
    lesson = services.ordered_lessons(course)[0]
    lesson_id = lesson.id
    auth.login(make_user(Role.ORGANIZER).phone)
    page = "/courses/viet-bai-ban-hang/lessons/bai-1/edit"
    response = post(client, page, {"title": "Bài một (sửa)", "module_id": str(course.modules[0].id),
                                   "body_markdown": "Nội dung **mới**", "required": "y"}, page)
    assert response.status_code == 302
    db.session.expire_all()
    edited = db.session.get(Lesson, lesson_id)
    assert edited.title == "Bài một (sửa)" and "<strong>mới</strong>" in edited.body_html
    assert edited.slug == "bai-1"


def test_removing_a_lesson_archives_it_and_it_can_come_back(client, auth, app):
    course = make_course(lessons=3)
    auth.login(make_user(Role.ORGANIZER).phone)
    edit = "/courses/viet-bai-ban-hang/edit"
    post(client, "/courses/viet-bai-ban-hang/lessons/bai-2/arrange", {"action": "archive"}, edit)
    db.session.expire_all()
    assert [item.slug for item in services.ordered_lessons(course)] == ["bai-1", "bai-3"]
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 3  # kept, with any progress on it
    assert client.get("/courses/viet-bai-ban-hang/lessons/bai-2").status_code == 404
    post(client, "/courses/viet-bai-ban-hang/lessons/bai-2/arrange", {"action": "restore"}, edit)
    db.session.expire_all()
    assert [item.slug for item in services.ordered_lessons(course)] == ["bai-1", "bai-3", "bai-2"]


def test_a_part_with_lessons_cannot_be_deleted(client, auth, app):
    course = make_course(lessons=1)
    auth.login(make_user(Role.ORGANIZER).phone)
    module_id = course.modules[0].id
    response = post(client, f"/courses/viet-bai-ban-hang/modules/{module_id}", {"action": "delete", "direction": "x"},
                    "/courses/viet-bai-ban-hang/edit")
    assert response.status_code == 302
    db.session.expire_all()
    assert len(course.modules) == 1


def test_preview_as_trainee_hides_the_edit_button(client, auth, app):
    make_course()
    auth.login(make_user(Role.ORGANIZER).phone)
    staff_view = client.get("/courses/viet-bai-ban-hang/lessons/bai-1").get_data(as_text=True)
    preview = client.get("/courses/viet-bai-ban-hang/lessons/bai-1?preview=1").get_data(as_text=True)
    assert "/courses/viet-bai-ban-hang/lessons/bai-1/edit" in staff_view
    assert "/courses/viet-bai-ban-hang/lessons/bai-1/edit" not in preview


def test_manage_lists_only_my_courses_for_instructors(client, auth, app):
    mine, other = make_course("cua-toi"), make_course("cua-nguoi-khac")
    instructor = make_user(Role.INSTRUCTOR)
    services.set_instructors(mine, [instructor])
    db.session.commit()
    auth.login(instructor.phone)
    html = client.get("/courses/manage").get_data(as_text=True)
    assert "cua-toi" in html and "cua-nguoi-khac" not in html
    assert other.id


def test_a_part_is_renamed_from_the_editor_and_an_empty_title_is_refused_in_vietnamese(client, auth, app):
    import re

    course = make_course(lessons=1)
    services.add_module(course, "Phần hai")
    db.session.commit()
    auth.login(make_user(Role.ORGANIZER).phone)
    page = client.get("/courses/viet-bai-ban-hang/edit").get_data(as_text=True)
    ids = re.findall(r'<input id="(module-title-\d+)" name="title"', page)
    assert ids == [f"module-title-{m.id}" for m in course.modules]  # one field per part, each its own id
    visible_ids = [i for i in re.findall(r'\bid="([^"]+)"', page) if i != "csrf_token"]
    assert len(set(visible_ids)) == len(visible_ids)
    module = course.modules[0]
    url = f"/courses/viet-bai-ban-hang/modules/{module.id}"
    response = post(client, url, {"action": "rename", "title": "  Chuẩn bị  trước khi viết "}, "/courses/viet-bai-ban-hang/edit")
    assert response.status_code == 302
    db.session.expire_all()
    assert module.title == "Chuẩn bị trước khi viết"

    response = post(client, url, {"action": "rename", "title": "   "}, "/courses/viet-bai-ban-hang/edit")
    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hãy nhập tên." in shown
    db.session.expire_all()
    assert module.title == "Chuẩn bị trước khi viết"
