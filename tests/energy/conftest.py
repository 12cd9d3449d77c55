"""Shared helpers for the energy tests."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _pvlib_pandas_deprecations() -> Iterator[None]:
    """pvlib 0.16 calls pandas APIs that pandas 3 deprecates; nothing else is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*dayofyear is deprecated.*")
        yield
