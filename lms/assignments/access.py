"""Who may hand in and see practical work."""

from lms.courses.access import can_edit_course
from lms.learning.services import is_enrolled
from lms.media.hooks import UploadPurpose
from lms.media.sniff import MediaKind

# --- Who may upload and see hand-in photos and videos ----------------------------------------


def may_upload_submission(user, course) -> bool:
    """Enrolled trainees upload their work; the course's editors may try the form out."""
    if not getattr(user, "is_authenticated", False):
        return False
    return can_edit_course(user, course) or is_enrolled(user, course)


def may_view_submission(user, asset, course) -> bool:
    """Only the trainee who uploaded it and the course's editors: never another trainee."""
    if not getattr(user, "is_authenticated", False):
        return False
    return asset.owner_id == user.id or can_edit_course(user, course)


#: The "submission" upload purpose, connected to media in `lms.register_hooks`.
SUBMISSION_UPLOAD = UploadPurpose(
    kinds=frozenset({MediaKind.IMAGE, MediaKind.VIDEO}),
    can_upload=may_upload_submission,
    can_view=may_view_submission,
)
