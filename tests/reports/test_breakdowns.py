"""The breakdowns by class, place and craft: hand counts, every number a link to a list as long, sorting, scope."""

import re
from datetime import timedelta

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.cohorts import services as cohorts
from lms.core.extensions import db
from lms.learning.models import Enrollment
from lms.reports import figures
from lms.reports.access import scope_of
from lms.reports.figures import NO_COMMUNE, Figure
from tests.factories import make_organizer, make_user
from tests.reports.test_figures import _programme

CHUYEN_MY, PHU_XUYEN_HN, PHU_XUYEN_TN = 10330, 10273, 5773
HA_NOI, THAI_NGUYEN = 1, 19


def _places_and_classes():
    """The programme of test_figures, its trainees given places, crafts and classes; return what _programme does."""
    period, course, other_course, people, both = _programme()
    homes = {"completed_certified": (CHUYEN_MY, "Thôn Chuyên", "Khảm trai Hường"),
             "left_during": (CHUYEN_MY, "Thôn Chuyên", "Khảm trai Hường"),
             "completed_before": (CHUYEN_MY, "Thôn Mỹ", ""),
             "revoked": (CHUYEN_MY, None, None),
             "reissued": (PHU_XUYEN_HN, "Thôn Phú", "Hương Phú Xuyên"),
             "stuck": (PHU_XUYEN_TN, "Xóm Núi", "Chè Thái"),
             "active": (PHU_XUYEN_TN, "Xóm Núi", "Chè Thái"),
             "opened_only": (None, None, "Chè Thái")}
    for name, (commune, village, craft) in homes.items():
        trainee = people[name]
        trainee.commune_code, trainee.village, trainee.business_name = commune, village, craft
    both.commune_code, both.village, both.business_name = CHUYEN_MY, "Thôn Chuyên", "Khảm trai Hường"
    first = cohorts.create_cohort(code="PX-A-01", course=course, name="Lớp A một", commune_code=CHUYEN_MY)
    second = cohorts.create_cohort(code="PX-A-02", course=course, name="Lớp A hai", commune_code=PHU_XUYEN_TN)
    third = cohorts.create_cohort(code="PX-B-01", course=other_course, name="Lớp B", commune_code=CHUYEN_MY)
    for cohort, names in ((first, ("completed_certified", "revoked", "completed_before")), (second, ("stuck", "active"))):
        for name in names:
            cohorts.add_member(cohort, people[name], check_capacity=False)
    for cohort in (first, second, third):  # "both" is in two classes of one course, and one of the other
        cohorts.add_member(cohort, both, check_capacity=False)
    withdrawn, _ = cohorts.add_member(second, people["opened_only"], check_capacity=False)
    cohorts.withdraw_member(withdrawn)
    db.session.commit()
    return period, course, other_course, people, both, (first, second, third)


def _args(period) -> str:
    return f"date_from={period.first.isoformat()}&date_to={period.last.isoformat()}"


def _links_match_their_lists(client, url: str) -> int:
    """Open every list a page's numbers link to; check each is as long as its number; return how many."""
    response = client.get(url)
    assert response.status_code == 200, url
    links = re.findall(r'href="(/reports/trainees/[^"]+)">([\d.]+)</a>', response.get_data(as_text=True))
    for href, number in links:
        listed = client.get(href.replace("&amp;", "&"))
        assert listed.status_code == 200, href
        html = listed.get_data(as_text=True)
        count = int(re.search(r'class="list-count">(\d+)', html).group(1))
        assert count == int(number.replace(".", "")), href
        assert html.count('<li class="card">') == min(count, 50), href
    return len(links)


def _row(html: str, table: str, name: str) -> list[int]:
    """Return the numbers of one row of a dashboard table."""
    body = re.search(rf'id="{table}-table".*?</table>', html, re.S).group(0)
    row = re.search(rf'<th scope="row">(?:<a[^>]*>)?{re.escape(name)}(?:</a>)?</th>(.*?)</tr>', body, re.S).group(1)
    return [int(n) for n in re.findall(r">(\d+)</a>", row)]


