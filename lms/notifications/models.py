"""Messages the app leaves for a person (feedback on their work, a certificate, a class moved)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import UTCDateTime, utcnow
from lms.core.extensions import db


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: What happened (see lms.notifications.messages); the text is written in the reader's language when read.
    kind: Mapped[str | None] = mapped_column(sa.String(40))
    #: The facts the text is filled with (names, codes, UTC times as ISO strings).
    params: Mapped[dict | None] = mapped_column(sa.JSON)
    #: Text of messages without a kind (written before kinds existed).
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: A path inside the app to open, e.g. /my/attendance.
    link: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
