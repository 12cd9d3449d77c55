"""Golden values computed independently from the published formulas and reference tables.

Reference values (shared/reference/cn_fuel_defaults.csv, cn_grid_factors.csv, README §1) are
written here as literals, and the formulas are re-derived with fractions, so these tests do
not share code with the implementation.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest

from greencircle.mrv import calc
from greencircle.mrv.calc import calculate_activity
from greencircle.mrv.factors import load_library

D = Decimal


def q4(x: Fraction | Decimal) -> Decimal:
    """Round to 4 decimals half-even (how the reference tables print)."""
    f = Fraction(x)
    return (D(f.numerator) / D(f.denominator)).quantize(D("0.0001"), ROUND_HALF_EVEN)


# NCV [GJ/unit], CC [tC/TJ], OF, reference tCO2 per unit (cn_fuel_defaults.csv)
REFERENCE_FUELS = {
    "raw_coal": ("20.908", "26.37", "0.94", "1.9003"),
    "anthracite": ("20.908", "27.4", "0.94", "1.9745"),
    "bituminous_coal": ("20.908", "26.1", "0.93", "1.8608"),
    "coke": ("28.435", "29.42", "0.93", "2.8527"),
    "crude_oil": ("41.816", "20.08", "0.98", "3.0172"),
    "fuel_oil": ("41.816", "21.1", "0.98", "3.1705"),
    "gasoline": ("43.07", "18.9", "0.98", "2.9251"),
    "diesel": ("42.652", "20.2", "0.98", "3.0959"),
    "lpg": ("50.179", "17.2", "0.98", "3.1013"),
    "natural_gas": ("389.31", "15.32", "0.99", "21.6502"),
}


def test_diesel_one_tonne_defaults() -> None:
    expected = Fraction("42.652") * Fraction("20.2") / 1000 * Fraction("0.98") * 44 / 12
    result = calculate_activity("fuel", "diesel", D(1), "t", 2024)
    assert q4(result.emissions_tco2) == D("3.0959") == q4(expected)
    assert result.factor_ids == ("cn-fuel/diesel@2026.1",)
    assert result.method == "fuel_combustion@1"


def test_cn51_2022_thousand_kwh() -> None:
    result = calculate_activity("electricity", "CN-51", D(1000), "kWh", 2022)
    assert result.emissions_tco2 == D("0.1404")
    assert q4(result.emissions_tco2) == D("0.1404")
    assert result.fallback is None
    assert result.factor_ids == ("cn-grid-stat/CN-51/2022@2026.1",)


def test_natural_gas_ten_thousand_nm3() -> None:
    expected = Fraction("389.31") * Fraction("15.32") / 1000 * Fraction("0.99") * 44 / 12
    for qty, unit in ((D(1), "10^4 Nm3"), (D(10000), "Nm3"), (D(1), "万Nm3")):
        result = calculate_activity("fuel", "natural_gas", qty, unit, 2023)
        assert q4(result.emissions_tco2) == D("21.6502") == q4(expected)


def test_heat_ten_gj() -> None:
    assert calculate_activity("heat", "heat", D(10), "GJ", 2023).emissions_tco2 == D("1.1")
    # 10 GJ given in other energy units
    assert calculate_activity("heat", "heat", D("2.7777777778"), "MWh", 2023).emissions_tco2 == (
        (D("2.7777777778") * D("3.6") * D("0.11")).quantize(D("1e-10"), ROUND_HALF_EVEN)
    )


def test_exported_rows_are_negative() -> None:
    e = calculate_activity("electricity", "CN-51", D(1000), "kWh", 2022, direction="exported")
    h = calculate_activity("heat", "heat", D(10), "GJ", 2022, direction="exported")
    assert e.emissions_tco2 == D("-0.1404")
    assert h.emissions_tco2 == D("-1.1")
    assert e.method == "exported_electricity@1"


def test_measured_values_override_defaults() -> None:
    # measured NCV 43.5 GJ/t, CC 20.0 tC/TJ, OF 0.99 for 2 t diesel
    expected = 2 * Fraction("43.5") * Fraction("20.0") / 1000 * Fraction("0.99") * 44 / 12
    result = calculate_activity(
        "fuel",
        "diesel",
        D(2),
        "t",
        2024,
        ncv=D("43500"),
        ncv_unit="kJ/kg",
        carbon_content_tc_per_tj=D("20.0"),
        oxidation_rate=D("0.99"),
    )
    assert result.emissions_tco2 == q10(expected)
    assert result.measured == ("ncv", "carbon_content", "oxidation_rate")
    assert result.factor_ids == ()
    assert result.factor_status == "measured"
    partial = calculate_activity("fuel", "diesel", D(1), "t", 2024, oxidation_rate=D(1))
    assert partial.emissions_tco2 == q10(Fraction("42.652") * Fraction("20.2") / 1000 * 44 / 12)
    assert partial.factor_ids == ("cn-fuel/diesel@2026.1",)


def q10(x: Fraction) -> Decimal:
    return (D(x.numerator) / D(x.denominator)).quantize(D("1e-10"), ROUND_HALF_EVEN)


@pytest.mark.parametrize("fuel", sorted(REFERENCE_FUELS))
def test_every_default_fuel_matches_reference_table(fuel: str) -> None:
    ncv, cc, of, ref = REFERENCE_FUELS[fuel]
    unit = "10^4 Nm3" if fuel == "natural_gas" else "t"
    result = calculate_activity("fuel", fuel, D(1), unit, 2024)
    assert q4(result.emissions_tco2) == D(ref)
    exact = Fraction(ncv) * Fraction(cc) / 1000 * Fraction(of) * 44 / 12
    assert result.emissions_tco2 == q10(exact)


def test_ipcc_tier1_diesel_and_natural_gas() -> None:
    # IPCC 2006: diesel 43.0 TJ/Gg x 74,100 kg/TJ = 3.1863 tCO2/t; NG 48.0 x 56,100 = 2.6928
    assert q4(calc.ipcc_fuel_combustion_tco2(D(1), D("43.0"), D(74100))) == D("3.1863")
    assert q4(calc.ipcc_fuel_combustion_tco2(D(1), D("48.0"), D(56100))) == D("2.6928")
    lib = load_library()
    f = lib.lookup("ipcc2006_fuel_combustion", "diesel").factor
    assert q4(f.value) == D("3.1863")


def test_process_factors() -> None:
    # Tier 1 clinker: 0.52 t/t (0.510 x 1.02 = 0.5202, published rounded to 0.52)
    assert calc.clinker_tco2(D(100)) == D(52)
    assert calc.clinker_tier2_tco2(D(100)) == D("52.02")
    # carbonates: stoichiometric M(CO2)/M(carbonate)
    m_co2 = Fraction("44.0095")
    caco3 = m_co2 / Fraction("100.0869")
    dolomite = 2 * m_co2 / Fraction("184.4008")
    lib = load_library()
    assert lib.lookup("carbonate", "CaCO3").factor.value == q4(caco3) == D("0.4397")
    assert lib.lookup("carbonate", "CaMg(CO3)2").factor.value == q4(dolomite) == D("0.4773")
    assert calc.carbonate_tco2(D(10), D("0.4397")) == D("4.397")
    assert lib.lookup("clinker", "clinker").factor.value == D("0.52")


def test_non_co2_gwp_sets() -> None:
    assert calc.non_co2_tco2e(D(1), "CH4", "AR5")[0] == D(28)
    assert calc.non_co2_tco2e(D(1), "N2O", "AR4")[0] == D(298)
    value, fid = calc.non_co2_tco2e(D(2), "CH4", "AR6")
    assert value == D("59.6")
    assert fid == "ipcc-gwp100/AR6/CH4@2026.1"
    sar = load_library().lookup("gwp", "N2O", jurisdiction="SAR").factor
    assert sar.value == D(310)
    assert sar.status == "recall"


def test_rounding_is_half_even_at_ten_decimals() -> None:
    # 5e-11 exactly half way: 0.00000000005 -> 0.0000000000 (even), 0.00000000015 -> 0.0000000002
    assert calc.electricity_tco2(D("0.00000000005"), D(1)) == D("0E-10")
    assert calc.electricity_tco2(D("0.00000000015"), D(1)) == D("2E-10")
    assert calc.electricity_tco2(D("0.00000000025"), D(1)) == D("2E-10")
