"""Who may upload and see media, media's own upload purposes, and the asset loader."""

import sqlalchemy as sa
from flask import abort

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.core.sniff import MediaKind
from lms.courses.access import can_edit_course, can_view_course
from lms.courses.models import Course
from lms.media.hooks import UploadPurpose, upload_purpose
from lms.media.models import MediaAsset


def _course_editor(user, course) -> bool:
    return can_edit_course(user, course)


def _course_viewer(user, asset, course) -> bool:
    return can_view_course(user, course)


def _anyone(user, asset, course) -> bool:
    return True


#: Media's own purposes, connected in `lms.register_hooks`; higher packages add theirs (assignments: "submission").
MEDIA_PURPOSES: dict[str, UploadPurpose] = {
    "lesson": UploadPurpose(frozenset({MediaKind.VIDEO, MediaKind.DOCUMENT}), _course_editor, _course_viewer),
    "cover": UploadPurpose(frozenset({MediaKind.IMAGE}), _course_editor, _anyone),
    "image": UploadPurpose(frozenset({MediaKind.IMAGE}), _course_editor, _course_viewer),
}


def may_upload(user, course, purpose: str) -> bool:
    policy = upload_purpose(purpose)
    return policy is not None and policy.can_upload(user, course)


def may_view(user, asset: MediaAsset, course) -> bool:
    """Return True if the user may see this asset; an asset of an unknown purpose is seen by no one."""
    if asset.is_public:
        return True
    if course is None:
        return False
    policy = upload_purpose(asset.purpose)
    return policy is not None and policy.can_view(user, asset, course)


def may_view_asset(user, asset: MediaAsset) -> bool:
    """Return True if the user may see this asset, its course looked up (admins see those of no course)."""
    course = db.session.get(Course, asset.course_id) if asset.course_id else None
    if course is None and not asset.is_public:
        return user.is_authenticated and user.has_role(Role.ADMIN)
    return may_view(user, asset, course)


def get_asset_or_404(public_id: str) -> MediaAsset:
    asset = db.session.scalar(sa.select(MediaAsset).where(MediaAsset.public_id == public_id))
    if asset is None:
        abort(404)
    return asset
