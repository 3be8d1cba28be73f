"""Consent at registration, activation and login; withdrawal; deletion with its cool-off; the admins' list."""

from datetime import timedelta

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import Role, User
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning.models import Enrollment
from lms.privacy.models import (
    ConsentChoice,
    ConsentMethod,
    ConsentRecord,
    PrivacyRequest,
    RequestStatus,
)
from lms.privacy.tasks import carry_out_deletions_job
from tests.conftest import csrf_token
from tests.factories import CHUYEN_MY, DEFAULT_PASSWORD, make_course, make_trainee, make_user


def consents(user):
    return [(r.choice, r.method, r.notice_version) for r in
            db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.user_id == user.id)
                               .order_by(ConsentRecord.id))]


def register(client, **overrides):
    data = {"full_name": "Lê Thị Ngọc Ánh", "phone": "0912 345 678", "password": "ban-hang-online",
            "confirm": "ban-hang-online", "province": "1", "commune": str(CHUYEN_MY),
            "csrf_token": csrf_token(client, "/register")}
    data.update(overrides)
    return client.post("/register", data=data)


def test_the_notice_is_public_and_names_the_data_and_the_rights(client, app):
    app.config["LMS_ORG_NAME"] = "Trung tâm Khuyến công Phú Xuyên"
    html = client.get("/privacy").get_data(as_text=True)
    assert "Trung tâm Khuyến công Phú Xuyên" in html
    for words in ("số điện thoại", "ngày sinh", "Lịch sử hoạt động học trực tuyến", "dữ liệu cá nhân nhạy cảm",
                  "rút lại sự đồng ý", "Yêu cầu xoá", "phản đối", "Khiếu nại", "365 ngày", "2026-12-04"):
        assert words in html


def test_registration_asks_for_consent_in_its_own_unticked_box(client, app):
    html = client.get("/register").get_data(as_text=True)
    assert 'name="consent"' in html and "checked" not in html.split('name="consent"')[1].split(">")[0]
    response = register(client)
    assert "tích vào ô để đồng ý" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_registration_with_consent_records_it(client, auth, app):
    assert register(client, consent="y").status_code == 302
    user = accounts.find_user_by_phone("0912345678")
    assert consents(user) == [(ConsentChoice.GIVEN, ConsentMethod.REGISTRATION, "2026-12-04")]
    auth.login("0912345678", "ban-hang-online")  # registering does not log in (it would tell a taken phone apart)
    assert client.get("/account").status_code == 200  # not held on the consent page


def test_activation_records_consent(client, app):
    user = make_user(Role.TRAINEE, password=None, consented=False)
    code = accounts.issue_activation_code(user)
    db.session.commit()
    data = {"phone": user.phone, "code": code, "password": "khamtrai-2026", "confirm": "khamtrai-2026",
            "csrf_token": csrf_token(client, "/activate")}
    assert "tích vào ô để đồng ý" in client.post("/activate", data=data).get_data(as_text=True)
    assert client.post("/activate", data={**data, "consent": "y"}).status_code == 302
    assert consents(user) == [(ConsentChoice.GIVEN, ConsentMethod.ACTIVATION, "2026-12-04")]


def test_a_trainee_without_consent_is_held_on_the_consent_page(client, auth, app):
    course = make_course()
    trainee = make_trainee(enrolled_in=course, consented=False)
    auth.login(trainee.phone)
    response = client.get(f"/courses/{course.slug}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/privacy/consent")
    assert client.get("/api/v1/progress").status_code in (403, 405)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tôi đồng ý" in page and "Tôi không đồng ý" in page and "checked" not in page.split('name="consent"')[1][:80]

    token = csrf_token(client, "/privacy/consent")
    # "I agree" without the box ticked is not consent.
    html = client.post("/privacy/consent", data={"csrf_token": token, "agree": "1"}).get_data(as_text=True)
    assert "Hãy tích vào ô" in html and consents(trainee) == []
    agreed = client.post(f"/privacy/consent?next=/courses/{course.slug}",
                         data={"csrf_token": token, "agree": "1", "consent": "y"})
    assert agreed.headers["Location"] == f"/courses/{course.slug}"
    assert consents(trainee) == [(ConsentChoice.GIVEN, ConsentMethod.INTERSTITIAL, "2026-12-04")]
    assert client.get(f"/courses/{course.slug}").status_code == 200


