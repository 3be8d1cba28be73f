"""Where the app may send a browser: only to a path of this site, however the address was disguised."""

import unicodedata
from urllib.parse import unquote, urlsplit


def same_site_path(target: str | None) -> str | None:
    r"""Return target if it is a path of this site ("/…"), else None.

    Browsers drop tabs and newlines from an address and read a backslash as a slash, so
    "/\t/evil.example/" or "/\evil.example" would leave the site as "//evil.example/". A control
    character or a backslash anywhere, or anything that parses with a scheme or a host, is refused:
    as given and once more percent-decoded, for a target decoded again along the way.
    """
    if not target or not isinstance(target, str):
        return None
    for candidate in (target, unquote(target)):
        if any(unicodedata.category(ch)[0] == "C" for ch in candidate) or "\\" in candidate:
            return None
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
    return target
