"""What notifications hold about a person: the messages left for them."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.notifications.messages import text_of
from lms.notifications.models import Notification


def personal_data(user) -> list[DataSection]:
    """Return the user's messages, as they read them."""
    messages = db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                  .order_by(Notification.created_at))
    rows = []
    for message in messages:
        text = text_of(message)
        rows.append({"title": text.title, "body": text.body, "created_at": message.created_at,
                     "read_at": message.read_at})
    return [DataSection(
        "notifications", _l("Messages"),
        (("title", _l("Title")), ("body", _l("Message")), ("created_at", _l("Sent")), ("read_at", _l("Read"))),
        tuple(rows))]