def test_the_api_answers_a_trainee_without_consent_in_json(client, auth, app):
    trainee = make_trainee(consented=False)
    auth.login(trainee.phone)
    response = client.post("/api/v1/progress", json={"id": "x"}, headers={"X-CSRFToken": csrf_token(client, "/privacy")})
    assert response.status_code == 403 and response.get_json()["error"] == "consent_required"


def test_declining_explains_and_offers_deletion_and_logout(client, auth, app):
    trainee = make_trainee(consented=False)
    auth.login(trainee.phone)
    token = csrf_token(client, "/privacy/consent")
    response = client.post("/privacy/consent", data={"csrf_token": token, "decline": "1"})
    assert response.headers["Location"] == "/privacy/declined"
    html = client.get("/privacy/declined").get_data(as_text=True)
    assert "/privacy/delete" in html and "/logout" in html and "không thể" in html
    assert consents(trainee)[-1][0] == ConsentChoice.DECLINED
    assert client.get("/account").status_code == 302  # still held


def test_a_new_notice_version_asks_again(client, auth, app):
    trainee = make_trainee()
    auth.login(trainee.phone)
    assert client.get("/account").status_code == 200
    app.config["PRIVACY_NOTICE_VERSION"] = "2027-01-01"
    assert client.get("/account").headers["Location"].startswith("/privacy/consent")


def test_staff_are_not_held(client, auth, app):
    instructor = make_user(Role.INSTRUCTOR, consented=False)
    auth.login(instructor.phone)
    assert client.get("/account").status_code == 200


def test_withdrawing_holds_the_trainee_and_ends_other_sessions(client, auth, app):
    trainee = make_trainee()
    auth.login(trainee.phone)
    other = app.test_client()
    AuthOther = type(auth)
    AuthOther(other).login(trainee.phone)
    assert client.get("/privacy/consent/withdraw").status_code == 200  # asks first
    token = csrf_token(client, "/privacy/account")
    response = client.post("/privacy/consent/withdraw", data={"csrf_token": token, "confirm": "yes"})
    assert response.headers["Location"] == "/privacy/declined"
    assert consents(trainee)[-1][:2] == (ConsentChoice.WITHDRAWN, ConsentMethod.PRIVACY_PAGE)
    assert client.get("/account").headers["Location"].startswith("/privacy/consent")  # this device: held
    assert other.get("/account").headers["Location"].startswith("/login")  # the other: logged out


def _ask_for_deletion(client, password=DEFAULT_PASSWORD):
    return client.post("/privacy/delete", data={"csrf_token": csrf_token(client, "/privacy/delete"),
                                                "password": password})


def test_deletion_needs_the_password_and_waits_out_the_cool_off(client, auth, app):
    course = make_course()
    trainee = make_trainee(enrolled_in=course, date_of_birth=utcnow().date().replace(year=1985), village="Chuôn Ngọ",
                           business_name="Khảm trai Lụa")
    auth.login(trainee.phone)
    html = _ask_for_deletion(client, "wrong-password").get_data(as_text=True)
    assert "Mật khẩu không đúng" in html
    assert db.session.scalar(sa.select(sa.func.count(PrivacyRequest.id))) == 0
    assert _ask_for_deletion(client).headers["Location"] == "/privacy/account"
    req = db.session.scalar(sa.select(PrivacyRequest))
    assert req.status == RequestStatus.COOLING_OFF and req.cool_off_until - req.received_at == timedelta(days=7)
    assert "đã yêu cầu xoá" in client.get("/privacy/delete").get_data(as_text=True)  # not twice

    assert carry_out_deletions_job.call_local() == []  # the cool-off has not ended
    req.cool_off_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert carry_out_deletions_job.call_local() == [req.id]

    db.session.expire_all()
    user = db.session.get(User, trainee.id)
    assert user.full_name == f"Học viên đã xoá #{trainee.id}" and user.phone == f"deleted-{trainee.id}"
    assert (user.date_of_birth, user.village, user.business_name, user.commune_code, user.password_hash) == (
        None, None, None, None, None)
    assert db.session.get(PrivacyRequest, req.id).status == RequestStatus.DONE
    assert client.get("/account").headers["Location"].startswith("/login")  # every session ended
    assert db.session.scalar(sa.select(sa.func.count(Enrollment.id))) == 1  # counts stay exact
    assert consents(user) != []  # the proof of consent is kept
    assert auth.login(trainee.phone).status_code == 200  # the old phone logs nobody in


