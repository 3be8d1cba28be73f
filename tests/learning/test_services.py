import dataclasses
from datetime import timedelta

import pytest

from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import EnrollmentMode
from lms.learning import hooks, services
from lms.learning.models import EnrollmentStatus
from tests.factories import add_video_lesson, event, make_course, make_trainee, opened


def test_watched_stretches_add_up_and_complete_the_video_at_90_percent(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=100)
    trainee = make_trainee(enrolled_in=course)
    opened(trainee, video)  # a while ago: time to have watched what the events claim
    services.record_event(trainee, event(video, position_s=40, segments=((0, 40),)))
    progress = services.get_progress(trainee, video)
    assert progress.watched_fraction == pytest.approx(0.40)
    assert progress.completed_at is None
    services.record_event(trainee, event(video, position_s=89, segments=((40, 89),)))
    assert progress.completed_at is None  # 89%
    services.record_event(trainee, event(video, position_s=91, segments=((89, 91),)))
    assert progress.watched_fraction == pytest.approx(0.91)
    assert progress.completed_at is not None and progress.completed_by == "watched"


def test_skipping_ahead_is_not_watching(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=100)
    trainee = make_trainee(enrolled_in=course)
    services.record_event(trainee, event(video, position_s=99, segments=((0, 5), (95, 99))))
    progress = services.get_progress(trainee, video)
    assert progress.watched_fraction == pytest.approx(0.09)
    assert progress.completed_at is None


def test_a_repeated_event_counts_once(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course)
    trainee = make_trainee(enrolled_in=course)
    opened(trainee, video)  # a while ago: time to have watched what the events claim
    once = event(video, position_s=30, segments=((0, 30),))
    assert services.record_event(trainee, once).status == "applied"
    assert services.record_event(trainee, once).status == "duplicate"
    assert services.get_progress(trainee, video).watched_fraction == pytest.approx(0.30)


def test_late_and_out_of_order_events_never_move_progress_backwards(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course)
    trainee = make_trainee(enrolled_in=course)
    opened(trainee, video)  # a while ago: time to have watched what the events claim
    services.record_event(trainee, event(video, minutes_ago=1, position_s=60, segments=((30, 60),)))
    # An older event arrives late (replayed from a phone that was offline).
    services.record_event(trainee, event(video, minutes_ago=10, position_s=20, segments=((0, 20),)))
    progress = services.get_progress(trainee, video)
    assert progress.position_s == 60  # the newest position wins, whatever the arrival order
    assert progress.watched_fraction == pytest.approx(0.50)  # 0-20 and 30-60 both count


def test_completion_is_recorded_once_and_never_moves(app):
    course = make_course(lessons=1)
    text = courses.ordered_lessons(course)[0]
    trainee = make_trainee(enrolled_in=course)
    services.record_event(trainee, event(text, kind="complete", minutes_ago=30))
    enrollment = services.get_enrollment(trainee, course)
    first_lesson_date = services.get_progress(trainee, text).completed_at
    first_course_date = enrollment.completed_at
    assert first_course_date is not None
    services.record_event(trainee, event(text, kind="complete", minutes_ago=90))
    assert services.get_progress(trainee, text).completed_at == first_lesson_date
    assert enrollment.completed_at == first_course_date


def test_impossible_positions_are_rejected(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=100)
    trainee = make_trainee(enrolled_in=course)
    for bad in (dict(position_s=-1), dict(position_s=5000), dict(segments=((10, 5),)),
                dict(segments=((0, float("nan")),))):
        with pytest.raises(services.InvalidEvent):
            services.record_event(trainee, event(video, **bad))
    assert services.get_progress(trainee, video) is None


def test_events_for_a_course_i_am_not_in_are_refused(app):
    course = make_course(lessons=1)
    trainee = make_trainee()
    with pytest.raises(services.NotEnrolled):
        services.record_event(trainee, event(courses.ordered_lessons(course)[0], kind="open"))


def test_a_video_cannot_be_marked_done_by_a_button(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course)
    trainee = make_trainee(enrolled_in=course)
    with pytest.raises(services.InvalidEvent):
        services.record_event(trainee, event(video, kind="complete"))


def test_phone_clock_in_the_future_is_clamped(app):
    course = make_course(lessons=1)
    lesson = courses.ordered_lessons(course)[0]
    trainee = make_trainee(enrolled_in=course)
    future = dataclasses.replace(event(lesson, kind="complete"), occurred_at=utcnow() + timedelta(days=3))
    services.record_event(trainee, future)
    assert services.get_progress(trainee, lesson).completed_at <= utcnow() + timedelta(minutes=6)


