"""The app's error handlers: every error answered by a friendly page (or JSON) in the user's language."""

from flask import request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.core.responses import MESSAGES, is_api_request, render_error


def register(app) -> None:
    """Attach the error handlers to the app."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if is_api_request() and not current_user.is_authenticated:
            # The session expired (and its CSRF token with it): the phone must log in again, then resend.
            uploading = request.path.startswith("/api/v1/uploads")
            return render_error(401, _l("Please log in again, then resume the upload.") if uploading
                                else _l("Please log in again."))
        return render_error(400, error="csrf")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in MESSAGES:
            # Keep the exception's own headers: 405's Allow, 429's Retry-After.
            headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
            return render_error(error.code, headers=headers)
        return error

    @app.errorhandler(OperationalError)
    def database_error(error: OperationalError):
        db.session.rollback()
        if "database is locked" in str(error.orig):
            # SQLite's one writer was busy past every wait: nothing was saved, so the phone's
            # outbox (or the person) sends it again.
            app.logger.warning("database busy: answered 503 to %s %s", request.method, request.endpoint)
            return render_error(503, headers=[("Retry-After", "5")])
        app.logger.exception("database error")
        return render_error(500)

    @app.errorhandler(InternalServerError)
    def server_error(error):
        db.session.rollback()
        return render_error(500)
