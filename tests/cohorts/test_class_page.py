"""The class page with big classes: a page of trainees at a time, searchable, in class-list order."""

import re
from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa

from lms.accounts.models import Role, User
from lms.cohorts import services
from lms.cohorts.models import CohortMember, MemberStatus
from lms.core.extensions import db
from tests.cohorts.test_cohorts import make_cohort
from tests.factories import make_trainee, make_user

GIVEN = ["Hường", "Lan", "Ánh", "Bình", "Dũng", "Đức", "Hạnh", "Minh", "Ngọc", "Phương", "Thảo", "Yến"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]


def add_many(cohort, count: int, *, first_id: int = 10_000) -> None:
    """Put `count` generated trainees into the class with bulk inserts (services would take minutes for 4,500)."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    db.session.execute(sa.insert(User), [
        {"id": first_id + n, "full_name": f"{FAMILY[n % 10]} Thị {GIVEN[n // 10 % 12]}", "phone": f"098{first_id + n:07d}",
         "village": "Chuôn Ngọ", "created_at": now} for n in range(count)])
    db.session.execute(sa.insert(CohortMember), [
        {"cohort_id": cohort.id, "user_id": first_id + n, "status": MemberStatus.ACTIVE, "joined_at": now}
        for n in range(count)])
    db.session.commit()


def names_on(html: str) -> list[str]:
    section = html[html.index('id="members"'):]
    return re.findall(r'<li class="card">\s*<strong>([^<]+)</strong>', section)


@pytest.fixture
def organizer_on(client, auth, app):
    def log_in():
        auth.login(make_user(Role.ORGANIZER).phone)
        return client
    return log_in


def test_a_big_class_shows_fifty_trainees_a_page_in_class_list_order(organizer_on):
    cohort = make_cohort()
    add_many(cohort, 120)
    client = organizer_on()
    first = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    second = client.get(f"/cohorts/{cohort.code}?page=2").get_data(as_text=True)
    last = client.get(f"/cohorts/{cohort.code}?page=3").get_data(as_text=True)
    assert "Trang 1 / 3" in first and f"/cohorts/{cohort.code}?page=2#members" in first
    assert [len(names_on(html)) for html in (first, second, last)] == [50, 50, 20]
    shown = names_on(first) + names_on(second) + names_on(last)
    # Given names first: every Ánh before any Bình, and "Đỗ Thị Ánh" right after "Bùi Thị Ánh", with the D's.
    assert shown[:12] == ["Bùi Thị Ánh", "Đặng Thị Ánh", "Đỗ Thị Ánh", "Hoàng Thị Ánh", "Lê Thị Ánh", "Ngô Thị Ánh",
                          "Nguyễn Thị Ánh", "Phạm Thị Ánh", "Trần Thị Ánh", "Vũ Thị Ánh", "Bùi Thị Bình",
                          "Đặng Thị Bình"]
    assert "120" in first  # the class's size, not the page's


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999999", "7"])
def test_any_page_number_gives_a_page(organizer_on, page):
    cohort = make_cohort()
    add_many(cohort, 60)
    response = organizer_on().get(f"/cohorts/{cohort.code}?page={page}")
    assert response.status_code == 200
    assert len(names_on(response.get_data(as_text=True))) in (50, 10)


def test_search_by_name_without_tones_or_by_the_end_of_the_phone(organizer_on):
    cohort = make_cohort()
    add_many(cohort, 120)
    hong = make_trainee(full_name="Trịnh Thị Hồng", phone="0977123456")
    services.add_member(cohort, hong)
    db.session.commit()
    client = organizer_on()
    found = client.get(f"/cohorts/{cohort.code}?q=huong").get_data(as_text=True)
    assert len(names_on(found)) == 10 and set(names_on(found)) == {f"{f} Thị Hường" for f in FAMILY}
    assert "10 trên 121 học viên khớp với “huong”." in found
    assert names_on(client.get(f"/cohorts/{cohort.code}?q=0977+123+456").get_data(as_text=True)) == ["Trịnh Thị Hồng"]
    assert names_on(client.get(f"/cohorts/{cohort.code}?q=123456").get_data(as_text=True)) == ["Trịnh Thị Hồng"]
    nobody = client.get(f"/cohorts/{cohort.code}?q=xyz").get_data(as_text=True)
    assert names_on(nobody) == [] and "Không có ai trong lớp này khớp với “xyz”." in nobody
    # The search goes on to the next page.
    many = client.get(f"/cohorts/{cohort.code}?q=thi").get_data(as_text=True)
    assert f"/cohorts/{cohort.code}?page=2&amp;q=thi#members" in many


def test_a_class_of_4500_has_a_light_first_page_and_no_query_per_trainee(organizer_on, app):
    cohort = make_cohort()
    add_many(cohort, 4500)
    client = organizer_on()
    statements = []

    def count(*_args):
        statements.append(1)

    client.get(f"/cohorts/{cohort.code}")
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = client.get(f"/cohorts/{cohort.code}").get_data()
        small = len(statements)
        statements.clear()
        add_many(cohort, 30, first_id=20_000)
        statements.clear()
        client.get(f"/cohorts/{cohort.code}?page=2")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(html) < 100_000
    assert "4500" in html.decode() or "4.500" in html.decode()
    assert len(statements) == small <= 14  # 12, and the class's programme figures (one query, and the reader's places)


def test_a_class_with_many_sessions_lists_the_next_ones_and_links_to_all(organizer_on):
    cohort = make_cohort()
    services.add_weekly_sessions(cohort, first_day=date(2020, 1, 6), weekdays={0, 2, 4}, start=time(19),
                                 end=time(21), count=60)
    services.add_weekly_sessions(cohort, first_day=date(2099, 1, 5), weekdays={0, 2, 4}, start=time(19),
                                 end=time(21), count=60)
    db.session.commit()
    client = organizer_on()
    html = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    cards = re.findall(r'<li class="card[^"]*">\s*<strong>([^<]+)</strong>', html[:html.index('id="members"')])
    assert len(cards) == services.SESSIONS_SHOWN
    # The two last held, then the first upcoming ones (in 2099).
    assert "2020" in cards[0] and "2020" in cards[1] and all("2099" in card for card in cards[2:])
    assert "12 trên 120 buổi học" in html and f"/cohorts/{cohort.code}?sessions=all#sessions" in html
    everything = client.get(f"/cohorts/{cohort.code}?sessions=all").get_data(as_text=True)
    assert everything.count("/attendance\"") >= 0 and len(re.findall(
        r'<li class="card[^"]*">\s*<strong>', everything[:everything.index('id="members"')])) == 120
