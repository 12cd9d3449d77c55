"""What the registry needs from other capabilities (implemented there, faked in tests)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol


class VerifiedEmissionsSource(Protocol):
    """Verified emissions from MRV, the basis of a compliance obligation."""

    def verified_emissions(self, org_id: str, year: int) -> Decimal | None:
        """Verified emissions [tCO2e] of ``org_id`` for ``year``, or ``None`` if not verified."""


class PriceSource(Protocol):
    """Average traded prices, from the exchange (for penalties and valuation)."""

    def average_price(
        self, market_code: str, product: str, start: datetime, end: datetime
    ) -> Decimal | None:
        """Average price [currency minor units per whole unit] over ``[start, end)``."""


class NoEmissions:
    """A source with no verified emissions (the default until MRV is wired)."""

    def verified_emissions(self, org_id: str, year: int) -> Decimal | None:
        """Always ``None``."""
        return None


class NoPrices:
    """A price source without prices (penalties then report no fine amount)."""

    def average_price(
        self, market_code: str, product: str, start: datetime, end: datetime
    ) -> Decimal | None:
        """Always ``None``."""
        return None


class StaticEmissions:
    """In-memory verified emissions ``{(org_id, year): tCO2e}`` (tests, demos)."""

    def __init__(self, values: dict[tuple[str, int], Decimal] | None = None) -> None:
        self.values = dict(values or {})

    def verified_emissions(self, org_id: str, year: int) -> Decimal | None:
        """The stored value or ``None``."""
        return self.values.get((org_id, year))


class StaticPrices:
    """In-memory average prices ``{(market, product): minor units per unit}``."""

    def __init__(self, values: dict[tuple[str, str], Decimal] | None = None) -> None:
        self.values = dict(values or {})
        self.calls: list[tuple[str, str, datetime, datetime]] = []

    def average_price(
        self, market_code: str, product: str, start: datetime, end: datetime
    ) -> Decimal | None:
        """The stored value or ``None`` (records the window asked for)."""
        self.calls.append((market_code, product, start, end))
        return self.values.get((market_code, product))
