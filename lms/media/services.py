"""Media rules: resumable uploads, content checks, storage and processing."""

import fcntl
import os
import re
import shutil
import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from lms.core import jobs
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.sniff import SNIFF_BYTES, MediaKind, SniffedType, UnsupportedFileType, sniff_file
from lms.core.storage import Storage, get_storage
from lms.media.hooks import upload_purpose
from lms.media.models import AssetStatus, MediaAsset, MediaType, MediaVariant, Upload, new_public_id

_COPY_CHUNK = 1024 * 1024


class MediaError(Exception):
    """A rule about media was broken; the message is safe to show."""


class UploadTooLarge(MediaError):
    pass


class TooManyUploads(MediaError):
    """The owner already has as many unfinished uploads going as one person may."""


class TooManyBytesInFlight(MediaError):
    """The owner's unfinished uploads and this one together are more bytes than one person may have on the way."""


class OffsetMismatch(MediaError):
    """The client's offset is not the number of bytes stored; `offset` is the right one."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


class UploadBeingFinished(MediaError):
    """Every byte arrived and another request is turning the upload into an asset right now."""


class FileTypeRejected(MediaError):
    pass


class UploadIncomplete(MediaError):
    pass


def find_course_asset(course, public_id: str) -> MediaAsset | None:
    """Return the asset with this public id if it was uploaded for this course (courses attach it)."""
    asset = db.session.scalar(sa.select(MediaAsset).where(MediaAsset.public_id == public_id))
    if asset is None or asset.course_id != course.id:
        return None
    return asset


def clean_filename(name: str | None) -> str:
    """Return a display-safe file name: no folders, control characters or NUL; at most 200 characters."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split()).strip(" .")
    if len(text) > 200:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else text[:200]
    return text or "tep-tin"


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_BYTES"])


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_TEMP_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(upload: Upload) -> Path:
    """Return where an upload's received bytes are kept until it completes."""
    return upload_dir() / f"{upload.id}.part"


def create_upload(*, owner, course, length: int, filename: str, purpose: str = "lesson") -> Upload:
    """Start a resumable upload of `length` bytes for a course, within the owner's limits (see _make_room)."""
    from lms.core.i18n import gettext as _

    if upload_purpose(purpose) is None:
        raise MediaError(_("Unknown upload purpose."))
    if length < 0:
        raise MediaError(_("The file size is missing or wrong."))
    if length == 0:
        raise FileTypeRejected(_("The file is empty."))
    if length > max_upload_bytes():
        raise UploadTooLarge(
            _("The file is %(size)s; the largest accepted is %(max)s.",
              size=format_bytes(length), max=format_bytes(max_upload_bytes()))
        )
    _make_room(owner, length)
    upload = Upload(
        owner_id=owner.id,
        course_id=course.id,
        purpose=purpose,
        length=length,
        offset=0,
        filename=clean_filename(filename),
        expires_at=utcnow() + timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"]),
    )
    db.session.add(upload)
    db.session.flush()
    upload_path(upload).touch(mode=0o640)
    return upload


def bytes_in_flight_limit() -> int:
    """Return how many declared bytes one person's unfinished uploads may add up to (never less than one largest file)."""
    return max(int(current_app.config["UPLOAD_BYTES_IN_FLIGHT_PER_USER"]), max_upload_bytes())


def _last_byte_at(upload: Upload) -> datetime:
    """Return when the upload last received bytes: its file's modification time (its creation if none came)."""
    try:
        modified = datetime.fromtimestamp(upload_path(upload).stat().st_mtime, UTC)
    except FileNotFoundError:
        return upload.created_at
    return max(modified, upload.created_at)


