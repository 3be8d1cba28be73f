"""Run the real `lms worker`, let a job start, and kill -9 it mid-task: what a crash or the OOM killer does.

`python -m tests.killed_worker MODE MARKER [LMS COMMAND…]` is the worker command (or the given
`lms` command) with one function of the job replaced by a stand-in that does the job's first part for real (a partial file written, progress
saved), creates MARKER and then hangs, so the test knows when to kill. The tests drive it with
`killed_mid_job`.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _hang(marker: str) -> None:
    Path(marker).touch()
    time.sleep(600)  # killed long before


def _patch_export(marker: str) -> None:
    from lms.attendance import exports

    def half_then_hang(fileobj, f, on_progress=None):
        fileobj.write(b"PK\x03\x04 the first rows of a workbook")
        fileobj.flush()
        on_progress(4)
        _hang(marker)

    exports.write_attendance_xlsx = half_then_hang


def _patch_import(marker: str) -> None:
    from lms.cohorts import importing

    def progress_then_hang(cohort, data, on_progress=None):
        on_progress(0.5)
        _hang(marker)

    importing.commit_import = progress_then_hang


def _patch_cli_export(marker: str) -> None:
    from lms.attendance import exports

    def half_then_hang(fileobj, **filters):
        fileobj.write(b"PK\x03\x04 the first rows of a workbook")
        fileobj.flush()
        _hang(marker)

    exports.export_attendance_xlsx = half_then_hang


PATCHES = {"export": _patch_export, "import": _patch_import, "cli-export": _patch_cli_export}


@contextlib.contextmanager
def killed_mid_job(app, mode: str, tmp_path: Path, *, heartbeat_s: float = 0.2):
    """Point the job queue at the SQLite queue a real worker reads; yield a function that waits and kills it.

    The app keeps its database and instance folder; on leaving, jobs run inline again.
    """
    from lms import create_app
    from lms.core import jobs
    from tests.conftest import TEST_CONFIG

    marker = tmp_path / f"{mode}-started"
    create_app({**TEST_CONFIG, "JOBS_IMMEDIATE": False, "INSTANCE_PATH": app.instance_path,
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})  # the queue is global: now SQLite
    env = {**os.environ, "LMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": app.config["SECRET_KEY"], "LMS_JOBS_HEARTBEAT_S": str(heartbeat_s),
           "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    worker = subprocess.Popen([sys.executable, "-m", "tests.killed_worker", mode, str(marker)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def kill_when_started(timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if worker.poll() is not None or time.monotonic() > deadline:
                output = worker.stdout.read().decode(errors="replace") if worker.poll() is not None else ""
                raise AssertionError(f"the worker never started the {mode} job: {output[-2000:]}")
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert worker.returncode == -signal.SIGKILL

    try:
        yield kill_when_started
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        worker.stdout.close()
        jobs.init_app(app)  # inline again for the rest of the test and the suite


if __name__ == "__main__":
    mode, marker_path, *command = sys.argv[1:]
    PATCHES[mode](marker_path)
    from lms.cli import main

    main(command or ["worker", "--workers", "1"])
