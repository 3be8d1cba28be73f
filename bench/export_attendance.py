"""Attendance export figures: seconds and peak memory of the XLSX and CSV exports.

Builds 4,500 trainees × 12 sessions (classes of 30) in a temp SQLite database with bulk inserts,
then 45,000 × 12 to show how the figures grow. Each export runs in a fresh process: once untraced
for wall and CPU seconds and the RSS peak (the high-water mark is reset through
/proc/self/clear_refs just before, so ru_maxrss - RSS then = what the export added), once under
tracemalloc for the Python heap peak (tracemalloc slows Python down, so that run is not timed).
The database is built in a child process too: ru_maxrss is carried across fork+exec, so a parent
that had built the data would hide the exports' own peak.
CPU seconds are given beside wall seconds because the machine may be shared.

Run with `.venv/bin/python bench/export_attendance.py [--sizes 4500,45000]`.
"""

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ROOT, python, save

sys.path.insert(0, str(ROOT))

CLASS_SIZE = 30
SESSIONS = 12
GOALS_SECONDS = {"xlsx": 5.0, "csv": 1.0}


def make_app(db_path: Path, instance: Path):
    from lms import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "INSTANCE_PATH": str(instance),
                       "SECRET_KEY": "bench", "JOBS_IMMEDIATE": True})


