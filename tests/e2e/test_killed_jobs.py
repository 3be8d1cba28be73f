"""On a phone: the import and export pages say in Vietnamese that the worker stopped, and Try again works."""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from lms.accounts.models import Role
from lms.attendance import export_jobs
from lms.attendance.models import ExportStatus
from lms.cohorts import import_tasks
from lms.cohorts.import_tasks import ImportState
from lms.cohorts.services import create_cohort
from lms.core.db import utcnow
from lms.core.extensions import db
from tests.attendance.test_exports import add_session, add_trainee, make_cohort
from tests.cohorts import fixtures
from tests.cohorts.test_import_views import GOOD
from tests.factories import CHUYEN_MY, DEFAULT_PASSWORD, make_course, make_user

pytestmark = pytest.mark.e2e


def log_in(page, served, user):
    page.goto(served + "/login")
    page.fill("input[name=phone]", user.phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    # The login form is sent in the background (static/js/login.js), then the next page opens.
    page.wait_for_url(lambda url: "/login" not in url)


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("LMS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_dead_import_and_a_dead_export_say_so_and_try_again_works(served, phone_page, app, tmp_path):
    from playwright.sync_api import expect

    organizer = make_user(Role.ORGANIZER, full_name="Bà Tổ Chức")
    cohort = create_cohort(code="PX-KT-01", course=make_course(), name="Khảm trai Chuyên Mỹ", commune_code=CHUYEN_MY)
    data = fixtures.xlsx(GOOD)
    from lms.cohorts import importing

    token = import_tasks.save_upload(data, cohort_id=cohort.id, user_id=organizer.id, filename="danh-sach.xlsx",
                                     report=importing.dry_run(cohort, data).to_dict())
    import_tasks.write_status(token, ImportState.RUNNING, progress=0.4,
                              updated_at=(utcnow() - timedelta(minutes=3)).isoformat())
    export_class = make_cohort(make_course("livestream-ban-hang", lessons=1), "PX-LIVE-01")
    add_session(export_class, utcnow().date() - timedelta(days=7))
    add_trainee(export_class, "Nguyễn Thị Hường")
    job, _ = export_jobs.start_export_job(export_jobs.filters_to_json(), file_format="xlsx",
                                          filename="diem-danh-tat-ca.xlsx", total_rows=1, by=organizer)
    job.status, job.heartbeat_at = ExportStatus.RUNNING, utcnow() - timedelta(minutes=3)
    db.session.commit()
    folder = shots(tmp_path)

    page = phone_page
    log_in(page, served, organizer)
    page.goto(f"{served}/cohorts/PX-KT-01/import/{token}/progress")
    expect(page.get_by_role("alert")).to_contain_text("Bộ xử lý nền đã dừng giữa chừng khi đang nhập danh sách")
    page.screenshot(path=str(folder / "import-worker-stopped.png"), full_page=True)
    page.get_by_role("button", name="Làm lại").click()
    expect(page.locator("h1")).to_have_text("Đã nhập học viên")

    page.goto(f"{served}/reports/attendance/jobs/{job.public_id}")
    expect(page.get_by_role("alert")).to_contain_text("Bộ xử lý nền đã dừng giữa chừng khi đang tạo tệp")
    page.screenshot(path=str(folder / "export-worker-stopped.png"), full_page=True)
    page.get_by_role("button", name="Làm lại").click()
    expect(page.locator("h1")).to_have_text("Tệp đã sẵn sàng")


def test_a_restarted_video_says_so_on_its_lesson_page(served, phone_page, app, tmp_path):
    from playwright.sync_api import expect

    from lms.courses import services as courses
    from lms.courses.models import LessonKind
    from lms.media.models import AssetStatus, MediaAsset, MediaType

    instructor = make_user(Role.INSTRUCTOR, full_name="Lê Văn Giảng")
    course = make_course()
    courses.set_instructors(course, [instructor])
    lesson = courses.add_lesson(course.modules[0], title="Quay video sản phẩm", slug="video", kind=LessonKind.VIDEO)
    asset = MediaAsset(course_id=course.id, owner_id=instructor.id, media_type=MediaType.VIDEO, mime="video/mp4",
                       original_filename="quay-san-pham.mp4", storage_key="media/x/original.mp4",
                       status=AssetStatus.QUEUED, restarts=1)  # queued again after its worker died
    db.session.add(asset)
    db.session.flush()
    courses.attach_media(lesson, asset)
    db.session.commit()

    page = phone_page
    log_in(page, served, instructor)
    page.goto(f"{served}/courses/{course.slug}/lessons/video/edit")
    expect(page.locator("[data-upload-message]").first).to_contain_text(
        "Bộ xử lý nền đã dừng giữa chừng khi đang xử lý tệp; việc xử lý đã được chạy lại.")
    page.locator("[data-upload-message]").first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots(tmp_path) / "video-restarted.png"))
