"""Rendering of errors as ``{"error": code, "detail": ...}`` with the right status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
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
