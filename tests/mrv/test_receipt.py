"""Receipts: canonical, hashable, identical from the batch engine and the Decimal path."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from greencircle.mrv.calc import ENGINE_VERSION, calculate_activity
from greencircle.mrv.engine import calculate_batch
from greencircle.mrv.receipt import (
    canonical_bytes,
    receipt_from_calculation,
    receipt_from_result,
    receipt_sha256,
)

RECORDS = [
    {
        "record_id": "a",
        "facility_id": "F",
        "period": "2024-03",
        "category": "electricity",
        "item": "CN-51",
        "quantity": "1000",
        "unit": "kWh",
        "direction": "exported",
    },
    {
        "record_id": "b",
        "facility_id": "F",
        "period": "2024-03",
        "category": "fuel",
        "item": "diesel",
        "quantity": "2.5",
        "unit": "t",
        "direction": "",
    },
]


def test_engine_and_decimal_receipts_match() -> None:
    table = pa.table({k: [r[k] for r in RECORDS] for k in RECORDS[0]})
    rows = calculate_batch(table).results.to_pylist()
    for rec, row in zip(RECORDS, rows, strict=True):
        calc = calculate_activity(
            rec["category"],
            rec["item"],
            Decimal(rec["quantity"]),
            rec["unit"],
            2024,
            direction=rec["direction"] or "consumed",
        )
        inputs = {**rec, "direction": rec["direction"] or "consumed"}
        r1 = receipt_from_result(row)
        r2 = receipt_from_calculation(inputs, calc)
        assert r1 == r2
        assert receipt_sha256(r1) == receipt_sha256(r2)


def test_receipt_content() -> None:
    table = pa.table({k: [r[k] for r in RECORDS[:1]] for k in RECORDS[0]})
    row = calculate_batch(table).results.to_pylist()[0]
    r = receipt_from_result(row)
    assert r["method"] == "exported_electricity@1"
    assert r["engine"] == {"name": "greencircle.mrv", "version": ENGINE_VERSION}
    assert r["result"]["emissions_tco2"] == "-0.1404000000"
    [factor] = r["factors"]
    assert factor["factor_id"] == "cn-grid-stat/CN-51/2022@2026.1"
    assert factor["version"] == "2026.1"
    assert len(factor["set_sha256"]) == 64
    assert "latest earlier year" in factor["fallback"]
    raw = canonical_bytes(r)
    assert raw.startswith(b'{"engine":') and b" " not in raw.split(b'"source"')[0][:20]
    assert receipt_sha256(r) == receipt_sha256(dict(reversed(list(r.items()))))
