"""The demo's classes: two per course in Phú Xuyên communes, weekly sessions, realistic attendance."""

import random
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from lms.accounts.models import Role, User, UserRole
from lms.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    CheckInMethod,
)
from lms.cohorts import services as cohorts
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import VIETNAM
from lms.learning.models import Enrollment, EnrollmentSource, EnrollmentStatus

#: (code, course slug, name, commune code, venue)
DEMO_CLASSES = [
    ("PX-VBBH-01", "viet-bai-ban-hang", "Viết bài bán hàng – Chuyên Mỹ", 10330, "Nhà văn hoá thôn Chuôn Ngọ"),
    ("PX-VBBH-02", "viet-bai-ban-hang", "Viết bài bán hàng – Phú Xuyên", 10273, "Hội trường UBND xã Phú Xuyên"),
    ("PX-QVQC-01", "quay-video-quang-cao", "Quay video quảng cáo – Chuyên Mỹ", 10330, "Nhà văn hoá thôn Chuôn Ngọ"),
    ("PX-QVQC-02", "quay-video-quang-cao", "Quay video quảng cáo – Đại Xuyên", 10333, "Hội trường UBND xã Đại Xuyên"),
    ("PX-LIVE-01", "livestream-ban-hang", "Livestream bán hàng – Phượng Dực", 10279, "Nhà văn hoá thôn Lưu Thượng"),
    ("PX-LIVE-02", "livestream-ban-hang", "Livestream bán hàng – Chuyên Mỹ", 10330, "Nhà văn hoá thôn Chuôn Ngọ"),
]
#: Weights of present, late, absent, excused at a past session.
ATTENDANCE_WEIGHTS = (78, 8, 10, 4)


def load_demo_cohorts(instructor, organizer, trainee, classmates: list, random_seed: int) -> int:
    """Create the demo classes once; return how many were created."""
    from lms.courses.models import Course

    rng = random.Random(random_seed + 11)
    created = 0
    today = datetime.now(VIETNAM).date()
    for index, (code, slug, name, commune, venue) in enumerate(DEMO_CLASSES):
        if cohorts.get_cohort_by_code(code) is not None:
            continue
        course = db.session.scalar(sa.select(Course).where(Course.slug == slug))
        start = today - timedelta(weeks=6) + timedelta(days=index % 3)
        cohort = cohorts.create_cohort(code=code, course=course, name=name, commune_code=commune, venue=venue,
                                       start_date=start, end_date=start + timedelta(weeks=8), capacity=150,
                                       instructors=[instructor])
        created += 1
        people = _members_for(cohort, trainee, classmates, rng)
        # In the class from its first day: a session held before a trainee joined would not count for them.
        _enrol_in_bulk(cohort, people, joined_at=datetime.combine(start, time.min, tzinfo=VIETNAM))
        sessions = cohorts.add_weekly_sessions(cohort, first_day=start, weekdays={start.weekday(), (start.weekday() + 3) % 7},
                                               start=time(19, 0), end=time(21, 0), count=12, topic="Buổi học")
        if index == 0:
            # One session happening right now, so the check-in screens have something to show.
            now = datetime.now(VIETNAM)
            start_at, end_at = live_session_times(now)
            cohorts.add_session(cohort, day=now.date(), start=start_at, end=end_at, topic="Buổi thực hành hôm nay")
        _attendance_for_past(sessions, people, instructor.id, rng)
    return created


def live_session_times(now: datetime) -> tuple[time, time]:
    """Return the demo's session happening now: from 20 minutes ago to 100 minutes ahead, kept inside today.

    Just after midnight "20 minutes ago" is yesterday, and a session cannot start after it ends.
    """
    midnight = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    start = max(now - timedelta(minutes=20), midnight)
    end = min(now + timedelta(minutes=100), midnight + timedelta(hours=23, minutes=59))
    return start.time().replace(second=0, microsecond=0), end.time().replace(second=0, microsecond=0)


def _members_for(cohort: Cohort, trainee, classmates: list, rng: random.Random) -> list[int]:
    ids = []
    if cohort.code in {"PX-VBBH-01", "PX-QVQC-01", "PX-LIVE-02"}:
        ids += [trainee.id] + [c.id for c in classmates]
    # Generated trainees who live in the class's commune and are enrolled in its course.
    candidates = list(db.session.scalars(
        sa.select(User.id).join(Enrollment, Enrollment.user_id == User.id)
        .where(User.commune_code == cohort.commune_code, Enrollment.course_id == cohort.course_id,
               User.role_rows.any(UserRole.role == Role.TRAINEE), User.phone.not_like("0900000%"))
        .order_by(User.id)))
    taken = set(db.session.scalars(sa.select(CohortMember.user_id).join(Cohort).where(Cohort.course_id == cohort.course_id)))
    free = [uid for uid in candidates if uid not in taken]
    rng.shuffle(free)
    return ids + free[: max(0, 60 - len(ids))]


def _enrol_in_bulk(cohort: Cohort, user_ids: list[int], *, joined_at: datetime) -> None:
    if not user_ids:
        return
    now = utcnow()
    db.session.execute(sa.insert(CohortMember), [
        {"cohort_id": cohort.id, "user_id": uid, "status": MemberStatus.ACTIVE, "joined_at": joined_at} for uid in user_ids])
    enrolled = set(db.session.scalars(sa.select(Enrollment.user_id).where(Enrollment.course_id == cohort.course_id,
                                                                        Enrollment.user_id.in_(user_ids or [0]))))
    missing = [uid for uid in user_ids if uid not in enrolled]
    if missing:
        db.session.execute(sa.insert(Enrollment), [
            {"user_id": uid, "course_id": cohort.course_id, "status": EnrollmentStatus.ACTIVE,
             "source": EnrollmentSource.COHORT, "enrolled_at": now} for uid in missing])


def _attendance_for_past(sessions, user_ids: list[int], instructor_id: int, rng: random.Random) -> None:
    now = utcnow()
    statuses = list(AttendanceStatus)
    for session in sessions:
        if session.ends_at > now or not user_ids:
            continue
        records = []
        for uid in user_ids:
            status = rng.choices(statuses, ATTENDANCE_WEIGHTS)[0]
            records.append({"session_id": session.id, "user_id": uid, "status": status,
                            "method": CheckInMethod.ROLL_CALL if status != AttendanceStatus.PRESENT or rng.random() < .5
                            else CheckInMethod.SELF_QR,
                            "recorded_at": session.starts_at + timedelta(minutes=rng.randint(0, 25)),
                            "recorded_by_id": instructor_id})
        ids = db.session.scalars(sa.insert(AttendanceRecord).returning(AttendanceRecord.id), records).all()
        db.session.execute(sa.insert(AttendanceChange), [
            {"record_id": rid, "changed_by_id": r["recorded_by_id"], "changed_at": r["recorded_at"],
             "old_status": None, "new_status": r["status"], "method": r["method"]} for rid, r in zip(ids, records, strict=True)])


