"""An import whose worker died (kill -9, out of memory) fails within minutes, says so and can be tried again at once."""

import os
from datetime import timedelta
from pathlib import Path

from lms.cohorts import import_tasks
from lms.cohorts.import_tasks import ImportState
from lms.cohorts.models import CohortMember
from lms.core.db import utcnow
from lms.web.tasks import recover_stale_jobs_job
from tests.cohorts import fixtures
from tests.cohorts.test_import_views import GOOD, cohort, count, organizer, token_of, upload  # noqa: F401 - fixtures
from tests.conftest import csrf_token
from tests.killed_worker import killed_mid_job

LOST = "The background worker stopped while importing. Nothing was imported: press Try again."


def folder(app) -> Path:
    return Path(app.instance_path) / "imports"


def leave_running(app, token: str, *, silent_for: timedelta) -> Path:
    """Leave what a process killed mid-import leaves: a running status, its heartbeat, a half-written status file."""
    then = utcnow() - silent_for
    import_tasks.write_status(token, ImportState.RUNNING, progress=0.4, updated_at=then.isoformat())
    beat = folder(app) / f"{token}.beat"
    beat.touch()
    os.utime(beat, (then.timestamp(), then.timestamp()))
    partial = folder(app) / f".{token}.status.json.1a2b3c4d"
    partial.write_text('{"state": "runn')
    return partial


def test_an_import_whose_worker_died_says_so_and_is_tried_again_at_once(app, client, organizer, cohort):  # noqa: F811
    token = token_of(upload(client, fixtures.xlsx(GOOD)))
    partial = leave_running(app, token, silent_for=timedelta(minutes=3))  # not the 15 minutes it blocked before

    page = client.get(f"/cohorts/PX-KT-01/import/{token}/progress").get_data(as_text=True)
    assert LOST in page and "Try again" in page
    assert '<meta http-equiv="refresh"' not in page
    assert not partial.exists() and not (folder(app) / f"{token}.beat").exists()
    status = client.get(f"/cohorts/PX-KT-01/import/{token}/status").get_json()
    assert status["state"] == "failed" and status["message"] == LOST

    client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})  # Try again
    assert import_tasks.read_status(token)["state"] == "done"
    assert count(CohortMember) == 2


def test_an_import_whose_heartbeat_goes_on_is_still_running(app, client, organizer, cohort):  # noqa: F811
    token = token_of(upload(client, fixtures.xlsx(GOOD)))
    leave_running(app, token, silent_for=timedelta(minutes=3))
    (folder(app) / f"{token}.beat").touch()  # its process is alive, busy in one long step
    assert recover_stale_jobs_job.call_local()["trainee imports"] == 0
    page = client.get(f"/cohorts/PX-KT-01/import/{token}/progress").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page and LOST not in page
    client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
    assert count(CohortMember) == 0  # no second import beside the live one

    app.config["JOBS_STALE_AFTER_S"] = 0
    assert recover_stale_jobs_job.call_local()["trainee imports"] == 1  # the periodic job, with no page open
    assert import_tasks.read_status(token)["message"] == import_tasks.WORKER_LOST


def test_kill_9_of_the_real_worker_mid_import(app, client, organizer, cohort, tmp_path):  # noqa: F811
    """A real `lms worker` takes a large import and is killed mid-way: nothing half-imported, the retry works."""
    rows = [["Họ và tên", "SĐT"]] + [[f"Học Viên {i}", f"0913{i:06d}"] for i in range(1, import_tasks.INLINE_ROW_LIMIT + 2)]
    token = token_of(upload(client, fixtures.xlsx(rows)))
    with killed_mid_job(app, "import", tmp_path) as kill_when_started:
        client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
        kill_when_started()
    assert import_tasks.read_status(token)["state"] == ImportState.RUNNING  # its heartbeat is fresh: not yet
    assert (folder(app) / f"{token}.beat").exists()

    app.config["JOBS_STALE_AFTER_S"] = 0  # as if the 2 minutes had passed
    page = client.get(f"/cohorts/PX-KT-01/import/{token}/progress").get_data(as_text=True)
    assert LOST in page and count(CohortMember) == 0
    client.post(f"/cohorts/PX-KT-01/import/{token}/commit", data={"csrf_token": csrf_token(client)})
    assert import_tasks.read_status(token)["state"] == "done"
    assert count(CohortMember) == import_tasks.INLINE_ROW_LIMIT + 1
