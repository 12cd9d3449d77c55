"""Numbers and units as people read them: one place for on-screen formatting.

Screens, PDF certificates and CLI tables format through these functions; exports and the
API keep exact values. Grouping and decimal signs follow the reader's locale (Babel's
CLDR data); precision follows the unit (``DISPLAY_PLACES``); unit codes stored in the
data files (``tCO2``, ``10^4 Nm3``) become typographic labels (``tCO₂``, ``10⁴ Nm³``)
through :func:`unit_label` only, so every page shows the same label for the same unit.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_decimal

#: Largest number of decimals shown on screen, by unit code (exact values go to exports).
#: Units missing here show up to ``DEFAULT_PLACES``.
DISPLAY_PLACES: dict[str, int] = {
    "t": 3,
    "tCO2": 3,
    "tCO2e": 3,
    "kgCO2": 1,
    "kgCO2e": 1,
    "kg": 3,
    "tce": 3,
    "m3": 3,
    "MWh": 3,
    "kWh": 1,
    "GJ": 3,
    "TJ": 6,
    "MW": 3,
    "kW": 1,
    "%": 1,
    "h": 1,
    "year": 1,
}
DEFAULT_PLACES = 3

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_POWER = re.compile(r"\^(-?\d+)")
_CHEM = re.compile(r"(?<![A-Z])(CO2|CH4|N2O|SO2|NO2|NOx|SF6|NF3)(?![0-9])")
_AREA_VOLUME = re.compile(r"(?<![A-Za-z0-9])(N?m|km|cm|dm)([23])(?![0-9])")


@lru_cache(maxsize=512)
def unit_label(code: str) -> str:
    """Typographic label of a unit code: ``"10^4 Nm3"`` → ``"10⁴ Nm³"``, ``"tCO2"`` → ``"tCO₂"``.

    Parameters
    ----------
    code
        Unit code as stored in reference data and the API (ASCII).

    Returns
    -------
    str
        The label shown to people; the code itself stays the API's value.
    """
    label = _POWER.sub(lambda m: m.group(1).translate(_SUPERSCRIPT), code)
    label = _CHEM.sub(
        lambda m: m.group(1).translate(_SUBSCRIPT) if m.group(1) != "NOx" else "NOₓ", label
    )
    return _AREA_VOLUME.sub(lambda m: m.group(1) + m.group(2).translate(_SUPERSCRIPT), label)


def _babel_locale(lang: str) -> Locale:
    return Locale.parse(lang.replace("-", "_"))


def places_for(unit: str | None) -> int:
    """Decimals shown on screen for ``unit`` (``DISPLAY_PLACES``, else ``DEFAULT_PLACES``)."""
    if unit is None:
        return DEFAULT_PLACES
    return DISPLAY_PLACES.get(unit, DEFAULT_PLACES)


def number(
    value: Decimal | int | float | str | None,
    lang: str,
    *,
    places: int | None = DEFAULT_PLACES,
    min_places: int = 0,
) -> str:
    """Format a number for reading in ``lang``.

    Parameters
    ----------
    value
        The number; ``None`` gives an en dash. Strings are read as decimals.
    lang
        ``"zh-CN"``, ``"en"`` or ``"ru"``.
    places
        Largest number of decimals (rounded half-to-even); ``None`` keeps every digit of
        the value (for factors shown exactly as published).
    min_places
        Decimals always shown (money: the currency's scale).

    Returns
    -------
    str
        E.g. ``13157014.8116166076`` → ``"13,157,014.812"`` (en, 3 places).
    """
    if value is None:
        return "–"
    dec = value if isinstance(value, Decimal) else Decimal(str(value))
    if not dec.is_finite():
        return str(dec)
    if places is not None:
        dec = dec.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        shown = places
    else:
        shown = max(0, -int(dec.normalize().as_tuple().exponent))
    shown = max(shown, min_places)
    pattern = "#,##0" + ("." + "0" * min_places + "#" * (shown - min_places) if shown else "")
    return format_decimal(
        dec, format=pattern, locale=_babel_locale(lang), decimal_quantization=False
    )


def quantity(
    value: Decimal | int | float | str | None,
    unit: str,
    lang: str,
    *,
    places: int | None = None,
) -> str:
    """A number with its unit label, at the unit's screen precision: ``"1,234.5 tCO₂"``."""
    if value is None:
        return "–"
    shown = places_for(unit) if places is None else places
    return f"{number(value, lang, places=shown)} {unit_label(unit)}"


def minor(amount_minor: int | None, scale: int, lang: str) -> str:
    """Integer minor units at their full scale: ``(160000000, 2)`` → ``"1,600,000.00"``."""
    if amount_minor is None:
        return "–"
    return number(Decimal(amount_minor).scaleb(-scale), lang, places=scale, min_places=scale)


def money(amount_minor: int | None, currency: str, scale: int, lang: str) -> str:
    """Money from minor units with its currency code: ``"1,600,000.00 CNY"``."""
    if amount_minor is None:
        return "–"
    return f"{minor(amount_minor, scale, lang)} {currency}"
