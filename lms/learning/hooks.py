"""What higher packages add to learning: completion rules and listeners, lesson panels, home notices.

Declared here and connected in one place, `lms.register_hooks`; nothing registers at import time.
Each registry is keyed by name, so connecting again (every `create_app()`) replaces, never adds.
"""

from collections.abc import Callable

from markupsafe import Markup

from lms.courses.models import LessonKind

#: name -> rule(enrolment) returning a RuleOutcome, or None when it does not apply to the course.
_completion_rules: dict[str, Callable] = {}
#: name -> listener(enrolment), called when an enrolment becomes complete (certificates).
_completion_listeners: dict[str, Callable] = {}
#: kind -> render(lesson, user) returning HTML for the lesson page.
_panels: dict[LessonKind, Callable] = {}
#: name -> render(user) returning HTML notices for the trainee's home page (e.g. new feedback).
_home_notices: dict[str, Callable] = {}


def register_completion_rule(name: str, rule: Callable) -> None:
    """Add a course-completion rule (attendance); it returns None when it does not apply to a course."""
    _completion_rules[name] = rule


def completion_rules() -> list[Callable]:
    return list(_completion_rules.values())


def register_completion_listener(name: str, listener: Callable) -> None:
    """Call listener(enrolment) whenever an enrolment becomes complete."""
    _completion_listeners[name] = listener


def completion_listeners() -> list[Callable]:
    return list(_completion_listeners.values())


def register_lesson_panel(kind: LessonKind, render: Callable) -> None:
    """Let a higher package draw the body of lessons of one kind."""
    _panels[kind] = render


def render_lesson_panel(lesson, user) -> Markup | None:
    render = _panels.get(lesson.kind)
    return Markup(render(lesson, user)) if render else None  # noqa: S704 - rendered by a Jinja template, escaped there


def register_home_notice(name: str, render: Callable) -> None:
    """Let a higher package add a notice (a badge, a count) to the trainee's home page."""
    _home_notices[name] = render


def render_home_notices(user) -> list[Markup]:
    notices = (render(user) for render in _home_notices.values())
    return [Markup(n) for n in notices if n]  # noqa: S704 - rendered by Jinja templates
