"""Issue 14 figures: a province-sized programme loaded by COPY, and how fast its pages answer.

Loads into a fresh PostgreSQL database (dropped and made again): the demo's courses and accounts,
then --trainees generated trainees (default 1,000,000) across communes of four provinces, two
enrolments each, 10,000 classes with 12 weekly sessions each (about 120,000), attendance of held
sessions (present, late, excused, absent, or nothing marked), lesson progress, completions and
certificates. Trainees, enrolments, classes, sessions, members and certificates go in with COPY
(psycopg's cursor.copy), not the ORM; lesson progress and attendance, the biggest tables, are made
by the server with INSERT … SELECT from those rows.

Then, in this process through Flask's test client (no network: the time is the server's):
- with --live-once, /reports counted live once (what the page would take without the worker);
- the worker's count of the default period (lms.reports.snapshots.take_snapshot), timed;
- each page asked --runs times after one warm-up, p50/p95 reported: /reports for the whole programme
  and drilled to one commune, as the organizer; /reports as a commune official; the lists behind a
  commune's number and a name search, at the count's moment; the trainee's home and a lesson page;
- the report for the authorities (XLSX) of one province (an organizer placed in Hà Nội, 40% of the
  trainees), once, with how much the process's peak memory grew.
Goal (the issue): the dashboard under 300 ms p95, warm; the trainee's pages no slower than with 4,500.

Run with `.venv/bin/python bench/programme_scale.py [--trainees 1000000] [--runs 50]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/lms_scale]`; run it again with
`--trainees 4500` for the district-sized comparison. Writes bench/results/programme_scale-<n>.json.
"""

import argparse
import io
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from _common import ROOT, save

sys.path.insert(0, str(ROOT))

PROVINCES = {1: 0.4, 19: 0.2, 8: 0.2, 4: 0.2}  # Hà Nội, Thái Nguyên, Tuyên Quang, Cao Bằng
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Đinh"]
MIDDLE = ["Thị", "Văn", "Thị Thu", "Minh", "Đức", "Ngọc", "Thanh", "Hữu"]
GIVEN = ["Hường", "Hương", "Lan", "Ánh", "Bình", "Dũng", "Hạnh", "Minh", "Ngọc", "Phương", "Thảo", "Yến", "Mai"]
CRAFTS = ["may mặc", "khảm trai", "làm hương", "mây tre đan", "gốm", "chè"]
CLASSES_PER_MILLION = 10_000
SESSIONS_PER_CLASS = 12
PASSWORD = "bench-pass-1"  # noqa: S105 - a throwaway account in a throwaway database


def _fresh_database(url: str) -> None:
    import sqlalchemy as sa

    base, _, name = url.rpartition("/")
    engine = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


