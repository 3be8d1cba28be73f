"""One place that normalises Vietnamese text and phone numbers."""

import unicodedata

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """The text is not a Vietnamese phone number."""


def normalize_text(value: str | None) -> str:
    """Return the text in NFC with surrounding and repeated spaces removed."""
    if value is None:
        return ""
    return " ".join(unicodedata.normalize("NFC", value).split())


def fold_diacritics(value: str) -> str:
    """Return lowercase text without Vietnamese tone marks, for matching ('Hường' -> 'huong')."""
    decomposed = unicodedata.normalize("NFD", normalize_text(value).lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d")


def normalize_phone(value: str | None) -> str:
    """Return the canonical national form (0912345678) of a Vietnamese phone number.

    Accepts the forms people write: ``0912 345 678``, ``+84912345678``,
    ``84-912-345-678``, ``(091) 234.5678``.
    """
    raw = normalize_text(value)
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not digits or any(ch not in "0123456789+-. ()" for ch in raw):
        raise InvalidPhoneNumber(raw)
    if raw.startswith("+") and not digits.startswith("84"):
        raise InvalidPhoneNumber(raw)
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    if not digits.startswith("0"):
        raise InvalidPhoneNumber(raw)
    try:
        parsed = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(raw) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(raw)
    return "0" + str(parsed.national_number)


def mask_phone(phone: str) -> str:
    """Return the phone with its middle hidden (0912***678), for screens that need no more."""
    if len(phone) < 7:
        return "***"
    return f"{phone[:4]}***{phone[-3:]}"
