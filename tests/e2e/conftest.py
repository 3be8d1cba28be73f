"""A live Làng Số with the demo loaded; the browser fixtures are in tests/conftest.py."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Migrate, seed the demo and serve it on a free port; return its base URL."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    env = {**os.environ, "LMS_INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'e2e.sqlite3'}"}
    env.pop("REDIS_URL", None)
    lms = [sys.executable, "-m", "lms.cli"]
    subprocess.run([*lms, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*lms, "seed", "demo"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*lms, "run", "--port", str(port), "--no-reload"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([*lms, "worker", "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - our own loopback server
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        worker.kill()
        pytest.fail("the live server did not answer /healthz")
    yield base
    for process in (server, worker):
        process.terminate()
        process.wait(timeout=10)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
