"""Keep personal data out of logs."""

import logging
import re
from urllib.parse import unquote_plus

# A Vietnamese phone as people write it: mobile 0[35789] + 8 digits, landline 02 + 9 digits, or
# either after 84 / +84 / 0084 instead of the 0; single spaces, dots, dashes or a bracket between
# digits. Only that shape is masked, so timestamps, dates, durations, ids and byte counts stay readable
# ("2026-12-02 16:44:23" used to lose its date to "any run of 9+ digits").
_SEP = r"(?:[ .\-]|\) ?)?"
_NATIONAL = rf"(?:[35789](?:{_SEP}\d){{8}}|2(?:{_SEP}\d){{9}})"
_PHONE = re.compile(
    rf"(?<![\w+])(?<!\d[.\-])"  # not the tail of a longer number, a word or a hex id
    rf"\(?(?:(?:\+|00)?84{_SEP}(?:\(?0\)?{_SEP})?|0{_SEP}){_NATIONAL}"
    rf"(?![\w])(?![.\-]\d)"  # nor its head
)
_SECRET_FIELDS = re.compile(r"(?i)((?:password|phone|code|token)=)[^&\s\"]+")
#: A password hash (argon2, bcrypt, pbkdf2) anywhere in a line: a traceback's locals, a repr.
_PASSWORD_HASH = re.compile(r"\$(?:argon2(?:id|i|d)|2[aby]|pbkdf2[\w-]*)\$[^\s'\"()]+")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def _url_decoded(text: str) -> str:
    """Decode a URL's escapes (as often as a value was wrapped, up to three times) and its '+' spaces."""
    for _ in range(3):
        if not _PERCENT.search(text) and "+" not in text:
            break
        text = unquote_plus(text)
    return text


def redact(text: str) -> str:
    """Mask phone-like numbers, password hashes and secret query values in a log line.

    A phone hidden in an address (0912%20345%20678, %2B84…, inside ?next=) is found in the decoded
    line; the line is then logged decoded, with the phone masked.
    """
    text = _PASSWORD_HASH.sub("***", _SECRET_FIELDS.sub(r"\1***", text))
    masked = _PHONE.sub("***", text)
    decoded = _url_decoded(masked)
    if decoded != masked and _PHONE.search(decoded):
        return _PHONE.sub("***", _SECRET_FIELDS.sub(r"\1***", decoded))
    return masked


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
        if record.exc_info and not record.exc_text:
            # A traceback's exception messages and reprs may carry what the code was handling:
            # formatted here once, masked, and used by every handler instead of the raw one.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts_personal_data = True
    return factory


def install_log_redaction() -> None:
    """Redact every log record at creation, whichever logger or handler it goes to."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_personal_data", False):
        logging.setLogRecordFactory(_redacted_record_factory(current))
