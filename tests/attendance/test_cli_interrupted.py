"""An interrupted `lms attendance export` leaves no partial file: stopped, it cleans up; killed, the next run does."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lms.attendance.commands import remove_stale_partials
from tests.killed_worker import ROOT


def start_export(app, output, marker):
    env = {**os.environ, "LMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": app.config["SECRET_KEY"], "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "tests.killed_worker", "cli-export", str(marker),
                                "attendance", "export", "--all", "-o", str(output)],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
        time.sleep(0.05)
    return process


def partials(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_export_removes_its_partial_file(app, tmp_path, signum):
    output = tmp_path / "out" / "diem-danh.xlsx"
    process = start_export(app, output, tmp_path / "started")
    assert len(partials(output.parent)) == 1  # being written, under a hidden name
    process.send_signal(signum)
    process.wait(timeout=10)
    process.stdout.close()
    assert process.returncode != 0
    assert partials(output.parent) == [] and not output.exists()


def test_the_next_export_removes_what_a_killed_one_left(app, runner, tmp_path):
    output = tmp_path / "out" / "diem-danh.xlsx"
    process = start_export(app, output, tmp_path / "started")
    process.kill()  # kill -9: nothing of the process runs
    process.wait(timeout=10)
    process.stdout.close()
    [leftover] = partials(output.parent)
    assert leftover.startswith(".diem-danh.xlsx.")

    result = runner.invoke(args=["attendance", "export", "--all", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert partials(output.parent) == [] and output.read_bytes().startswith(b"PK")


def test_a_partial_file_of_an_export_still_running_is_kept(tmp_path):
    output = tmp_path / "diem-danh.csv"
    mine = tmp_path / f".diem-danh.csv.{os.getppid()}.abcd1234.part"  # a live process's
    dead = tmp_path / ".diem-danh.csv.999999999.abcd1234.part"
    old_style = tmp_path / ".diem-danh.csv.k2j3h4g5.part"
    other = tmp_path / ".bao-cao.csv.999999999.abcd1234.part"
    for path in (mine, dead, old_style, other):
        path.write_bytes(b"")
    assert sorted(remove_stale_partials(output)) == sorted([dead, old_style])
    assert mine.exists() and other.exists()
