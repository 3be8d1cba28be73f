"""The programme's figures as the worker last counted them: one snapshot per count, its rows at the finest grain.

At programme scale (a province: a million trainees) counting the dashboard's figures takes longer
than a page may; the worker counts them every few minutes for the default period (lms.reports.tasks)
and the dashboard adds up the rows it needs. Each row is one commune's share of one breakdown's row,
so a reader's scope (their communes) is a WHERE on the rows and a province is their sum.
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db


class Grain(LabelledEnum):
    """Which breakdown a row belongs to; every row is also one commune's (NO_COMMUNE: none recorded)."""

    COURSE = "course"
    VILLAGE = "village"
    CRAFT = "craft"
    CLASS = "class"
    WEEK = "week"


class FigureSnapshot(db.Model):
    """One count of every figure for a period, as of a moment; usable once finished."""

    __tablename__ = "figure_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_first: Mapped[date] = mapped_column()
    period_last: Mapped[date] = mapped_column()
    #: The moment counted at: nothing that happened after it is in the figures.
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How long the count took: the dashboard counts live when that is quick (lms.reports.snapshots).
    seconds: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FigureRow(db.Model):
    """One commune's counts for one row of one breakdown of a snapshot."""

    __tablename__ = "figure_rows"
    __table_args__ = (sa.Index("ix_figure_rows_snapshot_grain_commune", "snapshot_id", "grain", "commune_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("figure_snapshots.id", ondelete="CASCADE"))
    grain: Mapped[Grain] = mapped_column(enum_column_type(Grain))
    commune_code: Mapped[int] = mapped_column()
    course_id: Mapped[int | None] = mapped_column()
    cohort_id: Mapped[int | None] = mapped_column()
    village: Mapped[str | None] = mapped_column(sa.String(120))
    craft: Mapped[str | None] = mapped_column(sa.String(160))
    week: Mapped[date | None] = mapped_column()
    # The enrolment figures (lms.reports.figures.Figure); a week row uses enrolled, completed and certified_in_period
    # for its new enrolments, completions and first certificates.
    enrolled: Mapped[int] = mapped_column(default=0)
    started: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    certified: Mapped[int] = mapped_column(default=0)
    active: Mapped[int] = mapped_column(default=0)
    stuck: Mapped[int] = mapped_column(default=0)
    certified_in_period: Mapped[int] = mapped_column(default=0)
    # Attendance (lms.attendance.figures.AttendanceFigure), and a week's check-ins.
    held: Mapped[int] = mapped_column(default=0)
    present: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    absent: Mapped[int] = mapped_column(default=0)
    excused: Mapped[int] = mapped_column(default=0)
    checked_in: Mapped[int] = mapped_column(default=0)


class FigureMember(db.Model):
    """An enrolment in a figure that moves with the clock (active, stuck) at a snapshot's moment.

    "Active" and "stuck" read each enrolment's latest activity, which later work overwrites: kept
    here, the list behind a snapshot's number is the same enrolments however much they work since.
    """

    __tablename__ = "figure_members"

    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("figure_snapshots.id", ondelete="CASCADE"),
                                             primary_key=True)
    figure: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(primary_key=True)
