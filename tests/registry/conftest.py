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
