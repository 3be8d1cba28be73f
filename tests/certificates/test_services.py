import re
import threading
import unicodedata
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.certificates import services
from lms.certificates.models import Certificate, CertificateStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses.models import Course
from lms.learning import services as learning
from tests.certificates.helpers import (
    certificate_of,
    complete_course,
    completed_trainee,
    make_cohort,
    make_organizer,
)
from tests.factories import make_course, make_trainee

SERIAL = re.compile(r"^LS-\d{4}-\d{6}$")


def count_certificates(**where) -> int:
    stmt = sa.select(sa.func.count(Certificate.id))
    for name, value in where.items():
        stmt = stmt.where(getattr(Certificate, name) == value)
    return db.session.scalar(stmt)


def test_completing_a_course_issues_a_certificate_with_a_snapshot(app):
    course = make_course()
    course.estimated_hours = 24
    trainee = completed_trainee(course, full_name="Đặng Quốc Bảo")
    certificate = certificate_of(trainee, course)
    assert certificate is not None and certificate.status == CertificateStatus.VALID
    assert SERIAL.match(certificate.serial) and certificate.serial.endswith("-000001")
    assert len(certificate.code) == services.CODE_LENGTH
    assert set(certificate.code) <= set(services.CODE_ALPHABET)
    assert (certificate.holder_name, certificate.course_title, certificate.hours) == ("Đặng Quốc Bảo", course.title, 24)
    assert certificate.issuer_name == app.config["LMS_ORG_NAME"]
    assert certificate.completed_at == learning.get_enrollment(trainee, course).completed_at
    assert certificate.issued_by_id is None and certificate.expires_at is None


def test_issuing_twice_gives_one_certificate(app):
    course = make_course()
    trainee = completed_trainee(course)
    enrollment = learning.get_enrollment(trainee, course)
    first, created_first = services.issue_certificate(enrollment)
    second, created_second = services.issue_certificate(enrollment, by=make_organizer())
    services.issue_for_enrollment(enrollment)
    assert first is second and not created_first and not created_second
    assert count_certificates(user_id=trainee.id) == 1


def test_an_unfinished_course_gives_no_certificate(app):
    course = make_course()
    trainee = make_trainee(enrolled_in=course)
    with pytest.raises(services.NotComplete):
        services.issue_certificate(learning.get_enrollment(trainee, course))
    assert count_certificates() == 0


def test_names_are_stored_in_nfc(app):
    course = make_course()
    decomposed = unicodedata.normalize("NFD", "Lê Thị Ngọc Ánh")
    trainee = make_trainee(enrolled_in=course, full_name="Lê Thị Ngọc Ánh")
    trainee.full_name = decomposed  # as an old spreadsheet import might have left it
    complete_course(trainee, course)
    assert certificate_of(trainee, course).holder_name == unicodedata.normalize("NFC", decomposed)


def test_template_sets_issuer_hours_validity_and_can_stop_automatic_issue(app):
    course = make_course()
    course.estimated_hours = 10
    services.save_template(course, issuer_name="Trung tâm Khuyến công Hà Nội", hours=30, validity_months=24,
                           signer1_name="Đặng Quốc Bảo", signer1_title="Giám đốc")
    trainee = completed_trainee(course)
    certificate = certificate_of(trainee, course)
    assert (certificate.issuer_name, certificate.hours) == ("Trung tâm Khuyến công Hà Nội", 30)
    assert certificate.signers == [{"name": "Đặng Quốc Bảo", "title": "Giám đốc", "signature_asset_id": None}]
    assert certificate.expires_at == services.add_months(certificate.issued_at, 24)

    services.save_template(course, auto_issue=False)
    later = completed_trainee(course)
    assert certificate_of(later, course) is None
    _certificate, created = services.issue_certificate(learning.get_enrollment(later, course))
    assert created


def test_an_expired_certificate_is_shown_as_expired(app):
    course = make_course()
    certificate = certificate_of(completed_trainee(course), course)
    assert certificate.effective_status() == CertificateStatus.VALID
    certificate.expires_at = utcnow() - timedelta(minutes=1)
    assert certificate.effective_status() == CertificateStatus.EXPIRED
    assert certificate.status == CertificateStatus.VALID


def test_serials_count_per_year(app):
    assert services.allocate_serials(2025, 2) == ["LS-2025-000001", "LS-2025-000002"]
    assert services.allocate_serials(2026) == ["LS-2026-000001"]
    assert services.allocate_serials(2025) == ["LS-2025-000003"]