def _make_room(owner, length: int) -> None:
    """Refuse a new upload of `length` bytes past the owner's limits on unfinished uploads.

    Each person may have UPLOADS_OPEN_PER_USER unfinished uploads at once, declaring at most
    bytes_in_flight_limit() bytes together: the disk holds what they send before it is checked,
    and one account must not fill it. Uploads that received nothing for UPLOAD_IDLE_MINUTES
    (a closed tab, a phone gone offline) are discarded, oldest first, when that makes room, so a
    forgotten upload never blocks its owner until it expires; otherwise nothing is discarded.
    Raise TooManyUploads or TooManyBytesInFlight. Flush in the caller's transaction.
    """
    from lms.core.i18n import gettext as _

    config = current_app.config
    now = utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        # Two uploads started at once must not both pass the count (SQLite's writers already queue).
        from lms.accounts.models import User

        db.session.execute(sa.select(User.id).where(User.id == owner.id).with_for_update())
    unfinished = list(db.session.scalars(
        sa.select(Upload).where(Upload.owner_id == owner.id, Upload.completed_at.is_(None), Upload.expires_at > now)
        .order_by(Upload.created_at, Upload.id)))
    max_open, max_bytes = int(config["UPLOADS_OPEN_PER_USER"]), bytes_in_flight_limit()

    def fits(uploads) -> bool:
        return len(uploads) < max_open and sum(u.length for u in uploads) + length <= max_bytes

    if fits(unfinished):
        return
    idle_since = now - timedelta(minutes=config["UPLOAD_IDLE_MINUTES"])
    keep, idle = list(unfinished), [u for u in unfinished if _last_byte_at(u) < idle_since]
    for upload in idle:
        keep.remove(upload)
        if fits(keep):
            for gone in idle[: idle.index(upload) + 1]:
                discard_upload(gone)
            return
    if len(keep) >= max_open:
        raise TooManyUploads(_("You already have %(n)d uploads on the way. Wait until one of them has finished, or "
                               "cancel one: this file then starts by itself.", n=len(keep)))
    raise TooManyBytesInFlight(_(
        "Your unfinished uploads already add up to %(size)s, and at most %(max)s can be on the way at once. Let "
        "them finish, or cancel one, then add this file again.",
        size=format_bytes(sum(u.length for u in keep)), max=format_bytes(max_bytes)))


@contextmanager
def _locked(upload: Upload, *, wait: bool = True):
    """Open an upload's received bytes for appending, under an exclusive lock; yield the file or None.

    With wait=False, yield None when another request holds the lock (a PATCH still writing).
    Raise UploadIncomplete when the file is gone (expired or discarded), and UploadBeingFinished
    when it went while we waited for the lock: a request that held it has just finished it.
    """
    from lms.core.i18n import gettext as _

    path = upload_path(upload)
    try:
        # No O_CREAT: a file deleted under us must not come back empty and restart the upload.
        fh = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND), "ab")
    except FileNotFoundError:
        raise UploadIncomplete(_("This upload has expired. Please start again.")) from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            if os.fstat(fh.fileno()).st_nlink == 0:
                raise UploadBeingFinished(_("The file has arrived and is being saved. Please wait a moment."))
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _settle(upload: Upload, fh) -> int:
    """Make the upload's offset the file's real size (under its lock) and return it.

    The file, not the database row, is the truth: a worker killed in the middle of a PATCH
    (kill -9, out of memory, a deploy) leaves on disk every byte it wrote, a prefix of what the
    client sent, yet never commits the new offset; a database restored from a backup can be
    ahead of the file. Bytes past the declared length cannot belong to the file: cut them off.
    """
    size = os.fstat(fh.fileno()).st_size
    if size > upload.length:
        fh.truncate(upload.length)
        os.fsync(fh.fileno())
        size = upload.length
    upload.offset = size
    return size


def received_bytes(upload: Upload) -> int:
    """Return how many bytes of an upload the server holds (what HEAD reports), the database set to agree.

    While a PATCH is writing, its file's growing size is reported and nothing is changed. Raise
    UploadIncomplete when the bytes are gone. Flush nothing; the caller commits.
    """
    from lms.core.i18n import gettext as _

    if upload.completed_at is not None:
        return upload.length
    with _locked(upload, wait=False) as fh:
        if fh is not None:
            return _settle(upload, fh)
    try:
        return upload_path(upload).stat().st_size
    except FileNotFoundError:
        raise UploadBeingFinished(_("The file has arrived and is being saved. Please wait a moment.")) from None


