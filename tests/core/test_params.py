"""Huge numbers, negative numbers and words in URLs and query strings: 400 or 404, never a 500."""

import pytest
from werkzeug.routing import IntegerConverter

from lms.accounts.models import Role
from lms.core.params import BoundedIntConverter
from tests.conftest import csrf_token
from tests.factories import make_course, make_user

HUGE = "99999999999999999999"  # past 2^64: SQLite's and psycopg's integers overflow on it
BAD_NUMBERS = [HUGE, str(2**63), str(2**31), "-1", "abc", "1e3"]


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]
        if ints:
            yield rule, ints


def _url(rule, ints, number, strings):
    url = rule.rule
    for name in ints:
        url = url.replace(f"<int:{name}>", number)
    for name in rule.arguments - set(ints):
        url = url.replace(f"<{name}>", strings.get(name, "x"))
    return url


@pytest.fixture
def logged_in_admin(client, auth):
    make_course(lessons=1)
    admin = make_user(Role.ADMIN, Role.ORGANIZER, Role.INSTRUCTOR)
    auth.login(admin.phone)
    return admin


STRINGS = {"slug": "viet-bai-ban-hang", "lesson_slug": "bai-1", "code": "PX-VBBH-01"}


def test_every_int_in_a_url_is_bounded(app):
    rules = list(_int_rules(app))
    assert len(rules) >= 20
    assert all(isinstance(rule._converters[name], BoundedIntConverter) for rule, ints in rules for name in ints)


def test_bad_numbers_in_any_url_get_404(client, app, logged_in_admin):
    token = csrf_token(client, "/")
    for number in BAD_NUMBERS:
        for rule, ints in _int_rules(app):
            url = _url(rule, ints, number, STRINGS)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})
                assert response.status_code == 404, (method, url, response.status_code)


def test_the_largest_id_reaches_the_view_and_is_not_found(client, app, logged_in_admin):
    for rule, ints in _int_rules(app):
        if "GET" not in rule.methods:
            continue
        url = _url(rule, ints, str(2**31 - 1), STRINGS)
        expected = {200} if url.startswith("/places/") else {403, 404}  # an unknown province has no communes
        assert client.get(url).status_code in expected, url


QUERY_NUMBERS = [
    ("/users", "page"), ("/certificates", "page"), ("/certificates", "course"), ("/certificates", "commune"),
    ("/courses/viet-bai-ban-hang/learners", "page"), ("/courses/viet-bai-ban-hang/lessons/new", "module"),
]


def test_bad_numbers_in_query_strings_get_400(client, logged_in_admin):
    for path, param in QUERY_NUMBERS:
        for value in [HUGE, "-1", "abc", "1_0", "%00", "١"]:
            assert client.get(f"{path}?{param}={value}").status_code == 400, (path, param, value)


def test_good_numbers_in_query_strings_still_work(client, logged_in_admin):
    assert client.get("/users?page=2").status_code == 200
    assert client.get("/users?page=").status_code == 200
    assert client.get("/certificates?course=1&commune=10330&page=100000").status_code == 200


def test_nul_bytes_in_paths_and_searches_are_refused(client, logged_in_admin):
    assert client.get("/courses/viet%00/learners").status_code == 404
    assert client.get("/users?q=a%00b").status_code == 400
