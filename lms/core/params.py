"""Numbers from URLs and query strings, bounded so no database driver ever sees one it cannot hold."""

from flask import abort, request
from werkzeug.routing import IntegerConverter

#: The largest id a column can hold on every database we run (PostgreSQL's INTEGER).
MAX_ID = 2**31 - 1

#: Pages past this are empty anyway; the bound keeps OFFSET inside a 64-bit integer.
MAX_PAGE = 100_000


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's `int`, limited to 0..2^31−1: a larger number matches no route (404), not a 500 from the driver."""

    def __init__(self, map, fixed_digits=0, min=0, max=MAX_ID, signed=False):  # noqa: A002 - Werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_converters(app) -> None:
    """Replace the default `int` converter and refuse NUL bytes; call before any blueprint is registered."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_nul_bytes)


def refuse_nul_bytes():
    """Answer 404/400 to a NUL byte in the path or query string: PostgreSQL text cannot hold one (a 500 otherwise)."""
    if "\x00" in request.path:
        abort(404)
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400)


def int_arg(name: str, default: int | None = None, *, min: int = 0, max: int = MAX_ID) -> int | None:  # noqa: A002
    """Read an integer query parameter; missing or empty gives `default`, anything else not in min..max gives 400."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    # int() also accepts "1_000" and " ١٢ " (Arabic-Indic digits): only plain ASCII digits are a number here.
    if not (raw.isascii() and raw.lstrip("-").isdigit() and len(raw) <= 12):
        abort(400)
    value = int(raw)
    if not min <= value <= max:
        abort(400)
    return value


def paginate(select, *, per_page: int, **kwargs):
    """`db.paginate` with the page number bounded and the page size fixed by the caller, never by the URL."""
    from lms.core.extensions import db

    page = int_arg("page", 1, min=1, max=MAX_PAGE)
    return db.paginate(select, page=page, per_page=per_page, max_per_page=per_page, error_out=False, **kwargs)
