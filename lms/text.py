"""One place that normalises, matches and sorts Vietnamese text, and phone numbers."""

import functools
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


_VI_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_VI_RANK = {letter: rank for rank, letter in enumerate(_VI_ALPHABET, 1)}
_VI_MODIFIED = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê", ("o", "\u0302"): "ô",
                ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
#: Dictionary order of the tones: level, huyền, hỏi, ngã, sắc, nặng.
_VI_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


@functools.lru_cache(maxsize=8192)
def vietnamese_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return a key that sorts text in Vietnamese dictionary order (a < ă < â … d < đ; tones second)."""
    letters: list[str] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if ch in _VI_TONES:
            if tones:
                tones[-1] = _VI_TONES[ch]
        elif unicodedata.combining(ch):
            if letters:
                letters[-1] = _VI_MODIFIED.get((letters[-1], ch), letters[-1])
        else:
            letters.append(ch)
            tones.append(0)
    primary = tuple(0 if ch == " " else _VI_RANK.get(ch, 100 + ord(ch)) for ch in letters)
    return primary, tuple(tones)


def name_order(full_name: str) -> tuple:
    """Return the key Vietnamese class lists sort by: the given name (last word), then the full name."""
    name = normalize_text(full_name)
    return vietnamese_key(name.rsplit(" ", 1)[-1]), vietnamese_key(name)


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


def person_matcher(query: str | None):
    """Return a test ``matches(folded_name, phone)`` for a search box that finds people, or None for an empty query.

    The name matches from the start of a word, ignoring case and tone marks ("huong" finds
    "Hường", not "Phương"; "thi h" finds "Nguyễn Thị Hường"): pass it through fold_diacritics. A query of at least three digits (spaces, dots and dashes
    allowed, +84 read as 0) matches the end of the phone number: the last digits, or all of them.
    """
    folded = fold_diacritics(query or "")
    if not folded:
        return None
    digits = "".join(ch for ch in folded if ch not in " .-()")
    if digits.startswith("+84") or (digits.startswith("84") and len(digits) >= 11):
        digits = "0" + digits.removeprefix("+")[2:]
    if not (len(digits) >= 3 and digits.isdigit()):
        digits = ""

    word_start = " " + folded

    def matches(folded_name: str, phone: str) -> bool:
        return word_start in " " + folded_name or bool(digits and phone.endswith(digits))

    return matches


def normalize_code(value: str | None) -> str:
    """Return a typed code as it was printed, without the spaces and dashes people add.

    "123 456", "123-456", " 123456 " and full-width "１２３４５６" all give "123456". Any other
    character is kept, so a code with a letter in it stays wrong instead of being guessed at.
    """
    text = unicodedata.normalize("NFKC", value or "")
    kept = []
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) == "Pd" or ch in "._":
            continue
        kept.append(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch)
    return "".join(kept)
