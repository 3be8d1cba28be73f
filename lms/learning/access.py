"""Who may learn in a course: the rule learning connects to courses (in `lms.register_hooks`)."""

from lms.learning.services import is_enrolled


def may_learn(user, course) -> bool:
    """Trainees learn only in courses they are enrolled in."""
    return is_enrolled(user, course)
