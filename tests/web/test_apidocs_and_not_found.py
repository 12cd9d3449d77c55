"""API documentation without a CDN, and the console's own 404 page.

``mount_api_docs`` and ``install_console_not_found`` are applied here explicitly; both are
idempotent, so the tests hold before and after ``create_app`` calls them itself.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from greencircle.api.app import create_app
from greencircle.web.apidocs import mount_api_docs
from greencircle.web.console import STATIC_DIR, install_console_not_found
from greencircle.web.i18n import catalog
from tests_support import console_login, make_settings, visible_text

VENDOR_README = STATIC_DIR / "vendor" / "README.md"


def wired_app(url: str, tmp: Path) -> FastAPI:
    app = create_app(make_settings(url, tmp))
    mount_api_docs(app)
    install_console_not_found(app)
    return app


@pytest.fixture
def client(databases, tmp_path):
    app = wired_app(databases.new("sqlite", "demo"), tmp_path)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.engine.dispose()


def local_assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_load_only_local_assets(client, page):
    r = client.get(page)
    assert r.status_code == 200
    urls = local_assets(r.text)
    assert urls, r.text
    for url in urls:
        assert url.startswith("/static/vendor/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500, url
    assert "cdn." not in r.text and "googleapis" not in r.text
    assert "/openapi.json" in r.text


def test_vendored_files_match_the_hashes_in_the_readme():
    readme = VENDOR_README.read_text("utf-8")
    listed = dict(re.findall(r"`([\w./-]+)`[^\n]*?SHA-256 `([0-9a-f]{64})`", readme))
    for name in (
        "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui/swagger-ui.css",
        "redoc/redoc.standalone.js",
    ):
        digest = hashlib.sha256((STATIC_DIR / "vendor" / name).read_bytes()).hexdigest()
        assert listed.get(name) == digest, name
    for licence in ("swagger-ui/LICENSE", "swagger-ui/NOTICE", "redoc/LICENSE"):
        assert (STATIC_DIR / "vendor" / licence).stat().st_size > 40


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_unknown_console_url_gets_the_console_404_page(client, lang):
    from tests_support import Api

    console_login(Api(client), "cq-eeb", lang)
    r = client.get("/console/no-such-page/at-all")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    text = visible_text(r.text)
    assert catalog(lang)["error.not_found"] in text
    assert catalog(lang)["nav.organisations"] in text  # the menu of the signed-in user
    # signed out: still HTML, without the menu
    client.cookies.delete("gc_session")
    r = client.get("/console/registry/nowhere")
    assert r.status_code == 404
    assert catalog(lang)["error.not_found"] in visible_text(r.text)


def test_api_paths_keep_json_errors(client):
    r = client.get("/v1/no-such-endpoint")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": "Not Found"}
    r = client.get("/consolex")
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.browser
def test_swagger_ui_renders_offline_in_a_browser(databases, tmp_path, browser, serve_app):
    app = wired_app(databases.new("sqlite", "demo"), tmp_path)
    with serve_app(app) as base:
        context = browser.new_context()
        outside: list[str] = []

        def only_local(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        page.goto(f"{base}/docs")
        page.wait_for_selector("[data-path='/v1/health']", timeout=30_000)
        page.wait_for_selector("[data-path='/v1/auth/token']", state="attached")
        page.goto(f"{base}/redoc")
        page.wait_for_function(
            "document.body.innerText.includes('/v1/organisations/{org_id}')", timeout=30_000
        )
        context.close()
        # Everything comes from the server except ReDoc's decorative "by Redocly" logo,
        # which the bundle hard-codes to its CDN (blocked here; the page works without it)
        assert set(outside) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
    app.state.engine.dispose()


def test_wrong_method_on_a_console_url_gets_the_console_page(client):
    r = client.get("/console/logout")  # a form target: POST only
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("text/html")
    assert "method_not_allowed" in r.text
