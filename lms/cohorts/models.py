"""Classes (cohorts) of a course in a commune, their trainees and their class sessions."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l

cohort_instructors = sa.Table(
    "cohort_instructors",
    db.metadata,
    sa.Column("cohort_id", sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Cohort(db.Model):
    """A class (lớp học): one course taught to a group of trainees in a commune."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code organizers use in files and on paper, e.g. "PX-VBBH-01"; unique.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Official commune/ward code (vietnam-provinces), like users.commune_code.
    commune_code: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    venue: Mapped[str] = mapped_column(sa.String(200), default="")
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    #: Most trainees the class takes; None = no limit.
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped["Course"] = relationship()  # noqa: F821
    instructors: Mapped[list["User"]] = relationship(secondary=cohort_instructors)  # noqa: F821
    members: Mapped[list["CohortMember"]] = relationship(back_populates="cohort", cascade="all, delete-orphan")
    sessions: Mapped[list["ClassSession"]] = relationship(
        back_populates="cohort", order_by="ClassSession.starts_at", cascade="all, delete-orphan"
    )


class MemberStatus(LabelledEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"

    @classmethod
    def labels(cls):
        return {cls.ACTIVE: _l("In the class"), cls.WITHDRAWN: _l("Withdrawn")}


class CohortMember(db.Model):
    __tablename__ = "cohort_members"
    __table_args__ = (sa.UniqueConstraint("cohort_id", "user_id", name="uq_cohort_members_cohort_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[MemberStatus] = mapped_column(enum_column_type(MemberStatus), default=MemberStatus.ACTIVE)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    user: Mapped["User"] = relationship()  # noqa: F821


class SessionStatus(LabelledEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"

    @classmethod
    def labels(cls):
        return {cls.SCHEDULED: _l("Scheduled"), cls.CANCELLED: _l("Cancelled")}


class ClassSession(db.Model):
    """One in-person class meeting. Times are stored in UTC and shown in Asia/Ho_Chi_Minh."""

    __tablename__ = "class_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str] = mapped_column(sa.String(200), default="")
    topic: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[SessionStatus] = mapped_column(enum_column_type(SessionStatus), default=SessionStatus.SCHEDULED)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(300))
    #: Sessions made together from one weekly pattern share this.
    series_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    #: Signs this session's rotating check-in codes; random per session.
    check_in_secret: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="sessions")

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED


class CohortField(LabelledEnum):
    """What changed in a class, kept in its history: one of its details, or who is in it."""

    NAME = "name"
    COMMUNE = "commune"
    VENUE = "venue"
    START_DATE = "start_date"
    END_DATE = "end_date"
    CAPACITY = "capacity"
    INSTRUCTORS = "instructors"
    #: Trainees came from another class of the course (other_cohort); their names are in new_value.
    MOVED_IN = "moved_in"
    #: Trainees went to another class of the course (other_cohort); their names are in new_value.
    MOVED_OUT = "moved_out"
    #: Trainees were withdrawn (with the reason given, if any); their names are in new_value.
    WITHDRAWN = "withdrawn"

    @classmethod
    def labels(cls):
        return {cls.NAME: _l("Class name"), cls.COMMUNE: _l("Commune / ward"), cls.VENUE: _l("Venue"),
                cls.START_DATE: _l("Start date"), cls.END_DATE: _l("End date"), cls.CAPACITY: _l("Capacity"),
                cls.INSTRUCTORS: _l("Instructors"), cls.MOVED_IN: _l("Trainees moved in"),
                cls.MOVED_OUT: _l("Trainees moved out"), cls.WITHDRAWN: _l("Trainees withdrawn")}

    @property
    def is_about_members(self) -> bool:
        """Return True for a change of who is in the class rather than of one of its details."""
        return self in MEMBER_CHANGES


MEMBER_CHANGES = frozenset({CohortField.MOVED_IN, CohortField.MOVED_OUT, CohortField.WITHDRAWN})


class CohortChange(db.Model):
    """One change to a class: who made it, when, and the value before and after.

    A change of members (MEMBER_CHANGES) is one row per action, however many trainees it took:
    old_value names the other class as it read then ("PX-02 · Lớp Chuyên Mỹ"), new_value the
    trainees, one name a line, in class-list order.
    """

    __tablename__ = "cohort_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    #: Who changed it; kept as None if their account is deleted.
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    field: Mapped[CohortField] = mapped_column(enum_column_type(CohortField))
    #: The values as people read them at the time ("Xã Phú Xuyên, Thành phố Hà Nội", instructors' names);
    #: None = empty (no commune, no limit).
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)
    #: The class trainees were moved from or to; None for other changes, or once that class is deleted.
    other_cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="SET NULL"))
    #: How many trainees a change of members took.
    member_count: Mapped[int | None] = mapped_column(sa.Integer)
    #: Why, as the organizer wrote it (a withdrawal's reason); None when none was given.
    reason: Mapped[str | None] = mapped_column(sa.Text)

    cohort: Mapped[Cohort] = relationship(foreign_keys=[cohort_id])
    other_cohort: Mapped[Cohort | None] = relationship(foreign_keys=[other_cohort_id])
    changed_by: Mapped["User | None"] = relationship()  # noqa: F821
