"""The one heartbeat rule every background job shares (lms.core.jobs)."""

import threading
from datetime import timedelta

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
    monkeypatch.setattr(heartbeat, "_recoverers", {
        "broken": lambda: 1 / 0,
        "fine": lambda: calls.append("fine") or 2,
    })
    assert recover_stale_jobs_job.call_local() == {"fine": 2}
    assert calls == ["fine"]


def test_every_kind_of_job_registers_its_recoverer(app):
    assert set(jobs.recoverers()) == {"attendance exports", "certificate batches", "media processing",
                                           "trainee imports"}
