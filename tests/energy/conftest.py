"""Shared helpers for the energy tests."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _pvlib_pandas_deprecations() -> Iterator[None]:
    """pvlib 0.16 calls pandas APIs that pandas 3 deprecates; nothing else is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*dayofyear is deprecated.*")
        yield


@pytest.fixture(scope="session")
def energy_template(databases, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A SQLite demo database with the energy demo loaded (built once), and its var dir.

    The var dir holds the transparency-log key that signed the demo studies; apps made
    on copies of the database must use it (the log refuses a different key).
    """
    from greencircle.audit.keys import signer_from
    from greencircle.demo.energy import load_energy_demo
    from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
    from tests_support import make_settings

    url = databases.new("sqlite", "demo")
    var = tmp_path_factory.mktemp("energy-var")
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            load_energy_demo(session, signer_from(make_settings(url, var)))
    finally:
        engine.dispose()
    return Path(url.removeprefix("sqlite:///")), var


@pytest.fixture
def energy_api(energy_template: tuple[Path, Path], tmp_path: Path) -> Iterator[Any]:
    """The app on a fresh copy of the energy demo database."""
    from tests_support import make_api

    path, var = energy_template
    dest = tmp_path / "energy.sqlite"
    shutil.copy(path, dest)
    yield from make_api(f"sqlite:///{dest}", var)
