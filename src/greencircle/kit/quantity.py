"""Integer quantities and money with a declared decimal scale.

Owned quantities (units in a ledger) and money are stored as integers in the smallest
unit: ``amount_minor = amount × 10**scale`` (CNY has scale 2: fen). Decimal is used at the
API boundary, never float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from greencircle.errors import Invalid


def to_minor(value: Decimal | str | int, scale: int, *, field: str = "amount") -> int:
    """Convert a decimal amount to integer minor units, refusing precision loss.

    Parameters
    ----------
    value
        Amount in major units (e.g. ``"52.30"`` CNY).
    scale
        Number of decimal places of the minor unit (CNY: 2).
    field
        Field name used in the error.

    Returns
    -------
    int
        ``value × 10**scale``, exact.

    Raises
    ------
    Invalid
        If the value is not a finite decimal or has more decimals than ``scale``.
    """
    if isinstance(value, float):
        raise Invalid(f"{field}: floats are not accepted; send a decimal string")
    try:
        dec = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(
            f"{field}: {value!r} is not a decimal number", code="invalid_decimal"
        ) from exc
    if not dec.is_finite():
        raise Invalid(f"{field}: {value!r} is not finite", code="invalid_decimal")
    scaled = dec.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise Invalid(
            f"{field}: {value} has more than {scale} decimal places", code="too_many_decimals"
        )
    return int(scaled)


def from_minor(amount_minor: int, scale: int) -> Decimal:
    """Return the exact decimal value of an integer amount in minor units."""
    return Decimal(amount_minor).scaleb(-scale)


def format_minor(amount_minor: int, scale: int) -> str:
    """Format integer minor units as a fixed-point decimal string (``5230, 2 -> '52.30'``)."""
    return f"{from_minor(amount_minor, scale):.{scale}f}"


def round_decimal(value: Decimal, places: int) -> Decimal:
    """Round half-to-even to ``places`` decimals (banker's rounding, as in reporting)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
