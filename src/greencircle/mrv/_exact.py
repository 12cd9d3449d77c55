"""Exact decimal helpers shared by the Decimal functions and the DuckDB engine.

Every reported figure is produced by the same integer procedure in Python and in SQL:
values are carried as integers at a declared scale (``value = int / 10**scale``) and every
division is rounded once, half to even, with :func:`round_half_even`. The SQL engine uses
the identical procedure on 128-bit integers, so both paths give bit-identical results
regardless of row order or thread count.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

# Scales (number of decimal places) of the fixed-point quantities used in calculations.
INPUT_SCALE = 10
"""Maximum decimal places accepted in input numbers (quantity, ncv, carbon content...)."""
ACTIVITY_SCALE = 10
"""Scale of the activity converted to the factor's unit (t, 10^4 Nm3, MWh, GJ)."""
FACTOR_SCALE = 12
"""Scale of the per-unit factor (tC per fuel unit; tCO2 per MWh or GJ)."""
RESULT_SCALE = 10
"""Scale of reported emissions [tCO2]; rounding is ROUND_HALF_EVEN."""

_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def round_half_even(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded to an integer, ties to even.

    Parameters
    ----------
    numerator : int
        Any integer.
    denominator : int
        A positive integer.

    Returns
    -------
    int
        The nearest integer; exact halves go to the even neighbour.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -round_half_even(-numerator, denominator)
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    if twice > denominator or (twice == denominator and q % 2 == 1):
        q += 1
    return q


def to_scaled(value: Decimal, scale: int) -> int:
    """Return ``value * 10**scale`` rounded half to even as an integer.

    Exact (no rounding) when ``value`` has at most ``scale`` decimal places.
    """
    frac = Fraction(value)
    return round_half_even(frac.numerator * 10**scale, frac.denominator)


def from_scaled(value: int, scale: int) -> Decimal:
    """Return the Decimal ``value / 10**scale`` with exactly ``scale`` decimal places."""
    return Decimal(value).scaleb(-scale).quantize(Decimal(1).scaleb(-scale))


def decimal_places(value: Decimal) -> int:
    """Number of decimal places written in ``value`` (0 for integers)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError("not a finite decimal")
    return max(0, -exponent)


def parse_plain_decimal(text: str) -> Decimal | None:
    """Parse a plain decimal string (no exponent, no separators); None if invalid.

    Leading and trailing whitespace is ignored.
    """
    stripped = text.strip()
    if not _PLAIN_DECIMAL.fullmatch(stripped):
        return None
    return Decimal(stripped)


def fraction_of(value: Decimal | int | Fraction) -> Fraction:
    """Exact Fraction of a Decimal, int or Fraction."""
    return value if isinstance(value, Fraction) else Fraction(value)
