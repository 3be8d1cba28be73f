"""The app as a production server loads it: `gunicorn lms.wsgi:app` (settings in gunicorn.conf.py)."""

from lms import create_app

# Serving only: the `lms db …` machinery (Alembic, about 11 MiB per process) is left out.
app = create_app({"SERVE_ONLY": True})
