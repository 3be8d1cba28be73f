"""Lesson activity past its retention is folded into totals by the worker; figures stay exact."""

from datetime import timedelta

import sqlalchemy as sa

from lms.core.extensions import db
from lms.learning import services as learning
from lms.learning.models import Enrollment, LessonProgress, ProgressEvent
from lms.privacy.models import LessonActivityTotal
from lms.privacy.tasks import fold_old_activity_job
from tests.factories import event, make_course, make_trainee


def _events_by_key():
    rows = db.session.execute(sa.select(ProgressEvent.user_id, ProgressEvent.lesson_id, ProgressEvent.kind,
                                        sa.func.count()).group_by(ProgressEvent.user_id, ProgressEvent.lesson_id,
                                                                  ProgressEvent.kind))
    return {(u, le, k): n for u, le, k, n in rows}


def _totals():
    return {(t.user_id, t.lesson_id, t.kind): t.events for t in db.session.scalars(sa.select(LessonActivityTotal))}


def _age_events(user, days):
    """Make the user's events look `days` old (as if recorded then)."""
    for row in db.session.scalars(sa.select(ProgressEvent).where(ProgressEvent.user_id == user.id)):
        row.occurred_at -= timedelta(days=days)
    db.session.commit()


def _figures(course):
    progress = sorted((p.user_id, p.lesson_id, p.completed_at, p.watched_fraction)
                      for p in db.session.scalars(sa.select(LessonProgress)))
    enrolments = sorted((e.user_id, e.completed_at) for e in db.session.scalars(sa.select(Enrollment)))
    return progress, enrolments


def test_the_worker_folds_detail_older_than_the_retention_and_keeps_every_figure(app):
    app.config["ACTIVITY_RETENTION_DAYS"] = 30
    course = make_course(lessons=2)
    lessons = course.modules[0].lessons
    old, recent = make_trainee(enrolled_in=course), make_trainee(enrolled_in=course, phone="0912999001")
    for user in (old, recent):
        for lesson in lessons:
            learning.record_event(user, event(lesson, "open"))
            learning.record_event(user, event(lesson, "open"))
            learning.record_event(user, event(lesson, "complete"))
        db.session.commit()
    _age_events(old, 31)
    before_events, before_figures = _events_by_key(), _figures(course)
    old_keys = {k: n for k, n in before_events.items() if k[0] == old.id}

    assert fold_old_activity_job.call_local() == 6

    assert _totals() == old_keys  # every old event counted, by user, lesson and kind
    left = _events_by_key()
    assert all(user_id == recent.id for user_id, _, _ in left)  # the old trainee's detail is gone
    assert left == {k: n for k, n in before_events.items() if k[0] == recent.id}  # the recent one's is kept
    assert _figures(course) == before_figures  # completion and watched shares unchanged
    assert learning.course_progress(old, course).percent == 100


def test_folding_again_adds_to_the_totals(app):
    app.config["ACTIVITY_RETENTION_DAYS"] = 30
    course = make_course(lessons=1)
    lesson = course.modules[0].lessons[0]
    trainee = make_trainee(enrolled_in=course)
    learning.record_event(trainee, event(lesson, "open"))
    db.session.commit()
    _age_events(trainee, 40)
    fold_old_activity_job.call_local()
    learning.record_event(trainee, event(lesson, "open"))
    learning.record_event(trainee, event(lesson, "open"))
    db.session.commit()
    _age_events(trainee, 40)

    assert fold_old_activity_job.call_local() == 2
    assert _totals() == {(trainee.id, lesson.id, "open"): 3}
    assert _events_by_key() == {}


def test_detail_within_the_retention_is_kept(app):
    app.config["ACTIVITY_RETENTION_DAYS"] = 365
    course = make_course(lessons=1)
    trainee = make_trainee(enrolled_in=course)
    learning.record_event(trainee, event(course.modules[0].lessons[0], "open"))
    db.session.commit()
    _age_events(trainee, 364)
    assert fold_old_activity_job.call_local() == 0
    assert _totals() == {}


def test_small_batches_add_up_to_the_same_totals(app):
    from lms.privacy.services import activity_cutoff, fold_old_activity

    app.config["ACTIVITY_RETENTION_DAYS"] = 30
    course = make_course(lessons=1)
    lesson = course.modules[0].lessons[0]
    trainee = make_trainee(enrolled_in=course)
    for _ in range(5):
        learning.record_event(trainee, event(lesson, "open"))
    db.session.commit()
    _age_events(trainee, 31)
    batches = []
    while folded := fold_old_activity(activity_cutoff(), limit=2):
        db.session.commit()
        batches.append(folded)
    assert batches == [2, 2, 1]
    assert _totals() == {(trainee.id, lesson.id, "open"): 5}
