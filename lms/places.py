"""Official provinces and communes after the July 2025 reform (vietnam-provinces)."""

import functools
from dataclasses import dataclass

from vietnam_provinces import Province, Ward

from lms.text import fold_diacritics

_PREFIXES = ("xa ", "phuong ", "dac khu ", "thi tran ")


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


def commune_key(name: str) -> str:
    """Return a comparable form of a commune name, without prefix or diacritics."""
    folded = fold_diacritics(name)
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix) :].strip()
    return folded


def find_commune(name: str, province_code: int | None = None) -> Commune | None:
    """Find a commune by name, with or without 'Xã'/'Phường' and diacritics."""
    key = commune_key(name)
    codes = [province_code] if province_code else [code for code, _ in provinces()]
    for code in codes:
        for commune in communes_of(code):
            if commune_key(commune.name) == key:
                return commune
    return None