def build_database(db_path: Path, instance: Path, trainees: int, seed: int = 2026) -> dict:
    """Fill a new database with classes of 30, 12 held sessions each (and a cancelled one in every 5th class)."""
    import sqlalchemy as sa

    from lms.accounts.models import Role, User, UserRole
    from lms.attendance.models import AttendanceRecord, AttendanceStatus, CheckInMethod
    from lms.cohorts.models import ClassSession, Cohort, CohortMember, MemberStatus, SessionStatus
    from lms.core.extensions import db
    from lms.courses.models import Course, CourseStatus

    rng = random.Random(seed)
    started = time.perf_counter()
    app = make_app(db_path, instance)
    given = ["Hường", "Lan", "Ánh", "Bình", "Dũng", "Đức", "Hạnh", "Minh", "Ngọc", "Phương", "Thảo", "Yến"]
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
    villages = ["Chuôn Ngọ", "Văn Khê", "Phú Vinh", "Hạ Thái", "Ước Lễ"]
    crafts = ["Khảm trai", "Mây tre đan", "Sơn mài", "Giò chả", "Nón lá"]
    communes = [10273, 10330]
    now = datetime(2026, 11, 1, tzinfo=UTC)
    statuses = [AttendanceStatus.PRESENT] * 85 + [AttendanceStatus.LATE] * 5 + [AttendanceStatus.ABSENT] * 5 + \
        [AttendanceStatus.EXCUSED] * 3 + [None] * 2
    with app.app_context():
        db.create_all()
        conn = db.session.connection()
        conn.execute(sa.insert(Course), [{"id": 1, "slug": "viet-bai-ban-hang", "title": "Viết bài bán hàng trên mạng",
                                          "status": CourseStatus.PUBLISHED, "created_at": now, "updated_at": now}])
        conn.execute(sa.insert(User), [
            {"id": n, "full_name": f"{rng.choice(family)} Thị {rng.choice(given)}", "phone": f"09{n:08d}",
             "commune_code": rng.choice(communes), "village": rng.choice(villages),
             "business_name": f"{rng.choice(crafts)} {n}", "created_at": now}
            for n in range(1, trainees + 1)
        ])
        conn.execute(sa.insert(UserRole), [{"user_id": n, "role": Role.TRAINEE} for n in range(1, trainees + 1)])
        classes = trainees // CLASS_SIZE
        conn.execute(sa.insert(Cohort), [
            {"id": c, "code": f"PX-VBBH-{c:04d}", "course_id": 1, "name": f"Lớp Viết bài bán hàng {c}",
             "commune_code": communes[c % 2], "venue": f"Nhà văn hoá thôn {villages[c % 5]}", "created_at": now}
            for c in range(1, classes + 1)
        ])
        conn.execute(sa.insert(CohortMember), [
            {"cohort_id": (n - 1) // CLASS_SIZE + 1, "user_id": n, "status": MemberStatus.ACTIVE, "joined_at": now}
            for n in range(1, classes * CLASS_SIZE + 1)
        ])
        sessions, session_id = [], 0
        for c in range(1, classes + 1):
            for k in range(SESSIONS + (1 if c % 5 == 0 else 0)):
                session_id += 1
                starts = now - timedelta(days=7 * (SESSIONS + 1 - k), hours=-(c % 3))
                sessions.append({"id": session_id, "cohort_id": c, "starts_at": starts,
                                 "ends_at": starts + timedelta(hours=2), "venue": "", "topic": f"Buổi {k + 1}",
                                 "status": SessionStatus.CANCELLED if k == SESSIONS else SessionStatus.SCHEDULED,
                                 "check_in_secret": "bench", "created_at": now})
        conn.execute(sa.insert(ClassSession), sessions)
        records = []
        for session in sessions:
            if session["status"] == SessionStatus.CANCELLED:
                continue
            first = (session["cohort_id"] - 1) * CLASS_SIZE + 1
            for user_id in range(first, first + CLASS_SIZE):
                status = rng.choice(statuses)
                if status is not None:
                    records.append({"session_id": session["id"], "user_id": user_id, "status": status,
                                    "method": CheckInMethod.SELF_QR,
                                    "recorded_at": session["starts_at"] + timedelta(minutes=rng.randint(0, 20))})
            if len(records) > 50_000:
                conn.execute(sa.insert(AttendanceRecord), records)
                records = []
        if records:
            conn.execute(sa.insert(AttendanceRecord), records)
        db.session.commit()
        db.engine.dispose()
    return {"classes": classes, "held_sessions": classes * SESSIONS, "trainee_session_rows": classes * CLASS_SIZE
            * SESSIONS, "build_seconds": round(time.perf_counter() - started, 1),
            "database_mib": round(db_path.stat().st_size / 2**20, 1)}


def measure(db_path: Path, instance: Path, file_format: str, traced: bool) -> dict:
    """Run one export in this (fresh) process and return its figures."""
    from lms.attendance import exports
    from lms.core.extensions import db

    app = make_app(db_path, instance)
    output = instance / f"export.{file_format}"
    export = exports.export_attendance_xlsx if file_format == "xlsx" else exports.export_attendance_csv
    with app.app_context():
        db.session.execute(db.text("select 1"))  # connect before measuring
        Path("/proc/self/clear_refs").write_text("5")  # reset the RSS high-water mark (Linux)
        rss_before = _status_kib("VmRSS")
        if traced:
            tracemalloc.start()
        started, cpu_started = time.perf_counter(), time.process_time()
        with output.open("wb") as fh:
            rows = export(fh)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        result = {"rows": rows, "bytes": output.stat().st_size}
        if traced:
            result["tracemalloc_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
        else:
            result["seconds"] = round(seconds, 2)
            result["cpu_seconds"] = round(cpu_seconds, 2)
            result["rss_before_mib"] = round(rss_before / 1024, 1)
            result["ru_maxrss_delta_mib"] = round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before)
                                                  / 1024, 1)
            result["vmhwm_delta_mib"] = round((_status_kib("VmHWM") - rss_before) / 1024, 1)
    return result


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def run_measure(db_path: Path, instance: Path, file_format: str, traced: bool) -> dict:
    args = [python(), __file__, "--measure", str(db_path), str(instance), file_format] + (["--traced"] if traced else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="4500,45000")
    parser.add_argument("--measure", nargs=3, metavar=("DB", "INSTANCE", "FORMAT"))
    parser.add_argument("--traced", action="store_true")
    parser.add_argument("--build", nargs=3, metavar=("DB", "INSTANCE", "TRAINEES"))
    args = parser.parse_args()
    if args.build:
        db_path, instance, trainees = args.build
        print(json.dumps(build_database(Path(db_path), Path(instance), int(trainees))))
        return
    if args.measure:
        db_path, instance, file_format = args.measure
        print(json.dumps(measure(Path(db_path), Path(instance), file_format, args.traced)))
        return

    results = {"class_size": CLASS_SIZE, "sessions_per_class": SESSIONS, "goals_seconds": GOALS_SECONDS,
               "cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "runs": {}}
    work = Path(tempfile.mkdtemp(prefix="lms-bench-export-"))
    try:
        for trainees in (int(s) for s in args.sizes.split(",")):
            instance = work / str(trainees)
            instance.mkdir()
            db_path = instance / "bench.sqlite3"
            # Built in a child process: ru_maxrss survives fork+exec, so a big parent would mask the exports'.
            run = {"data": json.loads(subprocess.run(
                [python(), __file__, "--build", str(db_path), str(instance), str(trainees)],
                check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()[-1])}
            for file_format in ("xlsx", "csv"):
                figures = run_measure(db_path, instance, file_format, traced=False)
                figures["tracemalloc_peak_mib"] = run_measure(db_path, instance, file_format,
                                                              traced=True)["tracemalloc_peak_mib"]
                figures["goal_met_cpu"] = figures["cpu_seconds"] < GOALS_SECONDS[file_format]
                run[file_format] = figures
            results["runs"][f"{trainees}_trainees"] = run
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    save("export_attendance", results)


if __name__ == "__main__":
    main()
