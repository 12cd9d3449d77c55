"""Plausibility findings: reported, never fixed."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from greencircle.mrv.engine import calculate_batch
from greencircle.mrv.quality import (
    SectorDistribution,
    check_factor_use,
    check_fuel_parameters,
    check_intensity,
    check_missing_months,
    check_month_on_month,
)


def _batch(rows: list[dict[str, str]]) -> pa.Table:
    cols = [
        "record_id",
        "facility_id",
        "period",
        "category",
        "item",
        "quantity",
        "unit",
        "ncv",
        "ncv_unit",
        "carbon_content_tc_per_tj",
    ]
    table = pa.table({c: [r.get(c, "") for r in rows] for c in cols})
    res = calculate_batch(table)
    assert res.errors.num_rows == 0, res.errors.to_pylist()
    return res.results


def test_measured_parameters_outside_range() -> None:
    results = _batch(
        [
            {
                "record_id": "a",
                "facility_id": "F",
                "period": "2023-01",
                "category": "fuel",
                "item": "diesel",
                "quantity": "1",
                "unit": "t",
                "ncv": "38",
                "ncv_unit": "GJ/t",
            },
            {
                "record_id": "b",
                "facility_id": "F",
                "period": "2023-01",
                "category": "fuel",
                "item": "diesel",
                "quantity": "1",
                "unit": "t",
                "ncv": "42.9",
                "ncv_unit": "GJ/t",
                "carbon_content_tc_per_tj": "25",
            },
            {
                "record_id": "c",
                "facility_id": "F",
                "period": "2023-01",
                "category": "fuel",
                "item": "anthracite",
                "quantity": "1",
                "unit": "t",
            },
        ]
    )
    findings = check_fuel_parameters(results)
    assert [(f.code, f.line, f.record_id) for f in findings] == [
        ("MRV-Q001", 2, "a"),
        ("MRV-Q002", 3, "b"),
    ]
    assert "41.4-43.3" in findings[0].message
    # defaults are not checked (anthracite's proxy NCV is below the IPCC range, flagged as status)
    status = check_factor_use(results)
    assert any(f.code == "MRV-Q040" and "anthracite" in f.message for f in status)


def test_month_on_month_and_missing_months() -> None:
    rows = []
    for month, qty in ((1, "100"), (2, "105"), (3, "300"), (5, "310"), (6, "90")):
        rows.append(
            {
                "record_id": f"e{month}",
                "facility_id": "F1",
                "period": f"2023-{month:02d}",
                "category": "electricity",
                "item": "CN-51",
                "quantity": qty,
                "unit": "MWh",
            }
        )
    results = _batch(rows)
    jumps = check_month_on_month(results, threshold=Decimal("0.5"))
    assert [f.message.split(":")[0] for f in jumps] == [
        "electricity CN-51 (consumed) 2023-03",
        "electricity CN-51 (consumed) 2023-06",
    ]
    assert "+186 %" in jumps[0].message
    missing = check_missing_months(results)
    assert [(f.code, f.message) for f in missing] == [
        ("MRV-Q020", "no electricity CN-51 record for 2023-04")
    ]
    assert len(check_missing_months(results, start="2023-01", end="2023-12")) == 7


def test_intensity_against_sector_distribution() -> None:
    dist = SectorDistribution("cement", "tCO2/t clinker", Decimal("0.80"), Decimal("0.95"), "test")
    findings = check_intensity(
        {"A": Decimal(850), "B": Decimal(2500), "C": Decimal(700), "D": Decimal(1)},
        {"A": Decimal(1000), "B": Decimal(1000), "C": Decimal(1000)},
        dist,
    )
    by_fac = {f.facility_id: f for f in findings}
    assert "A" not in by_fac
    assert by_fac["B"].severity == "error"
    assert by_fac["C"].severity == "warning"
    assert by_fac["D"].message.startswith("no production output")


def test_fallback_findings() -> None:
    results = _batch(
        [
            {
                "record_id": "a",
                "facility_id": "F",
                "period": "2025-01",
                "category": "electricity",
                "item": "CN-SW",
                "quantity": "1",
                "unit": "MWh",
            }
        ]
    )
    [f] = check_factor_use(results)
    assert f.code == "MRV-Q041" and "using 2023" in f.message
