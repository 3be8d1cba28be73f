"""Leave messages for people and let them read them."""

import sqlalchemy as sa

from lms.core.db import utcnow
from lms.core.extensions import db
from lms.notifications.models import Notification

#: Rows per INSERT when a whole class is told at once.
CHUNK = 1000


def notify(user_ids, kind: str, *, link: str | None = None, **params) -> int:
    """Leave a message of this kind for each of these people; return how many.

    The text is written when read, in the reader's language, from `kind` and `params`.
    """
    return notify_each((uid, kind, link, params) for uid in dict.fromkeys(user_ids))


def notify_each(messages) -> int:
    """Leave one message per (user id, kind, link, params) tuple, in as few INSERTs as possible."""
    now = utcnow()
    rows = [{"user_id": uid, "kind": kind, "params": params, "title": "", "body": "", "link": link,
             "created_at": now} for uid, kind, link, params in messages]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(Notification), rows[start:start + CHUNK])
    return len(rows)


def unread_count(user) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def unread(user, limit: int = 20) -> list[Notification]:
    return list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def recent(user, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def get_notification(user, notification_id: int) -> Notification | None:
    """Return one of this person's messages (never someone else's)."""
    return db.session.scalar(sa.select(Notification).where(Notification.id == notification_id,
                                                           Notification.user_id == user.id))


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user) -> int:
    result = db.session.execute(sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount or 0
