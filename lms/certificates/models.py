"""Certificate templates per course, issued certificates, their serial counters and cohort issuing batches."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l

#: The wording printed above the course title when a template does not say otherwise.
DEFAULT_WORDING = "Đã hoàn thành khoá học"


class CertificateStatus(LabelledEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    #: Never stored: a valid certificate whose expires_at has passed.
    EXPIRED = "expired"

    @classmethod
    def labels(cls):
        return {
            cls.VALID: _l("Valid"),
            cls.REVOKED: _l("Revoked"),
            cls.SUPERSEDED: _l("Replaced by a newer certificate"),
            cls.EXPIRED: _l("Expired"),
        }


class CertificateTemplate(db.Model):
    """How a course's certificates look: issuer, signers, wording, hours and validity."""

    __tablename__ = "certificate_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), unique=True)
    #: Printed at the top; empty means the installation's name (LMS_ORG_NAME).
    issuer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    logo_asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("media_assets.id", ondelete="SET NULL"))
    wording: Mapped[str] = mapped_column(sa.String(300), default=DEFAULT_WORDING)
    #: Hours printed on the certificate; None means the course's estimated hours.
    hours: Mapped[int | None] = mapped_column(sa.Integer)
    #: Certificates expire this many months after issue; None means they never expire.
    validity_months: Mapped[int | None] = mapped_column(sa.Integer)
    signer1_name: Mapped[str] = mapped_column(sa.String(120), default="")
    signer1_title: Mapped[str] = mapped_column(sa.String(160), default="")
    signer1_signature_asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL"))
    signer2_name: Mapped[str] = mapped_column(sa.String(120), default="")
    signer2_title: Mapped[str] = mapped_column(sa.String(160), default="")
    signer2_signature_asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_assets.id", ondelete="SET NULL"))
    #: Issue a certificate by itself the moment a trainee completes the course.
    auto_issue: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    course: Mapped["Course"] = relationship()  # noqa: F821


class Certificate(db.Model):
    """One issued certificate. What it certifies is copied onto it, so nothing else can change or remove it."""

    __tablename__ = "certificates"
    __table_args__ = (
        # At most one valid certificate per trainee and course; revoked and superseded ones stay beside it.
        sa.Index("uq_certificates_user_course_valid", "user_id", "course_id", unique=True,
                 sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: LS-<year>-<6-digit sequence per year>, printed on the paper.
    serial: Mapped[str] = mapped_column(sa.String(24), unique=True)
    #: Unguessable, from an alphabet without look-alikes; the QR code and /verify/<code> use it.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    #: Version of what is printed and signed, so old papers can still be read after a format change.
    version: Mapped[int] = mapped_column(sa.SmallInteger, default=1, server_default="1")
    #: Kept when the account is deleted (SET NULL): the paper the holder shows stays verifiable.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: SET NULL: deleting a course never removes its certificates; the snapshot below is what counts.
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="SET NULL"), index=True)
    holder_name: Mapped[str] = mapped_column(sa.String(120))
    #: The holder's commune when issued, for the register's filter.
    holder_commune_code: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    course_title: Mapped[str] = mapped_column(sa.String(200))
    course_slug: Mapped[str] = mapped_column(sa.String(80), default="")
    hours: Mapped[int | None] = mapped_column(sa.Integer)
    issuer_name: Mapped[str] = mapped_column(sa.String(200))
    wording: Mapped[str] = mapped_column(sa.String(300), default=DEFAULT_WORDING)
    #: [{"name", "title", "signature_asset_id"}]: one or two signers as printed.
    signers: Mapped[list] = mapped_column(sa.JSON, default=list)
    logo_asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("media_assets.id", ondelete="SET NULL"))
    #: When the course's rules were first met.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: None when issued automatically on completion.
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: valid, revoked or superseded; "expired" is worked out from expires_at.
    status: Mapped[CertificateStatus] = mapped_column(
        enum_column_type(CertificateStatus), default=CertificateStatus.VALID, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(300))
    #: The certificate issued in this one's place (a corrected name, or a re-issue after revocation).
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id", ondelete="SET NULL"))

    user: Mapped["User | None"] = relationship(foreign_keys=[user_id])  # noqa: F821
    course: Mapped["Course | None"] = relationship()  # noqa: F821
    issued_by: Mapped["User | None"] = relationship(foreign_keys=[issued_by_id])  # noqa: F821
    revoked_by: Mapped["User | None"] = relationship(foreign_keys=[revoked_by_id])  # noqa: F821
    superseded_by: Mapped["Certificate | None"] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Certificate {self.serial}>"

    def effective_status(self, now: datetime | None = None) -> CertificateStatus:
        """Return the status a verifier sees: a valid certificate past its date is expired."""
        if self.status == CertificateStatus.VALID and self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return CertificateStatus.EXPIRED
        return self.status

    @property
    def is_valid(self) -> bool:
        return self.effective_status() == CertificateStatus.VALID

    @property
    def display_code(self) -> str:
        """The verification code in groups of four, as printed."""
        return "-".join(self.code[i:i + 4] for i in range(0, len(self.code), 4))


class CertificateSerial(db.Model):
    """The last serial number given out in a year; incremented under a row lock."""

    __tablename__ = "certificate_serials"

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(sa.Integer, default=0)


class BatchStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @classmethod
    def labels(cls):
        return {cls.QUEUED: _l("Waiting"), cls.RUNNING: _l("Issuing"), cls.DONE: _l("Done"), cls.FAILED: _l("Failed")}


class CertificateBatch(db.Model):
    """Issuing a cohort's certificates in the job queue, with progress for the organizer's page."""

    __tablename__ = "certificate_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable, for the progress page's address.
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[BatchStatus] = mapped_column(enum_column_type(BatchStatus), default=BatchStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    issued: Mapped[int] = mapped_column(default=0)
    #: Members already holding a certificate, not yet complete, or with a revoked one.
    skipped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Stamped by the running job every few seconds; a stale one means its worker is gone (lms.core.jobs).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cohort: Mapped["Cohort | None"] = relationship()  # noqa: F821

    @property
    def percent(self) -> int:
        if self.status == BatchStatus.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0
