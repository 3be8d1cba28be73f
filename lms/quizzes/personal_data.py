"""What quizzes hold about a person: their attempts and scores."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.courses.models import Lesson
from lms.quizzes.models import Quiz, QuizAttempt


def personal_data(user) -> list[DataSection]:
    """Return the user's quiz attempts."""
    attempts = db.session.execute(
        sa.select(QuizAttempt, Lesson.title).join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .join(Lesson, Lesson.id == Quiz.lesson_id).where(QuizAttempt.user_id == user.id)
        .order_by(QuizAttempt.started_at))
    return [DataSection(
        "quiz_attempts", _l("Quiz attempts"),
        (("lesson", _l("Lesson")), ("number", _l("Attempt")), ("started_at", _l("Started")),
         ("submitted_at", _l("Handed in")), ("percent", _l("Score (%)")), ("passed", _l("Passed"))),
        tuple({"lesson": title, "number": a.number, "started_at": a.started_at, "submitted_at": a.submitted_at,
               "percent": a.percent, "passed": a.passed} for a, title in attempts))]
