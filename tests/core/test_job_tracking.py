"""The one heartbeat rule every background job shares (lms.core.jobs)."""

import threading
from datetime import timedelta

import pytest

from lms.core import jobs
from lms.core.db import utcnow
from lms.web.tasks import recover_stale_jobs_job


def test_a_running_job_is_stale_after_the_configured_silence(app):
    now = utcnow()
    assert jobs.stale_after() == timedelta(minutes=2)  # the default: noticed within minutes, not hours
    assert not jobs.is_stale(now - timedelta(seconds=119), now)
    assert jobs.is_stale(now - timedelta(seconds=120), now)
    assert jobs.is_stale(None, now)  # never heard of
    app.config["JOBS_STALE_AFTER_S"] = 600
    assert not jobs.is_stale(now - timedelta(minutes=5), now)


def test_the_heartbeat_beats_from_its_own_thread_until_the_job_ends_and_survives_a_failed_beat(app):
    beats, third = [], threading.Event()

    def beat():
        beats.append(threading.current_thread().name)
        if len(beats) == 2:
            raise RuntimeError("database is locked")  # logged; the next beat comes all the same
        if len(beats) >= 3:
            third.set()

    with jobs.Heartbeat(beat, interval=0.01):
        assert beats == [threading.current_thread().name]  # at once, before the job's work
        assert third.wait(timeout=10)
    after = len(beats)
    assert set(beats[1:]) == {"job-heartbeat"}
    assert not any(t.name == "job-heartbeat" and t.is_alive() for t in threading.enumerate())
    assert len(beats) == after


def test_the_periodic_job_runs_every_kind_and_one_failure_does_not_stop_the_others(app, monkeypatch):
    calls = []
    monkeypatch.setattr(jobs, "_recoverers", {
        "broken": lambda: 1 / 0,
        "fine": lambda: calls.append("fine") or 2,
    })
    assert recover_stale_jobs_job.call_local() == {"fine": 2}
    assert calls == ["fine"]


def test_every_kind_of_job_registers_its_recoverer(app):
    assert set(jobs.recoverers()) == {"attendance exports", "certificate batches", "media processing",
                                           "trainee imports"}


class RuleBroken(Exception):
    pass


def _run(marks, *, reraise=True):
    return jobs.TrackedRun(name="a test job", start=lambda: marks.append("start") or True, beat=lambda: None,
                           fail=marks.append, failure_text=lambda: "general words",
                           page_errors=(RuleBroken,), reraise=reraise)


def test_a_tracked_job_that_cannot_start_does_no_work(app):
    calls = []
    run = jobs.TrackedRun(name="gone", start=lambda: False, beat=lambda: None, fail=calls.append,
                          failure_text=lambda: "x")
    assert jobs.run_tracked(run, lambda: calls.append("work")) == {"status": "missing"}
    assert calls == []


def test_a_tracked_job_returns_what_its_work_returns(app):
    marks = []
    assert jobs.run_tracked(_run(marks), lambda: {"status": "done"}) == {"status": "done"}
    assert marks == ["start"]


def test_a_rule_error_is_shown_in_its_own_words_and_anything_else_in_general_ones(app):
    marks = []
    with pytest.raises(RuleBroken):
        jobs.run_tracked(_run(marks), lambda: (_ for _ in ()).throw(RuleBroken("Lớp không còn nữa.")))
    assert marks == ["start", "Lớp không còn nữa."]
    marks.clear()
    with pytest.raises(ZeroDivisionError):
        jobs.run_tracked(_run(marks), lambda: 1 / 0)
    assert marks == ["start", "general words"]


def test_a_tracked_job_may_keep_its_error_from_the_queue(app):
    marks = []
    assert jobs.run_tracked(_run(marks, reraise=False), lambda: 1 / 0) is None
    assert marks == ["start", "general words"]
