"""Consent to the privacy notice, requests about one's personal data, and totals of old lesson activity."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


class ConsentChoice(LabelledEnum):
    GIVEN = "given"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @classmethod
    def labels(cls):
        return {cls.GIVEN: _l("Agreed"), cls.DECLINED: _l("Did not agree"), cls.WITHDRAWN: _l("Withdrew consent")}


class ConsentMethod(LabelledEnum):
    REGISTRATION = "registration"
    ACTIVATION = "activation"
    INTERSTITIAL = "interstitial"
    PRIVACY_PAGE = "privacy_page"
    #: Demo and test accounts: nobody was asked.
    SEED = "seed"

    @classmethod
    def labels(cls):
        return {
            cls.REGISTRATION: _l("When creating the account"),
            cls.ACTIVATION: _l("When activating the account"),
            cls.INTERSTITIAL: _l("When logging in"),
            cls.PRIVACY_PAGE: _l("On the privacy page"),
            cls.SEED: _l("Demo or test data"),
        }


class ConsentRecord(db.Model):
    """One choice a person made about the privacy notice: rows are only ever added, never changed."""

    __tablename__ = "consent_records"
    __table_args__ = (sa.Index("ix_consent_records_user_version", "user_id", "notice_version", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Kept when the account is anonymised: the proof of consent outlives the personal data.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    notice_version: Mapped[str] = mapped_column(sa.String(32))
    choice: Mapped[ConsentChoice] = mapped_column(enum_column_type(ConsentChoice))
    method: Mapped[ConsentMethod] = mapped_column(enum_column_type(ConsentMethod))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RequestKind(LabelledEnum):
    DELETION = "deletion"
    CORRECTION = "correction"
    ACCESS = "access"
    OBJECTION = "objection"

    @classmethod
    def labels(cls):
        return {
            cls.DELETION: _l("Delete my data"),
            cls.CORRECTION: _l("Correct my data"),
            cls.ACCESS: _l("A copy of my data"),
            cls.OBJECTION: _l("Object to or restrict processing"),
        }


class RequestStatus(LabelledEnum):
    RECEIVED = "received"
    COOLING_OFF = "cooling_off"
    DONE = "done"
    CANCELLED = "cancelled"
    REFUSED = "refused"

    @classmethod
    def labels(cls):
        return {
            cls.RECEIVED: _l("Received"),
            cls.COOLING_OFF: _l("Waiting (can still be cancelled)"),
            cls.DONE: _l("Done"),
            cls.CANCELLED: _l("Cancelled"),
            cls.REFUSED: _l("Refused"),
        }


#: States in which a request still waits for someone (the trainee, an admin or the worker).
OPEN_STATUSES = frozenset({RequestStatus.RECEIVED, RequestStatus.COOLING_OFF})


class PrivacyRequest(db.Model):
    """A person's request about their personal data, with the clocks the law sets on it."""

    __tablename__ = "privacy_requests"
    __table_args__ = (sa.Index("ix_privacy_requests_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RequestKind] = mapped_column(enum_column_type(RequestKind))
    status: Mapped[RequestStatus] = mapped_column(enum_column_type(RequestStatus), default=RequestStatus.RECEIVED)
    #: What the person wrote (what to correct, what they object to); empty for a deletion.
    details: Mapped[str] = mapped_column(sa.Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Receipt must be acknowledged by then: 2 working days (Mon–Fri, Vietnam time) after received_at.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: A deletion is carried out by the worker after this moment, unless cancelled or refused before.
    cool_off_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: None when the worker carried it out (a deletion after its cool-off) or the person cancelled it.
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Why it was refused, or a note on how it was handled; shown to the person.
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    handled_by: Mapped["User | None"] = relationship(foreign_keys=[handled_by_id])  # noqa: F821

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class LessonActivityTotal(db.Model):
    """What is left of a trainee's activity on one lesson once its detail passed the retention period.

    Summed from progress events, which are then deleted: the counts stay exact, the moments go
    (when they learnt is the sensitive part; the lesson's progress row keeps what figures need).
    """

    __tablename__ = "lesson_activity_totals"
    __table_args__ = (sa.UniqueConstraint("user_id", "lesson_id", "kind", name="uq_lesson_activity_totals"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    #: The event kind: "open", "position" or "complete".
    kind: Mapped[str] = mapped_column(sa.String(16))
    events: Mapped[int] = mapped_column(default=0)
