"""Shared fixtures: databases (SQLite and a real PostgreSQL server), app clients, logins.

The PostgreSQL server is a throwaway cluster started here (``initdb`` + ``pg_ctl`` in a
temporary directory on a loopback port) and stopped at the end of the session. Sessions
and CI run as root, which PostgreSQL refuses, so its binaries run as the ``postgres``
system user. ``make test`` installs Debian's ``postgresql`` package when it is missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from greencircle.storage import migrate
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
from tests_support import Api, chromium, free_port, make_api


class PostgresServer:
    """A throwaway PostgreSQL cluster on loopback."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError(
                "PostgreSQL server binaries not found: run `make system-deps` "
                "(installs Debian's postgresql package)"
            )
        self.bindir = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="gc-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "greencircle",
            "-E",
            "UTF8",
            "--no-locale",
        )
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off -c synchronous_commit=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://greencircle@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            tpl = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{tpl}'))
        engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


class Databases:
    """Makes fresh databases, empty-but-migrated or with the demo scenario loaded."""

    def __init__(self, tmp: Path, pg: Callable[[], PostgresServer]) -> None:
        self.tmp = tmp
        self._pg = pg
        self._templates: dict[tuple[str, str], str] = {}
        self._n = 0

    def _build(self, url: str, kind: str) -> None:
        migrate.upgrade(url)
        if kind == "demo":
            from greencircle.demo.scenario import load_demo

            engine = make_engine(url)
            with unit_of_work(make_session_factory(engine)) as session:
                load_demo(session)
            engine.dispose()

    def new(self, backend: str, kind: str = "migrated") -> str:
        """URL of a new database of ``backend`` (sqlite|postgres) and ``kind``."""
        self._n += 1
        if kind == "empty":
            if backend == "sqlite":
                return f"sqlite:///{self.tmp / f'db{self._n}.sqlite'}"
            return self._pg().create_database(f"gc_{self._n}")
        key = (backend, kind)
        if key not in self._templates:
            if backend == "sqlite":
                path = self.tmp / f"template-{kind}.sqlite"
                self._build(f"sqlite:///{path}", kind)
                self._templates[key] = str(path)
            else:
                url = self._pg().create_database(f"tpl_{kind}")
                self._build(url, kind)
                self._templates[key] = f"tpl_{kind}"
        if backend == "sqlite":
            dest = self.tmp / f"db{self._n}.sqlite"
            shutil.copy(self._templates[key], dest)
            return f"sqlite:///{dest}"
        return self._pg().create_database(f"gc_{self._n}", template=self._templates[key])


@pytest.fixture(scope="session")
def databases(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Databases:
    """Factory of fresh test databases (PostgreSQL started only when first asked for)."""
    return Databases(tmp_path_factory.mktemp("dbs"), lambda: request.getfixturevalue("pg_server"))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on the real PostgreSQL server."""
    return str(request.param)


@pytest.fixture
def api(databases: Databases, tmp_path: Path) -> Iterator[Api]:
    """The app on a fresh SQLite database with the demo scenario."""
    yield from make_api(databases.new("sqlite", "demo"), tmp_path)


@pytest.fixture
def api_any(databases: Databases, tmp_path: Path, backend: str) -> Iterator[Api]:
    """The app with the demo scenario, on SQLite and on PostgreSQL."""
    yield from make_api(databases.new(backend, "demo"), tmp_path)


@pytest.fixture
def engines() -> Iterator[Callable[[str], Any]]:
    """``engines(url)`` makes a platform engine that is disposed after the test."""
    made: list[Any] = []

    def make(url: str) -> Any:
        engine = make_engine(url)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium (Playwright) shared by the browser tests."""
    with chromium() as b:
        yield b
