"""Làng Số: a phone-first learning management system for digital-skills training."""

from pathlib import Path

from flask import Flask, Request, current_app

from lms.core.config import BaseConfig, default_instance_path, settings_from_env, trusted_hosts

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
    if app.config.get("TRUSTED_HOSTS") is None:
        # A forged Host must never name the issuer of a signed certificate or a cached page.
        app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config.get("BASE_URL"), app.config.get("EXTRA_TRUSTED_HOSTS", ()))

    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind the proxy every request comes from its address: without this, one client's wrong
        # logins would lock out everyone; with it, a client cannot pick its address by sending the header.
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
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
    from lms.core.db import end_read_only_transaction, install_engine_listeners
    from lms.core.extensions import babel, csrf, db, limiter, login_manager
    from lms.core.i18n import select_locale, select_timezone

    install_engine_listeners()
    db.init_app(app)
    # Registered after Flask-SQLAlchemy's, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(end_read_only_transaction)
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


def register_blueprints(app: Flask) -> None:
    """Register every domain's blueprint."""
    from lms.core.params import register_converters

    register_converters(app)  # before any route is added: `<int:…>` is bounded everywhere
    from lms.accounts.views import bp as accounts_bp
    from lms.assignments.views import bp as assignments_bp
    from lms.attendance.export_views import bp as attendance_exports_bp
    from lms.attendance.views import bp as attendance_bp
    from lms.audit.views import bp as audit_bp
    from lms.certificates.views import bp as certificates_bp
    from lms.cohorts.importing.views import bp as imports_bp
    from lms.cohorts.views import bp as cohorts_bp
    from lms.courses.views import bp as courses_bp
    from lms.learning.views import bp as learning_bp
    from lms.media.views import bp as media_bp
    from lms.notifications.views import bp as notifications_bp
    from lms.privacy.views import bp as privacy_bp
    from lms.quizzes.views import bp as quizzes_bp
    from lms.reports.views import bp as reports_bp
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
    app.register_blueprint(audit_bp)
    app.register_blueprint(reports_bp)
    # Last: its consent check runs after accounts' "choose a password first".
    app.register_blueprint(privacy_bp)

    from lms.web.security import apply_security_headers
    from lms.web.shell import add_static_version

    app.after_request(apply_security_headers)
    app.url_defaults(add_static_version)


