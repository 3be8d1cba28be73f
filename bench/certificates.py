"""Certificate figures: ms and bytes per certificate PDF (goal ≤ 25 ms), ms per signed JSON document,
and seconds to issue 4,500 certificates to one class through the job the organizer's button queues
(goal ≤ 2 min on 2 cores), on a temporary SQLite database filled with bulk inserts.

Run: `.venv/bin/python bench/certificates.py [--trainees 4500] [--pdfs 200]`.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from _common import ROOT, save

sys.path.insert(0, str(ROOT))

from lms import create_app  # noqa: E402
from lms.core.extensions import db  # noqa: E402


def build_class(trainees: int):
    """Create a course, an organizer and a class of `trainees` who all completed the course (bulk inserts)."""
    from lms.accounts import services as accounts
    from lms.accounts.models import Role, User, UserRole
    from lms.certificates import services
    from lms.cohorts import services as cohorts
    from lms.cohorts.models import CohortMember, MemberStatus
    from lms.core.db import utcnow
    from lms.courses import services as courses
    from lms.courses.models import CourseStatus
    from lms.learning.models import Enrollment, EnrollmentSource, EnrollmentStatus

    course = courses.create_course(title="Viết bài bán hàng trên mạng xã hội cho sản phẩm làng nghề",
                                   slug="viet-bai-ban-hang", estimated_hours=24, status=CourseStatus.PUBLISHED)
    services.save_template(course, issuer_name="Trung tâm Khuyến công Hà Nội", signer1_name="Đặng Quốc Bảo",
                           signer1_title="Giám đốc", signer2_name="Lê Thị Ngọc Ánh", signer2_title="Giảng viên",
                           validity_months=36)
    organizer = accounts.create_user(full_name="Nguyễn Thị Thu Hà", phone="0900000002", roles={Role.ORGANIZER},
                                     password=None)
    cohort = cohorts.create_cohort(code="PX-VBBH-01", course=course, name="Viết bài bán hàng – Chuyên Mỹ",
                                   commune_code=10330)
    now = utcnow()
    families = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Bùi", "Đỗ"]
    given = ["Thị Hường", "Quốc Bảo", "Thị Ngọc Ánh", "Văn Tùng", "Thị Thu Hương", "Minh Đức"]
    users = [{"full_name": f"{families[i % 8]} {given[i % 6]}", "phone": f"0912{i:06d}", "commune_code": 10330,
              "created_at": now, "must_change_password": False, "auth_epoch": 0, "active": True}
             for i in range(trainees)]
    ids = db.session.scalars(sa.insert(User).returning(User.id), users).all()
    db.session.execute(sa.insert(UserRole), [{"user_id": i, "role": Role.TRAINEE} for i in ids])
    db.session.execute(sa.insert(CohortMember), [{"cohort_id": cohort.id, "user_id": i, "status": MemberStatus.ACTIVE,
                                                  "joined_at": now} for i in ids])
    db.session.execute(sa.insert(Enrollment), [
        {"user_id": i, "course_id": course.id, "status": EnrollmentStatus.ACTIVE, "source": EnrollmentSource.COHORT,
         "enrolled_at": now - timedelta(days=30), "completed_at": now - timedelta(days=1)} for i in ids])
    db.session.commit()
    return course, cohort, organizer


def bench_issue(cohort, organizer) -> dict:
    """Issue the class's certificates through the queued job (run inline here) and time it."""
    from lms.certificates import services
    from lms.certificates.models import Certificate
    from lms.certificates.tasks import issue_cohort_certificates_job

    batch, _created = services.start_cohort_batch(cohort, by=organizer)
    db.session.commit()
    started = time.perf_counter()
    issue_cohort_certificates_job.call_local(batch.id)
    seconds = time.perf_counter() - started
    serials = db.session.scalars(sa.select(Certificate.serial)).all()
    assert len(serials) == len(set(serials)) == batch.issued, "serials must be unique"
    return {"trainees": batch.total, "issued": batch.issued, "seconds": round(seconds, 2),
            "per_certificate_ms": round(1000 * seconds / max(1, batch.issued), 3), "goal_seconds": 120}


def bench_pdf(count: int) -> dict:
    from lms.certificates import services
    from lms.certificates.models import Certificate

    certificates = db.session.scalars(sa.select(Certificate).order_by(Certificate.id).limit(count)).all()
    services.certificate_pdf(certificates[0], "https://langso.example.vn/")  # fonts registered, caches warm
    times, sizes = [], []
    for certificate in certificates:
        started = time.perf_counter()
        data = services.certificate_pdf(certificate, "https://langso.example.vn/")
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(data))
    times.sort()
    return {"count": len(times), "mean_ms": round(statistics.mean(times), 2), "median_ms": round(times[len(times) // 2], 2),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 2), "goal_ms": 25,
            "bytes_mean": int(statistics.mean(sizes)), "bytes_max": max(sizes)}


def bench_signing(count: int) -> dict:
    from lms.certificates import services
    from lms.certificates.models import Certificate
    from lms.certificates.signing import check_certificate_document

    certificates = db.session.scalars(sa.select(Certificate).order_by(Certificate.id).limit(count)).all()
    keys = services.published_keys()
    services.signed_document(certificates[0], "https://langso.example.vn/")
    started = time.perf_counter()
    documents = [services.signed_document(c, "https://langso.example.vn/") for c in certificates]
    signed = time.perf_counter() - started
    started = time.perf_counter()
    assert all(check_certificate_document(d, keys).ok for d in documents)
    verified = time.perf_counter() - started
    return {"count": len(documents), "sign_ms": round(1000 * signed / len(documents), 3),
            "verify_ms": round(1000 * verified / len(documents), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trainees", type=int, default=4500)
    parser.add_argument("--pdfs", type=int, default=200)
    args = parser.parse_args()
    import lms.certificates.models  # noqa: F401 - until lms.models imports it
    import lms.certificates.services  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="bench-certificates-") as folder:
        instance = Path(folder)
        app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'bench.sqlite3'}",
                          "JOBS_IMMEDIATE": True, "SECRET_KEY": "bench", "LMS_ORG_NAME": "Làng Số"})
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            _course, cohort, organizer = build_class(args.trainees)
            setup = time.perf_counter() - started
            results = {
                "database": "sqlite",
                "setup_seconds": round(setup, 2),
                "issue_cohort": bench_issue(cohort, organizer),
                "pdf": bench_pdf(args.pdfs),
                "signed_json": bench_signing(args.pdfs),
            }
            db.session.remove()
            db.engine.dispose()
    save("certificates", results)


if __name__ == "__main__":
    main()
