"""Error answers: a page in the user's language, or JSON for the API, for any HTTP status."""

from flask import jsonify, make_response, render_template, request
from flask.globals import request_ctx

from lms.core.i18n import lazy_gettext as _l

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: For answers that name people or hold their data: no shared cache may keep a copy.
NO_STORE = "private, no-store"

MESSAGES = {
    400: (_l("Something in the request was wrong"), _l("The page may have been open too long. Go back, reload it and try again.")),
    403: (_l("You cannot open this page"), _l("Your account does not have access to this page.")),
    404: (_l("Page not found"), _l("The address may be mistyped, or the page has been removed.")),
    405: (_l("Something in the request was wrong"), _l("This action is not allowed here.")),
    413: (_l("The file is too large"), _l("The file is bigger than this site accepts.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes, then try again.")),
    500: (_l("Something went wrong on our side"), _l("Nothing you did caused this. Please try again in a moment.")),
    401: (_l("Please log in first"), _l("Please log in again.")),
    503: (_l("The site is busy"), _l("Many people are using it right now. Please try again in a few seconds.")),
}


#: Machine-readable error names in JSON answers (the `error` of the API's ErrorBody).
JSON_ERRORS = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 429: "too_many_requests", 500: "server_error",
               503: "busy"}


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path.endswith(".json")


def _wants_json() -> bool:
    return is_api_request() or request.accept_mimetypes.best == "application/json"


def render_error(code: int, detail: str | None = None, headers=None, error: str | None = None):
    """Render the error page (or JSON for the API) for an HTTP status code."""
    title, text = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    if request_ctx.url_adapter is None:
        # The request named a host this site does not answer to: no address can be built for a
        # page (its styles, its links), and none may name that host. Plain words, nothing else.
        response = make_response(f"{title}. {_l('This site does not answer at this address. Check the address you typed.')}\n", code)
        response.mimetype = "text/plain"
        return response
    if _wants_json():
        response = jsonify(error=error or JSON_ERRORS.get(code, "error"), detail=str(detail or text))
        if request.path.startswith("/api/v1/uploads"):
            response.headers["Tus-Resumable"] = "1.0.0"  # tus clients read errors only with it
    else:
        response = make_response(render_template("errors/error.html", code=code, title=title, text=detail or text))
    response.status_code = code
    for name, value in headers or ():
        response.headers[name] = value
    return response
