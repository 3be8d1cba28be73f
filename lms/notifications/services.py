"""Leave messages for people and let them read them."""

import sqlalchemy as sa

from lms.database import utcnow
from lms.extensions import db
from lms.notifications.models import Notification


def notify(user_ids, *, title: str, body: str = "", link: str | None = None) -> int:
    """Leave the same message for each of these people; return how many."""
    rows = [{"user_id": uid, "title": title[:200], "body": body, "link": link, "created_at": utcnow()}
            for uid in dict.fromkeys(user_ids)]
    if rows:
        db.session.execute(sa.insert(Notification), rows)
    return len(rows)


def unread(user) -> list[Notification]:
    return list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc()).limit(20)))


def recent(user, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc()).limit(limit)))


def mark_all_read(user) -> None:
    db.session.execute(sa.update(Notification).where(Notification.user_id == user.id,
                                                     Notification.read_at.is_(None)).values(read_at=utcnow()))
