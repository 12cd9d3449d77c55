"""Fixtures of the console tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import uvicorn

from tests_support import free_port


@contextmanager
def _uvicorn_server(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def serve_app() -> Callable[[Any], AbstractContextManager[str]]:
    """``with serve_app(app) as base_url:`` runs an app object behind a real uvicorn server
    (in a thread, on a loopback port), for apps a test has changed (extra routes)."""
    return _uvicorn_server
