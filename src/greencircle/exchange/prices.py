"""Prices at the boundary: decimal strings ↔ integer ticks with a declared tick size.

Inside the engine a price is an integer number of ticks (``price_ticks``). A
:class:`PriceScale` declares the tick (default 0.01 CNY per t, the national carbon
market's tick; see ``shared/reference/README.md`` §3) and converts exactly:

    price = price_ticks × tick

Accepted input: a plain decimal string of ASCII digits with an optional fractional part
(``"52.30"``, ``"52.3"``, ``"52"``; trailing zeros beyond the tick's scale are fine), or an
exact :class:`~decimal.Decimal` / ``int``. Floats are refused (they are not exact). Off-tick,
non-positive or malformed prices are reported with a :class:`PriceCode` (result-code style,
:meth:`PriceScale.ticks_or_code`) or as :class:`~greencircle.exchange.errors.PriceInvalid`
(:meth:`PriceScale.to_ticks`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from greencircle.exchange.errors import PriceInvalid

__all__ = ["CNY_TICK", "PriceCode", "PriceScale"]

#: Tick of the national carbon market: 0.01 CNY per tonne.
CNY_TICK = Decimal("0.01")

_PLAIN = re.compile(r"\A([0-9]{1,18})(?:\.([0-9]{1,18}))?\Z")


class PriceCode(StrEnum):
    """Why a price was refused."""

    MALFORMED = "malformed_price"
    NOT_POSITIVE = "non_positive_price"
    OFF_TICK = "off_tick_price"

    def explain(self, value: object, tick: Decimal) -> str:
        """A human-readable reason."""
        if self is PriceCode.OFF_TICK:
            return f"price {value!r} is not a multiple of the tick {tick}"
        if self is PriceCode.NOT_POSITIVE:
            return f"price {value!r} must be greater than zero"
        return f'price {value!r} is not a plain decimal number (e.g. "52.30")'


@dataclass(frozen=True)
class PriceScale:
    """Exact conversion between decimal prices and integer ticks.

    Parameters
    ----------
    tick
        Tick size [currency per lot], a positive exact decimal (``Decimal("0.01")``,
        ``"0.05"``, ``"1"``).
    currency
        ISO 4217 code, informative.

    Attributes
    ----------
    scale
        Decimal places used to print prices (the tick's).
    """

    tick: Decimal = CNY_TICK
    currency: str = "CNY"
    scale: int = field(init=False)
    _tick_minor: int = field(init=False, repr=False)
    _pow10: int = field(init=False, repr=False)
    _cache: dict[str, int | PriceCode] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _fmt_cache: dict[int, str] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        try:
            tick = Decimal(self.tick) if not isinstance(self.tick, float) else None
        except (InvalidOperation, ValueError, TypeError):
            tick = None
        if tick is None or not tick.is_finite() or tick <= 0:
            raise PriceInvalid(
                f"tick {self.tick!r} must be a positive decimal", code="exchange.tick_invalid"
            )
        exponent = tick.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        scale = max(0, -exponent)
        object.__setattr__(self, "tick", tick)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "_tick_minor", int(tick.scaleb(scale)))
        object.__setattr__(self, "_pow10", int(Decimal(1).scaleb(scale)))

    # -- decimal → ticks ----------------------------------------------------------------

    def ticks_or_code(self, value: str | Decimal | int) -> int | PriceCode:
        """Price [ticks] of ``value``, or the :class:`PriceCode` saying why not."""
        if type(value) is str:
            hit = self._cache.get(value)
            if hit is None:
                hit = self._parse_str(value)
                if len(self._cache) < 65536:
                    self._cache[value] = hit
            return hit
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return PriceCode.MALFORMED
        dec = Decimal(value)
        if not dec.is_finite():
            return PriceCode.MALFORMED
        if dec <= 0:
            return PriceCode.NOT_POSITIVE
        q = dec / self.tick
        if q != q.to_integral_value():
            return PriceCode.OFF_TICK
        return int(q)

    def _parse_str(self, text: str) -> int | PriceCode:
        m = _PLAIN.match(text)
        if m is None:
            if text.startswith("-") and _PLAIN.match(text[1:]):
                return PriceCode.NOT_POSITIVE
            return PriceCode.MALFORMED
        whole, frac = m.group(1), m.group(2) or ""
        scale = self.scale
        if len(frac) > scale:
            if frac[scale:].strip("0"):
                return PriceCode.OFF_TICK
            frac = frac[:scale]
        minor = int(whole) * self._pow10 + (int(frac.ljust(scale, "0")) if scale else 0)
        if minor == 0:
            return PriceCode.NOT_POSITIVE
        ticks, rest = divmod(minor, self._tick_minor)
        if rest:
            return PriceCode.OFF_TICK
        return ticks

    def to_ticks(self, value: str | Decimal | int) -> int:
        """Price [ticks] of ``value``.

        Raises
        ------
        PriceInvalid
            ``exchange.off_tick_price``, ``exchange.non_positive_price`` or
            ``exchange.malformed_price``.
        """
        got = self.ticks_or_code(value)
        if isinstance(got, PriceCode):
            raise PriceInvalid(got.explain(value, self.tick), code=f"exchange.{got.value}")
        return got

    # -- ticks → decimal ----------------------------------------------------------------

    def to_decimal(self, ticks: int) -> Decimal:
        """Exact decimal price of ``ticks``, with the tick's number of decimal places."""
        return Decimal(ticks * self._tick_minor).scaleb(-self.scale)

    def format(self, ticks: int) -> str:
        """Decimal string of ``ticks`` (``5230`` → ``"52.30"`` for tick 0.01)."""
        s = self._fmt_cache.get(ticks)
        if s is None:
            minor = ticks * self._tick_minor
            if self.scale:
                sign = "-" if minor < 0 else ""
                whole, frac = divmod(abs(minor), self._pow10)
                s = f"{sign}{whole}.{frac:0{self.scale}d}"
            else:
                s = str(minor)
            if len(self._fmt_cache) < 65536:
                self._fmt_cache[ticks] = s
        return s
