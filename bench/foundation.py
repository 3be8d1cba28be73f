"""Issue 2 figures: start-up time, idle memory, demo seeding, page weight, test counts.

Run with `make bench` (or `.venv/bin/python bench/foundation.py [--fresh-clone]`).
"""

import argparse
import http.cookiejar
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from _common import (
    ROOT,
    VENV_BIN,
    free_port,
    gzip_size,
    instance_env,
    lms,
    save,
    tree_memory_mib,
    wait_for_200,
)


def time_fresh_clone_make_run() -> float:
    """Clone the repo to a temp folder and time `make run` up to the first 200 on /healthz."""
    work = Path(tempfile.mkdtemp(prefix="lms-clone-"))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work / "lang-so")], check=True)
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=work / "lang-so",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_200(f"http://127.0.0.1:{port}/healthz", timeout=900)
        return time.perf_counter() - started
    finally:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def time_lms_run(env) -> list[float]:
    """Time `lms run` to the first 200 on /healthz, five times."""
    timings = []
    for _ in range(5):
        port = free_port()
        started = time.perf_counter()
        proc = subprocess.Popen([str(VENV_BIN / "lms"), "run", "--port", str(port), "--no-reload"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_200(f"http://127.0.0.1:{port}/healthz", timeout=30, interval=0.005)
            timings.append(round(time.perf_counter() - started, 3))
        finally:
            proc.terminate()
            proc.wait()
    return timings


def gunicorn_idle_memory(env) -> dict:
    port = free_port()
    proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2", "-b", f"127.0.0.1:{port}", "lms.wsgi:app"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_200(f"http://127.0.0.1:{port}/healthz", timeout=30)
        for _ in range(20):  # let both workers serve something
            urllib.request.urlopen(f"http://127.0.0.1:{port}/courses").read()  # noqa: S310
        time.sleep(2)
        return tree_memory_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait()


def lesson_page_weight(env) -> dict:
    port = free_port()
    proc = subprocess.Popen([str(VENV_BIN / "lms"), "run", "--port", str(port), "--no-reload"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_200(base + "/healthz", timeout=30)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        data = urllib.parse.urlencode({"phone": "0900000004", "password": "demo12345", "csrf_token": token}).encode()
        opener.open(base + "/login", data)
        page = opener.open(base + "/courses/viet-bai-ban-hang/lessons/cau-truc-bai-ban-hang").read()
        assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', page)
        bodies = {a.decode(): opener.open(base + a.decode()).read() for a in assets}
        sizes = {"html": (len(page), gzip_size(page))}
        sizes.update({name: (len(body), gzip_size(body)) for name, body in bodies.items()})
        return {
            "files": {k: {"bytes": v[0], "gzip_bytes": v[1]} for k, v in sizes.items()},
            "total_gzip_bytes": sum(v[1] for v in sizes.values()),
        }
    finally:
        proc.terminate()
        proc.wait()


def test_counts() -> dict:
    counts = {}
    for label, extra in (("sqlite", {}), ("postgresql", {"TEST_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"})):
        import os

        out = subprocess.run([str(VENV_BIN / "pytest"), "-q", "-m", "not e2e", "-p", "no:cacheprovider"], cwd=ROOT,
                             env={**os.environ, **extra}, capture_output=True, text=True).stdout
        counts[label] = out.strip().splitlines()[-1]
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh-clone", action="store_true", help="also time `make run` from a fresh clone")
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    results = {}
    if args.fresh_clone:
        results["fresh_clone_make_run_to_healthz_s"] = round(time_fresh_clone_make_run(), 1)
    with tempfile.TemporaryDirectory() as tmp:
        env = instance_env(Path(tmp))
        lms("db", "upgrade", env=env)
        started = time.perf_counter()
        out = lms("seed", "demo", "--trainees", "4500", "--random-seed", "1", env=env).stdout
        results["seed_demo_4500_trainees_s"] = round(time.perf_counter() - started, 2)
        results["seed_demo_output"] = out.splitlines()[0]
        timings = time_lms_run(env)
        results["lms_run_to_first_200_s"] = {"runs": timings, "median": sorted(timings)[len(timings) // 2]}
        results["gunicorn_2_workers_idle_memory"] = gunicorn_idle_memory(env)
        results["trainee_lesson_page_weight"] = lesson_page_weight(env)
    if not args.skip_tests:
        results["test_counts"] = test_counts()
    save("foundation", results)


if __name__ == "__main__":
    main()
