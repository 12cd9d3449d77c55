"""Units: whitelisted spellings, dimension checks, exact ratios."""

from __future__ import annotations

from fractions import Fraction

import pytest

from greencircle.mrv.errors import UnitError
from greencircle.mrv.units import activity_ratio, conversion_ratio, ncv_ratio


@pytest.mark.parametrize(
    ("unit", "category", "fuel_unit", "ratio"),
    [
        ("kg", "fuel", "t", Fraction(1, 1000)),
        ("kt", "fuel", "t", Fraction(1000)),
        ("Nm3", "fuel", "10^4 Nm3", Fraction(1, 10000)),
        ("万Nm3", "fuel", "10^4 Nm3", Fraction(1)),
        ("10^8 Nm3", "fuel", "10^4 Nm3", Fraction(10000)),
        ("kWh", "electricity", None, Fraction(1, 1000)),
        ("万kWh", "electricity", None, Fraction(10)),
        ("GJ", "electricity", None, Fraction(5, 18)),  # non-terminating, kept exact
        ("tce", "heat", None, Fraction("29.3076")),
        ("MWh", "heat", None, Fraction("3.6")),
    ],
)
def test_exact_ratios(unit: str, category: str, fuel_unit: str | None, ratio: Fraction) -> None:
    assert activity_ratio(category, unit, fuel_unit).fraction == ratio


@pytest.mark.parametrize(
    ("unit", "category", "fuel_unit", "fragment"),
    [
        ("Nm3", "fuel", "t", "does not fit"),
        ("t", "fuel", "10^4 Nm3", "does not fit"),
        ("GJ", "fuel", "t", "does not fit"),
        ("tce", "fuel", "t", "does not fit"),
        ("t", "electricity", None, "does not fit"),
        ("m3", "fuel", "10^4 Nm3", "reference conditions"),
        ("ton", "fuel", "t", "short ton"),
        ("mt", "fuel", "t", "millitonne"),
        ("T", "fuel", "t", "tesla"),
        ("kcal", "heat", None, "calories"),
        ("bags", "fuel", "t", "unknown unit"),
        ("", "fuel", "t", "empty"),
    ],
)
def test_rejected_units(unit: str, category: str, fuel_unit: str | None, fragment: str) -> None:
    with pytest.raises(UnitError, match=fragment):
        activity_ratio(category, unit, fuel_unit)


def test_ncv_units() -> None:
    assert ncv_ratio("kJ/kg", "t").fraction == Fraction(1, 1000)
    assert ncv_ratio("MJ/Nm3", "10^4 Nm3").fraction == Fraction(10)
    assert ncv_ratio("GJ/10^4 Nm3", "10^4 Nm3").fraction == 1
    with pytest.raises(UnitError, match="does not fit"):
        ncv_ratio("GJ/t", "10^4 Nm3")
    with pytest.raises(UnitError, match="calories"):
        ncv_ratio("kcal/kg", "t")
    assert conversion_ratio("toe", "tce").fraction == Fraction("41.868") / Fraction("29.3076")
