"""Practical work: the task's settings and rubric, trainees' hand-ins and their reviews."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l

#: Photos a trainee may hand in when the instructor has not said otherwise.
DEFAULT_MAX_PHOTOS = 5


class SubmissionStatus(LabelledEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    NEEDS_REVISION = "needs_revision"

    @classmethod
    def labels(cls):
        return {
            cls.SUBMITTED: _l("Waiting for review"),
            cls.APPROVED: _l("Approved"),
            cls.NEEDS_REVISION: _l("Please redo"),
        }


class Assignment(db.Model):
    """What a practical-work lesson takes from trainees; its instructions are the lesson's text."""

    __tablename__ = "assignment_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), unique=True)
    accepts_text: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: Links to where the work is online (a Facebook post, a TikTok video, a Shopee listing).
    accepts_links: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: How many photos a hand-in may carry; 0 means none.
    max_photos: Mapped[int] = mapped_column(default=DEFAULT_MAX_PHOTOS, server_default=str(DEFAULT_MAX_PHOTOS))
    #: One short video (an ad, a livestream excerpt).
    accepts_video: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lesson: Mapped["Lesson"] = relationship()  # noqa: F821 - resolved by name
    criteria: Mapped[list["RubricCriterion"]] = relationship(
        back_populates="assignment", order_by="RubricCriterion.position", cascade="all, delete-orphan"
    )

    @property
    def max_points(self) -> int:
        return sum(max((level.points for level in c.levels), default=0) for c in self.criteria)


class RubricCriterion(db.Model):
    """One thing the reviewer judges (e.g. "The post gives price and contact")."""

    __tablename__ = "assignment_rubric_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignment_tasks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    assignment: Mapped[Assignment] = relationship(back_populates="criteria")
    levels: Mapped[list["RubricLevel"]] = relationship(
        back_populates="criterion", order_by="RubricLevel.position", cascade="all, delete-orphan"
    )


class RubricLevel(db.Model):
    """One level of a criterion ("Chưa đạt", "Đạt", "Tốt") and the points it is worth."""

    __tablename__ = "assignment_rubric_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignment_rubric_criteria.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(120))
    points: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.Text, default="")

    criterion: Mapped[RubricCriterion] = relationship(back_populates="levels")


class Submission(db.Model):
    """One hand-in. "Please redo" leads to a new one with the next number; earlier ones are kept."""

    __tablename__ = "assignment_submissions"
    __table_args__ = (
        sa.UniqueConstraint("assignment_id", "user_id", "number", name="uq_assignment_submissions_number"),
        sa.Index("ix_assignment_submissions_status_submitted_at", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignment_tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: 1 for the first hand-in of this trainee on this task, 2 after the first "please redo", ...
    number: Mapped[int] = mapped_column(default=1)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    #: [{"url": "https://...", "platform": "facebook"}]; only http(s) addresses are ever stored.
    links: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[SubmissionStatus] = mapped_column(
        enum_column_type(SubmissionStatus), default=SubmissionStatus.SUBMITTED
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The reviewer's words to the trainee; required with "please redo".
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    #: Sum of the points of the rubric levels the reviewer chose; None without a rubric.
    score: Mapped[int | None] = mapped_column()
    #: Made by the phone (UUID) for each hand-in, so a double tap or a replay submits once.
    client_id: Mapped[str | None] = mapped_column(sa.String(36), unique=True)
    #: When the trainee opened the review; None while it is news (the home page badge).
    feedback_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignment: Mapped[Assignment] = relationship()
    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    reviewer: Mapped["User | None"] = relationship(foreign_keys=[reviewer_id])  # noqa: F821
    media: Mapped[list["SubmissionMedia"]] = relationship(
        back_populates="submission", order_by="SubmissionMedia.position", cascade="all, delete-orphan"
    )
    scores: Mapped[list["RubricScore"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )

    @property
    def is_reviewed(self) -> bool:
        return self.status != SubmissionStatus.SUBMITTED

    @property
    def photos(self) -> list:
        return [item.asset for item in self.media if item.asset.media_type.value == "image"]

    @property
    def videos(self) -> list:
        return [item.asset for item in self.media if item.asset.media_type.value == "video"]


class SubmissionMedia(db.Model):
    """A photo or video handed in, uploaded by the trainee with the purpose "submission"."""

    __tablename__ = "assignment_submission_media"
    __table_args__ = (
        sa.UniqueConstraint("submission_id", "asset_id", name="uq_assignment_submission_media_asset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignment_submissions.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("media_assets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    submission: Mapped[Submission] = relationship(back_populates="media")
    asset: Mapped["MediaAsset"] = relationship()  # noqa: F821


class RubricScore(db.Model):
    """The level a reviewer chose for one criterion of one hand-in."""

    __tablename__ = "assignment_rubric_scores"
    __table_args__ = (
        sa.UniqueConstraint("submission_id", "criterion_id", name="uq_assignment_rubric_scores_criterion"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignment_submissions.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignment_rubric_criteria.id", ondelete="CASCADE")
    )
    level_id: Mapped[int] = mapped_column(sa.ForeignKey("assignment_rubric_levels.id", ondelete="CASCADE"))

    submission: Mapped[Submission] = relationship(back_populates="scores")
    criterion: Mapped[RubricCriterion] = relationship()
    level: Mapped[RubricLevel] = relationship()
