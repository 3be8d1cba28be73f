"""What is printed and signed: the Open Badges 3.0 document, the PDF's data, previews."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from lms.certificates import KEYS_PATH
from lms.certificates.models import (
    Certificate,
    CertificateStatus,
    CertificateTemplate,
)
from lms.certificates.services import (
    CODE_LENGTH,
    SAMPLE_NAME,
    TITLE,
    latest_version,
    snapshot_values,
)
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import to_local
from lms.courses.models import Course

logger = logging.getLogger(__name__)


def verify_url(certificate: Certificate, base_url: str) -> str:
    """Return the public verification address printed in the QR code."""
    return f"{base_url.rstrip('/')}/verify/{certificate.code}"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo("UTC")).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def certificate_document(certificate: Certificate, base_url: str, *, now: datetime | None = None) -> dict:
    """Return the certificate as an Open Badges 3.0 shaped credential (unsigned). No phone, birth date or address."""
    base = base_url.rstrip("/")
    url = verify_url(certificate, base)
    status = certificate.effective_status(now)
    achievement = {
        "id": f"{base}/courses/{certificate.course_slug}" if certificate.course_slug else f"{url}#achievement",
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": certificate.course_title,
        "description": certificate.wording,
        "criteria": {"narrative": f"{certificate.wording}: {certificate.course_title}"},
    }
    if certificate.hours:
        achievement["hours"] = certificate.hours
    subject = {"type": ["AchievementSubject"], "name": certificate.holder_name, "achievement": achievement}
    if certificate.completed_at:
        subject["activityEndDate"] = _iso(certificate.completed_at)
    credential_status = {"id": url, "type": "LangSoCertificateStatus", "status": status.value}
    if certificate.status == CertificateStatus.REVOKED:
        credential_status.update(revokedAt=_iso(certificate.revoked_at), revocationReason=certificate.revoke_reason)
    if certificate.superseded_by is not None:
        credential_status["supersededBy"] = verify_url(latest_version(certificate), base)
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{TITLE.capitalize()}: {certificate.course_title}",
        "serialNumber": certificate.serial,
        "verificationCode": certificate.code,
        "documentVersion": certificate.version,
        "issuer": {"id": base + "/", "type": ["Profile"], "name": certificate.issuer_name},
        "validFrom": _iso(certificate.issued_at),
        "credentialSubject": subject,
        "credentialStatus": credential_status,
    }
    if certificate.expires_at is not None:
        document["validUntil"] = _iso(certificate.expires_at)
    return document


def signed_document(certificate: Certificate, base_url: str) -> dict:
    """Return the certificate's document signed with the installation's active key."""
    from lms.certificates.signing import (  # cryptography: only when signing
        keyring_for,
        sign_document,
    )

    key = keyring_for(current_app).active()
    return sign_document(certificate_document(certificate, base_url), key,
                         verification_method=f"{base_url.rstrip('/')}{KEYS_PATH}#{key.kid}")


def published_keys() -> dict:
    """Return the public keys anyone verifies signed certificates with."""
    from lms.certificates.signing import keyring_for

    return keyring_for(current_app).published()


def _vietnamese_date(moment: datetime | None) -> str | None:
    return None if moment is None else to_local(moment).strftime("%d/%m/%Y")


#: Printed across a certificate that is no longer valid, so a paper copy cannot pass for a good one.
BANNERS = {
    CertificateStatus.REVOKED: "ĐÃ THU HỒI – KHÔNG CÒN GIÁ TRỊ",
    CertificateStatus.SUPERSEDED: "ĐÃ ĐƯỢC THAY THẾ",
    CertificateStatus.EXPIRED: "ĐÃ HẾT HẠN",
}
PREVIEW_BANNER = "BẢN XEM THỬ"


def _image_bytes(asset_id: int | None) -> bytes | None:
    """Return a ready image asset's bytes (its 640 px rendition when there is one), cached per process."""
    from lms.core.storage import get_storage
    from lms.media.models import MediaAsset, MediaType

    if asset_id is None:
        return None
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or not asset.is_ready or asset.media_type != MediaType.IMAGE:
        return None
    variant = asset.variant("w640")
    key = variant.storage_key if variant is not None else asset.storage_key
    if key not in _image_cache:
        try:
            with get_storage().open(key) as fh:
                data = fh.read()
        except Exception:  # a missing file must not stop a certificate from printing
            logger.warning("certificate image %s could not be read", key)
            return None
        if len(_image_cache) > 64:
            _image_cache.clear()
        _image_cache[key] = data
    return _image_cache[key]


_image_cache: dict[str, bytes] = {}


def pdf_data(certificate: Certificate, base_url: str, *, banner: str | None = None) -> dict:
    """Return what lms.certificates.pdf.render_certificate prints for a certificate."""
    issued = to_local(certificate.issued_at)
    return {
        "title": TITLE,
        "holder_name": certificate.holder_name,
        "course_title": certificate.course_title,
        "wording": certificate.wording,
        "issuer_name": certificate.issuer_name,
        "hours": certificate.hours,
        "serial": certificate.serial,
        "code": certificate.display_code,
        "verify_url": verify_url(certificate, base_url),
        "issued_on": _vietnamese_date(certificate.issued_at),
        "completed_on": _vietnamese_date(certificate.completed_at),
        "expires_on": _vietnamese_date(certificate.expires_at),
        "date_line": f"Ngày {issued.day:02d} tháng {issued.month:02d} năm {issued.year}",
        "signers": [{"name": s.get("name", ""), "title": s.get("title", ""),
                     "signature": _image_bytes(s.get("signature_asset_id"))} for s in certificate.signers or []],
        "logo": _image_bytes(certificate.logo_asset_id),
        "banner": banner if banner is not None else BANNERS.get(certificate.effective_status()),
    }


def certificate_pdf(certificate: Certificate, base_url: str) -> bytes:
    """Render the certificate's PDF (marked across the page when it is no longer valid)."""
    from lms.certificates.pdf import render_certificate

    return render_certificate(pdf_data(certificate, base_url))


def preview_certificate(course: Course, template: CertificateTemplate, base_url: str,
                        holder_name: str = SAMPLE_NAME) -> Certificate:
    """Return an unsaved certificate as the template would issue it now, for a sample holder."""
    from types import SimpleNamespace

    now = utcnow()
    sample = SimpleNamespace(id=None, full_name=holder_name, commune_code=None)
    values = snapshot_values(sample, course, template, now, now)
    return Certificate(serial=f"LS-{to_local(now).year}-000000", code="X" * CODE_LENGTH, **values)


def preview_pdf(course: Course, template: CertificateTemplate, base_url: str) -> bytes:
    """Render the template's preview for the sample name, marked as a preview."""
    from lms.certificates.pdf import render_certificate

    certificate = preview_certificate(course, template, base_url)
    return render_certificate(pdf_data(certificate, base_url, banner=PREVIEW_BANNER))