def test_concurrent_serial_allocation_never_repeats_a_number(app):
    db.session.commit()
    got: list[str] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def worker():
        try:
            with app.app_context():
                for _ in range(10):
                    serials = services.allocate_serials(2030, 3)
                    db.session.commit()
                    with lock:
                        got.extend(serials)
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(got) == len(set(got)) == 180
    assert sorted(got) == [f"LS-2030-{n:06d}" for n in range(1, 181)]


def test_revoking_keeps_the_record(app):
    course = make_course()
    organizer = make_organizer()
    trainee = completed_trainee(course)
    certificate = certificate_of(trainee, course)
    with pytest.raises(services.CertificateError):
        services.revoke_certificate(certificate, by=organizer, reason="  ")
    services.revoke_certificate(certificate, by=organizer, reason="Cấp nhầm người")
    db.session.commit()
    db.session.expire_all()
    kept = db.session.get(Certificate, certificate.id)
    assert kept.status == CertificateStatus.REVOKED
    assert (kept.revoke_reason, kept.revoked_by_id) == ("Cấp nhầm người", organizer.id)
    assert kept.revoked_at is not None
    assert count_certificates() == 1


def test_a_revoked_certificate_is_only_replaced_by_an_explicit_reissue(app):
    course = make_course()
    organizer = make_organizer()
    trainee = completed_trainee(course)
    revoked = certificate_of(trainee, course)
    services.revoke_certificate(revoked, by=organizer, reason="Sai thông tin")
    enrollment = learning.get_enrollment(trainee, course)
    with pytest.raises(services.RevokedBefore):
        services.issue_certificate(enrollment)
    assert services.issue_for_enrollment(enrollment) is None
    replacement = services.reissue_certificate(revoked, by=organizer)
    assert replacement.status == CertificateStatus.VALID and replacement.serial != revoked.serial
    assert revoked.status == CertificateStatus.REVOKED and revoked.superseded_by_id == replacement.id
    # Now the trainee holds a valid one again: issuing gives that one.
    assert services.issue_certificate(enrollment) == (replacement, False)


def test_reissuing_with_a_corrected_name_supersedes_the_old_certificate(app):
    course = make_course()
    organizer = make_organizer()
    trainee = completed_trainee(course, full_name="Nguyen Thi Huong")
    old = certificate_of(trainee, course)
    new = services.reissue_certificate(old, by=organizer, holder_name="Nguyễn Thị Hường")
    assert old.status == CertificateStatus.SUPERSEDED and old.superseded_by_id == new.id
    assert new.holder_name == "Nguyễn Thị Hường" and new.status == CertificateStatus.VALID
    assert new.serial != old.serial and new.code != old.code
    assert new.issued_by_id == organizer.id
    with pytest.raises(services.CertificateError):
        services.reissue_certificate(old, by=organizer)
    newest = services.reissue_certificate(new, by=organizer, holder_name="Nguyễn Thị Hường")
    assert services.latest_version(old) == newest
    assert [c.id for c in services.certificates_of(trainee)] == [newest.id]
    assert count_certificates(user_id=trainee.id) == 3


def test_deleting_the_course_keeps_its_certificates(app):
    course = make_course()
    trainee = completed_trainee(course)
    certificate = certificate_of(trainee, course)
    code, title = certificate.code, course.title
    db.session.delete(course)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Course, course.id) is None
    kept = services.certificate_by_code(code)
    assert kept is not None and kept.course_id is None
    assert kept.course_title == title and kept.status == CertificateStatus.VALID
    # Re-issuing still works from the snapshot.
    replacement = services.reissue_certificate(kept, by=make_organizer(), holder_name="Nguyễn Thị Hường")
    assert replacement.course_title == title and replacement.course_id is None


def test_cohort_issue_gives_certificates_to_those_who_completed(app):
    course = make_course()
    organizer = make_organizer()
    done = [completed_trainee(course) for _ in range(3)]
    services.revoke_certificate(certificate_of(done[0], course), by=organizer, reason="Sai tên")
    services.save_template(course, auto_issue=False)  # the rest get theirs from the class
    more_done = [completed_trainee(course) for _ in range(2)]
    unfinished = make_trainee(enrolled_in=course)
    cohort = make_cohort(course, members=[*done, *more_done, unfinished])

    summary = services.issue_for_cohort(cohort, by=organizer, chunk_size=1)
    db.session.commit()
    assert (summary.total, summary.issued, summary.already, summary.revoked, summary.not_complete) == (6, 2, 2, 1, 1)
    assert all(certificate_of(t, course).issued_by_id == organizer.id for t in more_done)
    again = services.issue_for_cohort(cohort, by=organizer)
    assert again.issued == 0 and again.already == 4
    assert count_certificates(status=CertificateStatus.VALID) == 4


