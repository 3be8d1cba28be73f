"""Issue 11 figures: a class of phones posting progress every few seconds, and what survives of it.

400 trainees of the 4,500-trainee demo each post one progress event (a 5-second stretch of the
video) every 5 s to `/api/v1/progress/batch`, as the player's outbox does: an event that got no
200 stays in the phone's outbox and goes again with the next one. The server is Flask's own
(`lms run`, threaded), or with `--gunicorn` the gunicorn that `make run` starts; on SQLite, then
on PostgreSQL.
Afterwards every event the server acknowledged must be in the database, once, and every
acknowledged stretch must be in the trainee's watched seconds.

Run: `.venv/bin/python bench/progress_load.py [--users 400] [--seconds 60] [--skip-postgres]
[--instance DIR]` (an instance folder is kept and reused: seeding 4,500 trainees takes minutes).
"""

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from _common import instance_env, lms, save, serve_lms, wait_for_200

BENCH_KEY = "bench-progress-key"  # noqa: S105 - signs the bench's own phones' cookies
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
USER_AGENT = "progress-load/1"
VIDEO_COURSE = "quay-video-quang-cao"
LESSON_SECONDS = 300


def prepare(env: dict, users: int) -> tuple[list[dict], int, float]:
    """Seed the demo once, enrol `users` trainees in the video course; return their cookies, the lesson, its length."""
    if lms("db", "upgrade", env=env, check=False).returncode != 0:
        raise SystemExit("db upgrade failed")
    marker = Path(env["LMS_INSTANCE_PATH"]) / f"seeded-{sa.engine.make_url(env['DATABASE_URL']).get_backend_name()}"
    if not marker.exists():
        started = time.perf_counter()
        lms("seed", "demo", "--trainees", "4500", "--random-seed", "1", env=env)
        marker.write_text(f"{time.perf_counter() - started:.0f} s\n")
    os.environ.update({k: env[k] for k in ("LMS_INSTANCE_PATH", "DATABASE_URL", "SECRET_KEY")})
    from flask import g, session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from lms import create_app
    from lms.accounts.models import Role, User, UserRole
    from lms.core.extensions import db
    from lms.courses.models import Course, Lesson, LessonKind
    from lms.learning import services as learning

    app = create_app()
    phones = []
    with app.app_context():
        course = db.session.scalar(sa.select(Course).where(Course.slug == VIDEO_COURSE))
        videos = db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id,
                                                            Lesson.kind == LessonKind.VIDEO)).all()
        lesson = next(ls for ls in videos if ls.media and ls.media.duration_s)
        # The demo's clips last 6 s; a lesson video runs minutes, so 5-second stretches add up to
        # something the check afterwards can tell apart.
        lesson.media.duration_s = LESSON_SECONDS
        duration = float(lesson.media.duration_s)
        trainees = db.session.scalars(sa.select(User).join(UserRole).where(UserRole.role == Role.TRAINEE)
                                      .order_by(User.id).limit(users)).all()
        for user in trainees:
            if learning.get_enrollment(user, course) is None:
                learning.enrol(user, course)
        db.session.commit()
        serializer = app.session_interface.get_signing_serializer(app)
        for user in trainees:
            with app.test_request_context(headers={"User-Agent": USER_AGENT},
                                          environ_base={"REMOTE_ADDR": "127.0.0.1"}):
                login_user(user)
                g.pop("csrf_token", None)  # generate_csrf keeps one per app context: each phone gets its own
                token = generate_csrf()
                phones.append({"user_id": user.id, "token": token,
                               "cookie": {app.config["SESSION_COOKIE_NAME"]: serializer.dumps(dict(session))}})
        lesson_id = lesson.id
    return phones, lesson_id, duration


