"""A request that fails mid-transaction leaves the database writable for the next one.

Regression (issue #10, item 7): an unexpected exception on a console page was rendered by
the outermost error handler *after* the unit of work had closed the request's session;
rendering looked up the user's organisation through that session, which opened a new
transaction (SQLite ``BEGIN IMMEDIATE``) that nobody closed. Every later writer, starting
with the next console login, waited out the 30 s busy timeout and failed with
``database is locked``. Checked here with the TestClient and with a real uvicorn server.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greencircle.api.app import create_app
from greencircle.api.deps import SessionDep
from greencircle.auth.models import AccessEvent
from greencircle.auth.service import record_event
from greencircle.web.console import ConsoleActor, render
from tests_support import DEMO_PASSWORD, make_settings

MARKER = "test.failing_request"


def failing_app(url: str, tmp: Path) -> FastAPI:
    """The platform app with two console routes that fail inside their transaction."""
    app = create_app(make_settings(url, tmp))

    @app.get("/console/test-fails-while-rendering")
    def fails_while_rendering(request: Request, actor: ConsoleActor) -> object:
        # the actor lookup has opened the transaction; dashboard.html needs ``me``
        return render(request, "dashboard.html", actor=actor)

    @app.post("/console/test-fails-after-writing")
    def fails_after_writing(actor: ConsoleActor, session: SessionDep) -> object:
        record_event(session, actor, MARKER, "test", "x", actor.org_id)
        session.flush()
        raise RuntimeError("failure after a write, inside the transaction")

    return app


def db_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def assert_writable(url: str) -> None:
    """A second connection takes the write lock at once (no waiting: timeout 0)."""
    con = sqlite3.connect(db_path(url), timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")  # raises "database is locked" if a lock is held
        con.execute("ROLLBACK")
    finally:
        con.close()


def marker_rows(app: FastAPI) -> int:
    with Session(app.state.engine) as s:
        stmt = select(func.count()).select_from(AccessEvent).where(AccessEvent.action == MARKER)
        return int(s.scalar(stmt) or 0)


def exercise(client: httpx.Client | TestClient, url: str, app: FastAPI) -> None:
    r = client.post("/console/login", data={"username": "cq-eeb", "password": DEMO_PASSWORD})
    assert r.status_code in (200, 303), r.text
    r = client.get("/console/test-fails-while-rendering")
    assert r.status_code == 500
    assert "internal_error" in r.text  # the console's error page, not a bare trace
    assert_writable(url)
    r = client.post("/console/test-fails-after-writing")
    assert r.status_code == 500
    assert_writable(url)
    assert marker_rows(app) == 0  # the write was rolled back
    # the next console login (a write: its attempt is recorded) goes through
    client.cookies.clear()
    r = client.post("/console/login", data={"username": "sc-eed", "password": DEMO_PASSWORD})
    assert r.status_code in (200, 303), r.text
    assert "gc_session" in client.cookies


def test_failing_console_request_releases_the_database_testclient(databases, tmp_path):
    url = databases.new("sqlite", "demo")
    app = failing_app(url, tmp_path)
    with TestClient(app, raise_server_exceptions=False) as client:
        exercise(client, url, app)
    app.state.engine.dispose()


def test_failing_console_request_releases_the_database_real_server(databases, tmp_path, serve_app):
    url = databases.new("sqlite", "demo")
    app = failing_app(url, tmp_path)
    # uvicorn closes a connection after an application error: no keep-alive here
    fresh = httpx.Limits(max_keepalive_connections=0)
    with (
        serve_app(app) as base,
        httpx.Client(base_url=base, timeout=60, limits=fresh) as client,
    ):
        exercise(client, url, app)
    app.state.engine.dispose()
