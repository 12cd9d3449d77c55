"""Helpers shared by tests (kept apart from conftest so test modules can import them).

Import from here, never ``from conftest import``: several folders have a conftest.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
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