def test_a_deletion_can_be_cancelled_during_the_cool_off(client, auth, app):
    trainee = make_trainee()
    auth.login(trainee.phone)
    _ask_for_deletion(client)
    req = db.session.scalar(sa.select(PrivacyRequest))
    stranger = make_trainee(phone="0912999002")
    auth.logout()
    auth.login(stranger.phone)
    token = csrf_token(client, "/privacy/account")
    assert client.post(f"/privacy/requests/{req.id}/cancel", data={"csrf_token": token}).status_code == 404
    auth.logout()
    auth.login(trainee.phone)
    token = csrf_token(client, "/privacy/account")
    client.post(f"/privacy/requests/{req.id}/cancel", data={"csrf_token": token})
    req.cool_off_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert carry_out_deletions_job.call_local() == []
    assert db.session.get(User, trainee.id).phone == trainee.phone


def test_admins_see_the_clock_and_acknowledge_or_refuse(client, auth, app):
    trainee = make_trainee()
    auth.login(trainee.phone)
    client.post("/privacy/requests/new", data={"csrf_token": csrf_token(client, "/privacy/requests/new"),
                                               "kind": "correction", "details": "Ngày sinh sai"})
    req = db.session.scalar(sa.select(PrivacyRequest))
    assert req.status == RequestStatus.RECEIVED
    auth.logout()
    assert client.get("/admin/privacy-requests").status_code == 302
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get("/admin/privacy-requests").status_code == 403
    auth.logout()
    admin = make_user(Role.ADMIN)
    auth.login(admin.phone)
    html = client.get("/admin/privacy-requests").get_data(as_text=True)
    assert f"#{req.id}" in html and "còn" in html and "QUÁ HẠN" not in html

    req.received_at, req.due_at = utcnow() - timedelta(days=5), utcnow() - timedelta(hours=3)
    db.session.commit()
    html = client.get("/admin/privacy-requests").get_data(as_text=True)
    assert "QUÁ HẠN" in html and "overdue" in html  # in words, not only in red

    token = csrf_token(client, f"/admin/privacy-requests/{req.id}")
    client.post(f"/admin/privacy-requests/{req.id}/acknowledge", data={"csrf_token": token})
    assert "QUÁ HẠN" not in client.get("/admin/privacy-requests").get_data(as_text=True)
    refused = client.post(f"/admin/privacy-requests/{req.id}/refuse", data={"csrf_token": token, "refuse-reason": " "})
    assert refused.status_code == 200 and "Hãy ghi lý do" in refused.get_data(as_text=True)
    client.post(f"/admin/privacy-requests/{req.id}/refuse", data={"csrf_token": token,
                                                                 "refuse-reason": "Cần giấy khai sinh"})
    db.session.expire_all()
    req = db.session.get(PrivacyRequest, req.id)
    assert req.status == RequestStatus.REFUSED and req.handled_by_id == admin.id and req.reason == "Cần giấy khai sinh"
    assert client.get("/admin/privacy-requests/99999").status_code == 404