def test_classes_count_their_members_enrolments_a_trainee_in_two_classes_in_both(app):
    period, course, other_course, people, both, (first, second, third) = _places_and_classes()
    table = figures.by_class(list(Figure), period)
    # By hand ("opened_only" withdrew from the second class; joining a class enrols, so nobody who left is in one).
    assert table[first.id][Figure.ENROLLED] == 4  # completed_certified, revoked, completed_before, both
    assert table[first.id][Figure.CERTIFIED] == 2  # revoked's certificate was revoked in the period
    assert table[second.id][Figure.ENROLLED] == 3  # stuck, active, both
    assert table[third.id][Figure.ENROLLED] == 1  # both, in the other course
    for cohort in (first, second, third):
        for figure in Figure:
            assert table[cohort.id][figure] == figures.count(figure, period, cohort_id=cohort.id)
    # "both" is one enrolment in the course, listed in each of its two classes.
    for cohort in (first, second):
        assert both.id in {e.user_id for e in db.session.scalars(figures.enrolments(Figure.ENROLLED, period,
                                                                                    cohort_id=cohort.id))}


def test_places_and_crafts_add_up_and_equal_their_lists(app):
    period, *_rest = _places_and_classes()
    communes = figures.by_commune(list(Figure), period)
    provinces = figures.by_province(communes)
    assert provinces[HA_NOI][Figure.ENROLLED] == 7  # Chuyên Mỹ: 4 in the course and "both" twice; Phú Xuyên HN: 1
    assert provinces[THAI_NGUYEN][Figure.ENROLLED] == 2
    assert provinces[NO_COMMUNE][Figure.ENROLLED] == 1
    for code, counts in provinces.items():
        if code != NO_COMMUNE:
            assert all(counts[f] == figures.count(f, period, province_code=code) for f in Figure)
    villages = figures.by_village(list(Figure), period, CHUYEN_MY)
    assert villages["Thôn Chuyên"][Figure.ENROLLED] == 4  # completed_certified, left_during, both ×2
    assert villages["Thôn Mỹ"][Figure.ENROLLED] == 1 and villages[""][Figure.ENROLLED] == 1
    for village, counts in villages.items():
        assert counts[Figure.ENROLLED] == figures.count(Figure.ENROLLED, period, commune_code=CHUYEN_MY,
                                                        village=village)
    crafts = figures.by_craft(list(Figure), period)
    assert crafts["Khảm trai Hường"][Figure.ENROLLED] == 4 and crafts["Chè Thái"][Figure.ENROLLED] == 3
    assert crafts[""][Figure.ENROLLED] == 2  # written "" and never given alike
    assert sum(c[Figure.ENROLLED] for c in crafts.values()) == figures.count(Figure.ENROLLED, period)
    for craft, counts in crafts.items():
        assert all(counts[f] == figures.count(f, period, craft=craft) for f in Figure)


def test_every_breakdown_number_links_to_a_list_as_long_at_every_level(app, client, auth):
    period, course, _other, _people, _both, (first, _second, _third) = _places_and_classes()
    auth.login(make_organizer(phone="0912888301").phone)
    html = client.get(f"/reports?{_args(period)}").get_data(as_text=True)
    assert _row(html, "by-class", "PX-A-01 · Lớp A một")[0] == 4
    assert _row(html, "by-class", "PX-A-02 · Lớp A hai")[0] == 3
    assert _row(html, "by-place", "Thành phố Hà Nội")[0] == 7
    assert _row(html, "by-place", "Chưa ghi xã/phường")[0] == 1
    assert _row(html, "by-craft", "Chè Thái")[0] == 3
    assert _row(html, "by-craft", "Khảm trai Hường")[0] == 4
    checked = _links_match_their_lists(client, f"/reports?{_args(period)}")
    assert checked >= 6 + 4 * (2 + 3 + 3 + 4)  # the funnel and cards; courses, classes, provinces, crafts
    drilled = client.get(f"/reports?{_args(period)}&province={HA_NOI}").get_data(as_text=True)
    assert _row(drilled, "by-place", "Xã Chuyên Mỹ")[0] == 6 and _row(drilled, "by-place", "Xã Phú Xuyên")[0] == 1
    assert f"commune={CHUYEN_MY}#by-place" in drilled
    assert _links_match_their_lists(client, f"/reports?{_args(period)}&province={HA_NOI}") >= 6 + 4 * 2
    villages = client.get(f"/reports?{_args(period)}&commune={CHUYEN_MY}").get_data(as_text=True)
    assert _row(villages, "by-place", "Thôn Chuyên")[0] == 4
    assert _row(villages, "by-place", "Chưa ghi thôn/xóm")[0] == 1
    assert _links_match_their_lists(client, f"/reports?{_args(period)}&commune={CHUYEN_MY}") >= 6 + 4 * 3
    assert _links_match_their_lists(client, f"/reports?{_args(period)}&craft_page=1") >= 6 + 4 * 4


