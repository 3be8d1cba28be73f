import copy
import json
import os
import stat
import unicodedata
from datetime import date

import pytest

from lms.certificates import services
from lms.certificates.signing import (
    KeyRing,
    canonical_bytes,
    check_certificate_document,
    keyring_for,
    verify_signature,
)
from lms.core.db import utcnow
from tests.certificates.helpers import certificate_of, completed_trainee, make_organizer
from tests.factories import make_course

BASE = "https://langso.example.vn/"


@pytest.fixture
def certificate(app):
    course = make_course()
    course.estimated_hours = 24
    return certificate_of(completed_trainee(course, full_name="Nguyễn Thị Hường"), course)


def test_the_signed_document_verifies_offline_with_the_published_keys(app, certificate):
    document = services.signed_document(certificate, BASE)
    # Through JSON text and back, as a downloaded file would be.
    document = json.loads(json.dumps(document, ensure_ascii=False))
    keys = json.loads(json.dumps(services.published_keys()))
    assert verify_signature(document, keys).ok
    assert check_certificate_document(document, keys).ok
    assert document["credentialSubject"]["name"] == "Nguyễn Thị Hường"
    assert document["credentialSubject"]["achievement"]["hours"] == 24
    assert document["serialNumber"] == certificate.serial
    assert document["id"] == f"{BASE}verify/{certificate.code}"
    assert document["proof"]["keyId"] in keys["keys"]


def test_the_document_says_nothing_private(app, certificate):
    holder = certificate.user
    holder.date_of_birth, holder.village = date(1980, 5, 17), "Thôn Chuôn Ngọ"
    text = json.dumps(services.signed_document(certificate, BASE), ensure_ascii=False)
    assert holder.phone not in text and "1980" not in text and "Chuôn Ngọ" not in text


@pytest.mark.parametrize("path, value", [
    (("credentialSubject", "name"), "Nguyễn Thị Hương"),
    (("credentialSubject", "achievement", "name"), "Khoá khác"),
    (("credentialSubject", "achievement", "hours"), 240),
    (("credentialStatus", "status"), "valid "),
    (("validFrom",), "2020-01-01T00:00:00Z"),
    (("serialNumber",), "LS-2026-999999"),
    (("issuer", "name"), "Một tổ chức khác"),
    (("proof", "created"), "2099-01-01T00:00:00Z"),
])
def test_tampering_with_any_field_breaks_the_signature(app, certificate, path, value):
    document = services.signed_document(certificate, BASE)
    keys = services.published_keys()
    tampered = copy.deepcopy(document)
    target = tampered
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert not verify_signature(tampered, keys).ok
    assert not check_certificate_document(tampered, keys).ok


def test_a_missing_or_foreign_proof_is_not_valid(app, certificate):
    document = services.signed_document(certificate, BASE)
    keys = services.published_keys()
    without = {k: v for k, v in document.items() if k != "proof"}
    assert not verify_signature(without, keys).ok
    other_key = copy.deepcopy(document)
    other_key["proof"]["keyId"] = "unknown"
    assert not verify_signature(other_key, keys).ok
    garbage = copy.deepcopy(document)
    garbage["proof"]["signature"] = "not base64!"
    assert not verify_signature(garbage, keys).ok
    assert not verify_signature("not a document", keys).ok


def test_a_revoked_or_expired_certificate_is_signed_but_not_valid(app, certificate):
    keys = services.published_keys()
    certificate.expires_at = utcnow()
    expired = services.signed_document(certificate, BASE)
    assert verify_signature(expired, keys).ok and not check_certificate_document(expired, keys).ok
    certificate.expires_at = None
    services.revoke_certificate(certificate, by=make_organizer(), reason="Sai tên")
    revoked = services.signed_document(certificate, BASE)
    assert revoked["credentialStatus"]["revocationReason"] == "Sai tên"
    assert verify_signature(revoked, keys).ok
    result = check_certificate_document(revoked, keys)
    assert not result.ok and "revoked" in result.reason


def test_the_private_key_is_created_once_and_readable_only_by_the_owner(app):
    ring = keyring_for(app)
    kid = ring.ensure()
    assert ring.ensure() == kid
    key_file = ring.folder / f"{kid}.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert ring.folder.is_relative_to(app.instance_path)


def test_rotation_keeps_old_certificates_verifying(app, certificate):
    old_document = services.signed_document(certificate, BASE)
    ring = keyring_for(app)
    new_kid, old_kid = ring.rotate()
    assert old_kid == old_document["proof"]["keyId"] and new_kid != old_kid
    assert not (ring.folder / f"{old_kid}.pem").exists()
    keys = services.published_keys()
    assert keys["active"] == new_kid and keys["keys"][old_kid]["retired"]
    assert check_certificate_document(old_document, keys).ok
    new_document = services.signed_document(certificate, BASE)
    assert new_document["proof"]["keyId"] == new_kid
    assert check_certificate_document(new_document, keys).ok


def test_canonical_form_is_independent_of_key_order_and_normalisation():
    a = {"b": 1, "a": unicodedata.normalize("NFD", "Hường")}
    b = {"a": "Hường", "b": 1}
    assert canonical_bytes(a) == canonical_bytes(b) == '{"a":"Hường","b":1}'.encode()


def test_two_key_rings_do_not_share_keys(tmp_path):
    first, second = KeyRing(tmp_path / "a"), KeyRing(tmp_path / "b")
    first_keys, second_keys = first.published()["keys"], second.published()["keys"]
    assert len(first_keys) == len(second_keys) == 1
    assert next(iter(first_keys.values()))["public_key"] != next(iter(second_keys.values()))["public_key"]
