"""Issue 4 figures: p50/p99 latency and requests/s of the lesson page and of the progress POST
under 32 connections on loopback (wrk), with the 4,500-trainee demo, on SQLite and PostgreSQL,
beside the bare Flask yardstick (bench/yardstick_app.py), all under gunicorn with 2 workers.

Run: `make bench` or `.venv/bin/python bench/learning_load.py [--seconds 15] [--skip-postgres]`.
Needs `wrk` (Debian package), which `make bench` installs when missing.
"""

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import requests
import sqlalchemy as sa
from _common import ROOT, VENV_BIN, free_port, instance_env, lms, save, wait_for_200

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
LESSON = "/courses/viet-bai-ban-hang/lessons/cau-truc-bai-ban-hang"
POST_SCRIPT = """
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local function uuid4()
  local t = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (t:gsub("[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end
request = function()
  local body = string.format('{"id":"%s","lesson_id":LESSON_ID,"kind":"open","occurred_at":"%s"}',
                             uuid4(), os.date("!%Y-%m-%dT%H:%M:%S+00:00"))
  return wrk.format("POST", "/api/v1/progress", nil, body)
end
"""


def wrk(url: str, seconds: int, headers: dict, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def ms(label):
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms(" 50"), "p99_ms": ms(" 99"),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def gunicorn(app_spec: str, env: dict, cwd: Path = ROOT) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # The yardstick gets the same server settings (2 sync workers, preloaded) without our hooks.
    config = ["-c", str(ROOT / "gunicorn.conf.py")] if app_spec.startswith("lms") else ["--preload"]
    process = subprocess.Popen([str(VENV_BIN / "gunicorn"), *config, "-w", "2",
                                "--access-logfile", "/dev/null", "-b", f"127.0.0.1:{port}", app_spec],
                               env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def login(base: str) -> tuple[dict, str]:
    session = requests.Session()
    token = re.search(r'csrf-token" content="([^"]+)"', session.get(base + "/login").text).group(1)
    session.post(base + "/login", data={"phone": "0900000004", "password": "demo12345", "csrf_token": token})
    page = session.get(base + LESSON)
    assert page.status_code == 200, page.status_code
    token = re.search(r'csrf-token" content="([^"]+)"', page.text).group(1)
    lesson_id = re.search(r'data-lesson-id="(\d+)"', page.text).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return {"Cookie": cookie, "X-CSRFToken": token, "Content-Type": "application/json"}, lesson_id


def measure_app(label: str, env: dict, seconds: int, work: Path) -> dict:
    lms("db", "upgrade", env=env)
    lms("seed", "demo", "--trainees", "4500", "--random-seed", "1", env=env)
    process, base = gunicorn("lms.wsgi:app", env)
    try:
        wait_for_200(base + "/healthz", timeout=60)
        headers, lesson_id = login(base)
        script = work / f"post-{label}.lua"
        script.write_text(POST_SCRIPT.replace("LESSON_ID", lesson_id))
        return {
            "lesson_page": wrk(base + LESSON, seconds, {"Cookie": headers["Cookie"]}),
            "progress_post": wrk(base + "/api/v1/progress", seconds, headers, script),
        }
    finally:
        process.terminate()
        process.wait()


def yardstick(database_url: str, seconds: int) -> dict:
    """Serve the bare Flask page on this database under gunicorn and load it like the lesson page."""
    env = {**os.environ, "YARDSTICK_DATABASE_URL": database_url}
    process, base = gunicorn("yardstick_app:create_app()", env, cwd=ROOT / "bench")
    try:
        wait_for_200(base + "/", timeout=30)
        return wrk(base + "/", seconds, {})
    finally:
        process.terminate()
        process.wait()


def postgres_env(work: Path) -> tuple[dict, callable]:
    name = f"lms_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return instance_env(work / "pg-instance", DATABASE_URL=url), drop


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make bench does it)")
    results = {"connections": 32, "seconds": args.seconds, "gunicorn_workers": 2,
               "note": "wrk and gunicorn share the machine's 2 cores"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["yardstick_bare_flask_20_rows"] = yardstick(f"sqlite:///{work / 'yardstick.sqlite3'}", args.seconds)
        (work / "sqlite-instance").mkdir()
        results["sqlite"] = measure_app("sqlite", instance_env(work / "sqlite-instance"), args.seconds, work)
        if not args.skip_postgres:
            (work / "pg-instance").mkdir()
            env, drop = postgres_env(work)
            try:
                results["postgresql"] = measure_app("pg", env, args.seconds, work)
                # For context, not the goal: the same bare page reading its 20 rows from PostgreSQL.
                results["postgresql"]["yardstick_on_postgresql"] = yardstick(env["DATABASE_URL"], args.seconds)
            finally:
                drop()
    floor = results["yardstick_bare_flask_20_rows"]["requests_per_s"]
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            page = results[backend]["lesson_page"]["requests_per_s"]
            results[backend]["lesson_page_vs_yardstick"] = round(page / floor, 2)
    if "postgresql" in results:
        pg = results["postgresql"]
        pg["lesson_page_vs_yardstick_on_postgresql"] = round(
            pg["lesson_page"]["requests_per_s"] / pg["yardstick_on_postgresql"]["requests_per_s"], 2)
    save("learning_load", results)


if __name__ == "__main__":
    main()
