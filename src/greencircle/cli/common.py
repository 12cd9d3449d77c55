"""Shared CLI plumbing: settings, unit of work, error rendering, acting user."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from greencircle.auth.policy import Actor
from greencircle.auth.repository import UserRepo
from greencircle.auth.service import actor_for_user
from greencircle.config import get_settings
from greencircle.errors import NotFound, PlatformError
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a :class:`PlatformError` as ``error: <code>: <detail>`` and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PlatformError as exc:
            detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
            err_console.print(f"[red]error: {exc.code}[/red]: {detail}", highlight=False)
            raise typer.Exit(1) from exc

    return wrapper


@contextmanager
def cli_session() -> Iterator[Session]:
    """One unit of work on the configured database (commit on success)."""
    engine = make_engine(get_settings().database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def actor_for(session: Session, username: str) -> Actor:
    """The actor of a local CLI command run ``--as`` a platform user.

    The CLI runs with direct database access (an operator's tool); acting as a named
    user keeps the same permission and scope checks as the API.
    """
    user = UserRepo(session).by_username(username)
    if user is None or not user.is_active:
        raise NotFound(f"no active user {username!r}", code="unknown_user")
    return actor_for_user(user, auth_method="cli", token_id="")


def print_json(data: Any) -> None:
    """Write JSON to stdout (machine-readable output)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