def test_course_completes_only_when_every_required_lesson_is_done(app):
    course = make_course(lessons=2)
    first, second = courses.ordered_lessons(course)
    optional = add_video_lesson(course, slug="them", required=False)
    trainee = make_trainee(enrolled_in=course)
    services.record_event(trainee, event(first, kind="complete"))
    assert services.get_enrollment(trainee, course).completed_at is None
    services.record_event(trainee, event(second, kind="complete"))
    summary = services.course_progress(trainee, course)
    assert summary.completed_at is not None and summary.percent == 100
    assert not summary.is_done(optional)


def test_registered_completion_rules_are_checked(app):
    course = make_course(lessons=1)
    trainee = make_trainee(enrolled_in=course)
    hooks.register_completion_rule("test-attendance", lambda e: services.RuleOutcome(False, "attendance"))
    try:
        services.record_event(trainee, event(courses.ordered_lessons(course)[0], kind="complete"))
        assert services.get_enrollment(trainee, course).completed_at is None
    finally:
        hooks._completion_rules.pop("test-attendance")


def test_resume_goes_to_the_last_opened_unfinished_lesson(app):
    course = make_course(lessons=3)
    first, second, third = courses.ordered_lessons(course)
    trainee = make_trainee(enrolled_in=course)
    services.open_lesson(trainee, third)
    assert services.course_progress(trainee, course).resume_lesson == third
    services.record_event(trainee, event(third, kind="complete"))
    assert services.course_progress(trainee, course).resume_lesson == first


def test_leaving_keeps_history_and_rejoining_restores_it(app):
    course = make_course(lessons=2)
    first = courses.ordered_lessons(course)[0]
    trainee = make_trainee(enrolled_in=course)
    services.record_event(trainee, event(first, kind="complete"))
    services.leave_course(services.get_enrollment(trainee, course))
    db.session.commit()
    assert services.get_enrollment(trainee, course) is None
    assert services.get_enrollment(trainee, course, active_only=False).status == EnrollmentStatus.LEFT
    services.self_enrol(trainee, course)
    assert services.course_progress(trainee, course).is_done(first)


def test_restricted_courses_refuse_self_enrolment(app):
    course = make_course()
    course.enrollment_mode = EnrollmentMode.RESTRICTED
    with pytest.raises(services.EnrollmentClosed):
        services.self_enrol(make_trainee(), course)


def test_a_blank_zero_position_never_erases_a_saved_place(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=100)
    trainee = make_trainee(enrolled_in=course)
    services.record_event(trainee, event(video, minutes_ago=2, position_s=42, segments=((30, 42),)))
    # A page that had not loaded the video yet reports 0 s and nothing watched when it is left.
    services.record_event(trainee, event(video, minutes_ago=1, position_s=0))
    assert services.get_progress(trainee, video).position_s == 42
    # Watching the start again does move the place back.
    services.record_event(trainee, event(video, position_s=0.5, segments=((0, 0.5),)))
    assert services.get_progress(trainee, video).position_s == 0.5


def test_an_event_from_a_phone_set_in_the_future_does_not_hold_back_newer_positions(app):
    """A phone clock at 2099 counts as now: the next real event still moves the position."""
    course = make_course(lessons=0)
    video = add_video_lesson(course)
    trainee = make_trainee(enrolled_in=course)
    future = dataclasses.replace(event(video, position_s=40), occurred_at=utcnow().replace(year=2099))
    services.record_event(trainee, future)
    assert services.get_progress(trainee, video).position_at <= utcnow()
    services.record_event(trainee, event(video, position_s=70))
    assert services.get_progress(trainee, video).position_s == 70


def test_events_long_before_the_enrolment_are_refused_and_none_dates_a_lesson_before_it(app):
    course = make_course(lessons=0)
    video = add_video_lesson(course, duration_s=60)
    trainee = make_trainee(enrolled_in=course)
    enrolled_at = services.get_enrollment(trainee, course).enrolled_at
    with pytest.raises(services.InvalidEvent, match="trước khi bạn vào khoá học"):
        services.record_event(trainee, event(video, minutes_ago=3 * 24 * 60, segments=((0, 60),)))
    assert services.get_progress(trainee, video) is None
    # A phone a few hours behind: the work counts, dated no earlier than joining.
    opened(trainee, video, minutes_ago=6 * 60)
    services.record_event(trainee, event(video, minutes_ago=5 * 60, position_s=60, segments=((0, 60),)))
    assert services.get_progress(trainee, video).completed_at >= enrolled_at
