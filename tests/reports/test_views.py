"""The dashboard's numbers are links to lists exactly as long; only the programme's staff see them."""

import re

from lms.accounts.models import Role
from tests.factories import make_organizer, make_user
from tests.reports.test_figures import _programme


def _period_args(period) -> str:
    return f"date_from={period.first.isoformat()}&date_to={period.last.isoformat()}"


def test_every_number_on_the_dashboard_is_a_link_to_a_list_of_that_length(app, client, auth):
    period, course, _other, _people, _both = _programme()
    organizer = make_organizer(phone="0912888001")
    auth.login(organizer.phone)
    html = client.get(f"/reports?{_period_args(period)}").get_data(as_text=True)
    links = re.findall(r'href="(/reports/trainees/[^"]+)">([\d.]+)</a>', html)
    assert len(links) >= 6 + 4 * 2  # the funnel, active and stuck, and each course's row
    for href, number in links:
        listed = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        count = int(re.search(r'class="list-count">(\d+)', listed).group(1))
        rows = listed.count('<li class="card">')
        assert count == int(number.replace(".", "")), href
        assert rows == min(count, 50), href


def test_the_dashboard_is_the_programme_staffs_only(app, client, auth):
    for role in (Role.TRAINEE, Role.INSTRUCTOR):
        user = make_user(role)
        auth.login(user.phone)
        assert client.get("/reports").status_code == 403
        assert client.get("/reports/trainees/enrolled").status_code == 403
        auth.logout()
    assert client.get("/reports").status_code == 302  # to the login page


def test_bad_periods_and_figures_get_a_vietnamese_answer_not_an_error(app, client, auth):
    auth.login(make_organizer(phone="0912888002").phone)
    html = client.get("/reports?date_from=2026-12-01&date_to=2026-11-01").get_data(as_text=True)
    assert "Ngày kết thúc không được trước ngày bắt đầu" in html
    assert client.get("/reports?date_from=hôm-qua").status_code == 200
    assert client.get("/reports/trainees/everyone").status_code == 404
    assert client.get("/reports/trainees/enrolled?course=abc").status_code == 400
    assert client.get("/reports/trainees/enrolled?course=999999").status_code == 404
