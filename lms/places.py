"""Official provinces and communes after the July 2025 reform (vietnam-provinces)."""

import enum
import functools
import re
import unicodedata
from dataclasses import dataclass

from vietnam_provinces import Province, Ward

from lms.core.text import fold_diacritics, normalize_text


@dataclass(frozen=True)
class Commune:
    code: int
    name: str
    province_code: int
    province_name: str

    @property
    def full_name(self) -> str:
        return f"{self.name}, {self.province_name}"


@functools.cache
def provinces() -> list[tuple[int, str]]:
    """Return (code, name) of the 34 provinces, in official order."""
    return [(int(p.code), p.name) for p in Province.iter_all()]


@functools.cache
def communes_of(province_code: int) -> list[Commune]:
    """Return the communes and wards of one province, in official order."""
    try:
        province = Province.from_code(province_code)
    except (ValueError, KeyError):
        return []
    return [
        Commune(int(w.code), w.name, int(province.code), province.name)
        for w in Ward.iter_by_province(province.code)
    ]


def get_commune(code: int | None) -> Commune | None:
    """Return the commune with this official code, or None."""
    if code is None:
        return None
    try:
        ward = Ward.from_code(int(code))
    except (ValueError, KeyError, TypeError):
        return None
    return next((c for c in communes_of(int(ward.province_code)) if c.code == int(code)), None)


class MatchStatus(enum.StrEnum):
    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class CommuneMatch:
    """What a written commune name resolved to: one commune, several candidates, or nothing."""

    status: MatchStatus
    commune: Commune | None = None
    #: The communes the name could mean, when it is ambiguous (in official order).
    candidates: tuple[Commune, ...] = ()

    @property
    def matched(self) -> bool:
        return self.status == MatchStatus.MATCHED


#: Prefixes people write before a commune's name; the official names use only Xã, Phường, Đặc khu.
_WRITTEN_PREFIXES = (("dac", "khu"), ("thi", "tran"), ("xa",), ("phuong",), ("tt",), ("x",), ("p",))
_PROVINCE_PREFIXES = (("thanh", "pho"), ("tinh",), ("tp",))
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_WORD_SPLIT = re.compile(r"[\W_]+")


def _words(text: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(normalize_text(text).casefold()) if w]


def _spelled(word: str) -> str:
    """Return a word with its tone mark moved to the end, so 'hoá' and 'hóa' are spelled alike."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = "".join(ch for ch in decomposed if ch in _TONES)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES)) + tones


def _prefix_length(folded: list[str], prefixes) -> int:
    for prefix in prefixes:
        if len(folded) > len(prefix) and tuple(folded[: len(prefix)]) == prefix:
            return len(prefix)
    return 0


@dataclass(frozen=True)
class _Written:
    """A name as compared: folded (no diacritics) and spelled (diacritics kept), with and without its prefix."""

    folded: tuple[str, ...]
    spelled: tuple[str, ...]

    @classmethod
    def of(cls, text: str, prefixes=_WRITTEN_PREFIXES) -> "_Written":
        words = _words(text)
        folded = [fold_diacritics(w) for w in words]
        cut = _prefix_length(folded, prefixes)
        return cls(tuple(dict.fromkeys((" ".join(folded), " ".join(folded[cut:])))),
                   tuple(dict.fromkeys((" ".join(map(_spelled, words)), " ".join(map(_spelled, words[cut:]))))))


@functools.cache
def _commune_index() -> tuple[dict[str, tuple[Commune, ...]], dict[int, _Written]]:
    """Map every commune's folded name, with and without 'Xã'/'Phường'/'Đặc khu', to the communes."""
    index: dict[str, list[Commune]] = {}
    written: dict[int, _Written] = {}
    for province_code, _name in provinces():
        for commune in communes_of(province_code):
            # Strip only the official prefix: "Xã Phượng Dực" is "phuong duc", not "duc".
            written[commune.code] = names = _Written.of(commune.name, (("dac", "khu"), ("xa",), ("phuong",)))
            for key in names.folded:
                index.setdefault(key, []).append(commune)
    return {key: tuple(found) for key, found in index.items()}, written


def _candidates(text: str) -> tuple[tuple[Commune, ...], _Written]:
    index, _ = _commune_index()
    written = _Written.of(text)
    for key in written.folded:  # "Phượng Dực" as written first, then "X. Chuyên Mỹ" without its "X."
        if key in index:
            return index[key], written
    return (), written


def _spelled_alike(commune: Commune, written: _Written) -> bool:
    return bool(set(_commune_index()[1][commune.code].spelled) & set(written.spelled))


def match_commune(text: str | None, province_code: int | None = None) -> CommuneMatch:
    """Resolve a commune or ward as people write it, e.g. "Xã Phú Xuyên", "phu xuyen", "X. Chuyên Mỹ, Hà Nội".

    Case, spaces, diacritics, NFD input and a "Xã"/"Phường"/"P." prefix do not matter. When written
    diacritics tell communes apart ("Văn Lăng" / "Văn Lang"), they decide. A province (given, or written
    after a comma) settles names used in several provinces; inside it a wrong tone mark is forgiven.
    A commune outside it is still found when its name, diacritics included, is unique: trainees may
    live across the border of the class's province (callers that need the province check it).
    """
    text = normalize_text(text)
    parts = [text]
    if "," in text:  # "Xã Chuyên Mỹ, Hà Nội"
        head, _, tail = text.partition(",")
        parts.append(head)
        if province_code is None:
            province_code = match_province(tail)
    for part in parts:
        found, written = _candidates(part)
        if not found:
            continue
        has_marks = not part.isascii()
        alike = [c for c in found if _spelled_alike(c, written)] if has_marks else []
        if province_code:
            here = [c for c in found if c.province_code == province_code]
            here_alike = [c for c in here if c in alike]
            if len(here_alike) == 1 or len(here) == 1:
                return CommuneMatch(MatchStatus.MATCHED, (here_alike or here)[0])
            if here:
                return CommuneMatch(MatchStatus.AMBIGUOUS, candidates=tuple(here_alike or here))
        if has_marks:
            # Outside the province (or with none given), written diacritics must agree: "Vân Từ" (a
            # commune merged in 2025) must not become "Vân Tụ" of another province.
            found = alike
        if len(found) == 1:
            return CommuneMatch(MatchStatus.MATCHED, found[0])
        if found:
            return CommuneMatch(MatchStatus.AMBIGUOUS, candidates=tuple(found))
    return CommuneMatch(MatchStatus.NOT_FOUND)


def match_province(text: str | int | None) -> int | None:
    """Return the code of the province written ("Hà Nội", "TP. Hà Nội", "thai nguyen", "1"), or None."""
    if isinstance(text, int) or (isinstance(text, str) and text.strip().isdigit()):
        code = int(text)
        return code if code in dict(provinces()) else None
    wanted = set(_Written.of(text or "", _PROVINCE_PREFIXES).folded) - {""}
    for code, name in provinces():
        if wanted & set(_Written.of(name, _PROVINCE_PREFIXES).folded):
            return code
    return None