def register_hooks(app: Flask) -> None:
    """Connect every package to the extension points of the packages below it: the one place that does.

    Each registry is keyed by name, so the many apps a test run creates connect the same functions
    again without adding any twice. The worker's app comes from create_app too (`lms worker`, and
    lms.core.jobs outside any app), so the jobs that complete lessons see the site's rules and listeners.
    """
    from lms.accounts import hooks as accounts
    from lms.accounts.access import may_read_audit_log
    from lms.accounts.models import Role
    from lms.accounts.services import account_names
    from lms.assignments import services as assignments
    from lms.assignments.access import SUBMISSION_UPLOAD
    from lms.assignments.personal_data import personal_data as assignments_data
    from lms.assignments.views import render_home_notice as assignments_notice
    from lms.assignments.views import render_panel as assignment_panel
    from lms.attendance.export_jobs import recover_stale_exports
    from lms.attendance.personal_data import personal_data as attendance_data
    from lms.attendance.services import attendance_rule
    from lms.attendance.views import render_home_notice as attendance_notice
    from lms.audit import hooks as audit
    from lms.certificates.personal_data import personal_data as certificates_data
    from lms.certificates.services import issue_for_enrollment, recover_stale_batches
    from lms.cohorts.access import members_of_classes_run_by
    from lms.cohorts.importing.store import recover_stale_imports
    from lms.cohorts.personal_data import personal_data as cohorts_data
    from lms.core import jobs
    from lms.courses import hooks as courses
    from lms.courses.models import LessonKind
    from lms.learning import hooks as learning
    from lms.learning.access import learners_taught_by, may_learn
    from lms.learning.personal_data import personal_data as learning_data
    from lms.learning.views import course_page_learner
    from lms.media import hooks as media
    from lms.media.access import MEDIA_PURPOSES
    from lms.media.services import find_course_asset
    from lms.media.tasks import recover_stale_media
    from lms.notifications.personal_data import personal_data as notifications_data
    from lms.notifications.views import render_notice as notifications_notice
    from lms.privacy.personal_data import personal_data as privacy_data
    from lms.privacy.services import record_consent_given
    from lms.quizzes.personal_data import personal_data as quizzes_data
    from lms.quizzes.views import render_panel as quiz_panel

    accounts.register_people_scope("learners of the courses they teach", learners_taught_by)
    accounts.register_people_scope("trainees of the classes they run", members_of_classes_run_by)
    accounts.register_consent_recorder("privacy", record_consent_given)

    # In the order "my data" shows them.
    accounts.register_personal_data("learning", learning_data)
    accounts.register_personal_data("cohorts", cohorts_data)
    accounts.register_personal_data("quizzes", quizzes_data)
    accounts.register_personal_data("assignments", assignments_data)
    accounts.register_personal_data("attendance", attendance_data)
    accounts.register_personal_data("certificates", certificates_data)
    accounts.register_personal_data("notifications", notifications_data)
    accounts.register_personal_data("privacy", privacy_data)

    audit.register_reader("admins", may_read_audit_log)
    audit.register_account_namer("accounts", account_names)
    audit.register_role_labels("accounts", {role.value: label for role, label in Role.labels().items()})

    courses.register_view_rule("enrolled", may_learn)
    courses.register_page_context("learning", course_page_learner)
    courses.register_media_finder("media", find_course_asset)

    for name, purpose in MEDIA_PURPOSES.items():
        media.register_upload_purpose(name, purpose)
    media.register_upload_purpose(assignments.SUBMISSION_PURPOSE, SUBMISSION_UPLOAD)

    learning.register_completion_rule("attendance", attendance_rule)
    learning.register_completion_listener("certificates", issue_for_enrollment)
    learning.register_lesson_panel(LessonKind.QUIZ, quiz_panel)
    learning.register_lesson_panel(LessonKind.ASSIGNMENT, assignment_panel)
    # In the order the home page shows them.
    learning.register_home_notice("assignments", assignments_notice)
    learning.register_home_notice("attendance", attendance_notice)
    learning.register_home_notice("notifications", notifications_notice)

    jobs.register_recoverer("attendance exports", recover_stale_exports)
    jobs.register_recoverer("certificate batches", recover_stale_batches)
    jobs.register_recoverer("trainee imports", recover_stale_imports)
    jobs.register_recoverer("media processing", recover_stale_media)


def register_errorhandlers(app: Flask) -> None:
    """Render friendly pages for HTTP errors."""
    from lms.web.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    """Add the project's CLI commands to `lms`."""
    from lms.accounts.commands import users_group
    from lms.attendance.commands import attendance_group
    from lms.certificates.commands import certificates_group
    from lms.cohorts.commands import cohorts_group, trainees_group
    from lms.demo.commands import seed_group
    from lms.reports.commands import reports_group
    from lms.web.commands import worker_command

    app.cli.add_command(users_group)
    app.cli.add_command(seed_group)
    app.cli.add_command(worker_command)
    app.cli.add_command(cohorts_group)
    app.cli.add_command(trainees_group)
    app.cli.add_command(attendance_group)
    app.cli.add_command(certificates_group)
    app.cli.add_command(reports_group)


def register_tasks() -> None:
    """Import every module that declares jobs, so the worker knows them."""
    import lms.attendance.export_tasks  # noqa: F401
    import lms.certificates.tasks  # noqa: F401
    import lms.cohorts.importing.tasks  # noqa: F401
    import lms.media.tasks  # noqa: F401
    import lms.privacy.tasks  # noqa: F401
    import lms.reports.tasks  # noqa: F401
    import lms.web.tasks  # noqa: F401


def register_template_helpers(app: Flask) -> None:
    """Expose formatting helpers and navigation to templates."""
    from lms.web.templating import register

    register(app)
