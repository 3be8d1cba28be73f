"""Uploaded media (videos, documents, images), their processed variants, and uploads in progress."""

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


class MediaType(LabelledEnum):
    VIDEO = "video"
    IMAGE = "image"
    DOCUMENT = "document"

    @classmethod
    def labels(cls):
        return {cls.VIDEO: _l("Video"), cls.IMAGE: _l("Image"), cls.DOCUMENT: _l("Document")}


class AssetStatus(LabelledEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"

    @classmethod
    def labels(cls):
        return {
            cls.QUEUED: _l("Waiting to be processed"),
            cls.PROCESSING: _l("Processing"),
            cls.READY: _l("Ready"),
            cls.FAILED: _l("Failed"),
        }


def new_public_id() -> str:
    """Return an unguessable identifier for URLs and storage keys."""
    return secrets.token_urlsafe(16)


class MediaAsset(db.Model):
    __tablename__ = "media_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable; used in URLs and storage keys instead of the numeric id.
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_public_id)
    course_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    media_type: Mapped[MediaType] = mapped_column(enum_column_type(MediaType))
    #: Decided from the content by lms.core.sniff, never from the name.
    mime: Mapped[str] = mapped_column(sa.String(64))
    #: As the uploader named it, cleaned for display; never used as a path.
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[AssetStatus] = mapped_column(enum_column_type(AssetStatus), default=AssetStatus.QUEUED)
    #: Why processing failed, in words (English; translated when shown).
    failure_reason: Mapped[str | None] = mapped_column(sa.String(300))
    progress: Mapped[float] = mapped_column(default=0.0)
    duration_s: Mapped[float | None] = mapped_column()
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    #: Cover images are shown in the public catalogue; everything else needs access to the course.
    is_public: Mapped[bool] = mapped_column(default=False)
    #: What it was uploaded for ("lesson", "cover", "image", "submission"): decides who may see it.
    purpose: Mapped[str] = mapped_column(sa.String(16), default="lesson", server_default="lesson")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Stamped while processing runs; a stale one means its worker is gone (lms.core.jobs).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Times processing was queued again after its worker died; past a limit it fails instead.
    restarts: Mapped[int] = mapped_column(default=0, server_default="0")

    variants: Mapped[list["MediaVariant"]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", lazy="selectin", order_by="MediaVariant.width"
    )

    def __repr__(self) -> str:
        return f"<MediaAsset {self.public_id} {self.media_type}>"

    def variant(self, label: str) -> "MediaVariant | None":
        return next((v for v in self.variants if v.label == label), None)

    @property
    def is_ready(self) -> bool:
        return self.status == AssetStatus.READY

    @property
    def total_bytes(self) -> int:
        return self.size_bytes + sum(v.size_bytes for v in self.variants)


class MediaVariant(db.Model):
    """A derived file: a video rendition, a poster, or an image width."""

    __tablename__ = "media_variants"
    __table_args__ = (sa.UniqueConstraint("asset_id", "label", name="uq_media_variants_asset_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("media_assets.id", ondelete="CASCADE"), index=True)
    #: "360p", "720p", "poster", or "w320"/"w640"/"w1280" for images.
    label: Mapped[str] = mapped_column(sa.String(16))
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    mime: Mapped[str] = mapped_column(sa.String(64))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    asset: Mapped[MediaAsset] = relationship(back_populates="variants")


def new_upload_id() -> str:
    return secrets.token_hex(16)


class Upload(db.Model):
    """A resumable (tus) upload in progress; its bytes sit in the instance folder until complete."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_upload_id)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    #: What the finished file is for: "lesson", "cover" or "image" (pictures inside a text lesson).
    purpose: Mapped[str] = mapped_column(sa.String(16), default="lesson")
    length: Mapped[int] = mapped_column(sa.BigInteger)
    offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("media_assets.id", ondelete="SET NULL"))

    asset: Mapped[MediaAsset | None] = relationship()