def test_tables_sort_by_any_column_and_ignore_what_is_not_one(app, client, auth):
    period, *_rest = _places_and_classes()
    auth.login(make_organizer(phone="0912888302").phone)
    html = client.get(f"/reports?{_args(period)}&sort=enrolled&dir=desc").get_data(as_text=True)
    body = re.search(r'id="by-craft-table".*?</table>', html, re.S).group(0)
    names = re.findall(r'<th scope="row">([^<]+)</th>', body)
    assert names == ["Khảm trai Hường", "Chè Thái", "Hương Phú Xuyên", "Chưa ghi nghề/cơ sở"]  # 4, 3, 1; none last
    header = re.search(r'<th scope="col" aria-sort="descending">\s*<a class="sort-link" href="([^"]+)"', body)
    # The sorted header's link turns the order round and keeps the period.
    assert "sort=enrolled" in header.group(1) and "dir=asc" in header.group(1)
    assert f"date_from={period.first.isoformat()}" in header.group(1)
    ascending = client.get(f"/reports?{_args(period)}&sort=enrolled&dir=asc").get_data(as_text=True)
    body = re.search(r'id="by-craft-table".*?</table>', ascending, re.S).group(0)
    assert re.findall(r'<th scope="row">([^<]+)</th>', body)[0] == "Hương Phú Xuyên"
    by_rate = client.get(f"/reports?{_args(period)}&sort=attendance&dir=desc")
    assert by_rate.status_code == 200 and 'aria-sort="descending"' in by_rate.get_data(as_text=True)
    for bad in ("sort=DROP%20TABLE&dir=desc", "sort=enrolled&dir=sideways", "sort=&dir=", "sort=__class__"):
        response = client.get(f"/reports?{_args(period)}&{bad}")
        assert response.status_code == 200, bad
    plain = client.get(f"/reports?{_args(period)}&sort=nonsense").get_data(as_text=True)
    body = re.search(r'id="by-class-table".*?</table>', plain, re.S).group(0)
    assert re.findall(r'<th scope="row">([^<]+)</th>', body) == ["PX-A-01 · Lớp A một", "PX-A-02 · Lớp A hai",
                                                                 "PX-B-01 · Lớp B"]
    assert re.search(r'aria-sort="ascending">\s*<a class="sort-link" href="[^"]*sort=name', body)
    # Crafts are many: with no order chosen, the largest first, and the header says so.
    body = re.search(r'id="by-craft-table".*?</table>', plain, re.S).group(0)
    assert re.findall(r'<th scope="row">([^<]+)</th>', body)[:3] == ["Khảm trai Hường", "Chè Thái", "Hương Phú Xuyên"]
    assert re.search(r'aria-sort="descending">\s*<a class="sort-link" href="[^"]*sort=enrolled&amp;dir=asc', body)
    by_name = client.get(f"/reports?{_args(period)}&sort=name&dir=asc").get_data(as_text=True)
    body = re.search(r'id="by-craft-table".*?</table>', by_name, re.S).group(0)
    assert re.findall(r'<th scope="row">([^<]+)</th>', body)[:3] == ["Chè Thái", "Hương Phú Xuyên", "Khảm trai Hường"]


def test_bad_breakdown_values_are_404_not_500(app, client, auth):
    period, *_rest = _places_and_classes()
    auth.login(make_organizer(phone="0912888303").phone)
    for url in ("/reports?province=99", "/reports?commune=999999", "/reports/trainees/enrolled?cohort=999999",
                "/reports/trainees/enrolled?province=99", "/reports/trainees/enrolled?village=" + "x" * 200,
                "/reports/trainees/enrolled?craft=%20Ch%C3%A8"):
        assert client.get(url).status_code == 404, url
    for url in ("/reports?province=abc", "/reports/trainees/enrolled?cohort=1x"):
        assert client.get(url).status_code == 400, url
    assert client.get("/reports/trainees/enrolled?village=&commune=0").status_code == 200


