"""One vocabulary for every intake path (template, upload, JSON, calculate API, CLI).

The template's code sheet is compared with the factor data files read directly here, then
every code it offers is filled in and sent through every intake path: none may reject it.
Future periods are rejected on every path, with the line and a stable code.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

import greencircle.mrv.data as mrv_data
from greencircle.mrv.cli_core import calculate_files

HEADER = "record_id,facility_id,period,category,item,quantity,unit"
# E = FC × NCV × CC × OF × 44/12 with the GB/T 32151 diesel defaults [tCO2/t]
DIESEL = Decimal("42.652") * Decimal("20.2") / 1000 * Decimal("0.98") * 44 / 12
DATA = Path(mrv_data.__file__).parent


def _latest_fuel_codes() -> set[str]:
    with (DATA / "cn-fuel.2026.1.csv").open(encoding="utf-8") as fh:
        return {row["fuel_code"] for row in csv.DictReader(fh)}


def _code_sheet(api) -> list[dict[str, str]]:
    blank = api.get("/v1/mrv/template.xlsx", "cq-pow-01")
    assert blank.status_code == 200
    wb = load_workbook(io.BytesIO(blank.content))
    codes = wb["代码 Codes"]
    rows = list(codes.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, (str(v or "") for v in r), strict=True)) for r in rows[1:]]


def _records_for_every_code(codes: list[dict[str, str]], facility: str) -> list[dict[str, str]]:
    records = []
    i = 0
    for code in codes:
        for unit in code["unit(s)"].split(", "):
            year, month = 2023 + (i // 12) % 3, i % 12 + 1
            records.append(
                {
                    "record_id": f"v{i:03d}",
                    "facility_id": facility,
                    "period": f"{year}-{month:02d}",
                    "category": code["category"],
                    "item": code["item"],
                    "quantity": "1",
                    "unit": unit,
                }
            )
            i += 1
    return records


def test_template_codes_round_trip_through_every_intake_path(api, tmp_path):
    codes = _code_sheet(api)
    by_cat: dict[str, set[str]] = {}
    for c in codes:
        by_cat.setdefault(c["category"], set()).add(c["item"])
    assert by_cat["fuel"] == _latest_fuel_codes()  # every fuel of the data file, by its code
    assert {"CN-ETS", "CN-SW"} <= by_cat["electricity"]
    assert by_cat["heat"] == {"heat"} and by_cat["output"] == {"product"}
    assert all(c["unit(s)"] for c in codes)
    records = _records_for_every_code(codes, "CQ-POW-01-F1")
    n_output = sum(r["category"] == "output" for r in records)
    n_activity = len(records) - n_output

    # the calculate API
    calc = api.post("/v1/mrv/calculate", "cq-pow-01", json={"records": records})
    assert calc.status_code == 200, calc.text
    body = calc.json()
    assert body["errors"] == []
    assert (len(body["results"]), len(body["production"])) == (n_activity, n_output)
    diesel_t = next(
        r
        for r in body["results"]
        if r["item"] == "diesel"
        and r["record_id"] in {x["record_id"] for x in records if x["unit"] == "t"}
    )
    assert abs(Decimal(diesel_t["emissions_tco2"]) - DIESEL) < Decimal("1e-9")

    # the CLI contract
    activity = tmp_path / "activity.csv"
    activity.write_text(
        HEADER + "\n" + "".join(",".join(r.values()) + "\n" for r in records), encoding="utf-8"
    )
    summary = calculate_files(activity, tmp_path / "out.csv", tmp_path / "err.csv")
    assert (tmp_path / "err.csv").read_text(encoding="utf-8").splitlines()[1:] == []
    assert (summary.rows_rejected, summary.rows_accepted, summary.rows_output) == (
        0,
        n_activity,
        n_output,
    )

    # the template itself, filled and uploaded
    blank = api.get("/v1/mrv/template.xlsx", "cq-pow-01")
    wb = load_workbook(io.BytesIO(blank.content))
    ws = wb.worksheets[0]
    header_row = next(r[0].row for r in ws.iter_rows() if r[0].value == "record_id")
    columns = [c.value for c in ws[header_row]]
    for k, rec in enumerate(records):
        for col, value in rec.items():
            ws.cell(header_row + 1 + k, columns.index(col) + 1, value)
    buf = io.BytesIO()
    wb.save(buf)
    cq = api.org_id("CQ-POW-01")
    up = api.client.post(
        f"/v1/mrv/uploads?org_id={cq}",
        headers=api.auth("cq-pow-01"),
        files={"file": ("filled.xlsx", buf.getvalue(), "application/octet-stream")},
    )
    assert up.status_code == 201, up.text
    assert (up.json()["new"], up.json()["production"]) == (n_activity, n_output)
    assert Decimal(up.json()["emissions_tco2"]) == Decimal(body["total_emissions_tco2"])


def _next_month() -> str:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{year}-{month:02d}"


def test_future_periods_are_rejected_on_every_path(api, tmp_path):
    future = _next_month()
    cq = api.org_id("CQ-POW-01")
    lines = [
        "f1,CQ-POW-01-F1,2025-01,fuel,diesel,1,t",
        f"f2,CQ-POW-01-F1,{future},fuel,diesel,1,t",
        f"f3,CQ-POW-01-F1,{future},output,product,5,MWh",
    ]
    text = HEADER + "\n" + "\n".join(lines) + "\n"
    up = api.client.post(
        f"/v1/mrv/uploads?org_id={cq}",
        headers=api.auth("cq-pow-01"),
        files={"file": ("future.csv", text.encode(), "text/csv")},
    )
    assert up.status_code == 422 and up.json()["error"] == "mrv.rows_rejected"
    errs = up.json()["detail"]["errors"]
    assert [(e["line"], e["column"]) for e in errs] == [(3, "period"), (4, "period")]
    assert all("future" in e["reason"] for e in errs)
    assert api.get(f"/v1/mrv/records?org_id={cq}", "cq-pow-01").json()["total"] == 0

    records = [dict(zip(HEADER.split(","), ln.split(","), strict=True)) for ln in lines]
    j = api.post("/v1/mrv/records", "cq-pow-01", json={"org_id": cq, "records": records})
    assert j.status_code == 422 and j.json()["error"] == "mrv.rows_rejected"
    assert [e["line"] for e in j.json()["detail"]["errors"]] == [2, 3]

    calc = api.post("/v1/mrv/calculate", "cq-pow-01", json={"records": records})
    assert calc.status_code == 200
    assert [(e["line"], e["column"]) for e in calc.json()["errors"]] == [
        (2, "period"),
        (3, "period"),
    ]

    activity = tmp_path / "future.csv"
    activity.write_text(text, encoding="utf-8")
    summary = calculate_files(activity, tmp_path / "out.csv", tmp_path / "err.csv")
    assert summary.exit_code == 1 and summary.rows_rejected == 2
    assert [e.line for e in summary.first_errors] == [3, 4]


def test_calculate_api_reports_invalid_records_as_row_errors(api):
    records = [
        {
            "record_id": "ok",
            "facility_id": "F",
            "period": "2025-01",
            "category": "fuel",
            "item": "diesel",
            "quantity": "2",
            "unit": "t",
        },
        {
            "record_id": "bad",
            "facility_id": "F",
            "period": "2025-01",
            "category": "fuel",
            "item": "unobtainium",
            "quantity": "1",
            "unit": "t",
        },
    ]
    r = api.post("/v1/mrv/calculate", "cq-pow-01", json={"records": records})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(e["line"], e["record_id"], e["column"]) for e in body["errors"]] == [
        (2, "bad", "item")
    ]
    assert abs(Decimal(body["total_emissions_tco2"]) - 2 * DIESEL) < Decimal("1e-9")
