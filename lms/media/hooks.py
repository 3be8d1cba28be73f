"""What packages add to media: upload purposes (which files, who may upload, who may see the result).

Declared here and connected in one place, `lms.register_hooks` (media's own purposes too, beside
assignments' "submission"); nothing registers at import time. Keyed by name, so connecting again
(every `create_app()`) replaces, never adds. A purpose nobody connected is refused.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class UploadPurpose:
    """What an upload is for: which file kinds it takes, who may upload and who may see the result."""

    kinds: frozenset
    can_upload: Callable  # (user, course) -> bool
    can_view: Callable  # (user, asset, course) -> bool


_upload_purposes: dict[str, UploadPurpose] = {}


def register_upload_purpose(name: str, purpose: UploadPurpose) -> None:
    """Add an upload purpose with its own rules."""
    _upload_purposes[name] = purpose


def upload_purpose(name: str | None) -> UploadPurpose | None:
    """Return the rules of a connected purpose, or None: such uploads are refused."""
    return _upload_purposes.get(name)
