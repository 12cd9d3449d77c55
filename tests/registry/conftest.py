"""Fixtures of the registry tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reg_support import World


@pytest.fixture
def world(databases) -> Iterator[World]:
    """A fresh SQLite demo database."""
    w = World(databases.new("sqlite", "demo"))
    yield w
    w.close()


@pytest.fixture
def world_any(databases, backend) -> Iterator[World]:
    """A fresh demo database on SQLite and on PostgreSQL."""
    w = World(databases.new(backend, "demo"))
    yield w
    w.close()


@pytest.fixture(scope="session")
def registry_template(databases, tmp_path_factory: pytest.TempPathFactory):
    """A SQLite demo database with verified 2025 reports and the registry demo loaded
    (built once), and the var dir whose log key signed it."""
    from pathlib import Path

    from reg_support import DEMO_VERIFIED_2025, insert_verified

    from greencircle.audit.keys import signer_from
    from greencircle.demo.registry import load_registry_demo
    from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
    from tests_support import make_settings

    url = databases.new("sqlite", "demo")
    var = tmp_path_factory.mktemp("registry-var")
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            insert_verified(session, DEMO_VERIFIED_2025, 2025)
        with unit_of_work(factory) as session:
            load_registry_demo(session, signer_from(make_settings(url, var)))
    finally:
        engine.dispose()
    return Path(url.removeprefix("sqlite:///")), var


@pytest.fixture
def reg_api(registry_template, tmp_path):
    """The app on a fresh copy of the registry demo database."""
    import shutil

    from tests_support import make_api

    path, var = registry_template
    dest = tmp_path / "registry.sqlite"
    shutil.copy(path, dest)
    yield from make_api(f"sqlite:///{dest}", var)
