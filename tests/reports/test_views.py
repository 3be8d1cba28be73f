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


def test_a_list_is_searched_by_name_without_tone_marks_or_by_phone_and_exported_as_it_is_shown(app, client, auth):
    import io

    import openpyxl

    from lms.audit.models import AuditEvent
    from lms.core.extensions import db
    from tests.factories import make_course, make_trainee

    course = make_course("khoa-tim")
    hường = make_trainee(enrolled_in=course, full_name="Nguyễn Thị Hường", phone="0912555101")
    make_trainee(enrolled_in=course, full_name="Trần Văn Phương", phone="0912555202")
    make_trainee(enrolled_in=course, full_name="Lê Thị Đào", phone="0912555303")
    auth.login(make_organizer(phone="0912888003").phone)
    everyone = client.get(f"/reports/trainees/enrolled?course={course.id}").get_data(as_text=True)
    assert re.search(r'class="list-count">3 ', everyone)
    found = client.get(f"/reports/trainees/enrolled?course={course.id}&q=huong").get_data(as_text=True)
    assert "Nguyễn Thị Hường" in found and "Trần Văn Phương" not in found  # word start: "huong" is not in "phuong"
    assert re.search(r'class="list-count">3 ', found)  # the number behind the list stays the figure's
    assert "1 trong 3 khớp với “huong”" in found
    assert "Lê Thị Đào" in client.get(f"/reports/trainees/enrolled?course={course.id}&q=dao").get_data(as_text=True)
    by_phone = client.get(f"/reports/trainees/enrolled?course={course.id}&q=555 202").get_data(as_text=True)
    assert "Trần Văn Phương" in by_phone and "Nguyễn Thị Hường" not in by_phone
    assert "Không có ai khớp" in client.get(
        f"/reports/trainees/enrolled?course={course.id}&q=100%25_").get_data(as_text=True)  # LIKE's wildcards are text
    answer = client.get(f"/reports/trainees/enrolled.xlsx?course={course.id}&q=huong")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "private, no-store"
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Họ và tên" and [r[:2] for r in rows[1:]] == [(hường.full_name, hường.phone)]
    csv_rows = client.get(f"/reports/trainees/enrolled.csv?course={course.id}").get_data(as_text=True).splitlines()
    assert len(csv_rows) == 1 + 3
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.object_ref.like("enrolled:%"))).all()
    assert sorted(e.object_ref for e in events) == ["enrolled:csv", "enrolled:xlsx"]


def test_a_renamed_trainee_is_found_by_the_new_name_only(app, client, auth):
    from lms.accounts import services as accounts
    from lms.core.extensions import db
    from tests.factories import make_course, make_trainee

    course = make_course("khoa-doi-ten")
    trainee = make_trainee(enrolled_in=course, full_name="Nguyễn Thị Hường")
    accounts.update_profile(trainee, full_name="Phạm Thị Yến", email=None, date_of_birth=None,
                            commune_code=trainee.commune_code, village=None, business_name=None)
    db.session.commit()
    auth.login(make_organizer(phone="0912888004").phone)
    assert "Phạm Thị Yến" in client.get("/reports/trainees/enrolled?q=yen").get_data(as_text=True)
    assert "Không có ai khớp" in client.get("/reports/trainees/enrolled?q=huong").get_data(as_text=True)
