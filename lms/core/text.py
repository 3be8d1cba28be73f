"""One place that normalises, matches and sorts Vietnamese text, and phone numbers."""

import functools
import re
import unicodedata

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """The text is not a Vietnamese phone number."""


class ForeignPhoneNumber(InvalidPhoneNumber):
    """The text is a phone number of another country (00 or + and a country code other than 84)."""

    def __init__(self, raw: str, country_code: int):
        super().__init__(raw)
        self.raw = raw
        #: The country calling code as written, e.g. 33 for France.
        self.country_code = country_code


#: Characters that show nothing yet change what is shown: zero-width space and joiners, word
#: joiner, byte order mark, soft hyphen, and the bidirectional controls (embeddings and overrides
#: U+202A–U+202E, isolates U+2066–U+2069, the marks LRM U+200E, RLM U+200F and ALM U+061C).
#: A name pasted with U+202E shows reversed on every list and certificate; phones copied from a
#: contact app often arrive wrapped in U+202A … U+202C.
INVISIBLE_CHARACTERS = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_INVISIBLE_TABLE = dict.fromkeys(map(ord, INVISIBLE_CHARACTERS), None)
_HAS_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")


def strip_invisible(value: str) -> str:
    """Return the text without the characters of INVISIBLE_CHARACTERS (spacing is left alone)."""
    return value.translate(_INVISIBLE_TABLE) if _HAS_INVISIBLE.search(value) else value


def normalize_text(value: str | None) -> str:
    """Return the text in NFC, without invisible characters, surrounding and repeated spaces removed."""
    if value is None:
        return ""
    return " ".join(unicodedata.normalize("NFC", strip_invisible(value)).split())


def fold_diacritics(value: str) -> str:
    """Return lowercase text without Vietnamese tone marks, for matching ('Hường' -> 'huong')."""
    decomposed = unicodedata.normalize("NFD", normalize_text(value).lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d")


def search_key(name: str | None) -> str:
    """Return a name as a search box compares it: folded, with a space before it, so every word starts after one."""
    return " " + fold_diacritics(name or "")


#: From this many digits on, a searched phone fragment matches anywhere in a number, not just at its end.
PHONE_ANYWHERE = 6


def phone_matches(digits: str, phone: str) -> bool:
    """Return True if a phone matches the searched digits (search_digits), by the rule search_digits gives."""
    return bool(digits) and (digits in phone if len(digits) >= PHONE_ANYWHERE else phone.endswith(digits))


def search_digits(query: str | None) -> str:
    """Return the phone digits a search box's query stands for ("345 678", "+84 912 345 678"), or "" if it is no phone.

    At least three digits, spaces, dots, dashes and brackets allowed; +84 or 84 before 9+ digits read as 0.
    Searches match a few digits against the END of phone numbers (every number begins with one of
    a few carriers' prefixes: "0912" would find a third of the programme), and from PHONE_ANYWHERE
    digits on, anywhere in them ("0912555" is specific enough to be the start of one).
    """
    folded = fold_diacritics(query or "")
    digits = "".join(ch for ch in folded if ch not in " .-()")
    if digits.startswith("+84") or (digits.startswith("84") and len(digits) >= 11):
        digits = "0" + digits.removeprefix("+")[2:]
    return digits if len(digits) >= 3 and digits.isdigit() else ""


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

    Accepts the forms people write: ``0912 345 678``, ``+84912345678``, ``0084 912 345 678``,
    ``84-912-345-678``, ``(091) 234.5678``, ``+84 0912 345 678``. Raise ForeignPhoneNumber for
    another country's number (``+33 6 12 34 56 78``, ``0033612345678``): the programme reaches
    its trainees by Vietnamese numbers only, and 00 + a country code must never be read as a
    Vietnamese number that happens to start with 0. Raise InvalidPhoneNumber for anything else.
    """
    raw = normalize_text(value)
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not digits or any(ch not in "0123456789+-. ()" for ch in raw):
        raise InvalidPhoneNumber(raw)
    international = raw.startswith("+") or digits.startswith("00")
    if international:
        written = digits[2:] if digits.startswith("00") else digits
        if not written.startswith("84"):
            country_code = _country_code(written)
            if country_code is None:
                raise InvalidPhoneNumber(raw)  # "+0912…": no country at all
            raise ForeignPhoneNumber(raw, country_code)
        national = written[2:]
    elif digits.startswith("84") and len(digits) >= 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise InvalidPhoneNumber(raw)
    # "+84 0912 345 678": the trunk 0 written after the country code as well.
    if international or not digits.startswith("0"):
        national = national.removeprefix("0")
    try:
        parsed = phonenumbers.parse("0" + national, "VN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(raw) from exc
    # "0" + "0…" would be read as an international call again: only +84 numbers are ours.
    if parsed.country_code != 84 or not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(raw)
    return "0" + str(parsed.national_number)


def _country_code(digits: str) -> int | None:
    """Return the calling code that international digits start with (33 for 33612345678), or None."""
    try:
        return phonenumbers.parse("+" + digits, None).country_code or None
    except phonenumbers.NumberParseException:
        return None


def mask_phone(phone: str) -> str:
    """Return the phone with its middle hidden (0912***678), for screens that need no more."""
    if len(phone) < 7:
        return "***"
    return f"{phone[:4]}***{phone[-3:]}"


def person_matcher(query: str | None):
    """Return a test ``matches(folded_name, phone)`` for a search box that finds people, or None for an empty query.

    The name matches from the start of a word, ignoring case and tone marks ("huong" finds
    "Hường", not "Phương"; "thi h" finds "Nguyễn Thị Hường"): pass it through fold_diacritics. A query of at least three digits (spaces, dots and dashes
    allowed, +84 read as 0) matches the end of the phone number, and six or more digits anywhere in it (search_digits).
    """
    folded = fold_diacritics(query or "")
    if not folded:
        return None
    digits = search_digits(query)
    word_start = " " + folded

    def matches(folded_name: str, phone: str) -> bool:
        return word_start in " " + folded_name or phone_matches(digits, phone)

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
