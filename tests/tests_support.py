"""Helpers shared by tests (kept apart from conftest so test modules can import them).

Import from here, never ``from conftest import``: several folders have a conftest.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from greencircle.config import Settings

DEMO_PASSWORD = "demo-pass-2026"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(url: str, tmp: Path, **overrides: Any) -> Settings:
    """Settings for a test app on ``url``."""
    overrides.setdefault("exchange_enforce_hours", False)
    return Settings(database_url=url, var_dir=tmp, secret_key=TEST_SECRET, **overrides)


class Api:
    """A TestClient with helpers to log in as demo users."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        if username not in self._tokens:
            r = self.client.post(
                "/v1/auth/token", data={"username": username, "password": password}
            )
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def get(self, path: str, user: str | None = None, **kw: Any) -> Any:
        headers = {**(self.auth(user) if user else {}), **kw.pop("headers", {})}
        return self.client.get(path, headers=headers, **kw)

    def post(self, path: str, user: str | None = None, **kw: Any) -> Any:
        headers = {**(self.auth(user) if user else {}), **kw.pop("headers", {})}
        return self.client.post(path, headers=headers, **kw)

    def patch(self, path: str, user: str | None = None, **kw: Any) -> Any:
        headers = {**(self.auth(user) if user else {}), **kw.pop("headers", {})}
        return self.client.patch(path, headers=headers, **kw)

    def delete(self, path: str, user: str | None = None, **kw: Any) -> Any:
        headers = {**(self.auth(user) if user else {}), **kw.pop("headers", {})}
        return self.client.delete(path, headers=headers, **kw)

    def org_id(self, code: str) -> str:
        r = self.get(f"/v1/organisations?q={code}", "gc-secretariat")
        matches = [o for o in r.json()["items"] if o["code"] == code]
        assert len(matches) == 1, code
        return str(matches[0]["id"])


def make_api(url: str, tmp: Path, **overrides: Any) -> Iterator[Api]:
    from fastapi.testclient import TestClient

    from greencircle.api.app import create_app

    app = create_app(make_settings(url, tmp, **overrides))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client)
    app.state.engine.dispose()


class TextOnly(HTMLParser):
    """Visible text of a page (script and style skipped)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag, attrs):
        self._skip = tag in {"script", "style"}
        for name, value in attrs:
            if name in {"title", "aria-label", "placeholder", "alt"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = TextOnly()
    parser.feed(html)
    return "\n".join(p.strip() for p in parser.parts if p.strip())


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def serving(database_url: str, var_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``greencircle serve`` in a subprocess on a free loopback port.

    Yields the base URL and the process (a test may kill it); stops it afterwards.
    """
    port = free_port()
    env = {
        **os.environ,
        "GREENCIRCLE_DATABASE_URL": database_url,
        "GREENCIRCLE_SECRET_KEY": TEST_SECRET,
        "GREENCIRCLE_VAR_DIR": str(var_dir),
        # tests run on any day at any hour: trading hours are tested at service level
        "GREENCIRCLE_EXCHANGE_ENFORCE_HOURS": "false",
    }
    # Output goes to a file: an unread pipe fills up under a burst of requests and blocks
    # the server on its access log.
    log_path = Path(var_dir) / f"server-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "greencircle.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/v1/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(timeout=10)
                log.close()
                out = log_path.read_text(errors="replace")
                raise RuntimeError(f"server did not start:\n{out}") from None
            time.sleep(0.1)
    try:
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)
        log.close()


@contextmanager
def running_server(database_url: str, var_dir: Path) -> Iterator[str]:
    """:func:`serving`, yielding only the base URL."""
    with serving(database_url, var_dir) as (base, _proc):
        yield base


@contextmanager
def demo_server(tmp: Path) -> Iterator[tuple[str, str]]:
    """Run ``greencircle demo load`` on a fresh SQLite file, then serve it.

    Yields the base URL and the output of ``demo load``.
    """
    url = f"sqlite:///{tmp / 'demo.sqlite'}"
    env = {
        **os.environ,
        "GREENCIRCLE_DATABASE_URL": url,
        "GREENCIRCLE_VAR_DIR": str(tmp),
        "GREENCIRCLE_SECRET_KEY": TEST_SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "greencircle.cli.main", "demo", "load"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with running_server(url, tmp) as base:
        yield base, done.stdout


def console_login(api: Any, username: str, lang: str) -> Any:
    """Sign in to the console through its form, with the language cookie set."""
    api.client.cookies.clear()
    api.client.cookies.set("gc_lang", lang)
    r = api.client.post("/console/login", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    assert r.url.path == "/console"
    return r


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never Playwright's own browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError("Chromium missing: run `make system-deps`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
