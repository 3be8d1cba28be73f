"""Attendance rules: one recording function with a full history, rotating codes, cards, the completion rule."""

from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from lms.attendance import checkin, services
from lms.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    CheckInMethod,
)
from lms.cohorts import services as cohorts
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses.services import ordered_lessons
from lms.learning import services as learning
from tests.factories import add_session_at, make_class, make_course, make_trainee, session_now

PRESENT, LATE, ABSENT, EXCUSED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT,
                                  AttendanceStatus.EXCUSED)


def changes() -> list[AttendanceChange]:
    return list(db.session.scalars(sa.select(AttendanceChange).order_by(AttendanceChange.id)))


# --- Recording and history ---------------------------------------------------------------------


def test_roll_call_marks_and_changes_keep_who_when_old_new_and_how(app):
    cohort, instructor, (huong, _binh) = make_class()
    session = session_now(cohort)
    services.record_attendance(session, huong, ABSENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    record = services.record_attendance(session, huong, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    assert record.status == PRESENT and record.recorded_by_id == instructor.id
    first, second = services.history(record)
    assert (first.old_status, first.new_status) == (None, ABSENT)
    assert (second.old_status, second.new_status) == (ABSENT, PRESENT)
    assert {first.changed_by_id, second.changed_by_id} == {instructor.id}
    assert {first.method, second.method} == {CheckInMethod.ROLL_CALL}
    assert first.changed_at <= second.changed_at <= utcnow()


def test_setting_the_same_status_again_writes_nothing(app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    for _ in range(3):
        services.record_attendance(session, huong, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    assert len(changes()) == 1
    assert db.session.scalar(sa.select(sa.func.count(AttendanceRecord.id))) == 1


def test_someone_outside_the_class_cannot_be_marked(app):
    cohort, instructor, _ = make_class()
    session = session_now(cohort)
    with pytest.raises(services.NotInClass):
        services.record_attendance(session, make_trainee(), PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    assert changes() == []


def test_counts_search_and_marking_the_rest_absent(app):
    cohort, instructor, (huong, binh, _duc) = make_class(trainees=("Nguyễn Thị Hường", "Trần Văn Bình", "Đỗ Minh Đức"))
    session = session_now(cohort)
    services.record_attendance(session, huong, LATE, by=instructor, method=CheckInMethod.ROLL_CALL)
    rows = services.roll_call(session)
    # A Vietnamese class list goes by given name: Bình, Đức, Hường.
    assert [row.user.full_name for row in rows] == ["Trần Văn Bình", "Đỗ Minh Đức", "Nguyễn Thị Hường"]
    assert services.count(rows).as_dict() == {"present": 0, "late": 1, "absent": 0, "excused": 0,
                                              "not_marked": 2, "attended": 1, "total": 3}
    assert [r.user.full_name for r in services.search_rows(rows, "huong")] == ["Nguyễn Thị Hường"]
    assert [r.user.full_name for r in services.search_rows(rows, "ĐỨC")] == ["Đỗ Minh Đức"]
    assert [r.user.full_name for r in services.search_rows(rows, binh.phone[-4:])] == ["Trần Văn Bình"]
    assert services.mark_unmarked_absent(session, by=instructor) == 2
    assert services.session_counts(session).as_dict()["absent"] == 2
    assert services.mark_unmarked_absent(session, by=instructor) == 0


def test_withdrawn_trainees_leave_the_roll_call_and_its_counts(app):
    cohort, instructor, (huong, binh) = make_class()
    session = session_now(cohort)
    services.record_attendance(session, binh, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    cohorts.withdraw_member(cohorts.get_member(cohort, binh))
    rows = services.roll_call(session)
    assert [row.user.id for row in rows] == [huong.id]
    assert services.session_counts(session) == services.count(rows) == services.Counts(not_marked=1)


def test_a_cancelled_session_takes_no_attendance(app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    cohorts.cancel_session(session, "Mưa bão")
    with pytest.raises(checkin.SessionCancelled):
        services.record_attendance(session, huong, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)


# --- The class's QR token ------------------------------------------------------------------------


def test_token_is_versioned_and_valid_now_and_one_window_back_but_not_two(app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    now = utcnow()
    token = checkin.make_token(session, now)
    assert token.startswith(f"v1.{session.id}.{checkin.window_of(now)}.") and len(token.rsplit(".", 1)[1]) == 16
    assert checkin.verify_token(token, now) == session
    assert checkin.verify_token(token, now + timedelta(seconds=checkin.TOKEN_WINDOW_S)) == session
    with pytest.raises(checkin.CodeExpired):
        checkin.verify_token(token, now + timedelta(seconds=2 * checkin.TOKEN_WINDOW_S))
    with pytest.raises(checkin.CodeExpired):
        services.check_in_with_token(token, huong, at=now + timedelta(minutes=5))
    assert changes() == []


def test_token_refused_outside_the_session_time(app):
    cohort, _, (huong, _) = make_class()
    session = add_session_at(cohort, utcnow() + timedelta(hours=3))
    early = session.starts_at - checkin.OPEN_BEFORE - timedelta(minutes=1)
    with pytest.raises(checkin.NotOpenNow):
        services.check_in_with_token(checkin.make_token(session, early), huong, at=early)
    late = session.ends_at + checkin.OPEN_AFTER + timedelta(minutes=1)
    with pytest.raises(checkin.NotOpenNow):
        services.check_in_with_token(checkin.make_token(session, late), huong, at=late)
    opening = session.starts_at - checkin.OPEN_BEFORE + timedelta(seconds=1)
    assert services.check_in_with_token(checkin.make_token(session, opening), huong, at=opening).record.status == PRESENT


def test_token_refused_for_a_cancelled_session(app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    token = checkin.make_token(session)
    cohorts.cancel_session(session, "")
    with pytest.raises(checkin.SessionCancelled):
        services.check_in_with_token(token, huong)


def test_token_refused_for_someone_not_in_the_class(app):
    cohort, _, _ = make_class()
    other_cohort, _, (stranger,) = make_class(trainees=("Phạm Thị Lan",))
    session = session_now(cohort)
    with pytest.raises(services.NotInClass):
        services.check_in_with_token(checkin.make_token(session), stranger)
    withdrawn = make_trainee()
    cohorts.add_member(cohort, withdrawn)
    cohorts.withdraw_member(cohorts.get_member(cohort, withdrawn))
    with pytest.raises(services.NotInClass):
        services.check_in_with_token(checkin.make_token(session), withdrawn)
    assert changes() == []


def test_forged_or_malformed_tokens_are_refused(app):
    cohort, _, (huong, _) = make_class()
    session, other = session_now(cohort), session_now(cohort)
    good = checkin.make_token(session)
    version, session_id, window, mac = good.split(".")
    forged = [
        f"{version}.{session_id}.{window}.{'0' * 16}",
        f"{version}.{session_id}.{window}.{mac[:-1]}{'a' if mac[-1] != 'a' else 'b'}",
        f"{version}.{other.id}.{window}.{mac}",  # another session's id with this session's signature
        f"v2.{session_id}.{window}.{mac}",
        f"{version}.{session_id}.{int(window) + 1}.{mac}",
        f"{version}.{session_id}.{window}.{mac.upper()}",
        "v1.999999.1.0123456789abcdef", "", "v1..", "hello",
    ]
    for token in forged:
        with pytest.raises(checkin.InvalidCode):
            services.check_in_with_token(token, huong)
    assert changes() == []


def test_checking_in_twice_counts_once_and_keeps_the_first_status(app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort, started_minutes_ago=1)
    first = services.check_in_with_token(checkin.make_token(session), huong)
    later = utcnow() + timedelta(minutes=30)
    again = services.check_in_with_token(checkin.make_token(session, later), huong, at=later)
    assert not first.already and again.already
    assert again.record.status == PRESENT and again.record.method == CheckInMethod.SELF_QR
    assert len(changes()) == 1


def test_late_after_ten_minutes(app):
    cohort, _, (huong, binh) = make_class()
    session = session_now(cohort, started_minutes_ago=60)
    on_time = session.starts_at + checkin.LATE_AFTER
    late = session.starts_at + checkin.LATE_AFTER + timedelta(seconds=1)
    assert services.check_in_with_token(checkin.make_token(session, on_time), huong, at=on_time).record.status == PRESENT
    assert services.check_in_with_token(checkin.make_token(session, late), binh, at=late).record.status == LATE


def test_checking_in_after_being_marked_absent_corrects_the_record_with_history(app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort, started_minutes_ago=2)
    services.record_attendance(session, huong, ABSENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    result = services.check_in_with_token(checkin.make_token(session), huong)
    assert result.record.status == PRESENT
    last = services.history(result.record)[-1]
    assert (last.old_status, last.new_status, last.method, last.changed_by_id) == (
        ABSENT, PRESENT, CheckInMethod.SELF_QR, huong.id)


# --- The typed 6-digit code ------------------------------------------------------------------------


def test_six_digit_code_finds_the_trainees_session_now_and_one_window_back(app):
    cohort, _, (huong, binh) = make_class()
    session = session_now(cohort)
    now = utcnow()
    code = checkin.make_code(session, now)
    assert len(code) == 6 and code.isdigit()
    result = services.check_in_with_code(code, huong, at=now)
    assert result.session == session and result.record.method == CheckInMethod.SELF_CODE
    previous = checkin.make_code(session, now - timedelta(seconds=checkin.CODE_WINDOW_S))
    assert services.check_in_with_code(f"{previous[:3]} {previous[3:]}", binh, at=now).record.status == PRESENT


def test_six_digit_code_refusals(app):
    cohort, _, (huong, _) = make_class()
    _other, _, (stranger,) = make_class(trainees=("Phạm Thị Lan",))
    session = session_now(cohort)
    now = utcnow()
    old = checkin.make_code(session, now - timedelta(seconds=2 * checkin.CODE_WINDOW_S))
    current = checkin.make_code(session, now)
    if old != current:
        with pytest.raises(checkin.CodeExpired):
            services.check_in_with_code(old, huong, at=now)
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in {current, old}
                 and f"{n:06d}" != checkin.make_code(session, now - timedelta(seconds=checkin.CODE_WINDOW_S)))
    with pytest.raises(checkin.InvalidCode):
        services.check_in_with_code(wrong, huong, at=now)
    with pytest.raises(checkin.InvalidCode):
        services.check_in_with_code("12345", huong, at=now)
    with pytest.raises(services.NotInClass):
        services.check_in_with_code(current, stranger, at=now)
    assert changes() == []


# --- Cards ---------------------------------------------------------------------------------------------


def test_card_is_made_once_versioned_and_unguessable(app):
    trainee = make_trainee()
    card = services.issue_card(trainee)
    assert card.token.startswith("LSC1.") and len(card.token) == 5 + 32
    assert services.issue_card(trainee).id == card.id
    assert services.issue_card(make_trainee()).token != card.token


def test_card_scan_checks_in_a_member_once(app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    card = services.issue_card(huong)
    result = services.check_in_with_card(session, f"  {card.token}\n", by=instructor)
    assert result.record.user_id == huong.id and result.record.method == CheckInMethod.CARD_SCAN
    assert result.record.recorded_by_id == instructor.id
    assert services.check_in_with_card(session, card.token, by=instructor).already
    assert len(changes()) == 1


def test_card_scan_refuses_non_members_revoked_and_unknown_cards(app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    with pytest.raises(services.NotInClass):
        services.check_in_with_card(session, services.issue_card(make_trainee()).token, by=instructor)
    old = services.issue_card(huong)
    new = services.replace_card(huong)
    assert old.revoked_at is not None and new.token != old.token
    with pytest.raises(services.CardRevoked):
        services.check_in_with_card(session, old.token, by=instructor)
    for token in ("LSC1.nothing-like-this", "v1.1.2.3", ""):
        with pytest.raises(services.UnknownCard):
            services.check_in_with_card(session, token, by=instructor)
    assert changes() == []
    assert not services.check_in_with_card(session, new.token, by=instructor).already


# --- What trainees see ------------------------------------------------------------------------------


def test_trainees_attendance_per_class_counts_only_their_own_and_held_sessions(app):
    cohort, instructor, (huong, binh) = make_class()
    held = [add_session_at(cohort, utcnow() - timedelta(days=d)) for d in (3, 2, 1)]
    add_session_at(cohort, utcnow() + timedelta(days=1))  # not held yet
    cancelled = add_session_at(cohort, utcnow() - timedelta(days=4))
    cohorts.cancel_session(cancelled, "")
    for session, status in zip(held, (PRESENT, EXCUSED, ABSENT), strict=True):
        services.record_attendance(session, huong, status, by=instructor, method=CheckInMethod.ROLL_CALL)
    for session in held:
        services.record_attendance(session, binh, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    (mine,) = services.attendance_of(huong)
    assert mine.cohort == cohort
    assert (mine.figure.held, mine.figure.attended, mine.figure.excused, mine.figure.percent) == (3, 1, 1, 50)
    assert [line.status for line in mine.lines] == [None, PRESENT, EXCUSED, ABSENT, None]
    assert services.attendance_of(binh)[0].figure.percent == 100


def test_todays_sessions_say_when_check_in_is_open(app):
    cohort, _, (huong, _) = make_class()
    now = utcnow()
    session = session_now(cohort)
    lines = services.todays_sessions(huong, now)
    assert [(line.session, line.open_now) for line in lines if line.session == session] == [(session, True)]
    assert services.todays_sessions(make_trainee(), now) == []


# --- The completion rule ---------------------------------------------------------------------------------


def _finish_all_lessons(trainee, course):
    for lesson in ordered_lessons(course):
        learning.complete_lesson(trainee, lesson, by="marked")


def test_attendance_rule_holds_back_completion_until_enough_sessions_are_attended(app):
    course = make_course("gom-su", lessons=2)
    course.attendance_required_percent = 50
    cohort, instructor, (huong,) = make_class(course, trainees=("Nguyễn Thị Hường",))
    sessions = [add_session_at(cohort, utcnow() - timedelta(days=d)) for d in (4, 3, 2, 1)]
    add_session_at(cohort, utcnow() + timedelta(days=7))  # the future does not count
    services.record_attendance(sessions[0], huong, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    _finish_all_lessons(huong, course)
    enrollment = learning.get_enrollment(huong, course)
    assert enrollment.completed_at is None
    rule = next(o for o in learning.completion_status(enrollment) if "50%" in o.label)
    assert not rule.met and "1" in rule.detail and "4" in rule.detail

    services.record_attendance(sessions[1], huong, LATE, by=instructor, method=CheckInMethod.ROLL_CALL)
    assert enrollment.completed_at is not None
    completed_at = enrollment.completed_at
    services.record_attendance(sessions[2], huong, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    services.record_attendance(sessions[1], huong, ABSENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    assert enrollment.completed_at == completed_at  # recorded once, never moved or taken back


def test_excused_sessions_leave_the_count(app):
    course = make_course("det-may", lessons=1)
    course.attendance_required_percent = 100
    cohort, instructor, (huong,) = make_class(course, trainees=("Nguyễn Thị Hường",))
    first, second = (add_session_at(cohort, utcnow() - timedelta(days=d)) for d in (2, 1))
    _finish_all_lessons(huong, course)
    services.record_attendance(first, huong, PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    enrollment = learning.get_enrollment(huong, course)
    assert enrollment.completed_at is None
    services.record_attendance(second, huong, EXCUSED, by=instructor, method=CheckInMethod.ROLL_CALL)
    assert enrollment.completed_at is not None


def test_the_rule_does_not_apply_without_a_percentage(app):
    course = make_course("khong-diem-danh", lessons=1)
    cohort, _, (huong,) = make_class(course, trainees=("Nguyễn Thị Hường",))
    enrollment = learning.get_enrollment(huong, course)
    assert services.attendance_rule(enrollment) is None
    course.attendance_required_percent = 80
    outcome = services.attendance_rule(enrollment)
    assert outcome is not None and not outcome.met


def test_two_taps_at_the_same_moment_make_one_record_and_both_changes(app, monkeypatch):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    services.check_in_with_token(checkin.make_token(session), huong)  # the trainee's scan lands first...
    real_get_record, calls = services.get_record, []

    def not_yet_seen(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_get_record(*args)

    # ...while the instructor's tap had looked a moment before, when there was no record yet.
    monkeypatch.setattr(services, "get_record", not_yet_seen)
    record = services.record_attendance(session, huong, LATE, by=instructor, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(AttendanceRecord.id))) == 1
    assert record.status == LATE
    assert [(c.old_status, c.new_status) for c in changes()] == [(None, PRESENT), (PRESENT, LATE)]


def test_a_session_begun_last_night_and_still_on_is_one_of_todays(app):
    from datetime import datetime

    from lms.core.timezone import VIETNAM

    cohort, instructor, (huong, _) = make_class()
    # 23:30 to 01:00 Vietnam time; it is 00:15 on the second day.
    evening = add_session_at(cohort, datetime(2026, 12, 3, 23, 30, tzinfo=VIETNAM).astimezone(UTC), minutes=90)
    yesterday = add_session_at(cohort, datetime(2026, 12, 3, 19, 0, tzinfo=VIETNAM).astimezone(UTC), minutes=90)
    now = datetime(2026, 12, 4, 0, 15, tzinfo=VIETNAM).astimezone(UTC)
    assert [line.session.id for line in services.todays_sessions(huong, now)] == [evening.id]
    assert [s.id for s in services.sessions_for_staff(instructor, datetime(2026, 12, 4).date())] == [evening.id]
    assert yesterday.id in [s.id for s in services.sessions_for_staff(instructor, datetime(2026, 12, 3).date())]


def test_the_roll_call_leaves_a_late_joiner_out_of_what_is_still_to_mark(app):
    cohort, instructor, (huong, binh) = make_class()
    session = session_now(cohort, started_minutes_ago=30)
    late = make_trainee(full_name="Vũ Thị Mai")
    member, _ = cohorts.add_member(cohort, late)
    member.joined_at = utcnow() - timedelta(minutes=10)  # after the session began
    db.session.commit()
    assert services.session_counts(session).not_marked == 2
    rows = services.roll_call(session)
    assert [row.counts for row in rows if row.user.id == late.id] == [False]
    assert services.count(rows).not_marked == 2
    assert services.mark_unmarked_absent(session, by=instructor) == 2
    db.session.commit()
    assert services.statuses_of(session) == {huong.id: AttendanceStatus.ABSENT, binh.id: AttendanceStatus.ABSENT}
    # Marked after all (she came), the session counts for her like any other.
    services.record_attendance(session, late, AttendanceStatus.PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    assert services.session_counts(session).present == 1 and services.session_counts(session).not_marked == 0
