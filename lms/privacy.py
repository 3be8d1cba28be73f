"""Keep personal data out of logs."""

import logging
import re

# Any run of 9+ digits (optionally separated) looks like a phone or ID number.
_NUMBER_LIKE = re.compile(r"(?<![\w.])\+?\d(?:[\s.\-]?\d){8,}(?![\w.])")
_SECRET_FIELDS = re.compile(r"(?i)((?:password|phone|code|token)=)[^&\s]+")


def redact(text: str) -> str:
    """Mask phone-like numbers and secret query values in a log line."""
    text = _SECRET_FIELDS.sub(r"\1***", text)
    return _NUMBER_LIKE.sub("***", text)


class PersonalDataFilter(logging.Filter):
    """Rewrite each record so no phone number or secret reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still logged as is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
