"""Market data helpers: VWAP close and daily OHLC bars from trades (pure), and the
previous close of an instrument from the trades table.

The close of a day is the volume-weighted average price of the day's continuous trades,
rounded half-up to the tick; a day without trades keeps the previous close
(shared/reference README §3, national market rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greencircle.exchange.models import ExTrade

__all__ = ["Bar", "daily_bars", "previous_close", "vwap_ticks"]


def vwap_ticks(trades: Iterable[tuple[int, int]]) -> int | None:
    """VWAP [ticks] of ``(price_ticks, quantity)`` pairs, rounded half-up; ``None`` if empty.

    Notes
    -----
    ``vwap = Σ pᵢ qᵢ / Σ qᵢ``, rounded with exact integer arithmetic:
    ``(2 Σ pq + Σ q) // (2 Σ q)``.
    """
    num = 0
    den = 0
    for p, q in trades:
        num += p * q
        den += q
    if den == 0:
        return None
    return (2 * num + den) // (2 * den)


@dataclass(frozen=True)
class Bar:
    """One daily bar [ticks, t]."""

    date: str
    open: int
    high: int
    low: int
    last: int
    close: int
    volume: int
    trades: int


def daily_bars(trades: Iterable[tuple[str, int, int]]) -> list[Bar]:
    """Daily bars from ``(trade_date, price_ticks, quantity)`` in execution order.

    ``close`` is the day's VWAP (see module notes); ``last`` the last trade's price.
    """
    days: dict[str, list[tuple[int, int]]] = {}
    for day, p, q in trades:
        days.setdefault(day, []).append((p, q))
    out: list[Bar] = []
    for day in sorted(days):
        rows = days[day]
        prices = [p for p, _ in rows]
        close = vwap_ticks(rows)
        assert close is not None
        out.append(
            Bar(
                day,
                rows[0][0],
                max(prices),
                min(prices),
                rows[-1][0],
                close,
                sum(q for _, q in rows),
                len(rows),
            )
        )
    return out


def previous_close(session: Session, market: str, instrument: str, before: str) -> int | None:
    """Close [ticks] of the last day before ``before`` (local ``YYYY-MM-DD``) with
    close-setting trades: the VWAP of that day's ``sets_close`` trades (continuous, listed,
    call auction), or ``None`` when there is none."""
    conds = (
        ExTrade.market_code == market,
        ExTrade.instrument_code == instrument,
        ExTrade.sets_close.is_(True),
    )
    last_day = session.scalar(
        select(func.max(ExTrade.trade_date)).where(*conds, ExTrade.trade_date < before)
    )
    if last_day is None:
        return None
    rows = session.execute(
        select(ExTrade.price_ticks, ExTrade.quantity).where(*conds, ExTrade.trade_date == last_day)
    )
    return vwap_ticks((int(p), int(q)) for p, q in rows)
