"""JSON API helpers: validate bodies with pydantic and describe every endpoint in one OpenAPI document."""

import functools
import json
import re
from dataclasses import dataclass, field

from flask import current_app, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from lms.core.i18n import lazy_gettext as _l

API_PREFIX = "/api/v1"


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    body: type[BaseModel] | None
    #: status -> (description, model); the model may be a tuple of alternatives
    responses: dict[int, tuple[str, type[BaseModel] | tuple | None]]
    tags: list[str] = field(default_factory=list)


#: Every documented operation, filled in as blueprints are imported.
OPERATIONS: list[Operation] = []

#: Answers any documented call may get, besides its own.
COMMON_RESPONSES = {
    400: "A malformed request, e.g. an expired CSRF token",
    401: "Not logged in, or the session has expired: log in again, then send again",
    404: "No such object",
    405: "Method not allowed (the Allow header lists the right ones)",
    413: "The body is too large",
    429: "Too many requests",
}


def api_operation(path: str, method: str, *, summary: str, body: type[BaseModel] | None = None,
                  responses: dict[int, tuple[str, type[BaseModel] | None]] | None = None, tags=()):
    """Document a view in the OpenAPI document and, when `body` is given, validate the JSON body.

    The validated body is passed to the view as the keyword argument `payload`.
    A body that does not validate gets 422 with every problem listed, in the user's language.
    JSON is parsed strictly: "5" is not a number and a string with a NUL byte is refused.
    """
    operation = Operation(path, method.lower(), summary, body, responses or {200: ("OK", None)}, list(tags))
    OPERATIONS.append(operation)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if getattr(view, "_requires_login", False) and not current_user.is_authenticated:
                return _unauthenticated()  # before the body: a logged-out phone must learn to log in first
            if body is not None:
                raw = request.get_data(cache=True)
                if _NUL.search(raw):
                    return jsonify(error="invalid", detail=[{"field": "", "message": str(_l(
                        "The text contains a character that cannot be saved."))}]), 422
                try:
                    kwargs["payload"] = body.model_validate_json(_whole_numbers_as_ints(raw), strict=True)
                except ValidationError as exc:
                    return jsonify(error="invalid", detail=_problems(exc)), 422
            return view(*args, **kwargs)

        wrapped._api_operation = operation
        return wrapped

    return decorator


def _whole_numbers_as_ints(raw: bytes) -> bytes:
    """Rewrite 394.0 as 394, as JSON Schema counts it an integer; strict pydantic would refuse it.

    Anything that is not JSON, NaN and Infinity included, is passed on for pydantic to refuse.
    """
    def refuse(constant):
        raise ValueError(constant)

    try:
        data = json.loads(raw or b"{}", parse_constant=refuse)
    except (ValueError, RecursionError):
        return raw
    try:
        return json.dumps(_ints(data)).encode()
    except RecursionError:
        return raw


