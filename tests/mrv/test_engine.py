"""Batch engine: exact equality with the Decimal functions, order independence, inputs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greencircle.mrv.calc import calculate_activity
from greencircle.mrv.engine import Engine, calculate_batch

FUELS = {
    "diesel": ["t", "kg", "kt", "g"],
    "gasoline": ["t", "kg"],
    "raw_coal": ["t", "kg", "万t"],
    "anthracite": ["t"],
    "natural_gas": ["10^4 Nm3", "Nm3", "10^8 Nm3"],
    "lpg": ["t", "kg"],
}
GRIDS = ["CN-ETS", "CN", "CN-SW", "CN-51", "CN-E", "CN-NW"]
ENERGY = ["kWh", "MWh", "GJ", "万kWh", "TJ", "tce", "MJ"]

quantities = st.decimals(
    min_value=Decimal(0), max_value=Decimal("99999999.999999"), places=6, allow_nan=False
) | st.decimals(min_value=Decimal(0), max_value=Decimal(1000), places=10, allow_nan=False)


@st.composite
def records(draw: st.DrawFn) -> dict[str, str]:
    cat = draw(st.sampled_from(["fuel", "electricity", "heat"]))
    year = draw(st.integers(2019, 2025))
    rec = {
        "facility_id": "F1",
        "period": f"{year}-{draw(st.integers(1, 12)):02d}",
        "category": cat,
        "quantity": format(draw(quantities), "f"),
        "direction": "",
        "factor_year": "",
        "ncv": "",
        "ncv_unit": "",
        "carbon_content_tc_per_tj": "",
        "oxidation_rate": "",
    }
    if cat == "fuel":
        fuel = draw(st.sampled_from(sorted(FUELS)))
        rec["item"] = fuel
        rec["unit"] = draw(st.sampled_from(FUELS[fuel]))
        if draw(st.booleans()):
            gas = fuel == "natural_gas"
            rec["ncv"] = format(draw(st.decimals(Decimal(1), Decimal(500), places=4)), "f")
            rec["ncv_unit"] = draw(
                st.sampled_from(["GJ/10^4 Nm3", "MJ/Nm3"] if gas else ["GJ/t", "kJ/kg"])
            )
        if draw(st.booleans()):
            rec["carbon_content_tc_per_tj"] = format(
                draw(st.decimals(Decimal(10), Decimal(35), places=3)), "f"
            )
        if draw(st.booleans()):
            rec["oxidation_rate"] = format(
                draw(st.decimals(Decimal("0.8"), Decimal(1), places=4)), "f"
            )
    else:
        rec["item"] = draw(st.sampled_from(GRIDS)) if cat == "electricity" else "heat"
        rec["unit"] = draw(st.sampled_from(ENERGY))
        rec["direction"] = draw(st.sampled_from(["", "consumed", "exported"]))
        rec["factor_year"] = draw(st.sampled_from(["", "", "2022", "2023"]))
    return rec


def _reference(rec: dict[str, str]) -> Decimal | None:
    def opt(k: str) -> Decimal | None:
        return Decimal(rec[k]) if rec[k] else None

    try:
        return calculate_activity(
            rec["category"],
            rec["item"],
            Decimal(rec["quantity"]),
            rec["unit"],
            int(rec["factor_year"] or rec["period"][:4]),
            direction=rec["direction"] or "consumed",
            ncv=opt("ncv"),
            ncv_unit=rec["ncv_unit"] or None,
            carbon_content_tc_per_tj=opt("carbon_content_tc_per_tj"),
            oxidation_rate=opt("oxidation_rate"),
        ).emissions_tco2
    except Exception:
        return None


def _table(recs: list[dict[str, str]]) -> pa.Table:
    cols = list(recs[0])
    return pa.table({c: [r[c] for r in recs] for c in ["record_id", *cols]})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=1, max_size=40))
def test_batch_equals_decimal_functions(recs: list[dict[str, str]]) -> None:
    for i, r in enumerate(recs):
        r["record_id"] = f"r{i}"
    batch = calculate_batch(_table([{"record_id": r["record_id"], **r} for r in recs]))
    got = {row["record_id"]: row["emissions_tco2"] for row in batch.results.to_pylist()}
    rejected = {row["record_id"] for row in batch.errors.to_pylist()}
    for r in recs:
        expected = _reference(r)
        if expected is None:
            assert r["record_id"] in rejected, r
        else:
            assert got[r["record_id"]] == expected, r


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=2, max_size=60), st.randoms(use_true_random=False))
def test_order_independence(recs: list[dict[str, str]], rnd) -> None:  # type: ignore[no-untyped-def]
    for i, r in enumerate(recs):
        r["record_id"] = f"r{i}"
    table = _table([{"record_id": r["record_id"], **r} for r in recs])
    base = calculate_batch(table)
    shuffled = list(range(len(recs)))
    rnd.shuffle(shuffled)
    other = calculate_batch(table.take(shuffled))
    a = {r["record_id"]: r["emissions_tco2"] for r in base.results.to_pylist()}
    b = {r["record_id"]: r["emissions_tco2"] for r in other.results.to_pylist()}
    assert a == b
    assert base.total_emissions_tco2() == other.total_emissions_tco2()


def test_parquet_typed_decimal_and_text_agree(tmp_path: Path) -> None:
    recs = {
        "record_id": ["a", "b", "c", "d"],
        "facility_id": ["F"] * 4,
        "period": ["2022-01"] * 4,
        "category": ["fuel", "electricity", "heat", "fuel"],
        "item": ["diesel", "CN-51", "heat", "natural_gas"],
        "unit": ["kg", "kWh", "GJ", "Nm3"],
    }
    qty = [Decimal("1234.5678"), Decimal("1000.0000"), Decimal("10.0000"), Decimal("98765.4321")]
    typed = pa.table({**recs, "quantity": pa.array(qty, pa.decimal128(18, 4))})
    text = pa.table({**recs, "quantity": [str(q) for q in qty]})
    path = tmp_path / "a.parquet"
    pq.write_table(typed, path)
    with Engine() as engine:
        from_parquet = engine.run(path, ordered=True).results
        from_text = engine.run(text, ordered=True).results
    assert (
        from_parquet.column("emissions_tco2").to_pylist()
        == from_text.column("emissions_tco2").to_pylist()
    )
    assert from_parquet.column("line").to_pylist() == [2, 3, 4, 5]
    assert from_parquet.column("emissions_tco2").to_pylist()[1] == Decimal("0.1404")


def test_large_quantities_take_exact_128_bit_path() -> None:
    # 999,999,999 t of diesel: 64-bit product would overflow; result must stay exact
    q = "999999999.999999"
    t = pa.table(
        {
            "record_id": ["a", "b"],
            "facility_id": ["F", "F"],
            "period": ["2022-01", "2022-01"],
            "category": ["fuel", "electricity"],
            "item": ["diesel", "CN-ETS"],
            "quantity": [q, "999999999999.5"],
            "unit": ["t", "kWh"],
        }
    )
    res = calculate_batch(t)
    got = res.results.column("emissions_tco2").to_pylist()
    assert got[0] == calculate_activity("fuel", "diesel", Decimal(q), "t", 2022).emissions_tco2
    assert (
        got[1]
        == calculate_activity(
            "electricity", "CN-ETS", Decimal("999999999999.5"), "kWh", 2022
        ).emissions_tco2
    )


def test_duplicates_in_arrow_input_first_kept() -> None:
    t = pa.table(
        {
            "record_id": ["x", "y", "x", "x"],
            "facility_id": ["F"] * 4,
            "period": ["2022-01"] * 4,
            "category": ["heat"] * 4,
            "item": ["heat"] * 4,
            "quantity": ["1", "2", "3", "4"],
            "unit": ["GJ"] * 4,
        }
    )
    res = calculate_batch(t)
    assert [(r["record_id"], r["line"]) for r in res.results.to_pylist()] == [("x", 2), ("y", 3)]
    assert [(e.line, e.column) for e in res.error_rows()] == [(4, "record_id"), (5, "record_id")]
    assert "line 2" in res.error_rows()[0].reason


def test_unsupported_source() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        calculate_batch("activity.json")


@pytest.mark.parametrize(
    "qty", ["9999999999.9999", "10000000000", "10000000000.0001", "123456789012.5", "0.0001"]
)
def test_fast_path_guards_typed_and_text(qty: str, tmp_path: Path) -> None:
    """Values around the 64-bit guards give the same exact result on every path."""
    base = {
        "record_id": ["a"],
        "facility_id": ["F"],
        "period": ["2022-01"],
        "category": ["electricity"],
        "item": ["CN-ETS"],
        "unit": ["Wh"],
    }
    expected = calculate_activity("electricity", "CN-ETS", Decimal(qty), "Wh", 2022)
    text = calculate_batch(pa.table({**base, "quantity": [qty]}))
    typed = pa.table({**base, "quantity": pa.array([Decimal(qty)], pa.decimal128(18, 4))})
    path = tmp_path / "t.parquet"
    pq.write_table(typed, path)
    from_parquet = calculate_batch(path)
    for res in (text, from_parquet):
        assert res.errors.num_rows == 0, res.errors.to_pylist()
        [row] = res.results.to_pylist()
        assert row["emissions_tco2"] == expected.emissions_tco2
        assert row["activity"] == expected.activity


def test_lone_measured_column_is_never_ignored() -> None:
    base = {
        "record_id": ["a"],
        "facility_id": ["F"],
        "period": ["2022-01"],
        "category": ["fuel"],
        "item": ["diesel"],
        "quantity": ["1"],
        "unit": ["t"],
    }
    for column, expected in (
        ("ncv_unit", "ncv"),
        ("oxidation_rate", "oxidation_rate"),
        ("ncv", "ncv_unit"),
    ):
        res = calculate_batch(
            pa.table({**base, column: ["1.5" if column != "ncv_unit" else "GJ/t"]})
        )
        assert [(e.line, e.column) for e in res.error_rows()] == [(2, expected)], column
