"""A person's messages."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.urls import same_site_path
from lms.notifications import services
from lms.notifications.messages import text_of

bp = Blueprint("notifications", __name__)


def render_notice(user) -> str:
    items = services.unread(user, limit=3)
    if not items:
        return ""
    return render_template("notifications/_notice.html", items=items, count=services.unread_count(user),
                           text_of=text_of)


@bp.get("/notifications")
@login_required
def index():
    """List my messages, newest first; reading them is a separate POST."""
    items = services.recent(current_user)
    return render_template("notifications/index.html", items=items, text_of=text_of,
                           unread=sum(1 for item in items if item.read_at is None))


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_message(notification_id: int):
    """Mark one of my messages read and go where it points."""
    notification = services.get_notification(current_user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(notification)
    db.session.commit()
    return redirect(same_site_path(notification.link) or url_for(".index"))


@bp.post("/notifications/read")
@login_required
def read_all():
    """Mark all my messages read."""
    count = services.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(_("All messages are marked read."), "success")
    return redirect(url_for(".index"))
