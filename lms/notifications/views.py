"""A person's messages."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from lms.extensions import db
from lms.learning.panels import register_home_notice
from lms.notifications import services

bp = Blueprint("notifications", __name__)


def render_notice(user) -> str:
    items = services.unread(user)
    return render_template("notifications/_notice.html", items=items) if items else ""


register_home_notice("notifications", render_notice)


@bp.route("/notifications")
@login_required
def index():
    """List my messages and mark them read."""
    items = services.recent(current_user)
    services.mark_all_read(current_user)
    db.session.commit()
    return render_template("notifications/index.html", items=items)
