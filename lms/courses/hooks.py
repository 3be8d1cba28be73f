"""What higher packages add to courses: who may learn in a course, the learner's side of its page, its media.

Declared here and connected in one place, `lms.register_hooks`; nothing registers at import time,
so courses never imports learning or media. Each registry is keyed by name: connecting again (every
`create_app()`) replaces, never adds. With nothing connected a course lets in only its editors.
"""

from collections.abc import Callable

#: name -> rule(user, course): True lets a non-editor learn in a published course (learning: enrolled).
_view_rules: dict[str, Callable] = {}
#: name -> context(user, course) returning names for the course page (learning: progress, enrolled).
_page_context: dict[str, Callable] = {}
#: name -> find(course, public_id) returning an asset uploaded for the course, or None (media).
_media_finders: dict[str, Callable] = {}


def register_view_rule(name: str, rule: Callable) -> None:
    """Let a higher package decide who may learn in a published course."""
    _view_rules[name] = rule


def view_rules() -> list[Callable]:
    return list(_view_rules.values())


def register_page_context(name: str, context: Callable) -> None:
    """Let a higher package add what the course page shows a logged-in learner."""
    _page_context[name] = context


def course_page_context(user, course) -> dict:
    """Return what the connected packages add to the course page for this user."""
    found: dict = {}
    for context in _page_context.values():
        found.update(context(user, course))
    return found


def register_media_finder(name: str, find: Callable) -> None:
    """Let the media package find the assets a course attaches (cover, lesson media)."""
    _media_finders[name] = find


def find_course_media(course, public_id: str | None):
    """Return an asset uploaded for this course, or None."""
    if not public_id:
        return None
    for find in _media_finders.values():
        asset = find(course, public_id)
        if asset is not None:
            return asset
    return None
