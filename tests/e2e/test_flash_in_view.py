"""On a phone-sized Chromium: after an action that returns to a part of a long page, its message is in view."""

import pytest

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.courses import services
from tests.factories import DEFAULT_PASSWORD, make_course, make_user

pytestmark = pytest.mark.e2e


def test_renaming_a_part_shows_its_message_where_the_page_lands(app, served, phone_page):
    course = make_course(lessons=6)
    for number in range(2, 6):
        part = services.add_module(course, f"Phần {number}")
        for lesson in range(3):
            services.add_lesson(part, title=f"Bài {number}.{lesson}")
    db.session.commit()
    last = course.modules[-1]
    organizer = make_user(Role.ORGANIZER)
    page = phone_page
    page.goto(served + "/login")
    page.fill("input[name=phone]", organizer.phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    # The login form is sent in the background (static/js/login.js), then the next page opens.
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{served}/courses/{course.slug}/edit")
    field = page.locator(f"#module-title-{last.id}")
    field.locator("xpath=ancestor::details[1]").evaluate("d => d.open = true")
    field.fill("Phần cuối: chốt đơn")
    field.locator("xpath=ancestor::form[1]").locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "#" in page.url  # it came back at the part, far down the page
    message = page.locator(".flash").first
    message.wait_for()
    box = message.bounding_box()
    assert box is not None and 0 <= box["y"] < 844, box
    assert page.evaluate("window.scrollY") > 0