def test_bad_request_forms_answer_in_vietnamese(client, auth, app):
    trainee = make_trainee()
    auth.login(trainee.phone)
    token = csrf_token(client, "/privacy/requests/new")
    for data, words in (({"kind": "deletion", "details": "x"}, "Not a valid choice"),
                        ({"kind": "correction", "details": ""}, "Hãy viết điều bạn yêu cầu"),
                        ({"kind": "correction", "details": "x" * 2001}, "tối đa 2.000 ký tự")):
        response = client.post("/privacy/requests/new", data={"csrf_token": token, **data})
        assert response.status_code == 200
        if words != "Not a valid choice":
            assert words in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(PrivacyRequest.id))) == 0
    client.post("/privacy/requests/new", data={"csrf_token": token, "kind": "access", "details": "Cho tôi bản sao"})
    again = client.post("/privacy/requests/new", data={"csrf_token": token, "kind": "access", "details": "Lần nữa"})
    assert "đã có một yêu cầu loại này" in again.get_data(as_text=True)
    assert client.post("/privacy/delete", data={"csrf_token": token, "password": ""}).status_code == 200
    assert client.post("/privacy/requests/99999/cancel", data={"csrf_token": token}).status_code == 404


def test_staff_cannot_delete_their_own_account_here(client, auth, app):
    organizer = make_user(Role.ORGANIZER)
    auth.login(organizer.phone)
    html = client.get("/privacy/delete").get_data(as_text=True)
    assert "quản trị viên xoá" in html and 'name="password"' not in html
    client.post("/privacy/delete", data={"csrf_token": csrf_token(client, "/privacy/delete"),
                                         "password": DEFAULT_PASSWORD})
    assert db.session.scalar(sa.select(sa.func.count(PrivacyRequest.id))) == 0


def test_handled_requests_are_audited_by_id_only(client, auth, app, caplog):
    import logging

    trainee = make_trainee(full_name="Trần Văn Tùng")
    auth.login(trainee.phone)
    _ask_for_deletion(client)
    req = db.session.scalar(sa.select(PrivacyRequest))
    auth.logout()
    admin = make_user(Role.ADMIN)
    auth.login(admin.phone)
    token = csrf_token(client, f"/admin/privacy-requests/{req.id}")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lms.audit"):
        client.post(f"/admin/privacy-requests/{req.id}/refuse", data={"csrf_token": token,
                                                                     "refuse-reason": "Đang có tranh chấp"})
    lines = [r.getMessage() for r in caplog.records if r.name == "lms.audit"]
    assert len(lines) == 1 and "Trần Văn Tùng" not in lines[0] and trainee.phone not in lines[0]
    from lms.audit.models import AuditAction, AuditEvent, AuditObject

    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.actor_id, event.subject_id, event.object_kind, event.object_ref) == (
        AuditAction.HANDLED_DATA_REQUEST, admin.id, trainee.id, AuditObject.PRIVACY_REQUEST, f"{req.id} · refused")
    assert carry_out_deletions_job.call_local() == []  # a refused deletion is never carried out


def test_an_anonymisation_by_the_worker_is_in_the_audit_log_with_no_actor(client, auth, app):
    from datetime import timedelta

    from lms.audit.models import AuditAction, AuditEvent

    trainee = make_trainee()
    auth.login(trainee.phone)
    _ask_for_deletion(client)
    req = db.session.scalar(sa.select(PrivacyRequest))
    req.cool_off_until -= timedelta(days=app.config["DELETION_COOL_OFF_DAYS"] + 1)
    db.session.commit()
    assert carry_out_deletions_job.call_local() == [req.id]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == AuditAction.HANDLED_DATA_REQUEST))
    assert event.actor_id is None and event.subject_id == trainee.id and event.object_ref == f"{req.id} · anonymised"


def test_my_data_holds_the_consent_choices_and_the_requests(client, auth, app):
    trainee = make_trainee()
    auth.login(trainee.phone)
    _ask_for_deletion(client)
    data = client.get("/my/data.json").get_json()
    text = str(data)
    assert "Đồng ý về quyền riêng tư" in text and "Yêu cầu về dữ liệu của bạn" in text
    assert app.config["PRIVACY_NOTICE_VERSION"] in text
