import io
import json
import zipfile
from datetime import date

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.certificates import services
from lms.certificates.models import Certificate, CertificateBatch, CertificateStatus
from lms.certificates.signing import check_certificate_document
from lms.core.extensions import db, limiter
from tests.certificates.helpers import (
    certificate_of,
    completed_trainee,
    make_cohort,
    make_organizer,
)
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user


def issued(**fields):
    course = fields.pop("course", None) or make_course()
    trainee = completed_trainee(course, **fields)
    return trainee, certificate_of(trainee, course)


# --- Public verification --------------------------------------------------------------------------------


def test_the_verify_page_shows_the_certificate_and_nothing_private(client):
    trainee, certificate = issued(full_name="Nguyễn Thị Hường")
    trainee.date_of_birth, trainee.village = date(1980, 5, 17), "Thôn Chuôn Ngọ"
    db.session.commit()
    response = client.get(f"/verify/{certificate.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nguyễn Thị Hường" in html and certificate.course_title in html and certificate.serial in html
    assert certificate.issuer_name in html and "cert-valid" in html
    assert trainee.phone not in html and trainee.phone[:4] + "***" not in html
    assert "1980" not in html and "Chuôn Ngọ" not in html


def test_an_unknown_or_tampered_code_is_not_valid_and_reveals_nothing(client):
    _trainee, certificate = issued(full_name="Đặng Quốc Bảo")
    tampered = certificate.code[:-1] + ("A" if certificate.code[-1] != "A" else "B")
    for code in (tampered, "nonsense", "ABCD" * 10):
        response = client.get(f"/verify/{code}")
        html = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "cert-invalid" in html and "Đặng Quốc Bảo" not in html and certificate.serial not in html
    assert client.get(f"/verify/{tampered}.json").status_code == 404


def test_a_typed_code_with_dashes_and_lower_case_finds_the_certificate(client):
    _trainee, certificate = issued()
    response = client.get("/verify", query_string={"code": certificate.display_code.lower()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/verify/{certificate.code}")
    assert client.get("/verify").status_code == 200
    typo = client.get("/verify", query_string={"code": "AB/CD ../"}, follow_redirects=True)
    assert typo.status_code == 404 and "cert-invalid" in typo.get_data(as_text=True)


def test_a_revoked_certificate_says_so_with_reason_and_date(client):
    _trainee, certificate = issued()
    services.revoke_certificate(certificate, by=make_organizer(), reason="Cấp nhầm người")
    db.session.commit()
    html = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "cert-revoked" in html and "Cấp nhầm người" in html and "cert-valid" not in html


def test_a_superseded_certificate_points_to_the_new_one(client):
    _trainee, certificate = issued(full_name="Nguyen Thi Huong")
    new = services.reissue_certificate(certificate, by=make_organizer(), holder_name="Nguyễn Thị Hường")
    db.session.commit()
    html = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "cert-superseded" in html and f"/verify/{new.code}" in html and new.serial in html


def test_the_signed_json_verifies_with_the_published_keys(client):
    _trainee, certificate = issued()
    response = client.get(f"/verify/{certificate.code}.json")
    keys = client.get("/.well-known/lang-so-keys.json").get_json()
    document = response.get_json()
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert document["id"] == f"http://localhost/verify/{certificate.code}"
    assert document["proof"]["verificationMethod"].startswith("http://localhost/.well-known/lang-so-keys.json#")
    assert check_certificate_document(document, keys).ok
    kid = document["proof"]["keyId"]
    assert set(keys["keys"][kid]) == {"public_key", "created", "retired"}
    document["credentialSubject"]["name"] = "Người khác"
    assert not check_certificate_document(document, keys).ok


def test_base_url_setting_is_used_for_printed_addresses(app, client):
    app.config["BASE_URL"] = "https://langso.example.vn"
    _trainee, certificate = issued()
    document = client.get(f"/verify/{certificate.code}.json").get_json()
    assert document["id"] == f"https://langso.example.vn/verify/{certificate.code}"


def test_the_printed_serial_with_the_holders_name_finds_the_certificate(client):
    _trainee, certificate = issued(full_name="Nguyễn Thị Hường")
    number = certificate.serial.rsplit("-", 1)[1]
    # Typed as people do: lower case, spaces for dashes, no tone marks, other capitals.
    for serial, name in [(certificate.serial, "Nguyễn Thị Hường"), (f"ls 2026 {number}".replace("2026", certificate.serial[3:7]),
                                                                     "nguyen thi  HUONG")]:
        response = client.get("/verify", query_string={"serial": serial, "name": name})
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/verify/{certificate.code}")


def test_a_serial_alone_or_with_another_name_reveals_nothing(client):
    _trainee, certificate = issued(full_name="Đặng Quốc Bảo")
    for query in [{"serial": certificate.serial, "name": "Nguyễn Văn An"}, {"serial": certificate.serial, "name": ""},
                  {"serial": "LS-2026-999999", "name": "Đặng Quốc Bảo"}, {"serial": "x" * 500, "name": "y" * 5000}]:
        response = client.get("/verify", query_string=query)
        html = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "Đặng Quốc Bảo" not in html.replace(query["name"][:200], "") and certificate.code not in html
        assert "số hiệu" in html  # the Vietnamese message says what to check


def test_the_public_pages_link_the_verify_page(client):
    assert 'href="/verify"' in client.get("/login").get_data(as_text=True)


def test_serial_lookups_share_the_verification_rate_limit(app, client):
    app.config["CERTIFICATE_VERIFY_LIMIT"] = "3 per minute"
    limiter.reset()
    _trainee, certificate = issued(full_name="Lê Văn Tám")
    codes = [client.get("/verify", query_string={"serial": f"LS-2026-00000{n}", "name": "Lê Văn Tám"}).status_code
             for n in range(3)]
    codes.append(client.get(f"/verify/{certificate.code}").status_code)
    assert codes[-1] == 429 and 429 not in codes[:-1]
    limiter.reset()


def test_verification_is_rate_limited_per_address(app, client):
    app.config["CERTIFICATE_VERIFY_LIMIT"] = "3 per minute"
    limiter.reset()
    _trainee, certificate = issued()
    codes = [client.get(f"/verify/{certificate.code}").status_code for _ in range(3)]
    codes.append(client.get(f"/verify/{certificate.code}.json").status_code)
    assert codes == [200, 200, 200, 429]
    limiter.reset()


# --- PDFs and "my certificates" -----------------------------------------------------------------------------


def test_the_pdf_is_for_its_holder_organizers_and_admins_only(client, auth):
    holder, certificate = issued()
    other = make_trainee()
    instructor = make_user(Role.INSTRUCTOR)
    url = f"/certificates/{certificate.code}.pdf"
    assert client.get(url).status_code == 302  # log in first
    for person, expected in ((holder, 200), (make_organizer(), 200), (make_user(Role.ADMIN), 200), (other, 403),
                             (instructor, 403)):
        auth.login(person.phone)
        response = client.get(url)
        assert response.status_code == expected, person.roles
        if expected == 200:
            assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
        auth.logout()
    auth.login(holder.phone)
    assert client.get("/certificates/ABCDEFGHJKMNPQRS.pdf").status_code == 404
    download = client.get(url, query_string={"download": 1})
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_my_certificates_lists_mine_with_share_links(client, auth):
    holder, certificate = issued(full_name="Lê Thị Ngọc Ánh")
    _other, others = issued(course=make_course("quay-video"))
    auth.login(holder.phone)
    html = client.get("/my/certificates").get_data(as_text=True)
    assert certificate.serial in html and f"http://localhost/verify/{certificate.code}" in html
    assert others.serial not in html and others.code not in html


# --- The organizers' register --------------------------------------------------------------------------------


def test_the_register_is_for_organizers_and_filters(client, auth):
    _a, valid = issued(full_name="Nguyễn Thị Hường")
    _b, revoked = issued(full_name="Đặng Quốc Bảo", course=make_course("quay-video"))
    organizer = make_organizer()
    services.revoke_certificate(revoked, by=organizer, reason="Sai")
    db.session.commit()
    trainee = make_trainee()
    auth.login(trainee.phone)
    assert client.get("/certificates").status_code == 403
    auth.logout()
    auth.login(organizer.phone)
    html = client.get("/certificates").get_data(as_text=True)
    assert valid.serial in html and revoked.serial in html
    html = client.get("/certificates", query_string={"status": "revoked"}).get_data(as_text=True)
    assert revoked.serial in html and valid.serial not in html


def test_exports_are_formula_safe(client, auth):
    _trainee, certificate = issued(full_name="=HYPERLINK(\"http://evil\")")
    auth.login(make_organizer().phone)
    csv_text = client.get("/certificates/export.csv").get_data().decode("utf-8-sig")
    assert certificate.serial in csv_text
    assert "'=HYPERLINK" in csv_text
    xlsx = client.get("/certificates/export.xlsx", query_string={"status": "valid"})
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
        strings = archive.read("xl/sharedStrings.xml").decode("utf-8") if "xl/sharedStrings.xml" in archive.namelist() else ""
    assert "<f>" not in sheet
    assert certificate.serial in sheet + strings
    assert client.get("/certificates/export.pdf").status_code == 404


def test_organizers_revoke_and_reissue_from_the_staff_page(client, auth):
    _trainee, certificate = issued(full_name="Nguyen Van Tung")
    organizer = make_organizer()
    auth.login(organizer.phone)
    page = f"/certificates/{certificate.code}"
    assert client.get(page).status_code == 200
    token = csrf_token(client, page)
    client.post(f"{page}/revoke", data={"csrf_token": token, "revoke-reason": ""})
    assert certificate.status == CertificateStatus.VALID
    client.post(f"{page}/revoke", data={"csrf_token": token, "revoke-reason": "Sai tên"})
    db.session.expire_all()
    certificate = db.session.get(Certificate, certificate.id)
    assert certificate.status == CertificateStatus.REVOKED and certificate.revoked_by_id == organizer.id
    response = client.post(f"{page}/reissue", data={"csrf_token": token, "reissue-holder_name": "Nguyễn Văn Tùng"})
    db.session.expire_all()
    certificate = db.session.get(Certificate, certificate.id)
    new = certificate.superseded_by
    assert new is not None and new.holder_name == "Nguyễn Văn Tùng" and new.status == CertificateStatus.VALID
    assert response.headers["Location"].endswith(f"/certificates/{new.code}")
    assert certificate.status == CertificateStatus.REVOKED
    assert client.post(f"{page}/revoke", data={"revoke-reason": "x"}).status_code == 400  # no CSRF token


def test_trainees_cannot_open_staff_pages(client, auth):
    holder, certificate = issued()
    auth.login(holder.phone)
    assert client.get(f"/certificates/{certificate.code}").status_code == 403
    token = csrf_token(client, "/my/certificates")
    assert client.post(f"/certificates/{certificate.code}/revoke",
                       data={"csrf_token": token, "revoke-reason": "x"}).status_code == 403
    assert certificate.status == CertificateStatus.VALID


def test_deleting_the_course_keeps_the_verify_page(client):
    course = make_course()
    _trainee, certificate = issued(course=course)
    title = course.title
    db.session.delete(course)
    db.session.commit()
    html = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "cert-valid" in html and title in html
    assert client.get(f"/verify/{certificate.code}.json").get_json()["credentialSubject"]["achievement"]["name"] == title


# --- Cohort issuing ------------------------------------------------------------------------------------------


def test_an_organizer_issues_a_whole_class_in_the_queue(client, auth):
    course = make_course()
    services.save_template(course, auto_issue=False)
    done = [completed_trainee(course) for _ in range(3)]
    cohort = make_cohort(course, members=[*done, make_trainee(enrolled_in=course)])
    auth.login(make_organizer().phone)
    page = f"/cohorts/{cohort.code}/certificates"
    assert "0" in client.get(page).get_data(as_text=True)
    response = client.post(page, data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302
    batch_url = response.headers["Location"]
    status = client.get(batch_url + ".json").get_json()
    assert status["status"] == "done" and status["issued"] == 3 and status["skipped"] == 1 and status["percent"] == 100
    assert "<progress" in client.get(batch_url).get_data(as_text=True)
    assert all(certificate_of(t, course) is not None for t in done)
    # A second run issues nobody twice.
    client.post(page, data={"csrf_token": csrf_token(client, page)})
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 3
    assert db.session.scalar(sa.select(sa.func.count(CertificateBatch.id))) == 2


def test_cohort_issuing_is_for_organizers(client, auth):
    cohort = make_cohort()
    instructor = make_user(Role.INSTRUCTOR)
    cohort.instructors.append(instructor)
    db.session.commit()
    auth.login(instructor.phone)
    assert client.get(f"/cohorts/{cohort.code}/certificates").status_code == 403


# --- Templates ---------------------------------------------------------------------------------------------------


def test_a_course_instructor_designs_the_certificate_and_previews_it(client, auth):
    course = make_course()
    instructor = make_user(Role.INSTRUCTOR)
    course.instructors.append(instructor)
    db.session.commit()
    auth.login(instructor.phone)
    page = f"/certificates/templates/{course.slug}"
    assert client.get(page).status_code == 200
    preview = client.get(f"{page}/preview.pdf")
    assert preview.mimetype == "application/pdf" and preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    token = csrf_token(client, page)
    form = {"csrf_token": token, "issuer_name": "Trung tâm Khuyến công Hà Nội", "wording": "Đã hoàn thành khoá học",
            "hours": "30", "validity_months": "", "signer1_name": "Đặng Quốc Bảo", "signer1_title": "Giám đốc",
            "logo_asset_id": "0", "signer1_signature_asset_id": "999", "auto_issue": "y"}
    unsaved = client.post(f"{page}/preview.pdf", data=form)
    assert unsaved.data.startswith(b"%PDF") and services.get_template(course) is None
    response = client.post(page, data=form)
    assert response.status_code == 302
    template = services.get_template(course)
    assert (template.issuer_name, template.hours, template.signer1_name) == ("Trung tâm Khuyến công Hà Nội", 30,
                                                                            "Đặng Quốc Bảo")
    assert template.signer1_signature_asset_id is None  # not an image of this course
    assert template.updated_by_id == instructor.id


def test_others_cannot_design_a_certificate(client, auth):
    course = make_course()
    auth.login(make_trainee().phone)
    assert client.get(f"/certificates/templates/{course.slug}").status_code == 403
    assert client.get(f"/certificates/templates/{course.slug}/preview.pdf").status_code == 403
    assert client.get("/certificates/templates/no-such-course").status_code == 404


def test_json_documents_parse_as_utf8(client):
    _trainee, certificate = issued(full_name="Lê Thị Ngọc Ánh")
    raw = client.get(f"/verify/{certificate.code}.json").data
    assert json.loads(raw.decode("utf-8"))["credentialSubject"]["name"] == "Lê Thị Ngọc Ánh"
