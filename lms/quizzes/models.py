"""Quizzes: the questions of a quiz lesson, their choices, and trainees' attempts."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


class QuestionKind(LabelledEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"

    @classmethod
    def labels(cls):
        return {
            cls.SINGLE: _l("Single choice"),
            cls.MULTIPLE: _l("Multiple choice"),
            cls.TRUE_FALSE: _l("True or false"),
        }


class Quiz(db.Model):
    """The settings of one quiz lesson."""

    __tablename__ = "quiz_quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), unique=True)
    #: The lowest percentage that passes and completes the lesson.
    pass_percent: Mapped[int] = mapped_column(default=70, server_default="70")
    #: How many attempts a trainee gets; None means as many as they like.
    max_attempts: Mapped[int | None] = mapped_column(default=3)
    #: Each attempt shows the questions in its own random order (stored on the attempt).
    shuffle_questions: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: Each attempt shows the choices in its own random order; true/false keeps "Đúng" first.
    shuffle_choices: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lesson: Mapped["Lesson"] = relationship()  # noqa: F821 - resolved by name
    questions: Mapped[list["Question"]] = relationship(
        back_populates="quiz", order_by="Question.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Quiz of lesson {self.lesson_id}>"


class Question(db.Model):
    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quiz_quizzes.id", ondelete="CASCADE"), index=True)
    #: The order authors see and, without shuffling, trainees too.
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[QuestionKind] = mapped_column(enum_column_type(QuestionKind), default=QuestionKind.SINGLE)
    text: Mapped[str] = mapped_column(sa.Text)
    #: An optional picture (uploaded with purpose "image"); shown at phone sizes.
    image_asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL"), index=True
    )
    #: Shown with the result, after the trainee has answered.
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    #: What a fully right answer scores; a partly right answer scores nothing.
    points: Mapped[int] = mapped_column(default=1, server_default="1")

    quiz: Mapped[Quiz] = relationship(back_populates="questions")
    choices: Mapped[list["Choice"]] = relationship(
        back_populates="question", order_by="Choice.position", cascade="all, delete-orphan"
    )
    image: Mapped["MediaAsset | None"] = relationship()  # noqa: F821

    @property
    def correct_choice_ids(self) -> set[int]:
        return {choice.id for choice in self.choices if choice.is_correct}


class Choice(db.Model):
    __tablename__ = "quiz_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("quiz_questions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.Text)
    is_correct: Mapped[bool] = mapped_column(default=False)

    question: Mapped[Question] = relationship(back_populates="choices")


class QuizAttempt(db.Model):
    """One trainee's go at a quiz: the order they saw, what they chose and how it scored."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        sa.UniqueConstraint("quiz_id", "user_id", "number", name="uq_quiz_attempts_quiz_user_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quiz_quizzes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: 1 for the trainee's first attempt at this quiz, then 2, 3…; part of the result's address.
    number: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None while the attempt is open; set once, when it is graded.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Question ids in the order this attempt shows them, fixed at the start so a reload keeps it.
    question_order: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: {"<question id>": [choice ids in the order shown]}; JSON keys are strings.
    choice_order: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: {"<question id>": [chosen choice ids]}; an unanswered question has an empty list.
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Points scored, out of max_score; both None until graded.
    score: Mapped[int | None] = mapped_column()
    max_score: Mapped[int | None] = mapped_column()
    #: floor(100 * score / max_score).
    percent: Mapped[int | None] = mapped_column()
    passed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: The id the client made for its submit (UUID): a double tap or a resent form counts once.
    submission_id: Mapped[str | None] = mapped_column(sa.String(36), unique=True)

    quiz: Mapped[Quiz] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821

    def __repr__(self) -> str:
        return f"<QuizAttempt {self.number} of user {self.user_id} at quiz {self.quiz_id}>"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    def chosen_ids(self, question_id: int) -> list[int]:
        """Return the choice ids the trainee picked for a question."""
        return list((self.answers or {}).get(str(question_id), []))
