"""Only paths of this site are followed after login or from a message, however they are disguised."""

import pytest

from lms.core.urls import same_site_path
from tests.factories import make_trainee

ESCAPES = [
    "/\t/evil.example/", "/%09/evil.example/", "/\n/evil.example", "/%0a/evil.example", "/\r/evil.example",
    "/\\evil.example", "/%5cevil.example", "\\\\evil.example", "//evil.example", "%2F%2Fevil.example",
    "/%2F/evil.example", "https://evil.example/", "javascript:alert(1)", "http:/evil.example", " //evil.example",
    "/\x00/evil.example", "/\u200b/evil.example", "evil.example", "", None,
]


@pytest.mark.parametrize("target", ESCAPES)
def test_a_disguised_address_elsewhere_is_refused(target):
    assert same_site_path(target) is None


@pytest.mark.parametrize("target", ["/", "/courses", "/courses/viet-bai?tab=2#phan-1", "/cohorts/PX-01?q=Nguy%E1%BB%85n",
                                    "/khoá-học/bài-1"])
def test_a_path_of_this_site_is_kept(target):
    assert same_site_path(target) == target


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/\t/evil.example/", "/\\evil.example"])
def test_logging_in_never_leaves_the_site(client, app, target):
    trainee = make_trainee(phone="0912000111")
    client.get("/login")
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"phone": trainee.phone, "password": "secret-pass-1", "csrf_token": token})
    assert response.status_code in (302, 303)
    location = response.headers["Location"]
    assert location in ("/", "http://localhost/"), location
