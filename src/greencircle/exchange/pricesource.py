"""Exchange prices for other capabilities (the registry's penalty averages)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greencircle.exchange.models import ExTrade


class ExchangePrices:
    """The registry's :class:`~greencircle.registry.interfaces.PriceSource` from trades.

    The average price of a product over ``[start, end)`` is the volume-weighted average of
    the continuous trades of every vintage of that product on the market, in the market
    currency's minor units per unit: ``Σ notional_minor / Σ quantity`` (exact Decimal).
    ``None`` when nothing traded in the window (the penalty then shows no fine amount).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def average_price(
        self, market_code: str, product: str, start: datetime, end: datetime
    ) -> Decimal | None:
        """VWAP [minor units per unit] of ``product`` trades on ``market_code`` in the window."""
        stmt = select(func.sum(ExTrade.notional_minor), func.sum(ExTrade.quantity)).where(
            ExTrade.market_code == market_code,
            ExTrade.instrument_code.startswith(f"{market_code}:{product}:", autoescape=True),
            ExTrade.executed_at >= start,
            ExTrade.executed_at < end,
        )
        notional, volume = self.session.execute(stmt).one()
        if not volume:
            return None
        return Decimal(int(notional)) / Decimal(int(volume))