def _ints(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return value


_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


#: pydantic's error types, told in words a trainee understands (its own messages are English).
_MESSAGES = {
    "missing": _l("A required value is missing."),
    "extra_forbidden": _l("This value is not expected here."),
    "json_invalid": _l("The data sent is not valid JSON."),
    "json_type": _l("The data sent is not valid JSON."),
    "model_type": _l("The data sent has the wrong shape."),
    "model_attributes_type": _l("The data sent has the wrong shape."),
    "dict_type": _l("The data sent has the wrong shape."),
    "list_type": _l("A list of values is expected here."),
    "tuple_type": _l("A list of values is expected here."),
    "int_type": _l("A whole number is expected here."),
    "int_parsing": _l("A whole number is expected here."),
    "int_from_float": _l("A whole number is expected here."),
    "float_type": _l("A number (possibly with decimals) is expected here."),
    "float_parsing": _l("A number (possibly with decimals) is expected here."),
    "finite_number": _l("A number (possibly with decimals) is expected here."),
    "bool_type": _l("Yes or no (true or false) is expected here."),
    "string_type": _l("A piece of text is expected here."),
    "string_too_long": _l("This text is longer than allowed."),
    "string_too_short": _l("This text is shorter than allowed."),
    "too_long": _l("The list has more items than allowed."),
    "too_short": _l("The list has fewer items than needed."),
    "greater_than": _l("The number is outside the allowed range."),
    "greater_than_equal": _l("The number is outside the allowed range."),
    "less_than": _l("The number is outside the allowed range."),
    "less_than_equal": _l("The number is outside the allowed range."),
    "literal_error": _l("This value is not one of the allowed ones."),
    "enum": _l("This value is not one of the allowed ones."),
    "uuid_type": _l("This id is not valid."),
    "uuid_parsing": _l("This id is not valid."),
    "datetime_type": _l("A date and time with a time zone is expected here."),
    "datetime_parsing": _l("A date and time with a time zone is expected here."),
    "datetime_from_date_parsing": _l("A date and time with a time zone is expected here."),
    "timezone_aware": _l("A date and time with a time zone is expected here."),
    "datetime_object_invalid": _l("A date and time with a time zone is expected here."),
}


def _problems(exc: ValidationError) -> list[dict]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = _MESSAGES.get(error["type"])
        if message is None and error["type"] in {"value_error", "assertion_error"}:
            message = (error.get("ctx") or {}).get("error")  # our own validators raise translated messages
        problems.append({"field": ".".join(str(p) for p in error["loc"]),
                         "message": str(message or _l("This value cannot be accepted."))})
    return problems


class ErrorBody(BaseModel):
    error: str
    detail: str | list | None = None


def _parameter_schema(converter) -> dict:
    from werkzeug.routing import IntegerConverter

    if isinstance(converter, IntegerConverter):
        schema = {"type": "integer", "minimum": converter.min if converter.min is not None else 0}
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    return {"type": "string", "pattern": "^[^/\\x00]+$"}


def _models(model) -> tuple:
    """A response's models: none, one, or a tuple of alternatives."""
    if model is None:
        return ()
    return model if isinstance(model, tuple) else (model,)


def _readable_name(qualified: str) -> str:
    """'lms__quizzes__forms__SubmissionIn' -> 'QuizzesSubmissionIn' (pydantic's name for one of two alike)."""
    parts = qualified.split("__")
    return parts[1].title().replace("_", "") + parts[-1] if len(parts) > 2 else parts[-1]


def openapi_document(title: str, version: str = "1.0.0") -> dict:
    """Build the OpenAPI 3.1 document from the routes that carry `api_operation` and their pydantic models."""
    models: list[type[BaseModel]] = [ErrorBody]
    found: list[tuple[Operation, object, object]] = []
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        op = getattr(view, "_api_operation", None)
        if op is not None and op.method.upper() in rule.methods:
            found.append((op, rule, view))
            if op.body is not None:
                models.append(op.body)
            models += [model for _description, model in op.responses.values() for model in _models(model)]
    # One pass over every model: pydantic names two models called alike (quizzes' and assignments'
    # SubmissionIn) apart, instead of the second silently replacing the first.
    unique = list(dict.fromkeys(models))
    keys, defs = models_json_schema([(model, "validation") for model in unique],
                                    ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})
    renames = {name: _readable_name(name) for name in schemas if "__" in name}

    def ref(model):
        target = keys[(model, "validation")]["$ref"].rsplit("/", 1)[1]
        return {"$ref": f"#/components/schemas/{renames.get(target, target)}"}

    paths: dict = {}
    for op, rule, view in sorted(found, key=lambda item: item[1].rule):
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        entry: dict = {"summary": op.summary, "tags": op.tags, "operationId": rule.endpoint.replace(".", "_"),
                       "responses": {}}
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
        documented = dict(op.responses)
        if op.body is not None:
            # A body that fails the schema gets ErrorBody, whatever else the view answers with 422.
            description, model = documented.get(422, ("The body does not match the schema", None))
            documented[422] = (description, tuple(dict.fromkeys((*_models(model), ErrorBody))))
        public = not getattr(view, "_requires_login", False)
        for status, description in COMMON_RESPONSES.items():
            if public and status == 401:
                continue
            documented.setdefault(status, (description, ErrorBody))
        for status, (description, model) in sorted(documented.items()):
            response: dict = {"description": description}
            if model is not None:
                choices = [ref(m) for m in _models(model)]
                schema = choices[0] if len(choices) == 1 else {"anyOf": choices}
                response["content"] = {"application/json": {"schema": schema}}
            if status == 405:
                response["headers"] = {"Allow": {"description": "The methods this address accepts",
                                                 "schema": {"type": "string"}}}
            entry["responses"][str(status)] = response
        parameters = [{"name": name, "in": "path", "required": True, "schema": _parameter_schema(converter)}
                      for name, converter in rule._converters.items()]
        if parameters:
            entry["parameters"] = parameters
        if public:
            entry["security"] = []
        elif op.method in {"get", "head"}:
            entry["security"] = [{"session": []}]
        paths.setdefault(path, {})[op.method] = entry
    if renames:
        text = json.dumps(schemas)
        for old, new in renames.items():
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
        schemas = {renames.get(name, name): schema for name, schema in json.loads(text).items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Làng Số JSON API. Browser calls carry the session cookie and, when they change "
                                "something, the CSRF token in an X-CSRFToken header. An expired session gets "
                                "401 in JSON: log in again, then send again."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"},
                                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"}},
        },
        "security": [{"session": [], "csrf": []}],
    }


def api_error(status: int, error: str, detail=None):
    """Answer a JSON API call with an error code, a message for people, and a status."""
    return jsonify(error=error, detail=detail), status


def api_login_required(view):
    """Answer 401 in JSON, rather than redirecting to the login page."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _unauthenticated()
        return view(*args, **kwargs)

    wrapped._requires_login = True
    return wrapped


def _unauthenticated():
    from lms.core.i18n import gettext as _

    return api_error(401, "unauthenticated", _("Please log in again."))
