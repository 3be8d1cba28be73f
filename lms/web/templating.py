"""Template filters and globals."""

from flask import current_app, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user
from markupsafe import Markup

from lms.accounts.models import Role
from lms.core.i18n import lazy_gettext as _l
from lms.core.text import mask_phone


def navigation() -> list[tuple[str, str, str]]:
    """Return (endpoint, label, icon) for the current user's main menu."""
    items = [("courses.catalogue", _l("Courses"), "book")]
    user = current_user._get_current_object()  # one proxy lookup, not one per check
    if not user.is_authenticated:
        return items
    items.insert(0, ("learning.home", _l("My learning"), "play"))
    items.insert(1, ("notifications.index", _l("Messages"), "mail"))
    if user.has_role(Role.ORGANIZER, Role.INSTRUCTOR, Role.ADMIN):
        items.insert(0, ("core.overview", _l("Overview"), "home"))
        items.append(("courses.manage", _l("Course authoring"), "edit"))
        items.append(("assignments.review_queue", _l("Review practical work"), "check"))
        items.append(("cohorts.index", _l("Classes"), "class"))
        items.append(("attendance.today", _l("Today's sessions"), "today"))
        items.append(("accounts.users", _l("People"), "people"))
    if user.has_role(Role.ADMIN):
        items.append(("media.storage_usage", _l("Media storage"), "storage"))
        items.append(("privacy.admin_requests", _l("Personal data requests"), "shield"))
        items.append(("audit.index", _l("Audit log"), "shield"))
    if user.has_role(Role.TRAINEE):
        items.append(("attendance.my_attendance", _l("My attendance"), "calendar"))
        items.append(("certificates.mine", _l("My certificates"), "award"))
    if user.has_role(Role.ORGANIZER, Role.ADMIN, Role.OFFICIAL):
        items.insert(0, ("reports.dashboard", _l("Programme"), "report"))
    if user.has_role(Role.ORGANIZER, Role.ADMIN):
        items.append(("certificates.register", _l("Certificates"), "award"))
        items.append(("attendance_exports.attendance_report", _l("Attendance reports"), "report"))
    items.append(("accounts.profile", _l("My account"), "user"))
    return items


def unread_messages() -> int:
    """Count the current user's unread messages (one indexed query per page)."""
    from lms.notifications.services import unread_count

    user = current_user._get_current_object()
    return unread_count(user) if user.is_authenticated else 0


def csrf_field() -> Markup:
    """Return the hidden CSRF input for a form that has no other fields (a button that posts)."""
    from flask_wtf.csrf import generate_csrf

    # Same token and field name as a FlaskForm's, without building a form object on every page.
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % generate_csrf()


def register(app) -> None:
    """Add filters and globals to the app's Jinja environment."""
    app.jinja_env.filters.update(
        datetime=lambda value, fmt="short": format_datetime(value, fmt) if value else "",
        date=lambda value, fmt="medium": format_date(value, fmt) if value else "",
        number=lambda value: format_decimal(value),
        masked_phone=mask_phone,
    )

    from lms.core.places import get_commune
    from lms.media.presenters import failure_text, format_bytes, image_srcset, processing_note
    from lms.media.services import max_upload_bytes

    app.jinja_env.globals.update(
        csrf_field=csrf_field,
        unread_messages=unread_messages,
        get_commune=get_commune,
        format_bytes=format_bytes,
        failure_text=failure_text,
        processing_note=processing_note,
        image_srcset=image_srcset,
        max_upload_bytes=max_upload_bytes,
    )

    @app.context_processor
    def inject_globals():
        return {
            "org_name": current_app.config["LMS_ORG_NAME"],
            "languages": current_app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
            "navigation": navigation,
            "Role": Role,
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
