"""What assignments hold about a person: their practical work and the feedback on it."""

import sqlalchemy as sa

from lms.accounts.hooks import DataSection
from lms.assignments.models import Assignment, Submission
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.courses.models import Lesson


def personal_data(user) -> list[DataSection]:
    """Return the user's hand-ins: what they wrote, their links, the status, the score and the comment."""
    submissions = db.session.execute(
        sa.select(Submission, Lesson.title).join(Assignment, Assignment.id == Submission.assignment_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id).where(Submission.user_id == user.id)
        .order_by(Submission.submitted_at))
    return [DataSection(
        "submissions", _l("Practical work handed in"),
        (("lesson", _l("Lesson")), ("number", _l("Hand-in")), ("submitted_at", _l("Handed in")),
         ("status", _l("Status")), ("text", _l("What you wrote")), ("links", _l("Links")),
         ("photos_and_videos", _l("Photos and videos")), ("score", _l("Score")), ("comment", _l("Comment"))),
        tuple({"lesson": title, "number": s.number, "submitted_at": s.submitted_at, "status": s.status.label,
               "text": s.text, "links": " ".join(link["url"] for link in s.links or []), "photos_and_videos": len(s.media),
               "score": s.score, "comment": s.comment} for s, title in submissions))]