def test_cohort_issue_records_completions_met_since(app):
    course = make_course()
    trainee = make_trainee(enrolled_in=course)
    cohort = make_cohort(course, members=[trainee])
    for lesson in course.modules[0].lessons:
        progress = learning._progress(trainee, lesson, utcnow())
        progress.completed_at = utcnow()  # progress written in bulk, without the completion check
    db.session.commit()
    summary = services.issue_for_cohort(cohort)
    assert summary.issued == 1
    assert certificate_of(trainee, course) is not None


def test_register_filters(app):
    course, other = make_course(), make_course("quay-video")
    organizer = make_organizer()
    a = completed_trainee(course, commune_code=10330)
    b = completed_trainee(course, commune_code=10273)
    c = completed_trainee(other, commune_code=10330)
    cohort = make_cohort(course, members=[a])
    services.revoke_certificate(certificate_of(b, course), by=organizer, reason="Sai")
    certificate_of(c, other).issued_at = utcnow() - timedelta(days=40)
    db.session.commit()

    def holders(**filters):
        return {cert.user_id for cert in db.session.scalars(services.register_query(services.RegisterFilters(**filters)))}

    assert holders() == {a.id, b.id, c.id}
    assert holders(course_id=course.id) == {a.id, b.id}
    assert holders(cohort=cohort) == {a.id}
    assert holders(commune_code=10273) == {b.id}
    assert holders(status=CertificateStatus.REVOKED) == {b.id}
    assert holders(status=CertificateStatus.VALID) == {a.id, c.id}
    assert holders(issued_from=date.today() - timedelta(days=5)) == {a.id, b.id}
    assert holders(issued_to=date.today() - timedelta(days=30)) == {c.id}
    assert holders(query=certificate_of(a, course).serial) == {a.id}
    assert holders(query=certificate_of(c, other).display_code.lower()) == {c.id}
    assert holders(phone=a.phone) == {a.id}


def test_codes_are_normalised_and_checked_before_lookup(app):
    course = make_course()
    certificate = certificate_of(completed_trainee(course), course)
    assert services.certificate_by_code(certificate.display_code.lower()) == certificate
    assert services.certificate_by_code(certificate.code[:-1] + "0") is None  # 0 is not in the alphabet
    assert services.certificate_by_code("../../etc/passwd") is None


def test_demo_certificates_are_loaded_once(app):
    from lms.accounts import services as accounts

    course = make_course("viet-bai-ban-hang")
    organizer = make_organizer()
    trainee = completed_trainee(course, phone="0900000004", full_name="Lê Thị Hường")
    # One classmate finished (and got a certificate on completion), the other did not.
    completed_trainee(course, phone="0900000101", full_name="Phạm Thị Thu Hương")
    make_trainee(enrolled_in=course, phone="0900000102", full_name="Nguyễn Văn Tùng")

    created = services.load_demo_certificates(trainee, organizer)
    db.session.commit()
    assert created == 2  # the others were issued on completion; 2 for the superseded pair
    assert certificate_of(trainee, course).status == CertificateStatus.VALID
    revoked_holder = accounts.find_user_by_phone("0900000101")
    statuses = list(db.session.scalars(sa.select(Certificate.status).where(Certificate.user_id == revoked_holder.id)))
    assert statuses == [CertificateStatus.REVOKED]
    renamed = accounts.find_user_by_phone("0900000102")
    rows = list(db.session.scalars(sa.select(Certificate).where(Certificate.user_id == renamed.id)
                                   .order_by(Certificate.id)))
    assert [r.status for r in rows] == [CertificateStatus.SUPERSEDED, CertificateStatus.VALID]
    assert rows[0].holder_name == "Nguyen Van Tung" and rows[1].holder_name == "Nguyễn Văn Tùng"
    assert rows[0].superseded_by_id == rows[1].id

    before = count_certificates()
    assert services.load_demo_certificates(trainee, organizer) == 0
    db.session.commit()
    assert count_certificates() == before == 4


def test_a_batch_for_a_removed_class_fails_visibly(app):
    from lms.certificates.models import BatchStatus, CertificateBatch
    from lms.certificates.tasks import issue_cohort_certificates_job

    cohort = make_cohort(make_course())
    batch, created = services.start_cohort_batch(cohort, by=make_organizer())
    again, created_again = services.start_cohort_batch(cohort, by=None)
    assert created and not created_again and again is batch
    db.session.delete(cohort)
    db.session.commit()
    issue_cohort_certificates_job(batch.id)
    db.session.expire_all()
    batch = db.session.get(CertificateBatch, batch.id)
    assert batch.status == BatchStatus.FAILED and batch.error and batch.finished_at is not None
