"""The OpenAPI document as clients meet the API: one error model, statuses, auth, media types.

FastAPI documents every route with its success answer and, for routes that take input, a
422 in FastAPI's own shape. The API answers differently (see :mod:`greencircle.api.errors`):
every error is an :class:`~greencircle.api.errors.ErrorBody`, and 400/401/403/404/409/413/429
happen too. :func:`install_openapi` post-processes the generated document once:

* each operation gets the error statuses that can happen to it (table below), all with the
  ``ErrorBody`` schema; FastAPI's ``HTTPValidationError`` is gone;
* operations behind authentication declare the bearer token and API key schemes (``security``)
  and 401/403;
* routes that answer with a raw :class:`~starlette.responses.Response` (files, event streams)
  declare only their own media types, not JSON (:func:`file_response`).

=====  ==================================================================================
code   documented when
=====  ==================================================================================
400    the operation takes a body (malformed JSON) or mutates (bad ``Idempotency-Key``)
401    the operation needs a credential (missing, expired or revoked)
403    the operation needs a credential (role, organisation or jurisdiction not allowed)
404    the operation takes parameters or a body (a referenced resource is unknown)
409    the operation mutates (state conflict, idempotency key reused)
413    the operation mutates (body over the configured limit)
422    the operation takes parameters or a body (validation or business rejection)
429    the operation is rate limited (:data:`EXTRA_STATUSES`)
=====  ==================================================================================
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase
from starlette.responses import Response

from greencircle.api.deps import current_actor
from greencircle.api.errors import ErrorBody, ValidationIssue

__all__ = ["EXTRA_STATUSES", "error_statuses", "file_response", "install_openapi"]

MUTATING = frozenset({"post", "put", "patch", "delete"})

#: Statuses of operations beyond the table: login answers 401 to wrong credentials and 429
#: ``rate_limited`` while throttled (per user and per address).
EXTRA_STATUSES: dict[tuple[str, str], frozenset[int]] = {
    ("post", "/v1/auth/token"): frozenset({401, 429}),
}

_DESCRIPTIONS = {
    400: "Malformed request (`malformed_json`, `invalid_idempotency_key`, ...)",
    401: "No valid credential (`not_authenticated`, `invalid_token`, ...)",
    403: "Not allowed for this role, organisation or jurisdiction",
    404: "A resource in the path or body does not exist or is not visible",
    409: "Conflicts with the current state (`conflict`, `idempotency_key_reused`, ...)",
    413: "Request body over the configured limit (`payload_too_large`)",
    422: "Validation failed (`validation_error`, detail lists the issues) "
    "or a business rule rejected the request (detail is text)",
    429: "Too many attempts (`rate_limited`); retry after `Retry-After` seconds",
}
_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "authentication scheme (`Bearer`)",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "seconds to wait before retrying",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}
_SECURITY_SCHEMES = {
    "HTTPBearer": {"type": "http", "scheme": "bearer", "description": "token of `/v1/auth/token`"},
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_REF = "#/components/schemas/"


def file_response(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering a file or stream in ``media_types`` (not JSON).

    Parameters
    ----------
    media_types
        The media types the route answers with, e.g. ``"text/csv"``.
    description
        What the 200 answer is.
    """
    content: dict[str, Any] = {
        m: {"schema": {"type": "string", "format": "binary"}} for m in media_types
    }
    return {200: {"description": description, "content": content}}


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def needs_credential(route: APIRoute) -> bool:
    """Whether ``route`` authenticates its caller (directly or through a dependency)."""
    return any(c is current_actor or isinstance(c, SecurityBase) for c in _calls(route.dependant))


def _returns_raw_response(route: APIRoute) -> bool:
    ret = inspect.signature(route.endpoint).return_annotation
    if isinstance(ret, str):  # postponed annotations
        return ret.rsplit(".", 1)[-1] in {"Response", "StreamingResponse", "FileResponse"}
    return inspect.isclass(ret) and issubclass(ret, Response)


def error_statuses(method: str, path: str, operation: dict[str, Any], authed: bool) -> set[int]:
    """The error statuses an operation can answer (see the module's table)."""
    takes_input = bool(operation.get("parameters")) or "requestBody" in operation
    mutating = method in MUTATING
    out: set[int] = set()
    if mutating or "requestBody" in operation:
        out.add(400)
    if authed:
        out |= {401, 403}
    if takes_input:
        out |= {404, 422}
    if mutating:
        out |= {409, 413}
    return out | EXTRA_STATUSES.get((method, path), frozenset())


def document(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """Post-process a generated OpenAPI ``schema`` of ``routes`` in place and return it."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (ValidationIssue, ErrorBody):
        generated = model.model_json_schema(ref_template=_REF + "{model}")
        generated.pop("$defs", None)  # each model is its own component
        schemas[model.__name__] = generated
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {**components.get("securitySchemes", {}), **_SECURITY_SCHEMES}
    error_content = {"application/json": {"schema": {"$ref": _REF + "ErrorBody"}}}
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        path = str(context.path_format)
        authed = needs_credential(route)
        raw = _returns_raw_response(route)
        for method in sorted(context.methods or ()):
            op = schema["paths"].get(path, {}).get(method.lower())
            if op is None:
                continue
            responses: dict[str, Any] = op.setdefault("responses", {})
            for status in error_statuses(method.lower(), path, op, authed):
                entry: dict[str, Any] = {
                    "description": _DESCRIPTIONS[status],
                    "content": error_content,
                }
                if status in _HEADERS:
                    entry["headers"] = _HEADERS[status]
                responses[str(status)] = entry
            if authed:
                op["security"] = [{"HTTPBearer": []}, {"ApiKey": []}]
            ok = responses.get("200", {}).get("content", {})
            if raw and len(ok) > 1:  # a file route: its own media types, not FastAPI's JSON
                ok.pop("application/json", None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the post-processed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document(generated, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
