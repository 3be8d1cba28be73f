"""Làng Số: a phone-first learning management system for digital-skills training."""

import time
from pathlib import Path

from flask import Flask, Request, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from lms.core.config import BaseConfig, default_instance_path, settings_from_env
from lms.core.db import may_write

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class LmsRequest(Request):
    """A request whose body limit is larger for upload chunks than for forms."""

    @property
    def max_content_length(self) -> int | None:
        if self.path.startswith("/api/v1/uploads/"):
            return current_app.config["MAX_UPLOAD_CHUNK_BYTES"]
        return current_app.config["MAX_CONTENT_LENGTH"]


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure an instance of the Làng Số app."""
    instance_path = Path((test_config or {}).get("INSTANCE_PATH") or default_instance_path())
    instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.request_class = LmsRequest
    app.config.from_object(BaseConfig)
    app.config.update(settings_from_env(instance_path))
    if test_config:
        app.config.update(test_config)

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    register_tasks()
    return app


def configure_logging(app: Flask) -> None:
    """Set the log level and mask phone numbers in every log record."""
    from lms.core.privacy import install_log_redaction

    install_log_redaction()
    app.logger.setLevel(app.config["LOG_LEVEL"])


def register_extensions(app: Flask) -> None:
    """Bind every extension to the app."""
    import lms.models  # noqa: F401 - every model registered before first use
    from lms.accounts.models import load_user
    from lms.core import jobs
    from lms.core.extensions import babel, csrf, db, limiter, login_manager
    from lms.core.i18n import select_locale, select_timezone

    db.init_app(app)
    # Registered after Flask-SQLAlchemy's, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(_end_read_only_transaction)
    if not app.config.get("SERVE_ONLY"):
        # Alembic is for `lms db …` and the tests; lms.wsgi (gunicorn) leaves it out.
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    from lms.core.i18n import install_template_gettext

    install_template_gettext(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    jobs.init_app(app)

    from lms.core.i18n import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")


def _end_read_only_transaction(exc: BaseException | None) -> None:
    """End a request that only read with COMMIT instead of the usual ROLLBACK.

    psycopg forgets its prepared statements at every ROLLBACK, so PostgreSQL parsed and planned
    every query of every request again. A transaction that wrote nothing (no statement but
    SELECT, no unflushed change) ends the same either way; anything else is still rolled back.
    """
    from lms.core.extensions import db

    if exc is not None or not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    if not session.connection().info.get(_WROTE):
        session.commit()


_WROTE = "lms_transaction_wrote"


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info[_WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_writes(conn):
    conn.info.pop(_WROTE, None)


#: A pooled connection unused for this long is checked before use.
IDLE_PING_AFTER_S = 10.0


@event.listens_for(Pool, "checkin")
def _remember_checkin(dbapi_connection, connection_record):
    connection_record.info["checked_in_at"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
    """Check a connection that sat idle before handing it out; a dead one is replaced (SQLAlchemy's recipe).

    Under load connections are reused within milliseconds and never pinged; after a quiet spell,
    when a restarted database may have dropped them, the first request gets a working one.
    """
    checked_in_at = connection_record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_AFTER_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # psycopg opened a transaction for the SELECT
    except Exception as exc:  # any driver's "connection is gone"
        raise DisconnectionError() from exc


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, connection_record):
    """Turn on WAL and foreign keys for every SQLite connection, and take over its BEGIN."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        # pysqlite otherwise issues no BEGIN before a SAVEPOINT, so RELEASE commits on its own: an
        # event's id was saved without its effect. `_begin_sqlite` opens every transaction instead
        # (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(conn):
    """Open an SQLite transaction: as a writer up front wherever it may write.

    A deferred transaction that reads, then writes after another has committed, fails at once with
    "database is locked" (busy_timeout never applies to that upgrade); one begun IMMEDIATE waits
    its turn for the write lock instead. Pages that only read stay DEFERRED, so readers never queue.
    """
    if conn.dialect.name != "sqlite":
        return
    # On the driver's own connection: BEGIN is not a statement of the unit of work (query counts,
    # the read-only check of `_note_writes` see only what the code asked for).
    driver = conn.connection.driver_connection
    if not may_write():
        driver.execute("BEGIN")
        return
    _take_writer_turn(conn)
    try:
        driver.execute("BEGIN IMMEDIATE")
    except Exception:
        _end_writer_turn(conn.connection._connection_record)
        raise


#: How long a writer waits for its turn among this process's threads before giving up (503).
WRITER_WAIT_S = 20.0
_WRITER_TURN = "lms_writer_turn"


def _take_writer_turn(conn) -> None:
    """Queue this process's SQLite writers on one lock before they ask SQLite for its write lock.

    SQLite's own wait polls with sleeps of up to 100 ms and favours no one, so under a class's
    load some writers waited past busy_timeout while others came and went. Threads waiting on a
    Python lock are woken the moment it is free; SQLite's wait is left for other processes (the
    other web worker, the job worker).
    """
    import sqlite3
    import threading

    record = conn.connection._connection_record
    if _WRITER_TURN in record.info:
        return  # this connection has the turn already
    engine = conn.engine
    lock = engine.__dict__.get("_lms_writer_lock")
    if lock is None:
        lock = engine.__dict__.setdefault("_lms_writer_lock", threading.Lock())
    if not lock.acquire(timeout=WRITER_WAIT_S):
        raise sqlite3.OperationalError("database is locked")
    record.info[_WRITER_TURN] = lock


def _end_writer_turn(connection_record) -> None:
    turn = connection_record.info.pop(_WRITER_TURN, None) if connection_record is not None else None
    if turn is not None:
        turn.release()


@event.listens_for(Engine, "commit")
def _writer_committed(conn):
    # The event comes before SQLAlchemy's COMMIT: commit here, then pass the turn on (the driver's
    # commit after this finds nothing to do). Passed on first, the next writer's BEGIN IMMEDIATE
    # would meet the lock still held and sleep in SQLite's busy handler at every turn.
    _finish_writer_turn(conn, "commit")


@event.listens_for(Engine, "rollback")
def _writer_rolled_back(conn):
    _finish_writer_turn(conn, "rollback")


def _finish_writer_turn(conn, how: str) -> None:
    if conn.dialect.name != "sqlite" or conn.invalidated:
        return
    record = conn.connection._connection_record
    if record is None or _WRITER_TURN not in record.info:
        return
    try:
        getattr(conn.connection.driver_connection, how)()
    finally:
        _end_writer_turn(record)


@event.listens_for(Pool, "reset")
def _writer_reset(dbapi_connection, connection_record, reset_state=None):
    # A connection handed back to the pool without COMMIT or ROLLBACK through SQLAlchemy.
    _end_writer_turn(connection_record)


@event.listens_for(Pool, "invalidate")
@event.listens_for(Pool, "close")
def _writer_gone(dbapi_connection, connection_record, *args):
    _end_writer_turn(connection_record)


def register_blueprints(app: Flask) -> None:
    """Register every domain's blueprint."""
    from lms.core.params import register_converters

    register_converters(app)  # before any route is added: `<int:…>` is bounded everywhere
    from lms.accounts.views import bp as accounts_bp
    from lms.assignments.views import bp as assignments_bp
    from lms.attendance.export_views import bp as attendance_exports_bp
    from lms.attendance.views import bp as attendance_bp
    from lms.certificates.views import bp as certificates_bp
    from lms.cohorts.import_views import bp as imports_bp
    from lms.cohorts.views import bp as cohorts_bp
    from lms.courses.views import bp as courses_bp
    from lms.learning.views import bp as learning_bp
    from lms.media.views import bp as media_bp
    from lms.notifications.views import bp as notifications_bp
    from lms.quizzes.views import bp as quizzes_bp
    from lms.web.views import bp as core_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(learning_bp)
    app.register_blueprint(quizzes_bp)
    app.register_blueprint(assignments_bp)
    app.register_blueprint(cohorts_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(attendance_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(attendance_exports_bp)

    from lms.web.security import apply_security_headers

    app.after_request(apply_security_headers)


def register_errorhandlers(app: Flask) -> None:
    """Render friendly pages for HTTP errors."""
    from lms.web.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    """Add the project's CLI commands to `lms`."""
    from lms.attendance.commands import attendance_group
    from lms.certificates.commands import certificates_group
    from lms.cli import seed_group, users_group, worker_command
    from lms.cohorts.commands import cohorts_group, trainees_group

    app.cli.add_command(users_group)
    app.cli.add_command(seed_group)
    app.cli.add_command(worker_command)
    app.cli.add_command(cohorts_group)
    app.cli.add_command(trainees_group)
    app.cli.add_command(attendance_group)
    app.cli.add_command(certificates_group)


def register_tasks() -> None:
    """Import every module that declares jobs, so the worker knows them."""
    import lms.attendance.export_tasks  # noqa: F401
    import lms.certificates.services  # noqa: F401 - issues certificates when a course is completed
    import lms.certificates.tasks  # noqa: F401
    import lms.cohorts.import_tasks  # noqa: F401
    import lms.media.tasks  # noqa: F401
    import lms.web.tasks  # noqa: F401


def register_template_helpers(app: Flask) -> None:
    """Expose formatting helpers and navigation to templates."""
    from lms.web.templating import register

    register(app)
