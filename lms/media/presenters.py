"""How media reach people: failure reasons in their language, pictures at phone sizes."""

import re

import sqlalchemy as sa
from flask import url_for

from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.media.models import MediaAsset
from lms.media.services import format_bytes

#: English reasons from lms.media.processing, shown in the user's language.
KNOWN_FAILURES = {
    "the video file is damaged or incomplete": _l("The video file is damaged or incomplete. Upload it again from the phone."),
    "the file has no video track": _l("The file has no picture (no video track)."),
    "the server could not finish processing; try uploading again": _l("The server could not finish processing. Please upload the file again."),
    "the worker stopped while processing the file": _l(
        "The background worker stopped while processing the file, even after a restart. Upload it again; if this "
        "happens again, tell the administrator."),
}


def failure_text(reason: str) -> str:
    """Return a processing failure in the user's language."""
    for english, translated in KNOWN_FAILURES.items():
        if reason.lower().startswith(english):
            return str(translated)
    return _("The file could not be processed: %(reason)s", reason=reason)


def processing_note(asset) -> str | None:
    """Say that processing was started again after its worker died, while it is under way once more."""
    if asset.restarts and asset.status.value in ("queued", "processing"):
        return _("The background worker stopped while processing the file; it was restarted.")
    return None


__all__ = ["failure_text", "format_bytes", "image_srcset", "processing_note", "responsive_images"]


_MEDIA_IMG = re.compile(r'<img src="/media/([A-Za-z0-9_-]{10,40})/original"([^>]*)>')


def responsive_images(html: str) -> str:
    """Serve pictures in a lesson at phone sizes: srcset of the resized variants, lazy loading."""
    ids = {match[0] for match in _MEDIA_IMG.findall(html)}
    if not ids:
        return html
    assets = {a.public_id: a for a in db.session.scalars(sa.select(MediaAsset).where(MediaAsset.public_id.in_(ids)))}

    def replace(match: re.Match) -> str:
        asset = assets.get(match.group(1))
        rest = match.group(2)
        widths = [v for v in (asset.variants if asset else []) if v.label.startswith("w")]
        if not widths:
            return match.group(0)
        default = next((v for v in widths if v.width >= 640), widths[-1])
        srcset = ", ".join(
            f"{url_for('media.serve', public_id=asset.public_id, variant=v.label)} {v.width}w" for v in widths
        )
        src = url_for("media.serve", public_id=asset.public_id, variant=default.label)
        return (f'<img src="{src}" srcset="{srcset}" sizes="(max-width: 46rem) 100vw, 46rem" '
                f'width="{default.width}" height="{default.height}" loading="lazy" decoding="async"{rest}>')

    return _MEDIA_IMG.sub(replace, html)


def image_srcset(asset) -> dict:
    """Return src, srcset, width and height for showing an image asset (e.g. a course cover)."""
    widths = [v for v in asset.variants if v.label.startswith("w")] if asset else []
    if not widths:
        return {}
    default = next((v for v in widths if v.width >= 640), widths[-1])
    return {
        "src": url_for("media.serve", public_id=asset.public_id, variant=default.label),
        "srcset": ", ".join(f"{url_for('media.serve', public_id=asset.public_id, variant=v.label)} {v.width}w"
                            for v in widths),
        "width": default.width,
        "height": default.height,
    }
