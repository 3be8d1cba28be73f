"""On a phone-sized Chromium: several photos picked at once upload one by one, one is removed, the rest is handed in."""

import re

import pytest

from lms.core.extensions import db
from tests.assignments.helpers import enrolled_trainee, make_practical_course, submissions
from tests.conftest import wait_until_logged_in
from tests.factories import DEFAULT_PASSWORD
from tests.media.helpers import mp4_bytes, png_bytes

pytestmark = pytest.mark.e2e


def test_photos_picked_together_upload_and_one_can_be_removed_before_handing_in(served, phone_page, app, tmp_path):
    course, lesson, _assignment = make_practical_course()
    phone, lesson_page = enrolled_trainee(course).phone, f"{served}/courses/{course.slug}/lessons/{lesson.slug}"
    db.session.commit()  # nothing left open: the server thread works with its own sessions from here on
    files = []
    for name, size in (("binh-gom.png", (320, 240)), ("chum-gom.png", (300, 200))):
        files.append(tmp_path / name)
        files[-1].write_bytes(png_bytes(*size))
    clip = tmp_path / "quang-cao.mp4"
    clip.write_bytes(mp4_bytes(1.0, 640, 360))

    from playwright.sync_api import expect

    page = phone_page
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.goto(served + "/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    wait_until_logged_in(page)
    page.goto(lesson_page)

    page.set_input_files('[data-target="photo_ids"] [data-upload-input]', [str(f) for f in files])
    # Playwright's own checks: the page's CSP (no eval) stays on, as in production.
    expect(page.locator("#photo_ids")).to_have_value(re.compile(r"^[\w-]+,[\w-]+$"), timeout=30_000)
    items = page.locator("#photo_ids-items li[data-media-id]")
    expect(items).to_have_count(2)
    ids = page.locator("#photo_ids").input_value().split(",")
    assert [items.nth(i).get_attribute("data-media-id") for i in range(2)] == ids

    # The single-file widget on the same page still works as before.
    page.set_input_files('[data-target="video_id"] [data-upload-input]', str(clip))
    expect(page.locator("#video_id")).to_have_value(re.compile(r"^[\w-]+$"), timeout=30_000)
    video = page.locator("#video_id").input_value()

    items.first.locator("[data-upload-remove]").click()
    expect(page.locator("#photo_ids")).to_have_value(ids[1])
    expect(page.locator("#photo_ids-items li")).to_have_count(1)

    page.fill("#text", "Bình gốm men lam, giá 250.000đ")
    page.locator("button.hand-in-button").click()
    page.wait_for_selector('[data-status="submitted"]')

    assert problems == []  # no script error, no Content-Security-Policy violation
    [submission] = submissions()
    assert submission.text == "Bình gốm men lam, giá 250.000đ"
    assert [item.asset.public_id for item in submission.media] == [ids[1], video]