def append_chunk(upload: Upload, offset: int, stream: BinaryIO) -> int:
    """Append the bytes of one PATCH at `offset`; return the new offset.

    Bytes that arrived before a dropped connection are kept, so the client
    resumes from there. A wrong offset changes nothing but the database's offset,
    set to what the file holds (the number HEAD reports too).
    """
    from lms.core.i18n import gettext as _

    with _locked(upload) as fh:
        current = _settle(upload, fh)
        if offset != current:
            raise OffsetMismatch(_("The upload continues from byte %(offset)d.", offset=current), current)
        remaining = upload.length - current
        try:
            while remaining > 0:
                chunk = stream.read(min(_COPY_CHUNK, remaining))
                if not chunk:
                    break
                fh.write(chunk)
                remaining -= len(chunk)
        finally:
            fh.flush()
            os.fsync(fh.fileno())
            upload.offset = os.fstat(fh.fileno()).st_size
    if upload.offset >= min(upload.length, SNIFF_BYTES) and upload.completed_at is None:
        check_upload_type(upload)
    return upload.offset


def check_upload_type(upload: Upload) -> SniffedType:
    """Decide the type from the first bytes; reject and discard a disallowed file early."""
    from lms.core.i18n import gettext as _

    try:
        sniffed = sniff_file(upload_path(upload))
    except UnsupportedFileType as exc:
        discard_upload(upload)
        raise FileTypeRejected(
            _("This file type is not accepted (%(reason)s). Upload a video (MP4, MOV, WebM, 3GP), a PDF or a photo (JPEG, PNG, WebP, HEIC).",
              reason=str(exc))
        ) from None
    policy = upload_purpose(upload.purpose)
    kinds = policy.kinds if policy is not None else frozenset()  # a purpose no longer connected takes nothing
    if sniffed.kind not in kinds:
        discard_upload(upload)
        if upload.purpose == "lesson":
            raise FileTypeRejected(_("A lesson takes a video or a PDF file."))
        if MediaKind.VIDEO in kinds:
            raise FileTypeRejected(_("Only photos and videos can be used here."))
        raise FileTypeRejected(_("Only photos (JPEG, PNG, WebP, HEIC) can be used here."))
    return sniffed


def discard_upload(upload: Upload) -> None:
    """Delete an upload and its received bytes."""
    upload_path(upload).unlink(missing_ok=True)
    db.session.delete(upload)
    db.session.flush()


def finish_upload(upload: Upload) -> MediaAsset:
    """Turn a complete upload into a stored asset and queue its processing."""
    from lms.core.i18n import gettext as _

    if upload.asset is not None:
        return upload.asset
    if upload.offset < upload.length:
        raise UploadIncomplete(_("The upload is not complete yet."))
    # Under the file's lock: a HEAD and a last PATCH arriving together make one asset, not two.
    with _locked(upload):
        asset = ingest_file(upload_path(upload), owner_id=upload.owner_id, course_id=upload.course_id,
                            filename=upload.filename, purpose=upload.purpose, move=True)
    upload.asset = asset
    upload.completed_at = utcnow()
    return asset


