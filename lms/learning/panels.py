"""What a lesson page shows for kinds that higher packages own (quizzes, practical work)."""

from collections.abc import Callable

from markupsafe import Markup

from lms.courses.models import LessonKind

#: kind -> render(lesson, user) returning HTML for the lesson page.
_panels: dict[LessonKind, Callable] = {}
#: render(user) returning HTML notices for the trainee's home page (e.g. new feedback).
_home_notices: dict[str, Callable] = {}


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
