"""Attendance at class sessions, with every change kept, and trainees' check-in cards."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


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


class ExportStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    #: The file was deleted after its time (it holds names and phone numbers).
    EXPIRED = "expired"

    @classmethod
    def labels(cls):
        return {cls.QUEUED: _l("Waiting"), cls.RUNNING: _l("Preparing the file"), cls.DONE: _l("Ready"),
                cls.FAILED: _l("Failed"), cls.EXPIRED: _l("Expired")}


class AttendanceExportJob(db.Model):
    """A large attendance export made in the job queue, and the stored file the organizer downloads."""

    __tablename__ = "attendance_export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable, for the progress page's address.
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: What make_filter takes, as codes and ISO dates: cohort_code, course_slug, commune_code, date_from, date_to.
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: "xlsx" or "csv".
    file_format: Mapped[str] = mapped_column(sa.String(8))
    #: The name the browser saves the file under, as the inline download gives it.
    filename: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[ExportStatus] = mapped_column(enum_column_type(ExportStatus), default=ExportStatus.QUEUED,
                                                 index=True)
    #: Detail rows (trainees × held sessions) counted when the export was asked for.
    total_rows: Mapped[int] = mapped_column(default=0)
    rows_written: Mapped[int] = mapped_column(default=0)
    #: Where the file is kept in the media storage (under "exports/"); None before it is written and once deleted.
    file_key: Mapped[str | None] = mapped_column(sa.String(300))
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Stamped by the running job every few seconds; a stale one means its worker is gone (lms.core.jobs).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The file is deleted after this; set when it is written.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    requested_by: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def is_running(self) -> bool:
        return self.status in {ExportStatus.QUEUED, ExportStatus.RUNNING}

    def effective_status(self, now: datetime | None = None) -> ExportStatus:
        """Return the status the organizer sees: a finished file past its time is expired, deleted or not yet."""
        if self.status == ExportStatus.DONE and self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return ExportStatus.EXPIRED
        return self.status

    @property
    def percent(self) -> int:
        """Progress in percent; 100 only once the file is stored (the roster is written after the detail rows)."""
        if self.status == ExportStatus.DONE:
            return 100
        return min(99, int(100 * self.rows_written / self.total_rows)) if self.total_rows else 0
