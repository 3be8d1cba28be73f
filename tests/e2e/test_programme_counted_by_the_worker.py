"""On a phone-sized Chromium, the dashboard of a programme too big to count live: the worker's figures, and their time."""

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import (
    DEMO_PASSWORD,
    LMS,
    _demo_env,
    _free_port,
    _load_demo,
    _stop,
    _wait_until_up,
    log_in_with_the_form,
    screenshot,
)

pytestmark = pytest.mark.e2e

ENROL_ONE_MORE = """
import sqlalchemy as sa
from lms import create_app
from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.core.extensions import db
from lms.courses.models import Course
from lms.learning.services import enrol

with create_app().app_context():
    trainee = accounts.create_user(full_name="Học viên mới", phone="0399999999", password="demo12345",
                                   roles={Role.TRAINEE}, commune_code=10330)
    enrol(trainee, db.session.scalars(sa.select(Course).order_by(Course.id)).first())
    db.session.commit()
"""


@pytest.fixture(scope="module")
def counted_site(tmp_path_factory):
    """The demo, counted by `lms reports count`, then changed, served with every count taken as slow."""
    env = _demo_env(tmp_path_factory.mktemp("counted-site")) | {"LMS_FIGURES_LIVE_UNDER_S": "0"}
    _load_demo(env, "--trainees", "40")
    done = subprocess.run([*LMS, "reports", "count"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    # A trainee enrolled after the count: in neither its numbers nor the lists behind them.
    done = subprocess.run([sys.executable, "-c", ENROL_ONE_MORE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    port = _free_port()
    server = subprocess.Popen([*LMS, "run", "--port", str(port), "--no-reload"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base, [server])
    yield base
    _stop([server])


def test_the_dashboard_says_when_the_worker_counted_and_each_number_s_list_is_as_long(counted_site, page,
                                                                                     new_phone_page):
    from playwright.sync_api import expect

    log_in_with_the_form(page, counted_site, "0900000002", DEMO_PASSWORD)
    page.goto(counted_site + "/reports")
    expect(page.locator("#counted-at")).to_contain_text(re.compile(r"Số liệu tính lúc \d\d:\d\d .*10 phút"))
    screenshot(page, "reports-counted-by-the-worker")
    numbers = page.locator("a.funnel-number")
    assert numbers.count() == 7
    for i in range(numbers.count()):
        number = int(numbers.nth(i).inner_text().replace(".", ""))
        numbers.nth(i).click()
        expect(page.locator(".counted-at")).to_contain_text("Tính đến")
        expect(page.locator(".list-count")).to_have_text(re.compile(rf"^{number} lượt ghi danh$"))
        page.go_back()
    enrolled = int(numbers.first.inner_text().replace(".", ""))
    page.goto(counted_site + "/reports/trainees/enrolled")  # counted now, not at the worker's moment
    expect(page.locator(".list-count")).to_have_text(f"{enrolled + 1} lượt ghi danh")

    page = new_phone_page()
    log_in_with_the_form(page, counted_site, "0900000005", DEMO_PASSWORD)
    page.goto(counted_site + "/reports")
    expect(page.locator("#counted-at")).to_contain_text("Số liệu tính lúc")
    expect(page.locator(".scope-note")).to_contain_text("Xã Chuyên Mỹ")
    first = page.locator("a.funnel-number").first
    number = int(first.inner_text().replace(".", ""))
    first.click()
    expect(page.locator(".list-count")).to_have_text(re.compile(rf"^{number} lượt ghi danh$"))