def ingest_file(path: Path, *, owner_id: int | None, course_id: int | None, filename: str,
                purpose: str = "lesson", move: bool = False) -> MediaAsset:
    """Check a finished file by its content, store it under a generated name and create its asset."""
    from lms.core.i18n import gettext as _

    try:
        sniffed = sniff_file(path)
    except UnsupportedFileType as exc:
        raise FileTypeRejected(_("This file type is not accepted (%(reason)s).", reason=str(exc))) from None
    policy = upload_purpose(purpose)
    if policy is None or sniffed.kind not in policy.kinds:
        raise FileTypeRejected(_("This kind of file cannot be used here."))
    asset = MediaAsset(
        public_id=new_public_id(),
        course_id=course_id,
        owner_id=owner_id,
        media_type=MediaType(sniffed.kind.value),
        mime=sniffed.mime,
        original_filename=clean_filename(filename),
        is_public=purpose == "cover",
        purpose=purpose,
        status=AssetStatus.QUEUED,
    )
    asset.storage_key = f"media/{asset.public_id}/original.{sniffed.extension}"
    asset.size_bytes = get_storage().save_file(asset.storage_key, path, sniffed.mime)
    if move:
        path.unlink(missing_ok=True)
    if asset.media_type == MediaType.DOCUMENT:
        asset.status, asset.processed_at, asset.progress = AssetStatus.READY, utcnow(), 1.0
    db.session.add(asset)
    db.session.flush()
    return asset


def expire_uploads(now=None) -> int:
    """Delete uploads that were left unfinished past their expiry; return how many."""
    now = now or utcnow()
    stale = db.session.scalars(
        sa.select(Upload).where(Upload.completed_at.is_(None), Upload.expires_at < now)
    ).all()
    for upload in stale:
        discard_upload(upload)
    return len(stale)


def process_asset(asset: MediaAsset, *, on_progress=None) -> None:
    """Make an asset's variants (renditions and poster, or image widths); mark it ready or failed.

    Failure never raises: the asset records the reason and the course stays usable.
    """
    from lms.media.processing import MediaProcessingError

    storage = get_storage()
    asset.status, asset.failure_reason, asset.progress = AssetStatus.PROCESSING, None, 0.0
    work = work_dir(asset)
    shutil.rmtree(work, ignore_errors=True)  # an earlier attempt's, if its worker died
    work.mkdir(mode=0o700, parents=True)
    try:
        try:
            source = storage.local_path(asset.storage_key)
            if source is None:
                source = work / Path(asset.storage_key).name
                storage.download_to(asset.storage_key, source)
            if asset.media_type == MediaType.VIDEO:
                _process_video(asset, source, work, storage, on_progress)
            elif asset.media_type == MediaType.IMAGE:
                _process_image(asset, source, work, storage)
        except MediaProcessingError as exc:
            asset.status, asset.failure_reason = AssetStatus.FAILED, str(exc)[:300]
            delete_derived_files(asset)
            return
    finally:
        shutil.rmtree(work, ignore_errors=True)
    asset.status, asset.progress, asset.processed_at = AssetStatus.READY, 1.0, utcnow()


def work_dir(asset: MediaAsset) -> Path:
    """Return the folder an asset's processing works in: named by the asset, so a dead worker's is found again."""
    return Path(current_app.instance_path) / "media-work" / asset.public_id


def delete_derived_files(asset: MediaAsset) -> None:
    """Remove an asset's renditions, poster and image widths, stored and recorded."""
    get_storage().delete_prefix(f"media/{asset.public_id}/derived")
    asset.variants = []


#: A video whose worker died is processed again this many times; after that it fails (it may be what kills the worker).
MAX_PROCESSING_RESTARTS = 1
WORKER_LOST = "the worker stopped while processing the file"


def recover_stale_asset(asset: MediaAsset, now=None) -> bool:
    """Mark for processing again (or, past MAX_PROCESSING_RESTARTS, fail) an asset whose worker died.

    Its partial renditions and its working folder are removed first. Return whether it was stale;
    the caller commits, then hands a QUEUED one to lms.media.tasks.queue_processing (the worker must see the commit).
    """
    if asset.status != AssetStatus.PROCESSING or not jobs.is_row_stale(asset, now):
        return False
    shutil.rmtree(work_dir(asset), ignore_errors=True)
    delete_derived_files(asset)
    asset.progress, asset.heartbeat_at = 0.0, None
    if asset.restarts >= MAX_PROCESSING_RESTARTS:
        asset.status, asset.failure_reason = AssetStatus.FAILED, WORKER_LOST
        db.session.flush()
        return True
    asset.status, asset.restarts = AssetStatus.QUEUED, asset.restarts + 1
    db.session.flush()
    return True


