"""Who may see and edit a course."""

from lms.accounts.models import Role
from lms.courses import hooks


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


def can_view_course(user, course) -> bool:
    """Return True if the user may open the course's lessons and media.

    Editors always may; others only in a published course, and only if a connected rule
    (learning: enrolment) lets them. No rule connected means no one else: closed, not open.
    """
    if can_edit_course(user, course):
        return True
    if not course.is_published or not getattr(user, "is_authenticated", False):
        return False
    return any(rule(user, course) for rule in hooks.view_rules())
