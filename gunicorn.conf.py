"""gunicorn settings picked up by `gunicorn lms.wsgi:app` run from the project folder."""

import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, so that a request waiting (for a password-hashing slot, for a slow phone's upload
# chunk) holds a thread instead of a whole worker; argon2 and I/O release the GIL. A login
# waits for its slot before it touches the database, so sixteen threads share SQLAlchemy's pool
# (5 + 10 overflow connections per process) only with requests doing work. Measured on a shared
# 2-core machine: 400 logins in 60 s on old-cost hashes (0.2 s each) had p50 15 s / p95 50 s with
# 8 threads, p50 1–2 s / p95 3–14 s with 16 when the machine was otherwise quiet
# (bench/login_burst.py --case upgrade); 400 phones posting progress every 5 s answered alike
# with sync workers and with 16 threads from the same database (bench/progress_load.py --gunicorn).
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# Load the app once in the master: workers share its memory pages (about 40% less memory with 2 workers).
preload_app = True
timeout = 60
# Longer than the player's 5 s between progress posts, so a phone reuses its connection instead of
# racing the server's close (at 5 s, 9 of 4,800 posts met a closed connection; at 15 s none). An idle
# keep-alive connection waits in gthread's poller and holds no thread.
keepalive = 15
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """Give each worker its own database connections (none may cross a fork) and its share of the cores for hashing."""
    from lms.core.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)
    if not os.environ.get("LMS_PASSWORD_HASH_SLOTS"):
        # Each worker bounds its own argon2 computations: together, one per core.
        app.config["PASSWORD_HASH_SLOTS"] = max(1, (os.cpu_count() or 1) // server.cfg.workers)
    if not os.environ.get("LMS_PASSWORD_HASH_MAX_WAITING"):
        # Logins waiting for a slot never take every thread: two stay free for the rest of the site.
        app.config["PASSWORD_HASH_MAX_WAITING"] = max(0, server.cfg.threads - app.config["PASSWORD_HASH_SLOTS"] - 2)
    app.extensions.pop("lms_hashing_slots", None)


def when_ready(server):
    """Freeze the preloaded app's objects before the workers fork.

    Without this, each worker's garbage collector writes to the shared objects' pages and
    the kernel copies them: idle memory wandered between 167 and 224 MiB (PSS, 2 workers).
    """
    import gc

    # Templates compiled once here are shared by every worker instead of compiled in each.
    app = server.app.wsgi()
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)
    gc.freeze()
