"""Importing a 4,500-trainee spreadsheet: seconds and peak memory of the dry run and of the commit.

A realistic XLSX is generated (Vietnamese names, mobile numbers typed in several ways, real and
text dates, the Phú Xuyên communes and craft villages of seed/places.yaml, a title row above the
header) and imported into one class in an app of its own, on SQLite and, when reachable, on
PostgreSQL. Goal: dry run + commit of 4,500 new trainees in under 3 s on this 2-core machine.

Run: `.venv/bin/python bench/import_trainees.py [--rows 4500] [--skip-postgres]`.
"""

import argparse
import gc
import io
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date
from pathlib import Path

import sqlalchemy as sa
import xlsxwriter
import yaml
from _common import ROOT, save

sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_F = ["Thị", "Thị Thu", "Thị Ngọc", "Thị Minh", "Thị Thanh", "Thị Hồng"]
MIDDLE_M = ["Văn", "Văn Minh", "Đức", "Quang", "Hữu", "Công", "Xuân"]
GIVEN_F = ["Hường", "Lan", "Mai", "Hạnh", "Thảo", "Phương", "Ngọc", "Yến", "Hằng", "Loan", "Nhung", "Thuỷ"]
GIVEN_M = ["Đức", "Hùng", "Dũng", "Tuấn", "Long", "Nam", "Bình", "Cường", "Sơn", "Thắng", "Khánh", "Quý"]
PREFIXES = ["091", "094", "088", "083", "084", "098", "097", "096", "086", "039", "038", "090", "093", "070", "079"]


def generate_xlsx(rows: int, seed: int = 2026) -> bytes:
    """Return a trainee list as an organizer would send it."""
    rng = random.Random(seed)
    places = yaml.safe_load((ROOT / "seed" / "places.yaml").read_text(encoding="utf-8"))
    villages = [(c["name"], v["name"], v["craft"]) for c in places["communes"] for v in c.get("villages", [])]
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet = workbook.add_worksheet("Danh sách")
    sheet.write_string(0, 0, "DANH SÁCH HỌC VIÊN LỚP KỸ NĂNG SỐ - HUYỆN PHÚ XUYÊN CŨ")
    headers = ["STT", "Họ và tên", "Số điện thoại", "Ngày sinh", "Xã/Phường", "Thôn/Xóm", "Nghề / Tên cơ sở", "Email",
               "Ghi chú"]
    for c, title in enumerate(headers):
        sheet.write_string(2, c, title)
    used = set()
    for i in range(rows):
        r = i + 3
        female = rng.random() < 0.6
        name = " ".join([rng.choice(FAMILY), rng.choice(MIDDLE_F if female else MIDDLE_M),
                         rng.choice(GIVEN_F if female else GIVEN_M)])
        while True:
            digits = rng.choice(PREFIXES) + f"{rng.randrange(10**7):07d}"
            if digits not in used:
                used.add(digits)
                break
        commune, village, craft = rng.choice(villages)
        sheet.write_number(r, 0, i + 1)
        sheet.write_string(r, 1, name)
        form = i % 4
        if form == 0:
            sheet.write_number(r, 2, int(digits))  # a number cell: the leading 0 is gone
        elif form == 1:
            sheet.write_string(r, 2, f"{digits[:4]} {digits[4:7]} {digits[7:]}")
        elif form == 2:
            sheet.write_string(r, 2, "+84 " + digits[1:])
        else:
            sheet.write_string(r, 2, digits)
        born = date(rng.randrange(1960, 2006), rng.randrange(1, 13), rng.randrange(1, 29))
        if i % 3:
            sheet.write_datetime(r, 3, born, day)
        else:
            sheet.write_string(r, 3, born.strftime("%d/%m/%Y"))
        sheet.write_string(r, 4, commune if i % 5 else commune.replace("Xã ", "").lower())
        sheet.write_string(r, 5, village)
        sheet.write_string(r, 6, f"{craft.capitalize()} {village}")
        if i % 7 == 0:
            sheet.write_string(r, 7, f"hv{i}@example.com")
    workbook.close()
    return buffer.getvalue()


def measure(fn):
    """Run fn; return (result, seconds, peak Python-heap MiB by tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, round(seconds, 3), round(peak / 2**20, 1)


def timed(fn):
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - started, 3)


def run_on(database_url: str, data: bytes, instance: Path) -> dict:
    from lms import create_app
    from lms.cohorts import importing
    from lms.cohorts.services import create_cohort
    from lms.core.extensions import db
    from lms.core.pdf import render_activation_slips
    from tests.factories import make_course

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": "bench", "JOBS_IMMEDIATE": True, "RATELIMIT_STORAGE_URI": "memory://"})
    results = {}
    with app.app_context():
        db.create_all()
        cohort = create_cohort(code="PX-BENCH-01", course=make_course("bench-course"), name="Lớp đo", capacity=None,
                               commune_code=10330)
        db.session.commit()

        # Timings without tracemalloc (it slows Python down several times), then memory separately.
        _, results["read_only_s"] = timed(lambda: importing.read_table(data))
        report, results["dry_run_s"] = timed(lambda: importing.dry_run(cohort, data))
        assert report.ready, report.all_error_texts()[:5]
        results["rows"] = len(report.rows)

        def commit():
            done = importing.commit_import(cohort, data)
            db.session.commit()
            return done

        done, results["commit_s"] = timed(commit)
        assert done.counts["new"] == len(report.rows)
        results["dry_run_plus_commit_s"] = round(results["dry_run_s"] + results["commit_s"], 3)
        again, results["rerun_dry_run_s"] = timed(lambda: importing.dry_run(cohort, data))
        assert not again.changes_anything
        _, results["rerun_commit_s"] = timed(commit)
        slips, results["issue_codes_s"] = timed(lambda: importing.issue_slips(cohort))
        for slip in slips:
            slip["login_url"] = "https://langso.example.vn/login"
        pdf, results["slips_pdf_s"] = timed(lambda: render_activation_slips(slips, title="Lớp đo"))
        db.session.commit()
        results["slips_pdf_kib"] = len(pdf) // 1024

        _, _, results["dry_run_peak_python_mib"] = measure(lambda: importing.dry_run(cohort, data))
        db.session.rollback()
        db.drop_all()
        db.engine.dispose()
    return results


def postgres_url() -> tuple[str, callable] | None:
    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"lms_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - PostgreSQL is optional for this benchmark
        print(f"PostgreSQL skipped: {exc.__class__.__name__}", file=sys.stderr)
        return None

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False), drop


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4_500)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    data, generate_s = timed(lambda: generate_xlsx(args.rows))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = {"rows": args.rows, "file_kib": len(data) // 1024, "generate_s": generate_s, "cpus": os.cpu_count(),
               "goal": "dry run + commit of 4,500 new trainees < 3 s"}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_on(f"sqlite:///{tmp}/bench.sqlite3", data, Path(tmp) / "instance")
        if not args.skip_postgres and (pg := postgres_url()):
            url, drop = pg
            try:
                results["postgresql"] = run_on(url, data, Path(tmp) / "instance-pg")
            finally:
                drop()
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["peak_rss_growth_mib"] = round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1)
    save("import_trainees", results)


if __name__ == "__main__":
    main()
