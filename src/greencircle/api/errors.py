"""Rendering of errors as ``{"error": code, "detail": ...}`` with the right status."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from greencircle.errors import Conflict, PlatformError, RateLimited

log = logging.getLogger("greencircle.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ValidationIssue(BaseModel):
    """One reason a request failed validation (an item of a ``validation_error`` detail)."""

    loc: list[str] = Field(description="where: `body`/`query`/`path`/`header` then the field path")
    type: str = Field(description="machine-readable kind, e.g. `missing`, `int_parsing`")
    msg: str = Field(description="human-readable explanation")


class ErrorBody(BaseModel):
    """Every error the API answers: a stable code and a detail.

    ``detail`` is a sentence for business rejections (``invalid``, ``not_found``, ...), the
    list of :class:`ValidationIssue` for ``validation_error`` (422) and ``malformed_json``
    (400), and a list of row errors (objects) for file and batch inputs.
    """

    error: str = Field(description="stable machine-readable error code", examples=["not_found"])
    detail: str | list[ValidationIssue] | list[dict[str, Any]] | dict[str, Any] = Field(
        description="explanation: text, validation issues, or row errors"
    )


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "type": err.get("type", ""),
                "msg": err.get("msg", ""),
            }
        )
    return out


HtmlRenderer = Callable[[Request, Exception], Response]


@lru_cache(maxsize=512)
def _path_regex(path_format: str) -> re.Pattern[str]:
    return compile_path(path_format)[0]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``app`` answers at ``path`` (for a 405's ``Allow``).

    Starlette names only the methods of the first route whose path matches; a resource
    served by several routes (``GET`` and ``POST`` of a collection) has them all. As in
    OpenAPI, a concrete path (``/holds/cash``) is its own resource, not an instance of a
    templated one that also matches (``/holds/{hold_id}``): only the routes with the
    fewest path parameters count.
    """
    by_params: dict[int, set[str]] = {}
    for context in iter_route_contexts(app.routes):
        fmt, route_methods = context.path_format, context.methods
        if fmt and route_methods and _path_regex(fmt).match(path):
            by_params.setdefault(fmt.count("{"), set()).update(route_methods)
    return sorted(by_params[min(by_params)]) if by_params else []


def install_error_handlers(
    app: FastAPI, *, html_prefix: str = "", html_error: HtmlRenderer | None = None
) -> None:
    """Register the handlers so that every error leaves the API in the same shape.

    Parameters
    ----------
    app
        The application.
    html_prefix, html_error
        Requests whose path starts with ``html_prefix`` (the console) get ``html_error``'s
        HTML page instead of JSON.
    """

    def wants_html(request: Request) -> bool:
        return bool(html_prefix) and request.url.path.startswith(html_prefix)

    @app.exception_handler(PlatformError)
    async def platform_error(request: Request, exc: PlatformError) -> Response:
        if html_error is not None and wants_html(request):
            return html_error(request, exc)
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after_s)
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        detail = _validation_detail(exc)
        if html_error is not None and wants_html(request):
            return html_error(request, PlatformError(detail, code="validation_error"))
        if any(d["type"] == "json_invalid" for d in detail):
            return JSONResponse({"error": "malformed_json", "detail": detail}, status_code=400)
        return JSONResponse({"error": "validation_error", "detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        return JSONResponse(
            {"error": code, "detail": exc.detail}, status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # Services check constraints first; this is a concurrent change that won a race.
        err = Conflict(
            "a concurrent change conflicted with this request; retry", code="concurrent_conflict"
        )
        return await platform_error(request, err)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        if html_error is not None and wants_html(request):
            return html_error(request, exc)
        return JSONResponse(
            {"error": "internal_error", "detail": "unexpected server error; it has been logged"},
            status_code=500,
        )
