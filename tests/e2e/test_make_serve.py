"""`make serve` (what `make run` ends with) stops cleanly on Ctrl-C, the worker with it."""

import os
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.e2e.conftest import ROOT, _free_port


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
def test_ctrl_c_stops_server_and_worker_without_a_crash(tmp_path):
    env = {**os.environ, "LMS_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
    env.pop("REDIS_URL", None)
    env.pop("MAKEFLAGS", None)
    port = _free_port()
    # A session of its own, like a terminal's foreground job: Ctrl-C sends SIGINT to the whole group.
    make = subprocess.Popen(["make", "--no-print-directory", "-C", str(ROOT), "serve", f"PORT={port}"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90  # the app takes a while to import on a loaded machine
        while time.monotonic() < deadline and make.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"make serve did not answer /healthz:\n{make.communicate(timeout=5)[0] if make.poll() is not None else ''}")
        time.sleep(3)  # let the worker reach its consumer loop too
        os.killpg(make.pid, signal.SIGINT)
        started = time.monotonic()
        output, _ = make.communicate(timeout=20)
        took = time.monotonic() - started
    finally:
        if _group_alive(make.pid):
            os.killpg(make.pid, signal.SIGKILL)
    assert "Segmentation fault" not in output, output
    assert make.returncode != -signal.SIGSEGV and make.returncode != 139, output
    assert "Consumer exiting" in output, output  # the worker stopped by itself, gracefully
    assert took < 15, f"took {took:.1f} s to stop"
    time.sleep(0.5)
    assert not _group_alive(make.pid), "a process of `make serve` outlived Ctrl-C"
