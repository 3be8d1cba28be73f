"""Keep personal data out of logs."""

import logging
import re

# Any run of 9+ digits (optionally separated) looks like a phone or ID number.
_NUMBER_LIKE = re.compile(r"(?<![\w.])\+?\d(?:[\s.\-]?\d){8,}(?![\w.])")
_SECRET_FIELDS = re.compile(r"(?i)((?:password|phone|code|token)=)[^&\s\"]+")


def redact(text: str) -> str:
    """Mask phone-like numbers and secret query values in a log line."""
    text = _SECRET_FIELDS.sub(r"\1***", text)
    return _NUMBER_LIKE.sub("***", text)


def _redacted_record_factory(base_factory):
    def factory(*args, **kwargs):
        record = base_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still logged as is
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    factory.redacts_personal_data = True
    return factory


def install_log_redaction() -> None:
    """Redact every log record at creation, whichever logger or handler it goes to."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_personal_data", False):
        logging.setLogRecordFactory(_redacted_record_factory(current))
