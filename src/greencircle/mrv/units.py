"""Units of activity data: parsing and dimensional checks with pint, exact ratios as fractions.

Only whitelisted spellings are accepted (``t``, ``kg``, ``Nm3``, ``10^4 Nm3``, ``kWh``,
``MWh``, ``GJ``, ``tce``, ``万kWh``...; an NCV unit is ``energy/fuel unit`` such as
``GJ/t`` or ``MJ/Nm3``): pint on its own would read ``ton`` as a US short ton and ``mt``
as a millitonne, which is exactly the guessing an MRV intake must not do. pint parses the
whitelisted expression and checks dimensionality; the size of each unit in base units
(a float in pint) is snapped to the short decimal it is defined by (12 significant
digits) and conversion ratios are exact fractions of those, never floats.

Units accepted per category of activity:

========== ======================================= ===============================
category   dimension                                factor unit
========== ======================================= ===============================
fuel       mass, or normal volume (gaseous fuels)   the fuel's unit (t, 10^4 Nm3)
electricity energy                                  MWh
heat       energy                                   GJ
========== ======================================= ===============================

Volumes of gas must be at normal conditions (``Nm3``): a plain ``m3`` has no reference
state and is rejected rather than guessed. Calories are rejected as ambiguous (IT calorie
4.1868 J, used by GB/T 2589, versus thermochemical 4.184 J, pint's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import pint

from greencircle.mrv.errors import UnitError

__all__ = [
    "CATEGORY_FACTOR_UNIT",
    "Ratio",
    "activity_ratio",
    "conversion_ratio",
    "convert",
    "dimension_name",
    "ncv_ratio",
    "normalise_unit",
    "registry",
]

_DEFINITIONS = (
    "Nm3 = [normal_volume] = normal_cubic_metre",
    "wan_Nm3 = 10000 * Nm3",
    "yi_Nm3 = 100000000 * Nm3",
    "wan_kWh = 10000 * kilowatt_hour",
    "tce = 29.3076 * gigajoule = tonne_coal_equivalent",
    "kgce = 29.3076 * megajoule = kilogram_coal_equivalent",
)

# Accepted spellings (a whitelist: pint alone would accept "ton" = US short ton, "mt" =
# millitonne, "bags" = 94 lb...). Each maps to a pint expression.
_MASS = {
    "t": "metric_ton",
    "tonne": "metric_ton",
    "tonnes": "metric_ton",
    "吨": "metric_ton",
    "kt": "kilometric_ton",
    "Mt": "megametric_ton",
    "万t": "10000 * metric_ton",
    "万吨": "10000 * metric_ton",
    "kg": "kilogram",
    "千克": "kilogram",
    "公斤": "kilogram",
    "g": "gram",
}
_VOLUME = {
    "Nm3": "Nm3",
    "Nm³": "Nm3",
    "10^4 Nm3": "wan_Nm3",
    "10^4Nm3": "wan_Nm3",
    "1e4 Nm3": "wan_Nm3",
    "万Nm3": "wan_Nm3",
    "10^8 Nm3": "yi_Nm3",
    "10^8Nm3": "yi_Nm3",
    "亿Nm3": "yi_Nm3",
}
_ENERGY = {
    "J": "joule",
    "kJ": "kilojoule",
    "MJ": "megajoule",
    "GJ": "gigajoule",
    "TJ": "terajoule",
    "PJ": "petajoule",
    "Wh": "watt_hour",
    "kWh": "kilowatt_hour",
    "MWh": "megawatt_hour",
    "GWh": "gigawatt_hour",
    "TWh": "terawatt_hour",
    "10^4 kWh": "wan_kWh",
    "10^4kWh": "wan_kWh",
    "万kWh": "wan_kWh",
    "万千瓦时": "wan_kWh",
    "千瓦时": "kilowatt_hour",
    "tce": "tce",
    "kgce": "kgce",
    "万tce": "10000 * tce",
    "toe": "tonne_of_oil_equivalent",
}
_ALLOWED = {**_MASS, **_VOLUME, **_ENERGY}
_AMBIGUOUS = {
    "ton": "a short ton (907 kg) or a long ton (1016 kg) in pint; write t for tonnes",
    "tons": "a short ton (907 kg) or a long ton (1016 kg) in pint; write t for tonnes",
    "mt": "millitonne in pint, metric or mega tonne in practice; write t or Mt",
    "MT": "metric ton or megatonne; write t or Mt",
    "T": "tesla in SI; write t for tonnes",
    "m3": "a volume without reference conditions; gas must be given in Nm3",
    "m³": "a volume without reference conditions; gas must be given in Nm3",
    "方": "a volume without reference conditions; gas must be given in Nm3",
    "万m3": "a volume without reference conditions; gas must be given in 10^4 Nm3",
    "kcal": "ambiguous calories (IT 4.1868 J vs thermochemical 4.184 J); use kJ",
    "cal": "ambiguous calories (IT 4.1868 J vs thermochemical 4.184 J); use kJ",
}

CATEGORY_FACTOR_UNIT = {"electricity": "MWh", "heat": "GJ"}
"""Factor unit for non-fuel categories (fuels use the fuel's own unit)."""


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry[Any]:
    """The shared pint registry with the MRV units defined (cached)."""
    ureg: pint.UnitRegistry[Any] = pint.UnitRegistry()
    for definition in _DEFINITIONS:
        ureg.define(definition)
    return ureg


@dataclass(frozen=True, slots=True)
class Ratio:
    """Exact conversion ratio ``numerator / denominator`` from one unit to another."""

    numerator: int
    denominator: int

    @property
    def fraction(self) -> Fraction:
        """The ratio as a Fraction."""
        return Fraction(self.numerator, self.denominator)

    @property
    def terminating(self) -> bool:
        """True when the ratio is a finite decimal."""
        d = self.denominator
        for p in (2, 5):
            while d % p == 0:
                d //= p
        return d == 1


def normalise_unit(text: str) -> str:
    """Map an accepted spelling (``t``, ``10^4 Nm3``, ``万kWh``, ``GJ/t``...) to pint syntax.

    Raises
    ------
    UnitError
        For spellings outside the whitelist, with the reason for known ambiguous ones.
    """
    s = " ".join(text.split())
    if not s:
        raise UnitError("unit is empty")
    parts = s.split("/")
    if len(parts) > 2:
        raise UnitError(f"unknown unit '{text}'")
    out = []
    for part in parts:
        p = part.strip()
        if p in _AMBIGUOUS or p.lower() in ("kcal", "cal"):
            raise UnitError(f"unit '{p}' is {_AMBIGUOUS.get(p, _AMBIGUOUS['kcal'])}")
        if p not in _ALLOWED:
            raise UnitError(
                f"unknown unit '{p}' (accepted: {', '.join(_MASS)}; {', '.join(_VOLUME)}; "
                f"{', '.join(_ENERGY)})"
            )
        out.append(f"({_ALLOWED[p]})")
    return "/".join(out)


def _parse(text: str) -> Any:
    """Parse an accepted unit spelling into a pint Quantity of size 1 unit."""
    expr = normalise_unit(text)
    try:
        quantity = registry().parse_expression(expr)
    except Exception as exc:  # pragma: no cover - whitelist entries all parse
        raise UnitError(f"unknown unit '{text}'") from exc
    return quantity


def dimension_name(text: str) -> str:
    """Human-readable dimension of a unit string, e.g. ``'energy'`` or ``'mass'``."""
    return _describe(_parse(text).dimensionality)


def _describe(dim: Any) -> str:
    names = {
        "[mass]": "mass",
        "[normal_volume]": "normal volume",
        "[length] ** 2 * [mass] / [time] ** 2": "energy",
        "[mass] * [length] ** 2 / [time] ** 2": "energy",
        "[length] ** 2 / [time] ** 2": "energy per mass",
        "[length] ** 2 * [mass] / [normal_volume] / [time] ** 2": "energy per normal volume",
        "[mass] * [length] ** 2 / [time] ** 2 / [normal_volume]": "energy per normal volume",
    }
    key = str(dim)
    return names.get(key, key)


def _to_base(quantity: Any) -> Fraction:
    """Exact size of a unit in base units (unit definitions are short decimals)."""
    magnitude = quantity.to_base_units().magnitude
    snapped = Decimal(format(float(magnitude), ".12g"))
    return Fraction(snapped)


@lru_cache(maxsize=4096)
def conversion_ratio(from_unit: str, to_unit: str) -> Ratio:
    """Exact ratio ``r`` such that ``x [from_unit] = x * r [to_unit]``.

    Parameters
    ----------
    from_unit, to_unit : str
        Unit strings (pint syntax plus the aliases of :func:`normalise_unit`).

    Returns
    -------
    Ratio
        Exact rational conversion ratio.

    Raises
    ------
    UnitError
        If a unit is unknown or the dimensions differ.
    """
    src = _parse(from_unit)
    dst = _parse(to_unit)
    if src.dimensionality != dst.dimensionality:
        raise UnitError(
            f"unit '{from_unit}' ({_describe(src.dimensionality)}) does not fit "
            f"'{to_unit}' ({_describe(dst.dimensionality)})"
        )
    ratio = _to_base(src) / _to_base(dst)
    return Ratio(ratio.numerator, ratio.denominator)


def convert(value: Decimal, from_unit: str, to_unit: str) -> Fraction:
    """Convert ``value`` exactly; returns a Fraction (may be non-terminating, e.g. GJ->MWh)."""
    return Fraction(value) * conversion_ratio(from_unit, to_unit).fraction


@lru_cache(maxsize=4096)
def activity_ratio(category: str, unit: str, fuel_unit: str | None = None) -> Ratio:
    """Ratio converting an activity quantity to the factor's unit for its category.

    Parameters
    ----------
    category : {'fuel', 'electricity', 'heat'}
        Activity category.
    unit : str
        Unit the quantity was reported in.
    fuel_unit : str, optional
        Unit of the fuel's factor (``'t'`` or ``'10^4 Nm3'``); required for fuels.

    Raises
    ------
    UnitError
        If the unit does not fit the item (e.g. diesel in Nm3, electricity in t).
    """
    if category == "fuel":
        if fuel_unit is None:
            raise UnitError("fuel unit required for fuel activities")
        target = fuel_unit
    elif category in CATEGORY_FACTOR_UNIT:
        target = CATEGORY_FACTOR_UNIT[category]
    else:
        raise UnitError(f"unknown category '{category}'")
    src = _parse(unit)
    dst = _parse(target)
    if src.dimensionality != dst.dimensionality:
        what = f"fuel measured in {target}" if category == "fuel" else f"{category} ({target})"
        raise UnitError(
            f"unit '{unit}' ({_describe(src.dimensionality)}) does not fit {what}; "
            f"expected a unit of {_describe(dst.dimensionality)}"
        )
    return conversion_ratio(unit, target)


@lru_cache(maxsize=4096)
def ncv_ratio(ncv_unit: str, fuel_unit: str) -> Ratio:
    """Ratio converting a measured NCV in ``ncv_unit`` to GJ per ``fuel_unit``.

    Raises
    ------
    UnitError
        If ``ncv_unit`` is not an energy per fuel-unit dimension (e.g. ``GJ/t`` for a
        natural gas measured in 10^4 Nm3).
    """
    target = f"GJ/{fuel_unit}"
    src = _parse(ncv_unit)
    dst = _parse(target)
    if src.dimensionality != dst.dimensionality:
        raise UnitError(
            f"ncv_unit '{ncv_unit}' ({_describe(src.dimensionality)}) does not fit a fuel "
            f"measured in {fuel_unit}; expected e.g. GJ/{fuel_unit}"
        )
    return conversion_ratio(ncv_unit, target)
