"""Moving trainees between classes of a course, withdrawing many at once, and what the history keeps of it."""

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from lms.accounts.models import Role
from lms.attendance import services as attendance
from lms.attendance.models import AttendanceRecord, AttendanceStatus, CheckInMethod
from lms.cohorts import services
from lms.cohorts.models import CohortChange, CohortField, CohortMember, MemberStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning import services as learning
from lms.learning.models import Enrollment
from lms.notifications.models import Notification
from tests.factories import make_class, make_course, make_trainee, make_user


@pytest.fixture
def two_classes(app):
    """Two classes of one course: the first with Hường, Bình and Lan, the second with Mai."""
    course = make_course("quay-video", lessons=1)
    source, _instructor, people = make_class(course, trainees=("Nguyễn Thị Hường", "Trần Văn Bình", "Lê Thị Lan"))
    target, _other, (mai,) = make_class(course, trainees=("Phạm Thị Mai",))
    return source, target, people, mai


@pytest.fixture
def organizer(app):
    return make_user(Role.ORGANIZER, full_name="Lê Thị Tổ Chức")


def member_of(cohort, user) -> CohortMember:
    return services.get_member(cohort, user)


def test_moving_withdraws_the_old_place_and_makes_a_new_one_in_the_class(two_classes, organizer):
    source, target, (huong, binh, lan), _mai = two_classes
    chosen = services.chosen_members(source, [member_of(source, huong).id, member_of(source, binh).id])
    moved = services.move_members(chosen, target, moved_by=organizer)
    db.session.commit()
    assert sorted(m.user_id for m in moved) == sorted([huong.id, binh.id])
    for person in (huong, binh):
        old, new = member_of(source, person), member_of(target, person)
        assert old.status == MemberStatus.WITHDRAWN and old.withdrawn_at is not None
        assert new.status == MemberStatus.ACTIVE and new.withdrawn_at is None
    assert member_of(source, lan).status == MemberStatus.ACTIVE
    assert services.active_member_count(source) == 1 and services.active_member_count(target) == 3
    assert {c.code for c in services.cohorts_of_user(huong)} == {target.code}


def test_moving_back_makes_the_earlier_place_active_again(two_classes, organizer):
    source, target, (huong, _binh, _lan), _mai = two_classes
    services.move_members(services.chosen_members(source, [member_of(source, huong).id]), target, moved_by=organizer)
    services.move_members(services.chosen_members(target, [member_of(target, huong).id]), source, moved_by=organizer)
    db.session.commit()
    rows = db.session.scalars(sa.select(CohortMember).where(CohortMember.user_id == huong.id)).all()
    assert len(rows) == 2  # the first place made active again, not a second row
    assert member_of(source, huong).status == MemberStatus.ACTIVE and member_of(source, huong).withdrawn_at is None
    assert member_of(target, huong).status == MemberStatus.WITHDRAWN


