"""Attendance at class sessions, with every change kept, and trainees' check-in cards."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.extensions import db
from lms.i18n import lazy_gettext as _l


class AttendanceStatus(LabelledEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"

    @classmethod
    def labels(cls):
        return {cls.PRESENT: _l("Present"), cls.LATE: _l("Late"), cls.ABSENT: _l("Absent"), cls.EXCUSED: _l("Excused")}


#: Statuses that count as attending (for the course's attendance rule and the reports).
ATTENDED = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.LATE})


class CheckInMethod(LabelledEnum):
    ROLL_CALL = "roll_call"
    SELF_QR = "self_qr"
    SELF_CODE = "self_code"
    CARD_SCAN = "card_scan"

    @classmethod
    def labels(cls):
        return {cls.ROLL_CALL: _l("Roll call"), cls.SELF_QR: _l("Scanned the class QR code"),
                cls.SELF_CODE: _l("Typed the class code"), cls.CARD_SCAN: _l("Card scanned by the instructor")}


class AttendanceRecord(db.Model):
    __tablename__ = "attendance_records"
    __table_args__ = (sa.UniqueConstraint("session_id", "user_id", name="uq_attendance_records_session_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("class_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(enum_column_type(AttendanceStatus))
    method: Mapped[CheckInMethod] = mapped_column(enum_column_type(CheckInMethod))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    changes: Mapped[list["AttendanceChange"]] = relationship(
        back_populates="record", order_by="AttendanceChange.changed_at", cascade="all, delete-orphan"
    )


class AttendanceChange(db.Model):
    """Who changed an attendance record, when, from what to what. Never edited or deleted."""

    __tablename__ = "attendance_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("attendance_records.id", ondelete="CASCADE"), index=True)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    old_status: Mapped[AttendanceStatus | None] = mapped_column(enum_column_type(AttendanceStatus))
    new_status: Mapped[AttendanceStatus] = mapped_column(enum_column_type(AttendanceStatus))
    method: Mapped[CheckInMethod] = mapped_column(enum_column_type(CheckInMethod))

    record: Mapped[AttendanceRecord] = relationship(back_populates="changes")


class AttendanceCard(db.Model):
    """A trainee's personal QR card; the token is unguessable and carries a version prefix."""

    __tablename__ = "attendance_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: e.g. "LSC1.<32 url-safe characters>"; a lost card is revoked and a new one made.
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