async def phone(base: str, who: dict, lesson_id: int, duration: float, seconds: float, every: float,
                out: dict) -> None:
    """Act as one phone: an event every `every` s, the outbox resent until the server says 200."""
    outbox, position = [], random.uniform(0, max(0.0, duration - 5))
    headers = {"X-CSRFToken": who["token"], "User-Agent": USER_AGENT, "Accept": "application/json"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(cookies=who["cookie"], headers=headers, timeout=timeout) as http:
        await asyncio.sleep(random.uniform(0, every))
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            tick = time.monotonic()
            start = position % max(1.0, duration - 5)
            outbox.append({"id": str(uuid.uuid4()), "lesson_id": lesson_id, "kind": "position",
                           "occurred_at": datetime.now(UTC).isoformat(), "position_s": round(start + 5, 1),
                           "segments": [[round(start, 1), round(start + 5, 1)]]})
            position += 5
            sent = outbox[:100]
            try:
                async with http.post(f"{base}/api/v1/progress/batch", json={"events": sent}) as response:
                    body = await response.json(content_type=None) if response.status == 200 else None
                    out["latencies"].append(time.monotonic() - tick)
                    out["statuses"][response.status] = out["statuses"].get(response.status, 0) + 1
                    if response.status == 200:
                        done = {r["id"] for r in body["results"] if r["status"] in {"applied", "duplicate"}}
                        for event in sent:
                            if event["id"] in done:
                                out["acknowledged"].append((who["user_id"], event))
                        outbox = [e for e in outbox if e["id"] not in done]
            except (TimeoutError, aiohttp.ClientError) as exc:
                out["latencies"].append(time.monotonic() - tick)
                out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
            await asyncio.sleep(max(0.0, every - (time.monotonic() - tick)))
        out["left_in_outboxes"] += len(outbox)


def check_database(env: dict, acknowledged: list, lesson_id: int, duration: float) -> dict:
    """Find every acknowledged event in the database, once, and its stretch in the watched seconds."""
    engine = sa.create_engine(env["DATABASE_URL"])
    ids = [event["id"] for _, event in acknowledged]
    found = 0
    with engine.connect() as conn:
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            found += conn.scalar(sa.text("SELECT count(*) FROM progress_events WHERE id IN :ids")
                                 .bindparams(sa.bindparam("ids", expanding=True)), {"ids": part})
        coverage = dict(conn.execute(sa.text("SELECT user_id, coverage FROM lesson_progress WHERE lesson_id = :l"),
                                     {"l": lesson_id}).all())
    engine.dispose()
    missing_seconds = 0
    for user_id, event in acknowledged:
        bits = int.from_bytes(coverage.get(user_id) or b"", "little")
        start, end = event["segments"][0]
        for second in range(int(start), min(int(duration) + 1, int(end + 0.999))):
            if not bits >> second & 1:
                missing_seconds += 1
    return {"acknowledged": len(ids), "distinct_acknowledged": len(set(ids)), "found_in_database": found,
            "acknowledged_seconds_missing_from_coverage": missing_seconds}


def run(label: str, env: dict, args) -> dict:
    phones, lesson_id, duration = prepare(env, args.users)
    process, base = serve_lms(env, gunicorn=args.gunicorn, log=Path(env["LMS_INSTANCE_PATH"]) / "server.log")
    try:
        wait_for_200(base + "/healthz", timeout=60)
        out = {"latencies": [], "statuses": {}, "errors": {}, "acknowledged": [], "left_in_outboxes": 0}

        async def everyone():
            await asyncio.gather(*(phone(base, who, lesson_id, duration, args.seconds, args.every, out)
                                   for who in phones))

        async def killer():
            # kill -9 a web worker now and then: gunicorn starts another; the phones resend.
            for _ in range(args.kills):
                await asyncio.sleep(args.seconds / (args.kills + 1))
                workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
                pids = [int(p) for p in workers.stdout.split()]
                if pids:
                    os.kill(random.choice(pids), 9)
                    out["kills"] += 1

        started = time.perf_counter()
        out["kills"] = 0

        async def both():
            await asyncio.gather(everyone(), killer())

        asyncio.run(both())
        wall = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
    latencies = sorted(out["latencies"])
    server_errors = sum(n for status, n in out["statuses"].items() if status >= 500)
    result = {
        "database": label, "server": "gunicorn (gunicorn.conf.py, as make run)" if args.gunicorn else "lms run (Flask's server)",
        "users": len(phones), "every_s": args.every, "seconds": round(wall, 1), "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1), "statuses": out["statuses"], "client_errors": out["errors"],
        "server_errors_5xx": server_errors,
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(latencies[int(len(latencies) * 0.95) - 1], 3) if latencies else None,
        "max_s": round(latencies[-1], 3) if latencies else None,
        "events_left_in_outboxes": out["left_in_outboxes"], "web_workers_killed": out["kills"],
        **check_database(env, out["acknowledged"], lesson_id, duration),
    }
    print(result, flush=True)
    return result


def postgres_url(name: str) -> str:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--every", type=float, default=5)
    parser.add_argument("--instance", default="/tmp/lms-bench-progress")  # noqa: S108 - a bench's scratch folder
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--gunicorn", action="store_true")
    parser.add_argument("--kills", type=int, default=0, help="kill -9 this many gunicorn workers during the run")
    args = parser.parse_args()
    instance = Path(args.instance)
    instance.mkdir(parents=True, exist_ok=True)
    results = []
    # One database per run of the script: the child (`prepare` imports the app) reads the env.
    if not args.skip_sqlite:
        results.append(run("sqlite", instance_env(instance, SECRET_KEY=BENCH_KEY), args))
    if not args.skip_postgres:
        env = instance_env(instance, SECRET_KEY=BENCH_KEY, DATABASE_URL=postgres_url("lms_bench_progress"))
        if results:  # the app is already imported with SQLite's settings: measure PostgreSQL in a fresh process
            argv = [a for a in sys.argv[1:] if a != "--skip-postgres"]
            subprocess.run([sys.executable, __file__, *argv, "--skip-sqlite"], check=True)
        else:
            results.append(run("postgresql", env, args))
    if results:
        suffix = ("_gunicorn" if args.gunicorn else "") + (f"_{args.kills}kills" if args.kills else "")
        save(f"progress_load_{results[0]['database']}{suffix}", {"runs": results})


if __name__ == "__main__":
    main()
