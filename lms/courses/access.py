"""Who may see and edit a course."""

from collections.abc import Callable

from lms.accounts.models import Role


def can_edit_course(user, course) -> bool:
    """Return True for admins, organizers and the course's own instructors."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(Role.ADMIN, Role.ORGANIZER):
        return True
    return user.has_role(Role.INSTRUCTOR) and any(i.id == user.id for i in course.instructors)


def can_author_courses(user) -> bool:
    """Return True for people who may create courses."""
    return getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN, Role.ORGANIZER, Role.INSTRUCTOR)


#: Rules from higher packages (learning: "is enrolled") that let a learner into a course.
_view_rules: dict[str, Callable] = {}


def register_view_rule(name: str, rule: Callable) -> None:
    """Let a higher package decide who may learn in a published course."""
    _view_rules[name] = rule


def can_view_course(user, course) -> bool:
    """Return True if the user may open the course's lessons and media.

    Editors always may; others only in a published course, and only if a
    registered rule (enrolment) lets them, or any logged-in user when none is.
    """
    if can_edit_course(user, course):
        return True
    if not course.is_published or not getattr(user, "is_authenticated", False):
        return False
    return not _view_rules or any(rule(user, course) for rule in _view_rules.values())
