"""An instructor on a phone uploads a PDF through a dropped connection and a reload, then a video."""

import re

import pytest

from tests.conftest import wait_until_logged_in
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def login(page, base, phone):
    page.goto(base + "/login")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill("demo12345")
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)


def add_lesson(page, base, title, kind):
    page.goto(base + "/courses/viet-bai-ban-hang/edit")
    page.get_by_role("link", name=re.compile("Thêm bài học")).first.click()
    page.get_by_label("Tên bài học").fill(title)
    page.get_by_label("Loại bài học").select_option(kind)
    page.get_by_role("button", name=re.compile("Thêm bài học")).click()
    page.wait_for_url(re.compile(r"/edit$"))


def test_pdf_upload_survives_a_dropped_connection_and_a_reload(live_server, phone_page, tmp_path):
    page = phone_page
    login(page, live_server, "0900000003")
    add_lesson(page, live_server, "Tài liệu tham khảo", "document")
    # An 11 MB PDF: three 5 MB chunks.
    from lms.core.pdf import render_handout

    pdf = tmp_path / "Tài liệu tham khảo.pdf"
    pdf.write_bytes(render_handout("# Tài liệu\nNội dung.") + b"%" + b"0" * (11 * 1024 * 1024))

    # The network dies after the first chunk: every later PATCH fails.
    patches = []

    def drop_after_first(route):
        patches.append(route.request.headers.get("upload-offset"))
        if len(patches) > 1:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r"/api/v1/uploads/[0-9a-f]+$"), lambda route: drop_after_first(route)
               if route.request.method == "PATCH" else route.continue_())
    page.locator("[data-upload-input]").first.set_input_files(str(pdf))
    message = page.locator("[data-upload-message]").first
    message.filter(has_text="Mất kết nối").wait_for(timeout=15000)
    screenshot(page, "10-upload-offline")
    assert page.locator("[data-upload-numbers]").first.inner_text().endswith("%")

    # The instructor reloads the page and picks the same file: it continues from 5 MB. (The network
    # comes back only after the reload: before it, the old page's next automatic try would get through.)
    page.reload()
    page.unroute(re.compile(r"/api/v1/uploads/[0-9a-f]+$"))
    offsets = []
    page.on("request", lambda r: offsets.append(r.headers.get("upload-offset")) if r.method == "PATCH" else None)
    page.locator("[data-upload-input]").first.set_input_files(str(pdf))
    message.filter(has_text="Sẵn sàng").wait_for(timeout=30000)
    assert offsets[0] == str(5 * 1024 * 1024)  # resumed, not restarted
    screenshot(page, "11-upload-done")
    page.get_by_role("button", name="Lưu bài học").click()
    page.get_by_text("Bài học đã được lưu.").wait_for()


def test_too_large_file_is_refused_before_uploading(live_server, phone_page, tmp_path):
    page = phone_page
    login(page, live_server, "0900000003")
    page.goto(live_server + "/courses/viet-bai-ban-hang/lessons/video-gioi-thieu/edit")
    widget = page.locator("[data-upload]").first
    widget.evaluate("el => el.dataset.maxBytes = '1000'")  # as if the limit were 1 KB
    big = tmp_path / "video.mp4"
    big.write_bytes(b"\x00" * 5000)
    requests = []
    page.on("request", lambda r: requests.append(r.method) if "/api/v1/uploads" in r.url else None)
    widget.locator("[data-upload-input]").set_input_files(str(big))
    assert "tối đa" in widget.locator("[data-upload-message]").inner_text()
    assert "POST" not in requests


def test_uploaded_video_is_processed_and_plays_for_the_trainee(live_server, new_phone_page, tmp_path):
    from tests.media.helpers import mp4_bytes

    page = new_phone_page()
    login(page, live_server, "0900000003")
    add_lesson(page, live_server, "Video quay cận cảnh", "video")
    clip = tmp_path / "can-canh.mp4"
    clip.write_bytes(mp4_bytes(3.0, 1280, 720))
    page.locator("[data-upload-input]").first.set_input_files(str(clip))
    page.locator("[data-upload-message]").first.filter(has_text="Sẵn sàng").wait_for(timeout=60000)
    page.get_by_role("button", name="Lưu bài học").click()
    page.get_by_text("Bài học đã được lưu.").wait_for()
    screenshot(page, "12-lesson-edit-video")

    page = new_phone_page()  # the trainee, in a context of their own
    login(page, live_server, "0900000004")
    page.goto(live_server + "/courses/viet-bai-ban-hang/lessons/video-quay-can-canh")
    video = page.locator("video")
    video.wait_for()
    duration = page.evaluate("""() => new Promise(resolve => {
        const v = document.querySelector('video');
        if (v.readyState >= 1) return resolve(v.duration);
        v.addEventListener('loadedmetadata', () => resolve(v.duration));
        v.load();
    })""")
    assert abs(duration - 3.0) < 0.3
    # Seeking works: the browser fetches a byte range and lands near the asked time.
    page.evaluate("() => { const v = document.querySelector('video'); v.currentTime = 2.0; }")
    page.wait_for_function("() => !document.querySelector('video').seeking")
    assert page.evaluate("document.querySelector('video').currentTime") > 1.5
    screenshot(page, "13-trainee-video")