class _Copy:
    """Rows written as COPY text, flushed to the server every so often (memory stays flat)."""

    def __init__(self, cursor, table: str, columns: str):
        self.cursor, self.sql, self.buffer, self.rows = cursor, f"COPY {table} ({columns}) FROM STDIN", io.StringIO(), 0

    def add(self, *values) -> None:
        self.buffer.write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
        self.rows += 1
        if self.rows % 200_000 == 0:
            self.flush()

    def flush(self) -> None:
        data = self.buffer.getvalue()
        if data:
            with self.cursor.copy(self.sql) as copy:
                copy.write(data)
        self.buffer = io.StringIO()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def load(trainees: int, rng: random.Random) -> dict:
    """Copy the generated programme in; return how many rows of each kind went in and how long it took."""
    import sqlalchemy as sa

    from lms.core.extensions import db
    from lms.core.places import communes_of
    from lms.core.text import search_key
    from lms.courses.models import Course, Lesson

    now = datetime.now(UTC).replace(microsecond=0)
    courses = {c.id: [lesson.id for lesson in db.session.scalars(sa.select(Lesson).where(
        Lesson.course_id == c.id, Lesson.archived_at.is_(None)).order_by(Lesson.position))]
        for c in db.session.scalars(sa.select(Course))}
    courses = {cid: lessons for cid, lessons in courses.items() if lessons}
    course_ids = sorted(courses)
    communes = [(c.code, weight / len(communes_of(p))) for p, weight in PROVINCES.items() for c in communes_of(p)]
    commune_codes, weights = zip(*communes, strict=True)
    def next_id(table: str) -> int:
        return (db.session.scalar(sa.text(f"SELECT max(id) FROM {table}")) or 0) + 1  # noqa: S608 - fixed names

    first_user, first_class, first_session = next_id("users"), next_id("cohorts"), next_id("class_sessions")
    first_enrolment, first_member = next_id("enrollments"), next_id("cohort_members")
    started = time.perf_counter()
    raw = db.engine.raw_connection()
    cursor = raw.cursor()
    counts = {}
    users = _Copy(cursor, "users", "id, full_name, search_name, phone, commune_code, village, business_name, "
                                   "must_change_password, auth_epoch, active, created_at, code_tries")
    roles = _Copy(cursor, "user_roles", "user_id, role")
    homes = {}
    for i in range(trainees):
        uid = first_user + i
        commune = rng.choices(commune_codes, weights)[0]
        homes[uid] = commune
        given = rng.choice(GIVEN)
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {given}"
        users.add(uid, name, search_key(name), f"03{i:08d}", commune,
                  f"Thôn {rng.randint(1, 8)}", f"Cơ sở {rng.choice(CRAFTS)} {given}", "f", 0, "t",
                  _stamp(now - timedelta(days=rng.randint(1, 330))), 0)
        roles.add(uid, "trainee")
    users.flush(), roles.flush()
    print(f"  trainees copied at {time.perf_counter() - started:.0f} s", flush=True)
    counts["users"] = users.rows
    # Classes: each (course, commune) pair gets its share of the classes; a trainee joins one near home.
    pairs = [(cid, code) for cid in course_ids for code in commune_codes]
    class_count = max(len(pairs), round(CLASSES_PER_MILLION * trainees / 1_000_000))
    cohorts = _Copy(cursor, "cohorts", "id, code, course_id, name, commune_code, venue, start_date, end_date, created_at")
    sessions = _Copy(cursor, "class_sessions", "id, cohort_id, starts_at, ends_at, venue, topic, status, check_in_secret, "
                                               "created_at")
    classes_of_pair: dict[tuple, list[int]] = {}
    session_id = first_session - 1
    for k in range(class_count):
        cid, code = pairs[k % len(pairs)]
        class_id = first_class + k
        classes_of_pair.setdefault((cid, code), []).append(class_id)
        start = now - timedelta(days=rng.randint(-20, 200))
        cohorts.add(class_id, f"SC-{class_id:06d}", cid, f"Lớp {class_id}", code, "Nhà văn hoá thôn",
                    start.date(), (start + timedelta(weeks=SESSIONS_PER_CLASS)).date(), _stamp(start))
        for week in range(SESSIONS_PER_CLASS):
            session_id += 1
            begins = start.replace(hour=12, minute=0, second=0) + timedelta(weeks=week)
            cancelled = rng.random() < 0.05
            sessions.add(session_id, class_id, _stamp(begins), _stamp(begins + timedelta(hours=2)), "", "",
                         "cancelled" if cancelled else "scheduled", f"s{session_id:x}{rng.getrandbits(64):x}",
                         _stamp(start))
    cohorts.flush(), sessions.flush()
    counts["cohorts"], counts["class_sessions"] = cohorts.rows, sessions.rows
    enrolments = _Copy(cursor, "enrollments", "id, user_id, course_id, status, source, enrolled_at, left_at, completed_at, "
                                              "last_activity_at")
    members = _Copy(cursor, "cohort_members", "id, cohort_id, user_id, status, joined_at, withdrawn_at")
    certificates = _Copy(cursor, "certificates", "serial, code, version, user_id, course_id, holder_name, "
                                                 "holder_commune_code, course_title, course_slug, issuer_name, wording, "
                                                 "signers, issued_at, status, completed_at")
    enrolment_id, member_id = first_enrolment - 1, first_member - 1
    for uid, commune in homes.items():
        for cid in rng.sample(course_ids, min(2, len(course_ids))):
            enrolment_id += 1
            enrolled = now - timedelta(days=rng.randint(1, 300), minutes=rng.randint(0, 1440))
            left = enrolled + timedelta(days=rng.randint(1, 40)) if rng.random() < 0.05 else None
            lessons = courses[cid]
            opened = 0 if rng.random() < 0.25 else rng.randint(1, len(lessons))
            completed = opened == len(lessons) and left is None and rng.random() < 0.7
            last = min(now, enrolled + timedelta(days=rng.randint(0, 60))) if opened else None
            done_at = last if completed else None
            enrolments.add(enrolment_id, uid, cid, "left" if left else "active", "cohort", _stamp(enrolled),
                           _stamp(left) if left else None, _stamp(done_at) if done_at else None,
                           _stamp(last) if last else None)
            if completed and rng.random() < 0.85:
                serial = f"SC{enrolment_id:010d}"
                certificates.add(serial, f"c{enrolment_id:x}{rng.getrandbits(48):x}", 1, uid, cid, "Học viên", commune,
                                 "Khoá học", "khoa-hoc", "Làng Số", "Đã hoàn thành", "[]", _stamp(done_at), "valid",
                                 _stamp(done_at))
            class_id = rng.choice(classes_of_pair[(cid, commune)])
            member_id += 1
            members.add(member_id, class_id, uid, "withdrawn" if left else "active", _stamp(enrolled),
                        _stamp(left) if left else None)
    for copy in (enrolments, members, certificates):
        copy.flush()
    raw.commit()
    print(f"  enrolments, members and certificates copied at {time.perf_counter() - started:.0f} s", flush=True)
    # The two biggest tables are made by the server from the rows above (millions of rows: seconds, not minutes).
    # Started enrolments opened the first lessons (a completed one, all); the hash decides how many.
    cursor.execute("""
        INSERT INTO lesson_progress (user_id, lesson_id, course_id, position_s, coverage, watched_fraction,
                                     first_opened_at, updated_at, completed_at)
        SELECT e.user_id, l.id, e.course_id, 0, '\\x'::bytea, CASE WHEN e.completed_at IS NULL THEN 0.5 ELSE 1 END,
               e.enrolled_at + make_interval(hours => l.rank::int), e.last_activity_at, e.completed_at
        FROM enrollments e
        JOIN (SELECT id, course_id, row_number() OVER (PARTITION BY course_id ORDER BY position, id) AS rank,
                     count(*) OVER (PARTITION BY course_id) AS n
              FROM lessons WHERE archived_at IS NULL) l ON l.course_id = e.course_id
        WHERE e.id >= %(first)s AND e.last_activity_at IS NOT NULL
          AND (e.completed_at IS NOT NULL OR l.rank <= 1 + e.id %% greatest(l.n - 1, 1))""", {"first": first_enrolment})
    counts["lesson_progress"] = cursor.rowcount
    print(f"  lesson progress made at {time.perf_counter() - started:.0f} s", flush=True)
    # Each held (scheduled, started) session: 85% of the members marked, by a hash of member and session.
    cursor.execute("""
        INSERT INTO attendance_records (session_id, user_id, status, method, recorded_at)
        SELECT s.id, m.user_id,
               CASE WHEN h.v < 78 THEN 'present' WHEN h.v < 84 THEN 'late' WHEN h.v < 90 THEN 'excused' ELSE 'absent' END,
               'roll_call', s.starts_at + interval '10 minutes'
        FROM cohort_members m
        JOIN class_sessions s ON s.cohort_id = m.cohort_id
        CROSS JOIN LATERAL (SELECT (m.id::bigint * 7919 + s.id::bigint * 104729) %% 100 AS v) h
        WHERE m.id >= %(first)s AND s.status = 'scheduled' AND s.starts_at < %(now)s
          AND (m.withdrawn_at IS NULL OR s.starts_at < m.withdrawn_at)
          AND (m.id::bigint * 31 + s.id::bigint * 17) %% 100 >= 15""",
                   {"first": first_member, "now": now.replace(tzinfo=None)})
    counts["attendance_records"] = cursor.rowcount
    raw.commit()
    counts.update(enrollments=enrolments.rows, cohort_members=members.rows, certificates=certificates.rows)
    for table in ("users", "enrollments", "cohorts", "cohort_members", "class_sessions", "attendance_records",
                  "lesson_progress", "certificates"):
        # Sequences follow the copied ids, so the app's own inserts keep working.
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608 - fixed names
    raw.commit()
    cursor.execute("ANALYZE")
    raw.commit()
    raw.close()
    return {"rows": counts, "load_seconds": round(time.perf_counter() - started, 1)}