def test_an_official_s_breakdowns_and_lists_count_their_commune_only(app, client, auth):
    period, course, _other, people, both, (first, second, _third) = _places_and_classes()
    official = make_user(Role.OFFICIAL)
    accounts.set_staff_places(official, communes=[CHUYEN_MY], provinces=())
    db.session.commit()
    scope = scope_of(official)
    assert figures.by_class([Figure.ENROLLED], period, scope=scope)[second.id][Figure.ENROLLED] == 1  # only "both"
    auth.login(official.phone)
    html = client.get(f"/reports?{_args(period)}").get_data(as_text=True)
    assert _row(html, "by-place", "Thành phố Hà Nội")[0] == 6
    assert "Thái Nguyên" not in html and "Chưa ghi xã/phường" not in html and "Chè Thái" not in html
    assert _row(html, "by-class", "PX-A-02 · Lớp A hai")[0] == 1
    assert _links_match_their_lists(client, f"/reports?{_args(period)}") >= 6 + 4 * 3
    assert _links_match_their_lists(client, f"/reports?{_args(period)}&commune={CHUYEN_MY}") >= 6 + 4 * 2
    listed = client.get(f"/reports/trainees/enrolled?{_args(period)}&cohort={second.id}").get_data(as_text=True)
    assert re.search(r'class="list-count">1 ', listed) and listed.count('<li class="card">') == 1
    outside = cohorts.create_cohort(code="TN-01", course=course, name="Lớp Thái Nguyên", commune_code=PHU_XUYEN_TN)
    cohorts.add_member(outside, people["stuck"], check_capacity=False)
    db.session.commit()
    for url in (f"/reports?province={THAI_NGUYEN}", f"/reports?commune={PHU_XUYEN_HN}",
                f"/reports/trainees/enrolled?cohort={outside.id}",
                f"/reports/trainees/enrolled?province={THAI_NGUYEN}", "/reports/trainees/enrolled?commune=0"):
        assert client.get(url).status_code == 404, url


def _queries(client, url: str) -> int:
    """Return how many SQL statements answering the page took."""
    statements = []

    def count(*_args):
        statements.append(1)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_dashboard_takes_as_many_queries_however_many_rows_it_shows(app, client, auth):
    period, course, other_course, *_rest = _places_and_classes()
    auth.login(make_organizer(phone="0912888304").phone)
    urls = [f"/reports?{_args(period)}", f"/reports?{_args(period)}&province={HA_NOI}",
            f"/reports?{_args(period)}&commune={CHUYEN_MY}"]
    before = [_queries(client, url) for url in urls]
    from tests.factories import make_trainee

    for i in range(4):  # more classes, villages, crafts and communes
        cohort = cohorts.create_cohort(code=f"PX-C-{i}", course=other_course, name=f"Lớp thêm {i}")
        for commune in (CHUYEN_MY, PHU_XUYEN_HN):
            trainee = make_trainee(enrolled_in=other_course, commune_code=commune, village=f"Thôn {i}",
                                   business_name=f"Nghề {i}")
            cohorts.add_member(cohort, trainee, check_capacity=False)
    db.session.flush()
    db.session.execute(sa.update(Enrollment).where(Enrollment.enrolled_at > period.end)
                       .values(enrolled_at=period.start + timedelta(days=1)))
    db.session.commit()
    html = client.get(urls[0]).get_data(as_text=True)
    assert "Lớp thêm 3" in html and "Nghề 3" in html  # the new rows are shown
    assert "Thôn 3" in client.get(urls[2]).get_data(as_text=True)
    assert [_queries(client, url) for url in urls] == before


def test_long_class_and_craft_tables_come_a_page_at_a_time(app, client, auth):
    from lms.reports.views import TABLE_ROWS
    from tests.factories import make_course, make_trainee

    course = make_course("khoa-nhieu-lop")
    for i in range(TABLE_ROWS + 3):  # one more page of classes and of crafts
        cohort = cohorts.create_cohort(code=f"PX-N-{i:02d}", course=course, name=f"Lớp {i:02d}")
        trainee = make_trainee(enrolled_in=course, business_name=f"Nghề {i:02d}")
        cohorts.add_member(cohort, trainee, check_capacity=False)
    db.session.commit()
    auth.login(make_organizer(phone="0912888305").phone)
    html = client.get("/reports?sort=name").get_data(as_text=True)
    classes = re.search(r'id="by-class-table".*?</table>', html, re.S).group(0)
    assert classes.count('<th scope="row">') == TABLE_ROWS and "PX-N-00" in classes and "PX-N-22" not in classes
    assert f"Dòng 1–{TABLE_ROWS} trong {TABLE_ROWS + 3}" in html
    second = client.get("/reports?sort=name&class_page=2").get_data(as_text=True)
    classes = re.search(r'id="by-class-table".*?</table>', second, re.S).group(0)
    assert classes.count('<th scope="row">') == 3 and "PX-N-22" in classes
    crafts = client.get("/reports?craft_page=2").get_data(as_text=True)
    assert re.search(r'id="by-craft-table".*?</table>', crafts, re.S).group(0).count('<th scope="row">') == 3
    assert _links_match_their_lists(client, "/reports?sort=name&class_page=2") >= 4 * 3
    assert client.get("/reports?class_page=999").status_code == 200  # past the end: the last page
    for bad in ("0", "-1", "x", "9" * 20):
        assert client.get(f"/reports?class_page={bad}").status_code == 400, bad
