"""A verifier's adjustment stands beside the enterprise's figure; it never overwrites it.

Reported, adjusted and verified figures are checked on the API, the exports, the console
and the transparency log, against E = FC × NCV × CC × OF × 44/12 recomputed here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from decimal import Decimal
from html import unescape

from openpyxl import load_workbook

from greencircle.audit.merkle import canonical_json
from greencircle.audit.verify import verify_bundle
from tests_support import console_login

DIESEL = Decimal("42.652") * Decimal("20.2") / 1000 * Decimal("0.98") * 44 / 12  # tCO2/t
TOL = Decimal("1e-9")
HEADER = "record_id,facility_id,period,category,item,quantity,unit\n"


def close(a: object, b: Decimal) -> bool:
    return abs(Decimal(str(a)) - b) < TOL


def upload(api, user, org, *lines, name="a.csv"):
    content = (HEADER + "".join(line + "\n" for line in lines)).encode()
    r = api.client.post(
        f"/v1/mrv/uploads?org_id={org}",
        headers=api.auth(user),
        files={"file": (name, content, "text/csv")},
    )
    assert r.status_code in (200, 201), r.text
    return r


def record(api, org, record_id, user="cq-che-01"):
    items = api.get(f"/v1/mrv/records?org_id={org}&year=2025", user).json()["items"]
    return next(r for r in items if r["record_id"] == record_id)


def _under_verification(api):
    cq = api.org_id("CQ-CHE-01")
    upload(
        api,
        "cq-che-01",
        cq,
        "w1,CQ-CHE-01-F1,2025-01,fuel,diesel,1,t",
        "w2,CQ-CHE-01-F1,2025-02,fuel,diesel,1,t",
    )
    rid = api.post("/v1/mrv/reports", "cq-che-01", json={"org_id": cq, "year": 2025}).json()["id"]
    assert api.post(f"/v1/mrv/reports/{rid}/submit", "cq-che-01", json={}).status_code == 200
    ver = api.org_id("VER-CQ-01")
    r = api.post(f"/v1/mrv/reports/{rid}/assign", "cq-eeb", json={"verifier_org_id": ver})
    assert r.json()["status"] == "under_verification"
    return cq, rid


def test_adjustment_keeps_reported_figures_beside_adjusted_and_verified(api):
    cq, rid = _under_verification(api)
    before = record(api, cq, "w2")

    # the verifier picks the record from the list on the report page
    console_login(api, "ver-cq-01", "en")
    page = api.client.get(f"/console/mrv/reports/{rid}").text
    select = re.search(r'<select id="rid" name="record_id"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the adjustment form offers a list of the report's records"
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', select.group(1))
    assert [v for v, _ in options] == ["w1", "w2"]
    assert "2025-02" in unescape(options[1][1])
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    r = api.client.post(
        f"/console/mrv/reports/{rid}/adjust",
        data={"csrf": csrf, "record_id": options[1][0], "quantity": "3", "comment": "invoice: 3 t"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text

    rep = api.get(f"/v1/mrv/reports/{rid}", "cq-che-01").json()
    assert close(rep["reported_tco2"], 2 * DIESEL)  # the enterprise's total is unchanged
    assert close(rep["adjusted_tco2"], 4 * DIESEL)
    assert rep["verified_tco2"] is None
    w2 = record(api, cq, "w2")
    assert (w2["quantity"], w2["unit"]) == ("1", "t")
    assert close(w2["emissions_tco2"], DIESEL)
    assert w2["receipt_sha256"] == before["receipt_sha256"]
    assert w2["leaf_index"] == before["leaf_index"]
    adj = w2["adjusted"]
    assert (adj["quantity"], adj["unit"], adj["reason"]) == ("3", "t", "invoice: 3 t")
    assert close(adj["emissions_tco2"], 3 * DIESEL) and close(w2["effective_tco2"], 3 * DIESEL)
    assert record(api, cq, "w1")["adjusted"] is None

    # both receipts are in the log; the adjusted one names the receipt it adjusts
    key = api.get("/v1/audit/public-key").json()["public_key"]
    bundle = api.get(f"/v1/audit/bundle/{adj['leaf_index']}", "cq-che-01").json()
    assert verify_bundle(bundle, key).ok
    event = bundle["event"]
    assert event["adjusts_receipt_sha256"] == w2["receipt_sha256"]
    assert hashlib.sha256(canonical_json(event["receipt"])).hexdigest() == adj["receipt_sha256"]
    assert close(event["receipt"]["result"]["emissions_tco2"], 3 * DIESEL)
    reported = api.get(f"/v1/audit/bundle/{w2['leaf_index']}", "cq-che-01").json()["event"]
    assert close(reported["receipt"]["result"]["emissions_tco2"], DIESEL)

    # a second adjustment starts from the first; the reported figure still does not move
    again = api.post(
        f"/v1/mrv/reports/{rid}/adjust",
        "ver-cq-01",
        json={"record_id": "w2", "changes": {"quantity": "2"}, "reason": "second invoice"},
    )
    assert again.status_code == 200, again.text
    assert close(again.json()["report"]["reported_tco2"], 2 * DIESEL)
    assert close(again.json()["report"]["adjusted_tco2"], 3 * DIESEL)
    done = api.post(f"/v1/mrv/reports/{rid}/verify", "ver-cq-01", json={}).json()
    assert close(done["verified_tco2"], 3 * DIESEL) and close(done["reported_tco2"], 2 * DIESEL)
    events = api.get(f"/v1/mrv/reports/{rid}", "cq-che-01").json()["events"]
    adjusts = [e for e in events if e["action"] == "adjust"]
    assert [e["detail"]["before"]["inputs"]["quantity"] for e in adjusts] == ["1", "3"]
    assert [e["detail"]["reported"]["inputs"]["quantity"] for e in adjusts] == ["1", "1"]

    # exports: three figures side by side, per record and in total
    exp = api.get(f"/v1/mrv/reports/{rid}/export?format=csv", "cq-eeb")
    rows = list(csv.DictReader(io.StringIO(exp.content.decode("utf-8-sig"))))
    by_id = {r["record_id"]: r for r in rows}
    assert (by_id["w2"]["quantity"], by_id["w2"]["adjusted_quantity"]) == ("1", "2")
    assert close(by_id["w2"]["emissions_tco2"], DIESEL)
    assert close(by_id["w2"]["adjusted_emissions_tco2"], 2 * DIESEL)
    assert close(by_id["w2"]["verified_emissions_tco2"], 2 * DIESEL)
    assert by_id["w1"]["adjusted_emissions_tco2"] == ""
    total = by_id["TOTAL"]
    assert Decimal(total["emissions_tco2"]) == sum(
        Decimal(r["emissions_tco2"]) for r in rows if r["record_id"] != "TOTAL"
    )
    assert close(total["emissions_tco2"], 2 * DIESEL)
    assert close(total["adjusted_emissions_tco2"], 3 * DIESEL)
    assert close(total["verified_emissions_tco2"], 3 * DIESEL)
    wb = load_workbook(io.BytesIO(api.get(f"/v1/mrv/reports/{rid}/export", "cq-eeb").content))
    summary = {r[0].value: r[1].value for r in wb.worksheets[0].iter_rows()}
    assert close(summary["报告排放量 Reported (tCO2)"], 2 * DIESEL)
    assert close(summary["核查调整后排放量 Adjusted (tCO2)"], 3 * DIESEL)
    assert close(summary["核查排放量 Verified (tCO2)"], 3 * DIESEL)


def test_an_enterprise_correction_replaces_the_adjustment(api):
    cq, rid = _under_verification(api)
    r = api.post(
        f"/v1/mrv/reports/{rid}/adjust",
        "ver-cq-01",
        json={"record_id": "w2", "changes": {"quantity": "3"}, "reason": "invoice"},
    )
    assert r.status_code == 200
    back = api.post(f"/v1/mrv/reports/{rid}/return", "ver-cq-01", json={"comment": "fix w2"})
    assert back.json()["status"] == "returned"
    upload(api, "cq-che-01", cq, "w2,CQ-CHE-01-F1,2025-02,fuel,diesel,5,t", name="fix.csv")
    rep = api.get(f"/v1/mrv/reports/{rid}", "cq-che-01").json()
    assert close(rep["reported_tco2"], 6 * DIESEL) and rep["adjusted_tco2"] is None
    w2 = record(api, cq, "w2")
    assert w2["quantity"] == "5" and w2["adjusted"] is None
    assert close(w2["effective_tco2"], 5 * DIESEL)
