"""Home page, health check, language switch, place look-ups and the installable app's shell."""

import json

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from lms.accounts.forms import ConfirmForm
from lms.accounts.models import Role
from lms.core.extensions import db
from lms.core.places import communes_of

bp = Blueprint("core", __name__)


@bp.route("/")
def home():
    """Send each person to where their work is."""
    if not current_user.is_authenticated:
        return render_template("core/welcome.html")
    # The programme's dashboard is the home of those who run it or answer for it; teaching has its overview.
    if current_user.has_role(Role.ORGANIZER, Role.ADMIN, Role.OFFICIAL):
        return redirect(url_for("reports.dashboard"))
    if current_user.is_staff:
        return overview()
    return redirect(url_for("learning.home"))


@bp.route("/overview")
def overview():
    """Show a staff member today's sessions, their classes and their courses."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path))
    if not (current_user.is_staff or current_user.has_role(Role.ADMIN)):
        return redirect(url_for("core.home"))
    from lms.attendance.checkin import is_open
    from lms.web.home import staff_home

    return render_template("core/staff_home.html", home=staff_home(current_user), is_open=is_open)


@bp.route("/healthz")
def healthz():
    """Report whether the app and its database answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        database = "error"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "error", database=database), status


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    """Remember the chosen language for this browser (and account)."""
    form = ConfirmForm()
    if code in current_app.config["LANGUAGES"] and form.validate_on_submit():
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    target = request.form.get("next") or url_for("core.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("core.home")
    return redirect(target)


@bp.route("/api/v1/openapi.json")
def openapi():
    """Publish the OpenAPI document of the JSON API, generated from the code."""
    from lms.core.api import openapi_document

    return jsonify(openapi_document(f"{current_app.config['LMS_ORG_NAME']} API"))


@bp.route("/places/provinces/<int:province_code>/communes")
def province_communes(province_code: int):
    """List a province's communes for the commune picker."""
    response = jsonify([{"code": c.code, "name": c.name} for c in communes_of(province_code)])
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    """Serve the web app manifest that makes the site installable."""
    from lms.web.shell import manifest

    response = jsonify(manifest())
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/sw.js")
def service_worker():
    """Serve the service worker from the site's root, so that it controls every page.

    Its bytes carry the shell's version and file list: any changed static file, offline page or
    translation changes them, and the browser installs the new worker.
    """
    from lms.web.shell import manifest, shell_urls, shell_version

    offline_page = render_template("pwa/offline.html").encode()
    version = shell_version(offline_page, json.dumps(manifest(), sort_keys=True).encode())
    body = render_template("pwa/sw.js", version=version, shell=shell_urls(), offline_url=url_for("core.offline"),
                           manifest_url=url_for("core.manifest"))
    response = current_app.response_class(body, mimetype="text/javascript")
    # The browser asks again on every check (no HTTP cache may keep an old worker); the ETag makes
    # that ask cost a 304 when nothing changed.
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/offline")
def offline():
    """Show what the service worker answers when a page cannot be reached: nothing personal in it."""
    return render_template("pwa/offline.html")