def test_attendance_stays_with_the_old_class_and_the_enrolment_does_not_change(two_classes, organizer):
    source, target, (huong, _binh, _lan), _mai = two_classes
    held = services.add_session(source, day=(utcnow() - timedelta(days=3)).date(), start=time(8), end=time(10))
    attendance.record_attendance(held, huong, AttendanceStatus.PRESENT, by=organizer, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    enrolment_before = db.session.scalar(sa.select(Enrollment).where(Enrollment.user_id == huong.id))
    before = (enrolment_before.id, enrolment_before.status, enrolment_before.source, enrolment_before.enrolled_at)

    services.move_members(services.chosen_members(source, [member_of(source, huong).id]), target, moved_by=organizer)
    db.session.commit()
    record = db.session.scalar(sa.select(AttendanceRecord).where(AttendanceRecord.user_id == huong.id))
    assert record.session_id == held.id and record.status == AttendanceStatus.PRESENT
    assert attendance.statuses_of(held) == {huong.id: AttendanceStatus.PRESENT}
    enrolments = db.session.scalars(sa.select(Enrollment).where(Enrollment.user_id == huong.id)).all()
    assert [(e.id, e.status, e.source, e.enrolled_at) for e in enrolments] == [before]
    assert learning.is_enrolled(huong, target.course)


def test_a_move_never_goes_past_the_capacity_and_says_how_many_places_are_left(two_classes, organizer):
    source, target, people, _mai = two_classes
    target.capacity = 3  # Mai and two places
    db.session.commit()
    chosen = services.chosen_members(source, [member_of(source, p).id for p in people])
    with pytest.raises(services.CohortFull) as refused:
        services.move_members(chosen, target, moved_by=organizer)
    assert "2" in str(refused.value) and "3" in str(refused.value)
    db.session.rollback()
    assert services.active_member_count(source) == 3 and services.active_member_count(target) == 1
    assert db.session.scalar(sa.select(sa.func.count(CohortChange.id))) == 0
    # Two fit exactly.
    services.move_members(chosen[:2], target, moved_by=organizer)
    assert services.active_member_count(target) == 3 and services.places_left(target) == 0
    with pytest.raises(services.CohortFull):
        services.move_members(services.chosen_members(source, [chosen[2].id]), target, moved_by=organizer)


@pytest.mark.parametrize("where", ["same class", "another course"])
def test_a_move_to_the_same_class_or_another_course_is_refused_and_nothing_moves(two_classes, organizer, where):
    source, _target, (huong, _binh, _lan), _mai = two_classes
    elsewhere = source if where == "same class" else make_class(make_course("livestream", lessons=1), trainees=())[0]
    with pytest.raises(services.CohortError) as refused:
        services.move_members(services.chosen_members(source, [member_of(source, huong).id]), elsewhere,
                              moved_by=organizer)
    assert refused.value.field == "target" and elsewhere.code in str(refused.value)
    db.session.rollback()
    assert member_of(source, huong).status == MemberStatus.ACTIVE
    assert member_of(elsewhere, huong) is None or elsewhere is source


def test_a_move_with_someone_already_in_the_class_moves_nobody(two_classes, organizer):
    source, target, (huong, binh, _lan), _mai = two_classes
    services.add_member(target, huong)  # now in both classes
    db.session.commit()
    chosen = services.chosen_members(source, [member_of(source, huong).id, member_of(source, binh).id])
    with pytest.raises(services.CohortError) as refused:
        services.move_members(chosen, target, moved_by=organizer)
    assert "Nguyễn Thị Hường" in str(refused.value) and "Trần Văn Bình" not in str(refused.value)
    db.session.rollback()
    assert member_of(source, binh).status == MemberStatus.ACTIVE and member_of(target, binh) is None


def test_moved_trainees_are_told_which_class_they_are_in_now(two_classes, organizer):
    source, target, (huong, binh, lan), mai = two_classes
    db.session.execute(sa.delete(Notification))
    services.move_members(services.chosen_members(source, [member_of(source, huong).id]), target, moved_by=organizer)
    db.session.commit()
    told = db.session.scalars(sa.select(Notification)).all()
    assert [(n.user_id, n.params["class_code"]) for n in told] == [(huong.id, target.code)]


def test_a_choice_is_taken_whole_or_not_at_all(two_classes):
    source, target, (huong, binh, _lan), mai = two_classes
    with pytest.raises(services.CohortError, match="Hãy chọn ít nhất một học viên"):
        services.chosen_members(source, [])
    for ids in ([member_of(source, huong).id, 999_999], [member_of(target, mai).id]):
        with pytest.raises(services.CohortError) as refused:
            services.chosen_members(source, ids)
        assert "Phạm Thị Mai" not in str(refused.value)  # another class's trainee is not named
    services.withdraw_member(member_of(source, binh))
    with pytest.raises(services.CohortError) as gone:
        services.chosen_members(source, [member_of(source, huong).id, member_of(source, binh).id])
    assert "Trần Văn Bình" in str(gone.value)
    chosen = services.chosen_members(source, [member_of(source, huong).id] * 3)
    assert [m.user_id for m in chosen] == [huong.id]


def test_withdrawing_many_at_once_keeps_their_records_and_the_reason(two_classes, organizer):
    source, _target, (huong, binh, lan), _mai = two_classes
    change = services.withdraw_members(services.chosen_members(source, [member_of(source, binh).id,
                                                                        member_of(source, huong).id]),
                                       withdrawn_by=organizer, reason="  Chuyển đi   làm xa ")
    db.session.commit()
    assert [member_of(source, p).status for p in (huong, binh, lan)] == [
        MemberStatus.WITHDRAWN, MemberStatus.WITHDRAWN, MemberStatus.ACTIVE]
    assert member_of(source, huong).withdrawn_at is not None
    assert learning.is_enrolled(huong, source.course)
    assert change.field == CohortField.WITHDRAWN and change.reason == "Chuyển đi làm xa"
    assert change.new_value.splitlines() == ["Trần Văn Bình", "Nguyễn Thị Hường"]  # class-list order: Bình, Hường
    assert change.member_count == 2 and change.changed_by_id == organizer.id


def test_the_history_of_both_classes_tells_the_move_newest_first(two_classes, organizer):
    source, target, (huong, binh, _lan), _mai = two_classes
    services.move_members(services.chosen_members(source, [member_of(source, huong).id, member_of(source, binh).id]),
                          target, moved_by=organizer)
    services.withdraw_members(services.chosen_members(target, [member_of(target, huong).id]), withdrawn_by=organizer,
                              reason="")
    db.session.commit()
    out, = services.cohort_history(source)
    assert out.field == CohortField.MOVED_OUT and out.other_cohort_id == target.id
    assert out.old_value == f"{target.code} · {target.name}" and out.new_value == "Trần Văn Bình\nNguyễn Thị Hường"
    withdrawn, moved_in = services.cohort_history(target)
    assert moved_in.field == CohortField.MOVED_IN and moved_in.other_cohort_id == source.id
    assert moved_in.changed_by_id == organizer.id and moved_in.member_count == 2
    assert withdrawn.field == CohortField.WITHDRAWN and withdrawn.reason is None
    assert withdrawn.changed_at >= moved_in.changed_at


def test_moving_and_withdrawing_never_commit(two_classes, organizer):
    source, target, (huong, binh, _lan), _mai = two_classes
    services.move_members(services.chosen_members(source, [member_of(source, huong).id]), target, moved_by=organizer)
    services.withdraw_members(services.chosen_members(source, [member_of(source, binh).id]), withdrawn_by=organizer)
    db.session.rollback()
    assert services.active_member_count(source) == 3 and services.active_member_count(target) == 1
    assert db.session.scalar(sa.select(sa.func.count(CohortChange.id))) == 0


def test_the_move_page_lists_the_other_classes_of_the_course_only(two_classes):
    source, target, _people, _mai = two_classes
    target.capacity, target.commune_code = 5, 10330
    make_class(make_course("livestream", lessons=1), trainees=())
    db.session.commit()
    targets = services.move_targets(source)
    assert [(t.cohort.code, t.members, t.left, t.commune_name) for t in targets] == [
        (target.code, 1, 4, "Xã Chuyên Mỹ")]


# --- Finding a trainee across classes -------------------------------------------------------


def test_a_trainee_is_found_by_name_without_tone_marks_in_every_class(two_classes, organizer):
    source, target, (huong, binh, lan), mai = two_classes
    services.move_members(services.chosen_members(source, [member_of(source, huong).id]), target, moved_by=organizer)
    make_trainee(full_name="Nguyễn Thị Hương")  # in no class: not found
    db.session.commit()
    found = services.find_trainees("nguyen thi huong")
    assert found.matching == 1
    row, = found.rows
    assert row.user_id == huong.id and row.phone == huong.phone
    assert [(m.cohort_code, m.status) for m in row.memberships] == [
        (target.code, MemberStatus.ACTIVE), (source.code, MemberStatus.WITHDRAWN)]
    assert row.memberships[0].course_title == source.course.title
    assert [r.full_name for r in services.find_trainees("HƯỜNG").rows] == ["Nguyễn Thị Hường"]
    assert services.find_trainees("uong").matching == 0  # from the start of a word, as on the class page
    assert services.find_trainees("").rows == [] and services.find_trainees("   ").matching == 0


def test_a_trainee_is_found_by_the_last_digits_of_the_phone_or_six_anywhere(app):
    course = make_course("khoa-so", lessons=1)
    cohort, _instructor, (hong, _other) = make_class(course, trainees=("Trịnh Thị Hồng", "Đỗ Văn Nam"))
    hong.phone = "0977123456"
    db.session.commit()
    for typed in ("0977123456", "3456", "123 456", "771234", "0977 123", "+84 977 123 456"):
        assert [r.full_name for r in services.find_trainees(typed).rows] == ["Trịnh Thị Hồng"], typed
    # A carrier's prefix is in a third of the programme's numbers: a few digits match the end only.
    assert services.find_trainees("0977").matching == 0
    assert services.find_trainees("12").matching == 0  # fewer than three digits is no phone search
    assert services.find_trainees("555555").matching == 0


def test_search_results_come_a_page_at_a_time_in_class_list_order(app):
    course = make_course("khoa-dong", lessons=1)
    names = [f"{family} Thị Ánh" for family in ("Vũ", "Bùi", "Lê", "Trần", "Đỗ")]
    make_class(course, trainees=names)
    first = services.find_trainees("anh", per_page=2)
    last = services.find_trainees("anh", page=99, per_page=2)
    assert first.matching == 5 and first.pages == 3 and not first.has_prev and first.has_next
    assert [r.full_name for r in first.rows] == ["Bùi Thị Ánh", "Đỗ Thị Ánh"]
    assert last.page == 3 and [r.full_name for r in last.rows] == ["Vũ Thị Ánh"]


def test_history_times_are_kept_in_utc(two_classes, organizer):
    source, target, (huong, _binh, _lan), _mai = two_classes
    services.move_members(services.chosen_members(source, [member_of(source, huong).id]), target, moved_by=organizer)
    db.session.commit()
    change, = services.cohort_history(source)
    assert change.changed_at.tzinfo is not None and change.changed_at <= datetime.now(UTC)
