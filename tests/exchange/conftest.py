"""Every test that takes ``new_book`` runs against both order book implementations."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from greencircle.exchange import OrderBook, STPMode

from ._helpers import ENGINES


@pytest.fixture(params=sorted(ENGINES))
def new_book(request: pytest.FixtureRequest) -> Callable[..., OrderBook]:
    """Factory ``new_book(stp_mode=STPMode.NONE)`` for the parametrised engine."""
    cls = ENGINES[request.param]

    def make(stp_mode: STPMode = STPMode.NONE) -> OrderBook:
        return cls(stp_mode)

    return make