def _timed(client, path: str, runs: int) -> dict:
    started = time.perf_counter()
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    if time.perf_counter() - started > 5:
        runs = min(runs, 3)  # far from the goal already: a few runs tell it as well as fifty
    if runs == 0:  # once is the measure: a download, or a page too slow to ask twice
        size = len(first.get_data())
        elapsed = (time.perf_counter() - started) * 1000
        return {"path": path, "p50_ms": round(elapsed, 1), "p95_ms": round(elapsed, 1), "runs": 1, "bytes": size}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    return {"path": path, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1), "runs": runs}


def _log_in(app, phone: str):
    from tests.conftest import FreshGlobalsClient, csrf_token

    app.test_client_class = FreshGlobalsClient
    client = app.test_client()
    token = csrf_token(client, "/login")
    answer = client.post("/login", data={"phone": phone, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.status_code
    return client


def _peak(run) -> dict:
    """Run and return its result with the most Python memory it held at once (MiB, tracemalloc's peak)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result | {"peak_python_mib": round(peak / 2**20, 1)}


def measure(app, runs: int, live_once: bool = False) -> dict:
    """Time the worker's count, the dashboard (whole, a commune, an official), the lists, a province's report, the trainee."""
    import sqlalchemy as sa

    from lms.accounts import services as accounts
    from lms.accounts.models import Role, User
    from lms.accounts.passwords import hash_password
    from lms.core.extensions import db
    from lms.learning.models import Enrollment
    from lms.privacy import services as privacy
    from lms.privacy.models import ConsentChoice, ConsentMethod
    from lms.reports.forms import default_period, format_moment
    from lms.reports.models import FigureRow
    from lms.reports.snapshots import take_snapshot

    organizer = accounts.find_user_by_phone("0900000002")
    organizer.password_hash = hash_password(PASSWORD)
    official = accounts.create_user(full_name="Cán bộ xã", phone="0900000099", password=PASSWORD, roles={Role.OFFICIAL})
    accounts.set_staff_places(official, communes=[10330])
    privacy.record_consent(official, ConsentChoice.GIVEN, ConsentMethod.SEED)
    trainee = db.session.scalar(sa.select(User).join(Enrollment, Enrollment.user_id == User.id)
                                .where(User.phone.like("03%"), Enrollment.last_lesson_id.is_(None)).limit(1))
    trainee.password_hash = hash_password(PASSWORD)
    privacy.record_consent(trainee, ConsentChoice.GIVEN, ConsentMethod.SEED)
    enrolment = db.session.scalar(sa.select(Enrollment).where(Enrollment.user_id == trainee.id).limit(1))
    db.session.commit()
    lesson = db.session.scalar(sa.text("SELECT slug FROM lessons WHERE course_id = :c ORDER BY position LIMIT 1"),
                               {"c": enrolment.course_id})
    course = db.session.scalar(sa.text("SELECT slug FROM courses WHERE id = :c"), {"c": enrolment.course_id})
    province_organizer = accounts.create_user(full_name="Cán bộ tỉnh", phone="0900000098", password=PASSWORD,
                                              roles={Role.ORGANIZER})
    accounts.set_staff_places(province_organizer, provinces=[1])  # Hà Nội: 40% of the trainees
    privacy.record_consent(province_organizer, ConsentChoice.GIVEN, ConsentMethod.SEED)
    db.session.commit()
    results = {}
    client = _log_in(app, "0900000002")
    if live_once:
        app.config["FIGURES_LIVE_UNDER_S"] = float("inf")  # what the page would take without the worker's count
        results["dashboard_live"] = _timed(client, "/reports", 0)
        app.config["FIGURES_LIVE_UNDER_S"] = 0.0
    started = time.perf_counter()
    snapshot = take_snapshot(default_period())
    db.session.commit()
    results["worker_count"] = {"seconds": round(time.perf_counter() - started, 1),
                               "rows": db.session.scalar(sa.select(sa.func.count()).select_from(FigureRow))}
    print(f"  the worker's count took {results['worker_count']['seconds']} s", flush=True)
    as_of = format_moment(snapshot.as_of)
    results["dashboard_whole"] = _timed(client, "/reports", runs)
    results["dashboard_commune"] = _timed(client, "/reports?commune=10330", runs)
    results["dashboard_official"] = _timed(_log_in(app, "0900000099"), "/reports", runs)
    results["list_commune"] = _timed(client, f"/reports/trainees/enrolled?commune=10330&as_of={as_of}", max(5, runs // 5))
    results["list_search"] = _timed(client, f"/reports/trainees/enrolled?q=nguyen+thi+huong&as_of={as_of}",
                                    max(5, runs // 5))
    results["report_xlsx_province"] = _peak(lambda: _timed(_log_in(app, "0900000098"), "/reports/programme.xlsx", 0))
    learner = _log_in(app, trainee.phone)
    results["trainee_home"] = _timed(learner, "/learn", runs)
    results["trainee_lesson"] = _timed(learner, f"/courses/{course}/lessons/{lesson}", runs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trainees", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/lms_scale")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--measure-only", action="store_true",
                        help="time the pages of a programme an earlier run loaded (upgraded to the code's schema)")
    parser.add_argument("--load-only", action="store_true", help="load the programme and stop (time it later)")
    parser.add_argument("--live-once", action="store_true",
                        help="also time the dashboard counted live once (a minute or more at 1,000,000)")
    args = parser.parse_args()
    import tempfile

    from flask_migrate import upgrade

    from lms import create_app
    from lms.core.extensions import db
    from lms.demo import load_demo

    if not args.measure_only:
        _fresh_database(args.database_url)
    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "INSTANCE_PATH": instance, "TESTING": False,
                          "LOGIN_LIMIT_PER_IP": "100000 per minute", "LOGIN_LIMIT_PER_PHONE_AND_CLIENT": "100000 per minute"})
        with app.app_context():
            upgrade()
            if args.measure_only:
                import sqlalchemy as sa

                db.session.execute(sa.delete(sa.table("users")).where(sa.text("phone IN ('0900000098', '0900000099')")))
                db.session.commit()
                loaded = {"rows": {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}"))  # noqa: S608 - fixed names
                                   for t in ("users", "enrollments", "cohorts", "class_sessions", "cohort_members",
                                             "attendance_records", "lesson_progress", "certificates")}}
            else:
                load_demo(with_media=False)
                db.session.commit()
                loaded = load(args.trainees, random.Random(args.seed))
                print(f"loaded {loaded['rows']} in {loaded['load_seconds']} s", flush=True)
                if args.load_only:
                    return
            timings = measure(app, args.runs, live_once=args.live_once)
            db.session.remove()
            db.engine.dispose()
    results = {"trainees": args.trainees, **loaded, "timings": timings}
    save(f"programme_scale-{args.trainees}", results)
    for name, figures in timings.items():
        if "p50_ms" in figures:
            print(f"{name:24} p50 {figures['p50_ms']:8.1f} ms   p95 {figures['p95_ms']:8.1f} ms")
        else:
            print(f"{name:24} {figures}")


if __name__ == "__main__":
    main()