def recover_stale_assets(now=None) -> list[MediaAsset]:
    """Recover every asset whose processing lost its worker; return them (queue the QUEUED ones after the commit)."""
    processing = db.session.scalars(jobs.stale_rows(MediaAsset, MediaAsset.status, AssetStatus.PROCESSING, now)).all()
    return [asset for asset in processing if recover_stale_asset(asset, now)]


def _replace_variant(asset: MediaAsset, label: str, key: str, mime: str, width, height, size: int) -> None:
    existing = asset.variant(label)
    if existing is None:
        asset.variants.append(MediaVariant(label=label, storage_key=key, mime=mime, width=width,
                                           height=height, size_bytes=size))
    else:
        existing.storage_key, existing.mime, existing.width, existing.height, existing.size_bytes = (
            key, mime, width, height, size)


def _process_video(asset, source: Path, work: Path, storage: Storage, on_progress) -> None:
    from lms.media.processing import make_poster, probe_video, renditions_for, transcode

    info = probe_video(source)
    asset.duration_s, asset.width, asset.height = info.duration_s, info.width, info.height
    poster = work / "poster.jpg"
    pw, ph = make_poster(source, poster)
    key = f"media/{asset.public_id}/derived/poster.jpg"
    _replace_variant(asset, "poster", key, "image/jpeg", pw, ph, storage.save_file(key, poster, "image/jpeg"))
    specs = renditions_for(info)
    for index, spec in enumerate(specs):
        def progress(fraction, index=index):
            if on_progress:
                on_progress((index + fraction) / len(specs))

        out = work / f"{spec.label}.mp4"
        rendition = transcode(source, out, spec, progress=progress)
        key = f"media/{asset.public_id}/derived/{spec.label}.mp4"
        size = storage.save_file(key, out, "video/mp4")
        _replace_variant(asset, spec.label, key, "video/mp4", rendition.width, rendition.height, size)
        out.unlink(missing_ok=True)


def _process_image(asset, source: Path, work: Path, storage: Storage) -> None:
    from lms.media.images import inspect_image, make_image_variants

    asset.width, asset.height = inspect_image(source)
    for variant in make_image_variants(source, work, "img"):
        key = f"media/{asset.public_id}/derived/w{variant.width}.webp"
        size = storage.save_file(key, variant.path, variant.mime)
        _replace_variant(asset, f"w{variant.width}", key, variant.mime, variant.width, variant.height, size)


def delete_asset_files(asset: MediaAsset) -> None:
    """Remove every stored file of an asset."""
    get_storage().delete_prefix(f"media/{asset.public_id}")


def storage_usage() -> tuple[list[tuple[int | None, int, int]], int]:
    """Return (course_id, files, bytes) per course, and the total bytes of all media."""
    originals = (
        sa.select(MediaAsset.course_id, sa.func.count(MediaAsset.id), sa.func.coalesce(sa.func.sum(MediaAsset.size_bytes), 0))
        .group_by(MediaAsset.course_id)
    )
    derived = (
        sa.select(MediaAsset.course_id, sa.func.coalesce(sa.func.sum(MediaVariant.size_bytes), 0))
        .join(MediaVariant, MediaVariant.asset_id == MediaAsset.id)
        .group_by(MediaAsset.course_id)
    )
    extra = dict(db.session.execute(derived).all())
    rows = [(course_id, files, int(size) + int(extra.get(course_id, 0)))
            for course_id, files, size in db.session.execute(originals).all()]
    rows.sort(key=lambda r: r[2], reverse=True)
    return rows, sum(r[2] for r in rows)


def format_bytes(size: int) -> str:
    """Return a size people read ('1,5 GB'), in the current locale."""
    from flask_babel import format_decimal

    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{format_decimal(round(size / factor, 1))} {unit}"
    return f"{size} B"


def copy_stream(source: BinaryIO, target: BinaryIO) -> None:
    shutil.copyfileobj(source, target, _COPY_CHUNK)
