"""Interactive API documentation served from the package (no CDN).

FastAPI's built-in ``/docs`` page loads Swagger UI from cdn.jsdelivr.net and a favicon
from fastapi.tiangolo.com; without internet access it is a blank page. The same pages are
registered here with the vendored assets under ``/static/vendor/`` (Swagger UI 5.35.0 from
npm ``swagger-ui-dist``, ReDoc 2.5.4 from npm ``redoc``; licences next to the files,
versions and hashes in ``web/static/vendor/README.md``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

VENDOR = "/static/vendor"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def _is_docs_route(route: BaseRoute) -> bool:
    return isinstance(route, Route) and route.path in {DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL}


def mount_api_docs(app: FastAPI) -> None:
    """Register ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) using the local assets.

    Any CDN-backed documentation routes FastAPI added (``docs_url``/``redoc_url``) are
    replaced, so this works whether or not the app was created with ``docs_url=None``.

    Parameters
    ----------
    app
        The application; its ``openapi_url`` must be set.
    """
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title
    app.router.routes[:] = [r for r in app.router.routes if not _is_docs_route(r)]

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
