"""Issue 5 figure: latency of self check-ins when 150 trainees check in within one minute.

A class of 150 with a session happening now is built in a temporary SQLite database; each
trainee logs in over HTTP (gunicorn, 2 workers); then all 150 type the session's 6-digit
code, spread over 60 seconds from 16 concurrent clients. Run: .venv/bin/python bench/checkins.py
"""

import concurrent.futures
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from _common import ROOT, VENV_BIN, free_port, instance_env, lms, save, wait_for_200

TRAINEES = 150
SPREAD_S = 60.0


def build(env: dict) -> None:
    """Create the class, its members (one shared password hash) and a session now, in a child process."""
    script = f"""
from datetime import datetime, timedelta
from lms import create_app
from lms.core.extensions import db
from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.cohorts import services as cohorts
from lms.courses import services as courses
app = create_app()
with app.app_context():
    course = courses.create_course(title="Bench", slug="bench", status=courses.CourseStatus.PUBLISHED)
    courses.add_module(course, "P1")
    cohort = cohorts.create_cohort(code="BENCH-01", course=course, name="Bench")
    shared = None
    for i in range({TRAINEES}):
        user = accounts.create_user(full_name=f"Học Viên {{i}}", phone=f"0983{{i:06d}}", roles={{Role.TRAINEE}})
        if shared is None:
            accounts.set_password(user, "bench-pass-1")
            shared = user.password_hash
        user.password_hash = shared
        cohorts.add_member(cohort, user)
    now = datetime.now(cohorts.VIETNAM)
    cohorts.add_session(cohort, day=now.date(), start=(now - timedelta(minutes=5)).time().replace(microsecond=0),
                        end=(now + timedelta(minutes=90)).time().replace(microsecond=0))
    db.session.commit()
"""
    subprocess.run([str(VENV_BIN / "python"), "-c", script], env=env, check=True)


def current_code(env: dict) -> str:
    script = """
from lms import create_app
from lms.attendance.checkin import make_code
from lms.cohorts.models import ClassSession
from lms.core.extensions import db
app = create_app()
with app.app_context():
    print(make_code(db.session.query(ClassSession).one()))
"""
    return subprocess.run([str(VENV_BIN / "python"), "-c", script], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def login(base: str, phone: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    token = re.search(r'csrf-token" content="([^"]+)"', session.get(base + "/login").text).group(1)
    session.post(base + "/login", data={"phone": phone, "password": "bench-pass-1", "csrf_token": token})
    token = re.search(r'csrf-token" content="([^"]+)"', session.get(base + "/check-in").text).group(1)
    return session, token


def main():
    with tempfile.TemporaryDirectory() as tmp:
        env = instance_env(Path(tmp))
        lms("db", "upgrade", env=env)
        build(env)
        port = free_port()
        server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2",
                                   "--access-logfile", "/dev/null", "-b", f"127.0.0.1:{port}", "lms.wsgi:app"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_200(base + "/healthz", timeout=60)
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                clients = list(pool.map(lambda i: login(base, f"0983{i:06d}"), range(TRAINEES)))
            code = current_code(env)
            started = time.perf_counter()

            def check_in(index: int):
                time.sleep(max(0.0, index * SPREAD_S / TRAINEES - (time.perf_counter() - started)))
                session, token = clients[index]
                t = time.perf_counter()
                response = session.post(base + "/check-in", data={"code": code, "csrf_token": token})
                return time.perf_counter() - t, response.status_code, "check-in" not in response.url

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                outcomes = list(pool.map(check_in, range(TRAINEES)))
            latencies = sorted(o[0] * 1000 for o in outcomes)
            ok = sum(1 for o in outcomes if o[1] == 200)
            results = {
                "trainees": TRAINEES, "spread_seconds": SPREAD_S, "http_200": ok,
                "p50_ms": round(statistics.median(latencies), 1),
                "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
                "max_ms": round(latencies[-1], 1),
            }
            results["records_written"] = int(subprocess.run([str(VENV_BIN / "python"), "-c", """
from lms import create_app
from lms.core.extensions import db
from lms.attendance.models import AttendanceRecord
app = create_app()
with app.app_context():
    print(db.session.query(AttendanceRecord).count())
"""], env=env, capture_output=True, text=True, check=True).stdout.strip())
        finally:
            server.terminate()
            server.wait()
    save("checkins", results)


if __name__ == "__main__":
    main()
