"""A live Làng Số with the demo loaded; the browser fixtures are in tests/conftest.py."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
LMS = [sys.executable, "-m", "lms.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DEMO_PASSWORD = "demo12345"
#: The demo accounts README.md lists, by role.
DEMO_ACCOUNTS = {"admin": "0900000001", "organizer": "0900000002", "instructor": "0900000003", "trainee": "0900000004",
                 "official": "0900000005"}


@dataclass
class DemoSite:
    """A served demo: where it answers, who can log in, and where its server writes its log."""

    base_url: str
    accounts: dict[str, str]
    password: str
    log: Path

    def server_errors(self, limit: int = 20) -> str:
        """Return the last exceptions in the server's log, each with the app's own frames above it."""
        if not self.log.exists():
            return "(no server log)"
        found, frames = [], []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("Traceback"):
                frames = []
            elif line.lstrip().startswith("File ") and "/lms/" in line and "site-packages" not in line:
                frames.append(line.strip())
            elif re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line):
                found.append("\n".join([*frames[-3:], line]))
        return "\n".join(found[-limit:]) or "(no exception in the server log)"


def _demo_env(instance: Path) -> dict:
    env = {**os.environ, "LMS_INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'e2e.sqlite3'}"}
    env.pop("REDIS_URL", None)
    # The crawl opens /verify and its look-ups as five roles from one address: more than a person would.
    env["LMS_VERIFY_LIMIT"] = "2000 per minute"
    return env


def _load_demo(env: dict, *seed_args: str) -> None:
    for args in (["db", "upgrade"], ["seed", "demo", *seed_args]):
        done = subprocess.run([*LMS, *args], env=env, capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"`lms {' '.join(args)}` failed:\n{done.stderr[-3000:]}")


def _wait_until_up(base: str, processes: list) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - our own loopback server
            return
        except OSError:
            time.sleep(0.1)
    for process in processes:
        process.kill()
    pytest.fail("the live server did not answer /healthz")


def _stop(processes: list) -> None:
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Migrate, seed the demo and serve it on a free port; return its base URL."""
    env = _demo_env(tmp_path_factory.mktemp("e2e-instance"))
    _load_demo(env)
    port = _free_port()
    server = subprocess.Popen([*LMS, "run", "--port", str(port), "--no-reload"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([*LMS, "worker", "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base, [server, worker])
    yield base
    _stop([server, worker])


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    """A fresh instance with the demo and 200 generated trainees, served by the real server on a free port.

    Its own instance, so that what other browser tests do to the demo never changes what a crawl sees.
    LMS_E2E_DEMO_URL=http://127.0.0.1:PORT uses a demo already served there instead (and
    LMS_E2E_DEMO_LOG its server's log), to run the crawl again without seeding again.
    """
    if os.environ.get("LMS_E2E_DEMO_URL"):
        yield DemoSite(base_url=os.environ["LMS_E2E_DEMO_URL"].rstrip("/"), accounts=dict(DEMO_ACCOUNTS),
                       password=DEMO_PASSWORD, log=Path(os.environ.get("LMS_E2E_DEMO_LOG", "/nonexistent")))
        return
    instance = tmp_path_factory.mktemp("demo-site")
    env = _demo_env(instance)
    _load_demo(env, "--trainees", "200")
    port = _free_port()
    log = instance / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([*LMS, "run", "--port", str(port), "--no-reload"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base, [server])
    yield DemoSite(base_url=base, accounts=dict(DEMO_ACCOUNTS), password=DEMO_PASSWORD, log=log)
    _stop([server])


@pytest.fixture
def page(phone_page):
    """A phone-sized page that fails the test on any script error or console error."""
    problems = []
    phone_page.on("pageerror", lambda error: problems.append(str(error)))
    phone_page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    yield phone_page
    assert problems == []


def log_in_with_the_form(page, base: str, phone: str, password: str | None = None) -> None:
    """Log in through the login page (with the factories' password unless given), and wait for the next page."""
    from tests.conftest import wait_until_logged_in
    from tests.factories import DEFAULT_PASSWORD

    page.goto(base + "/login")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(password or DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    wait_until_logged_in(page)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
