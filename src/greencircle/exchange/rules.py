"""Trading rules of the continuous book per market (data: ``exchange/data/trading_rules.toml``).

Every rule is a fact with a ``status`` (confirmed / recall / estimate) and a ``source``,
as in the registry's market catalogue. The pure helpers here (band limits, fees, cash
requirement) have no I/O and are tested on values.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from greencircle.exchange.prices import PriceScale

__all__ = ["MarketRules", "band_limits", "fee_minor", "load_rules"]

DATA_FILE = Path(__file__).parent / "data" / "trading_rules.toml"


@dataclass(frozen=True)
class MarketRules:
    """Continuous-trading rules of one market.

    Attributes
    ----------
    market
        Market code (``CN-CQ``).
    tick
        Tick [currency per lot] (price scale of the book).
    lot
        Lot size [t]; order quantities are whole multiples of it.
    band_pct
        Price band around the previous close [%]; orders priced outside are rejected.
    max_order_lots
        Largest order of the continuous book [lots] (larger orders are block trades).
    fee_bps
        Trading fee per side [basis points of the notional], rounded down per fill.
    operator_org
        Code of the organisation receiving fees and performing holds.
    resale_t_plus_1
        Whether units bought on the exchange on T are sellable only from T+1.
    statuses
        ``rule -> (status, source)``.
    """

    market: str
    tick: Decimal
    lot: int
    band_pct: Decimal
    max_order_lots: int
    fee_bps: Decimal
    operator_org: str
    resale_t_plus_1: bool
    statuses: dict[str, tuple[str, str]]

    @property
    def scale(self) -> PriceScale:
        """The :class:`PriceScale` of this market's book."""
        return _scale(self.tick)


@cache
def _scale(tick: Decimal) -> PriceScale:
    return PriceScale(tick)


def _value(raw: dict[str, Any], defaults: dict[str, Any], name: str) -> tuple[Any, str, str]:
    fact = raw.get(name, defaults[name])
    return fact["value"], fact["status"], fact["source"]


@cache
def load_rules(path: Path = DATA_FILE) -> dict[str, MarketRules]:
    """All markets' rules from the TOML file (cached)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults = data["defaults"]
    out: dict[str, MarketRules] = {}
    for code, raw in data.get("markets", {}).items():
        vals: dict[str, Any] = {}
        statuses: dict[str, tuple[str, str]] = {}
        for name in defaults:
            value, status, source = _value(raw, defaults, name)
            vals[name] = value
            statuses[name] = (status, source)
        out[code] = MarketRules(
            market=code,
            tick=Decimal(str(vals["tick"])),
            lot=int(vals["lot"]),
            band_pct=Decimal(str(vals["band_pct"])),
            max_order_lots=int(vals["max_order_lots"]),
            fee_bps=Decimal(str(vals["fee_bps"])),
            operator_org=str(vals["operator_org"]),
            resale_t_plus_1=bool(vals["resale_t_plus_1"]),
            statuses=statuses,
        )
    return out


def band_limits(prev_close_ticks: int | None, band_pct: Decimal) -> tuple[int, int] | None:
    """Lowest and highest accepted price [ticks] around the previous close (inclusive).

    Notes
    -----
    ``low = ceil(close × (1 − b))``, ``high = floor(close × (1 + b))`` with ``b = band_pct /
    100``, so the band never exceeds ±``band_pct`` %. ``None`` when there is no previous
    close (no band).
    """
    if prev_close_ticks is None:
        return None
    b = band_pct / 100
    low = int((prev_close_ticks * (1 - b)).to_integral_value(ROUND_CEILING))
    high = int((prev_close_ticks * (1 + b)).to_integral_value(ROUND_FLOOR))
    return max(1, low), high


def fee_minor(notional_minor: int, fee_bps: Decimal) -> int:
    """Fee of one side of a fill [minor units]: ``floor(notional × bps / 10,000)``.

    Rounding down makes the fees of partial fills never exceed the fee of their sum, so a
    buyer's reservation (limit notional + its fee) always covers every fill's fee.
    """
    if notional_minor <= 0 or fee_bps <= 0:
        return 0
    return int((notional_minor * fee_bps / 10000).to_integral_value(ROUND_FLOOR))
