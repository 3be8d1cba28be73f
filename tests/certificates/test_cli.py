import json

from lms.certificates import documents, services
from lms.core.extensions import db
from tests.factories import (
    certificate_of,
    completed_trainee,
    make_cohort,
    make_course,
    make_organizer,
    make_trainee,
)


def test_issue_for_a_cohort_prints_how_many(runner):
    course = make_course()
    services.save_template(course, auto_issue=False)
    cohort = make_cohort(course, members=[completed_trainee(course), completed_trainee(course),
                                          make_trainee(enrolled_in=course)])
    result = runner.invoke(args=["certificates", "issue", "--cohort", cohort.code.lower()])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 certificates issued for PX-VBBH-01")
    again = runner.invoke(args=["certificates", "issue", "--cohort", cohort.code])
    assert again.output.startswith("0 certificates issued") and "2 already had one" in again.output
    assert runner.invoke(args=["certificates", "issue", "--cohort", "NOPE"]).exit_code != 0


def test_list_filters_by_cohort_and_phone_as_table_or_json(runner):
    course = make_course()
    first = completed_trainee(course, full_name="Nguyễn Thị Hường")
    second = completed_trainee(course, full_name="Đặng Quốc Bảo")
    make_cohort(course, members=[first])
    result = runner.invoke(args=["certificates", "list", "--format", "json", "--phone", second.phone])
    rows = json.loads(result.output)
    assert [r["holder"] for r in rows] == ["Đặng Quốc Bảo"]
    assert rows[0]["serial"] == certificate_of(second, course).serial and rows[0]["status"] == "valid"
    table = runner.invoke(args=["certificates", "list", "--cohort", "PX-VBBH-01"]).output
    assert "Nguyễn Thị Hường" in table and "Đặng Quốc Bảo" not in table and table.rstrip().endswith("1 certificates")


def test_verify_checks_a_signed_file_offline(runner, tmp_path):
    course = make_course()
    certificate = certificate_of(completed_trainee(course), course)
    signed = tmp_path / "certificate.json"
    signed.write_text(json.dumps(documents.signed_document(certificate, "http://localhost/"), ensure_ascii=False),
                      encoding="utf-8")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(documents.published_keys()))

    result = runner.invoke(args=["certificates", "verify", str(signed)])
    assert result.exit_code == 0 and result.output.startswith("VALID")
    assert runner.invoke(args=["certificates", "verify", str(signed), "--keys", str(keys)]).exit_code == 0

    tampered = json.loads(signed.read_text(encoding="utf-8"))
    tampered["credentialSubject"]["name"] = "Người khác"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify", str(bad)])
    assert result.exit_code == 1 and result.output.startswith("NOT VALID")
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\xff not json")
    assert runner.invoke(args=["certificates", "verify", str(junk)]).exit_code == 1


def test_rotate_key_keeps_old_files_verifying(runner, tmp_path):
    course = make_course()
    certificate = certificate_of(completed_trainee(course), course)
    old_document = documents.signed_document(certificate, "http://localhost/")
    signed = tmp_path / "old.json"
    signed.write_text(json.dumps(old_document), encoding="utf-8")
    result = runner.invoke(args=["certificates", "rotate-key"])
    assert result.exit_code == 0 and old_document["proof"]["keyId"] in result.output
    assert runner.invoke(args=["certificates", "verify", str(signed)]).exit_code == 0
    assert documents.signed_document(certificate, "http://localhost/")["proof"]["keyId"] != old_document["proof"]["keyId"]


def test_a_revoked_certificate_file_does_not_verify(runner, tmp_path):
    course = make_course()
    certificate = certificate_of(completed_trainee(course), course)
    services.revoke_certificate(certificate, by=make_organizer(), reason="Sai tên")
    db.session.commit()
    signed = tmp_path / "revoked.json"
    signed.write_text(json.dumps(documents.signed_document(certificate, "http://localhost/")), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify", str(signed)])
    assert result.exit_code == 1 and "revoked" in result.output


def test_a_file_naming_a_key_twice_does_not_verify(runner, tmp_path):
    course = make_course()
    certificate = certificate_of(completed_trainee(course, full_name="Nguyễn Thị Hường"), course)
    text = json.dumps(documents.signed_document(certificate, "http://localhost/"), ensure_ascii=False)
    # A reader that keeps the first value sees another holder; the signature covers the last one.
    forged = text.replace('"name": "Nguyễn Thị Hường"', '"name": "Kẻ Giả Mạo", "name": "Nguyễn Thị Hường"', 1)
    assert forged != text
    signed = tmp_path / "certificate.json"
    signed.write_text(forged, encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify", str(signed)])
    assert result.exit_code == 1 and result.output.startswith("NOT VALID") and '"name"' in result.output