def _lesson_upload_widget(page, base, retry_base_ms: int, retry_max: int):
    page.goto(base + "/courses/viet-bai-ban-hang/lessons/video-gioi-thieu/edit")
    widget = page.locator("[data-upload]").first
    # Shorter pauses than a phone's 1 s, 2 s, 4 s …, so the test does not wait minutes.
    widget.evaluate(f"el => {{ el.dataset.retryBaseMs = '{retry_base_ms}'; el.dataset.retryMax = '{retry_max}'; }}")
    return widget


def _small_pdf(tmp_path):
    from lms.core.pdf import render_handout

    pdf = tmp_path / "Bài đọc thêm.pdf"
    pdf.write_bytes(render_handout("# Bài đọc thêm\nNội dung."))
    return pdf


def test_an_upload_that_keeps_failing_stops_after_a_bounded_number_of_tries(live_server, phone_page, tmp_path):
    import time

    page = phone_page
    login(page, live_server, "0900000003")
    widget = _lesson_upload_widget(page, live_server, retry_base_ms=100, retry_max=3)
    patches = []

    def refuse_every_patch(route):
        if route.request.method == "PATCH":
            patches.append(time.monotonic())
            route.abort("internetdisconnected")
        else:
            route.continue_()

    upload_address = re.compile(r"/api/v1/uploads/[0-9a-f]+$")
    page.route(upload_address, refuse_every_patch)
    widget.locator("[data-upload-input]").set_input_files(str(_small_pdf(tmp_path)))
    message = widget.locator("[data-upload-message]")
    message.filter(has_text="Đã dừng tải lên sau 4 lần thử").wait_for(timeout=15000)
    assert "Kiểm tra kết nối mạng rồi bấm “Tiếp tục” để thử lại" in message.inner_text()
    screenshot(page, "14-upload-gave-up")
    assert len(patches) == 4  # the first try and three more
    page.wait_for_timeout(2000)
    assert len(patches) == 4  # and then nothing: no loop, no hidden timer
    # Exponential with jitter: pauses of at least half of 100, 200, 400 ms.
    gaps = [later - earlier for earlier, later in zip(patches, patches[1:], strict=False)]
    assert all(gap >= 0.05 * 2**i for i, gap in enumerate(gaps)), gaps

    # The network is back; the instructor presses Continue and the file goes up.
    page.unroute(upload_address)
    widget.get_by_role("button", name="Tiếp tục").click()
    message.filter(has_text="Sẵn sàng").wait_for(timeout=30000)


def test_a_server_that_keeps_disagreeing_about_the_offset_is_not_asked_forever(live_server, phone_page, tmp_path):
    page = phone_page
    login(page, live_server, "0900000003")
    widget = _lesson_upload_widget(page, live_server, retry_base_ms=50, retry_max=2)
    asked = []

    def conflict_forever(route):
        asked.append(route.request.method)
        if route.request.method == "PATCH":
            # What a crash left before the fix: 409 "continue from X" for the very X that was sent.
            route.fulfill(status=409, headers={"Tus-Resumable": "1.0.0", "Content-Type": "application/json",
                                               "Upload-Offset": route.request.headers["upload-offset"]},
                          body='{"error": "x"}')
        else:
            route.continue_()

    page.route(re.compile(r"/api/v1/uploads/[0-9a-f]+$"), conflict_forever)
    widget.locator("[data-upload-input]").set_input_files(str(_small_pdf(tmp_path)))
    widget.locator("[data-upload-message]").filter(has_text="Đã dừng tải lên sau 3 lần thử").wait_for(timeout=15000)
    page.wait_for_timeout(1500)
    assert asked.count("PATCH") == 3 and len(asked) <= 6
