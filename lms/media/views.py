"""The tus 1.0 upload API, media delivery with HTTP Range, and storage usage for admins."""

import base64
import binascii

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from lms.accounts.access import role_required
from lms.accounts.models import Role
from lms.core.extensions import db
from lms.core.storage import get_storage
from lms.courses.access import can_edit_course
from lms.courses.models import Course
from lms.media import services, tasks
from lms.media.access import get_asset_or_404, may_upload, may_view_asset
from lms.media.hooks import upload_purpose
from lms.media.models import AssetStatus, MediaAsset, MediaType, Upload

bp = Blueprint("media", __name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
#: Seconds an uploader told "too many uploads at once" waits before it asks again.
UPLOAD_SLOT_RETRY_S = 30


def tus_headers(response, **extra):
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    for name, value in extra.items():
        response.headers[name.replace("_", "-")] = str(value)
    return response


def tus_error(status: int, message: str, **extra):
    """Answer a tus request with a status, a JSON message in the user's language and tus headers."""
    return tus_headers(make_response(jsonify(error=message), status), **extra)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode tus Upload-Metadata: comma-separated 'key base64value' pairs."""
    result = {}
    for pair in (header or "").split(","):
        parts = pair.strip().split(" ")
        if not parts[0]:
            continue
        try:
            result[parts[0]] = base64.b64decode(parts[1]).decode("utf-8") if len(parts) > 1 else ""
        except (binascii.Error, UnicodeDecodeError):
            result[parts[0]] = ""
    return result


def get_upload_or_error(upload_id: str) -> Upload:
    """Load an upload that belongs to the current user."""
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        abort(404)
    if upload.owner_id != current_user.id:
        abort(403)
    return upload


@bp.before_request
def tus_requires_login():
    needs_login = request.path.startswith("/api/v1/uploads") and request.method != "OPTIONS"
    if needs_login and not current_user.is_authenticated:
        from lms.core.i18n import gettext as _

        return tus_error(401, _("Please log in again, then resume the upload."))
    return None


@bp.route("/api/v1/uploads/", methods=["OPTIONS"])
@bp.route("/api/v1/uploads/<upload_id>", methods=["OPTIONS"])
def tus_options(upload_id=None):
    """Describe the server's tus support and size limit."""
    return tus_headers(make_response("", 204), Tus_Version=TUS_VERSION, Tus_Extension=TUS_EXTENSIONS,
                       Tus_Max_Size=services.max_upload_bytes())


@bp.route("/api/v1/uploads/", methods=["POST"])
def tus_create():
    """Create an upload (tus creation); metadata names the course and purpose."""
    from lms.core.i18n import gettext as _

    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    course = db.session.scalar(sa.select(Course).where(Course.slug == metadata.get("course", "")))
    if course is None:
        return tus_error(400, _("Choose the course the file belongs to."))
    purpose = metadata.get("purpose", "lesson")
    if upload_purpose(purpose) is None:
        return tus_error(400, _("Unknown upload purpose."))
    if not may_upload(current_user, course, purpose):
        return tus_error(403, _("You may not upload files to this course."))
    try:
        length = int(request.headers.get("Upload-Length", ""))
    except ValueError:
        return tus_error(400, _("The file size is missing or wrong."))
    try:
        upload = services.create_upload(owner=current_user, course=course, length=length,
                                        filename=metadata.get("filename", ""),
                                        purpose=purpose)
    except services.UploadTooLarge as exc:
        return tus_error(413, str(exc), Tus_Max_Size=services.max_upload_bytes())
    except services.TooManyUploads as exc:
        # Too many at once, for now: the uploader waits Retry-After and tries again by itself.
        return tus_error(429, str(exc), Retry_After=UPLOAD_SLOT_RETRY_S)
    except services.TooManyBytesInFlight as exc:
        # tus: an Upload-Length over what the server takes is 413; here the most it takes is what the
        # owner's other uploads leave.
        return tus_error(413, str(exc))
    except services.MediaError as exc:
        return tus_error(400, str(exc))
    db.session.commit()
    response = make_response("", 201)
    response.headers["Location"] = url_for("media.tus_upload", upload_id=upload.id)
    return tus_headers(response, Upload_Expires=_http_date(upload.expires_at))


@bp.route("/api/v1/uploads/<upload_id>", methods=["HEAD"])
def tus_upload(upload_id: str):
    """Tell the client how many bytes arrived, so it resumes from there.

    The number is what the stored file holds, the same one PATCH checks offsets against; the
    database is set to agree (after a crash in the middle of a PATCH they differ). An upload
    whose every byte arrived but that a crash left unfinished is finished here, so a client that
    stops asking once the offset reaches the length still gets its file (Lms-Media-Id).
    """
    from lms.core.i18n import gettext as _

    upload = get_upload_or_error(upload_id)
    try:
        offset = services.received_bytes(upload)
        if offset >= upload.length and upload.asset is None:
            asset = services.finish_upload(upload)
            db.session.commit()
            tasks.queue_processing(asset)
    except services.UploadBeingFinished:
        db.session.rollback()
        return tus_error(423, _("The file has arrived and is being saved. Please wait a moment."), Retry_After=2)
    except services.UploadIncomplete as exc:
        services.discard_upload(upload)
        db.session.commit()
        return tus_error(410, str(exc))
    except services.FileTypeRejected as exc:
        services.discard_upload(upload)
        db.session.commit()
        return tus_error(415, str(exc))
    db.session.commit()
    extra = {"Lms_Media_Id": upload.asset.public_id} if upload.asset is not None else {}
    return tus_headers(make_response("", 200), Upload_Offset=offset, Upload_Length=upload.length,
                       Upload_Expires=_http_date(upload.expires_at), **extra)


@bp.route("/api/v1/uploads/<upload_id>", methods=["PATCH"])
def tus_patch(upload_id: str):
    """Receive one chunk at the offset the client claims (an empty one at the end finishes the file)."""
    from lms.core.i18n import gettext as _

    upload = get_upload_or_error(upload_id)
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        return tus_error(412, _("Unsupported upload protocol version."), Tus_Version=TUS_VERSION)
    if request.mimetype != "application/offset+octet-stream":
        return tus_error(415, _("Wrong content type for an upload chunk."))
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return tus_error(400, _("The upload offset is missing."))
    declared = request.content_length
    if declared is not None and offset + declared > upload.length:
        return tus_error(413, _("This chunk goes past the end of the file."))
    if upload.asset is not None:
        # Finished already (its 204 was lost on the way): say so again, as tus asks of a complete upload.
        if offset != upload.length:
            return tus_error(409, _("The upload continues from byte %(offset)d.", offset=upload.length),
                             Upload_Offset=upload.length)
        return tus_headers(make_response("", 204), Upload_Offset=upload.length, Lms_Media_Id=upload.asset.public_id)
    # Let go of the database while bytes stream in: a slow phone must not hold a lock.
    db.session.commit()
    try:
        new_offset = services.append_chunk(upload, offset, request.stream)
    except services.OffsetMismatch as exc:
        db.session.commit()  # the offset the file proves, for the status page too
        return tus_error(409, str(exc), Upload_Offset=exc.offset)
    except services.FileTypeRejected as exc:
        db.session.commit()
        return tus_error(415, str(exc))
    except services.UploadBeingFinished as exc:
        db.session.rollback()
        return tus_error(423, str(exc), Retry_After=2)
    except services.UploadIncomplete as exc:
        return tus_error(410, str(exc))
    asset = None
    if new_offset >= upload.length:
        try:
            asset = services.finish_upload(upload)
        except services.UploadBeingFinished as exc:
            db.session.commit()
            return tus_error(423, str(exc), Retry_After=2)
        except services.FileTypeRejected as exc:
            services.discard_upload(upload)
            db.session.commit()
            return tus_error(415, str(exc))
    db.session.commit()
    if asset is not None:
        tasks.queue_processing(asset)
    extra = {"Upload_Offset": new_offset}
    if asset is not None:
        extra["Lms_Media_Id"] = asset.public_id
    return tus_headers(make_response("", 204), **extra)


@bp.route("/api/v1/uploads/<upload_id>", methods=["DELETE"])
def tus_delete(upload_id: str):
    """Cancel an upload (tus termination)."""
    upload = get_upload_or_error(upload_id)
    if upload.completed_at is None:
        services.discard_upload(upload)
        db.session.commit()
    return tus_headers(make_response("", 204))


@bp.route("/api/v1/uploads/<upload_id>/status")
def upload_status(upload_id: str):
    """Report an upload's progress and, once complete, its asset's processing state (JSON)."""
    upload = get_upload_or_error(upload_id)
    body = {"offset": upload.offset, "length": upload.length, "complete": upload.completed_at is not None}
    if upload.asset is not None:
        _recover_if_stale(upload.asset)
        body["media"] = asset_json(upload.asset)
    return jsonify(body)


@bp.route("/api/v1/media/<public_id>")
def media_status(public_id: str):
    """Report an asset's processing state (JSON), for the authoring page's status line."""
    asset = get_asset_or_404(public_id)
    course = db.session.get(Course, asset.course_id) if asset.course_id else None
    is_owner = current_user.is_authenticated and asset.owner_id == current_user.id
    if not is_owner and not (course and can_edit_course(current_user, course)):
        abort(403)
    _recover_if_stale(asset)
    return jsonify(asset_json(asset))


def _recover_if_stale(asset: MediaAsset) -> None:
    # The page asks every few seconds: it learns of a dead worker even when that worker was the one
    # that would have run the periodic check.
    if services.recover_stale_asset(asset):
        db.session.commit()
        if asset.status == AssetStatus.QUEUED:
            tasks.queue_processing(asset)


def asset_json(asset: MediaAsset) -> dict:
    from lms.media.presenters import failure_text, processing_note

    return {
        "id": asset.public_id,
        "type": asset.media_type.value,
        "status": asset.status.value,
        "status_label": asset.status.label,
        "progress": asset.progress,
        "failure": failure_text(asset.failure_reason) if asset.failure_reason else None,
        "note": processing_note(asset),
        "filename": asset.original_filename,
        "url": url_for("media.serve", public_id=asset.public_id, variant="original"),
    }


@bp.route("/media/<public_id>/<variant>")
def serve(public_id: str, variant: str):
    """Deliver a media file or one of its variants, with HTTP Range for seeking."""
    asset = get_asset_or_404(public_id)
    if not may_view_asset(current_user, asset):
        abort(403 if current_user.is_authenticated else 404)
    download = request.args.get("download") == "1"
    if variant == "original" and asset.media_type == MediaType.IMAGE:
        # A photo's stored original keeps its EXIF (the GPS position of a trainee's home, the
        # phone): what is given out is the largest upright rendition, with no metadata at all.
        found = max((v for v in asset.variants if v.width), key=lambda v: v.width, default=None)
        if found is None:
            abort(404)
        key, mime = found.storage_key, found.mime
        name = f"{(asset.original_filename or public_id).rsplit('.', 1)[0]}.webp"
    elif variant == "original":
        key, mime, name = asset.storage_key, asset.mime, asset.original_filename
    else:
        found = asset.variant(variant)
        if found is None:
            abort(404)
        key, mime = found.storage_key, found.mime
        name = f"{public_id}-{variant}.{key.rsplit('.', 1)[-1]}"
    storage = get_storage()
    path = storage.local_path(key)
    if path is None:
        url = storage.presigned_url(key, expires_s=current_app.config["MEDIA_URL_EXPIRY_S"], download_name=name,
                                    inline=not download, content_type=mime)
        response = redirect(url, code=302)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=mime, as_attachment=download, download_name=name, conditional=True,
                         etag=True, max_age=0)
    # Variants never change under their unguessable address: phones may keep them.
    response.headers["Cache-Control"] = ("public" if asset.is_public else "private") + ", max-age=2592000, immutable"
    response.headers["Accept-Ranges"] = "bytes"
    return response


@bp.route("/admin/storage")
@role_required(Role.ADMIN)
def storage_usage():
    """Show media storage used per course and in total."""
    rows, total = services.storage_usage()
    courses = {c.id: c for c in db.session.scalars(sa.select(Course))}
    return render_template("media/storage.html", rows=[(courses.get(cid), files, size) for cid, files, size in rows],
                           total=total, backend=get_storage().name)


def _http_date(value) -> str:
    from email.utils import format_datetime

    return format_datetime(value, usegmt=True) if value.tzinfo else format_datetime(value)
