"""A forged Host header never names the issuer of a signed certificate: absolute addresses come from LMS_BASE_URL."""

import pytest

from lms import create_app
from lms.core.config import MissingBaseUrl, base_url, trusted_hosts
from tests.certificates.test_views import issued
from tests.conftest import TEST_CONFIG


@pytest.mark.parametrize("path", ["/verify/{code}.json", "/.well-known/lang-so-keys.json", "/verify/{code}", "/"])
def test_a_request_for_another_host_is_refused_before_anything_is_signed_or_cached(client, path):
    _trainee, certificate = issued()
    response = client.get(path.format(code=certificate.code), headers={"Host": "evil.example"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "evil.example" not in body and "proof" not in body
    assert "Cache-Control" not in response.headers or "public" not in response.headers["Cache-Control"]


def test_the_site_answers_to_its_own_base_url_and_signs_with_it(app, tmp_path):
    site = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "INSTANCE_PATH": app.instance_path, "BASE_URL": "https://langso.example.vn"})
    assert site.config["TRUSTED_HOSTS"] == ["langso.example.vn"]
    with site.app_context():
        _trainee, certificate = issued()
        code = certificate.code
    client = site.test_client()
    document = client.get(f"/verify/{code}.json", headers={"Host": "langso.example.vn"}).get_json()
    assert document["id"] == f"https://langso.example.vn/verify/{code}"
    assert document["issuer"]["id"] == "https://langso.example.vn/"
    assert client.get(f"/verify/{code}.json", headers={"Host": "localhost"}).status_code == 400


def test_production_must_say_its_own_address():
    with pytest.raises(MissingBaseUrl):
        base_url({"LMS_HTTPS": "1"})
    with pytest.raises(MissingBaseUrl):
        base_url({"LMS_BASE_URL": "langso.example.vn"})  # no scheme: not an address
    assert base_url({"LMS_HTTPS": "1", "LMS_BASE_URL": "https://langso.example.vn/"}) == "https://langso.example.vn"
    assert base_url({}) is None  # development: this machine's own names only
    assert trusted_hosts(None) == ["localhost", "127.0.0.1"]
    assert trusted_hosts("https://langso.example.vn", ["langso.vn"]) == ["langso.example.vn", "langso.vn"]
