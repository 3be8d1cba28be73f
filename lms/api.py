"""JSON API helpers: validate bodies with pydantic and describe every endpoint in one OpenAPI document."""

import functools
from dataclasses import dataclass, field

from flask import jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError

API_PREFIX = "/api/v1"


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    body: type[BaseModel] | None
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    tags: list[str] = field(default_factory=list)


#: Every documented operation, filled in as blueprints are imported.
OPERATIONS: list[Operation] = []


def api_operation(path: str, method: str, *, summary: str, body: type[BaseModel] | None = None,
                  responses: dict[int, tuple[str, type[BaseModel] | None]] | None = None, tags=()):
    """Document a view in the OpenAPI document and, when `body` is given, validate the JSON body.

    The validated body is passed to the view as the keyword argument `payload`.
    A body that does not validate gets 422 with every problem listed.
    """
    operation = Operation(path, method.lower(), summary, body, responses or {200: ("OK", None)}, list(tags))
    OPERATIONS.append(operation)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if body is not None:
                try:
                    kwargs["payload"] = body.model_validate(request.get_json(silent=True) or {})
                except ValidationError as exc:
                    return jsonify(error="invalid", detail=_problems(exc)), 422
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _problems(exc: ValidationError) -> list[dict]:
    return [{"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]} for error in exc.errors()]


class ErrorBody(BaseModel):
    error: str
    detail: str | list | None = None


def openapi_document(title: str, version: str = "1.0.0") -> dict:
    """Build the OpenAPI 3.1 document from the registered operations and their pydantic models."""
    schemas: dict = {"ErrorBody": ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")}
    paths: dict = {}

    def ref(model: type[BaseModel]) -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    for op in OPERATIONS:
        entry: dict = {"summary": op.summary, "tags": op.tags, "responses": {}}
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
            op.responses.setdefault(422, ("The body does not match the schema", ErrorBody))
        for status, (description, model) in sorted(op.responses.items()):
            response: dict = {"description": description}
            if model is not None:
                response["content"] = {"application/json": {"schema": ref(model)}}
            entry["responses"][str(status)] = response
        parameters = [
            {"name": part[1:-1].split(":")[-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for part in op.path.split("/") if part.startswith("{")
        ]
        if parameters:
            entry["parameters"] = parameters
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Làng Số JSON API. Browser calls carry the session cookie and, when they change "
                                "something, the CSRF token in an X-CSRFToken header."},
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
            from lms.i18n import gettext as _

            return api_error(401, "unauthenticated", _("Please log in again."))
        return view(*args, **kwargs)

    return wrapped
