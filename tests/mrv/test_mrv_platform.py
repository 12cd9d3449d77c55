"""MRV on the platform: CLI contract, intake over HTTP, receipts, workflow, exports, console.

Expected emissions are recomputed here from the published formula and reference values
(``E = FC × NCV × CC × OF × 44/12``; ``MWh × EF``), not taken from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from greencircle.audit.merkle import canonical_json
from greencircle.audit.verify import verify_bundle
from greencircle.cli.main import app as cli_app
from greencircle.mrv.verified import DbVerifiedEmissions
from tests_support import DEMO_PASSWORD, visible_text

# Reference values (../shared/reference/cn_fuel_defaults.csv, cn_grid_factors.csv).
DIESEL = Decimal("42.652") * Decimal("20.2") / 1000 * Decimal("0.98") * 44 / 12  # tCO2/t
CN51_2022 = Decimal("0.1404")  # tCO2/MWh
CN_ETS_2022 = Decimal("0.5703")

HEADER = "record_id,facility_id,period,category,item,quantity,unit\n"


def rows(*lines: str) -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode()


def read_csv(path):
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def upload(api, user, org, content, name="a.csv"):
    return api.client.post(
        f"/v1/mrv/uploads?org_id={org}",
        headers=api.auth(user),
        files={"file": (name, content, "text/csv")},
    )


def test_cli_calculate_contract(tmp_path):
    act = tmp_path / "ACTIVITY.csv"
    act.write_text(
        HEADER + "a,F1,2022-03,fuel,diesel,1,t\n"
        "b,F1,2022-03,electricity,CN-51,1000,kWh\n"
        "a,F1,2022-04,fuel,diesel,2,t\n"
        "c,F1,2022-04,fuel,unobtainium,1,t\n"
        "d,F1,2022-04,electricity,CN-51,5,MWh\n",
        encoding="utf-8",
    )
    out, err = tmp_path / "RESULTS.csv", tmp_path / "ERRORS.csv"
    r = CliRunner().invoke(
        cli_app, ["mrv", "calculate", str(act), "--out", str(out), "--errors", str(err)]
    )
    assert r.exit_code == 1  # rows were rejected
    results = {row["record_id"]: row for row in read_csv(out)}
    assert set(results) == {"a", "b", "d"}
    assert Decimal(results["a"]["emissions_tco2"]).quantize(Decimal("0.0001")) == DIESEL.quantize(
        Decimal("0.0001")
    )
    assert Decimal(results["b"]["emissions_tco2"]) == CN51_2022
    errors = read_csv(err)
    assert [(e["line"], e["record_id"]) for e in errors] == [("4", "a"), ("5", "c")]
    ok = tmp_path / "OK.csv"
    ok.write_text(HEADER + "a,F1,2022-03,fuel,diesel,1,t\n", encoding="utf-8")
    r = CliRunner().invoke(cli_app, ["mrv", "calculate", str(ok), "--out", str(out)])
    assert r.exit_code == 0


def test_upload_store_recognise_and_reject_atomically(api):
    cq = api.org_id("CQ-POW-01")
    good = rows(
        "r1,CQ-POW-01-F1,2025-01,fuel,diesel,1,t",
        "r2,CQ-POW-01-F1,2025-01,electricity,CN-ETS,1,MWh",
        "r3,CQ-POW-01-F1,2025-01,output,product,100,MWh",
    )
    first = upload(api, "cq-pow-01", cq, good)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["new"], body["production"], body["duplicate"]) == (2, 1, False)
    expected = DIESEL + CN_ETS_2022  # 2025 falls back to the latest ETS factor (2022)
    assert abs(Decimal(body["emissions_tco2"]) - expected) < Decimal("1e-9")
    again = upload(api, "cq-pow-01", cq, good)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    recs = api.get(f"/v1/mrv/records?org_id={cq}&year=2025", "cq-pow-01").json()
    assert recs["total"] == 2  # not double counted
    bad = rows(
        "r4,CQ-POW-01-F1,2025-02,fuel,diesel,-1,t",
        "r5,CQ-POW-01-F1,2025-02,fuel,diesel,1,m3",
        "r6,SC-POW-01-F1,2025-02,fuel,diesel,1,t",
        "r7,CQ-POW-01-F1,2025-02,fuel,diesel,1,t",
    )
    r = upload(api, "cq-pow-01", cq, bad, "b.csv")
    assert r.status_code == 422 and r.json()["error"] == "mrv.rows_rejected"
    errs = r.json()["detail"]["errors"]
    assert [(e["line"], e["column"]) for e in errs] == [
        (2, "quantity"),
        (3, "unit"),
        (4, "facility_id"),
    ]
    assert api.get(f"/v1/mrv/records?org_id={cq}&year=2025", "cq-pow-01").json()["total"] == 2
    # Another enterprise cannot upload for, or read, CQ-POW-01.
    assert upload(api, "sc-pow-01", cq, good, "x.csv").status_code == 403
    assert api.get(f"/v1/mrv/records?org_id={cq}", "sc-pow-01").status_code == 403


def test_xlsx_template_round_trip_and_json(api):
    cq = api.org_id("CQ-CEM-01")
    blank = api.get("/v1/mrv/template.xlsx", "cq-cem-01")
    assert blank.status_code == 200
    wb = load_workbook(io.BytesIO(blank.content))
    ws = wb.worksheets[0]
    header_row = next(r[0].row for r in ws.iter_rows() if r[0].value == "record_id")
    ws.cell(header_row + 1, 1, "x1"), ws.cell(header_row + 1, 2, "CQ-CEM-01-F1")
    ws.cell(header_row + 1, 3, "2025-03"), ws.cell(header_row + 1, 4, "fuel")
    ws.cell(header_row + 1, 5, "diesel"), ws.cell(header_row + 1, 6, 2.5)
    ws.cell(header_row + 1, 7, "t")
    ws.cell(header_row + 3, 1, "x2"), ws.cell(header_row + 3, 2, "CQ-CEM-01-F1")
    ws.cell(header_row + 3, 3, "2025-03"), ws.cell(header_row + 3, 4, "fuel")
    ws.cell(header_row + 3, 5, "diesel"), ws.cell(header_row + 3, 6, -1)
    ws.cell(header_row + 3, 7, "t")
    buf = io.BytesIO()
    wb.save(buf)
    r = api.client.post(
        f"/v1/mrv/uploads?org_id={cq}",
        headers=api.auth("cq-cem-01"),
        files={"file": ("m.xlsx", buf.getvalue(), "application/octet-stream")},
    )
    assert r.status_code == 422
    assert [(e["line"], e["record_id"]) for e in r.json()["detail"]["errors"]] == [
        (header_row + 3, "x2")
    ]  # the spreadsheet row, blank rows counted
    ws.cell(header_row + 3, 6, 1)
    buf = io.BytesIO()
    wb.save(buf)
    r = api.client.post(
        f"/v1/mrv/uploads?org_id={cq}",
        headers=api.auth("cq-cem-01"),
        files={"file": ("m.xlsx", buf.getvalue(), "application/octet-stream")},
    )
    assert r.status_code == 201, r.text
    assert abs(Decimal(r.json()["emissions_tco2"]) - DIESEL * Decimal("3.5")) < Decimal("1e-9")
    j = api.post(
        "/v1/mrv/records",
        "cq-cem-01",
        json={
            "org_id": cq,
            "records": [
                {
                    "record_id": "j1",
                    "facility_id": "CQ-CEM-01-F1",
                    "period": "2025-04",
                    "category": "heat",
                    "item": "heat",
                    "quantity": "10",
                    "unit": "GJ",
                }
            ],
        },
    )
    assert j.status_code == 201 and Decimal(j.json()["emissions_tco2"]) == Decimal("1.1")
    f = api.post(
        "/v1/mrv/records",
        "cq-cem-01",
        json={
            "org_id": cq,
            "records": [
                {
                    "record_id": "j2",
                    "facility_id": "CQ-CEM-01-F1",
                    "period": "2025-04",
                    "category": "heat",
                    "item": "heat",
                    "quantity": 10.5,
                    "unit": "GJ",
                }
            ],
        },
    )
    assert f.status_code == 422 and f.json()["error"] == "mrv.float_not_allowed"


def test_receipts_are_provable_offline(api):
    cq = api.org_id("CQ-STE-01")
    upload(
        api,
        "cq-ste-01",
        cq,
        rows(
            "s1,CQ-STE-01-F1,2025-01,fuel,coke,10,t",
            "s2,CQ-STE-01-F1,2025-01,electricity,CN-ETS,10,MWh",
        ),
    )
    recs = api.get(f"/v1/mrv/records?org_id={cq}", "cq-ste-01").json()["items"]
    key = api.get("/v1/audit/public-key").json()["public_key"]
    for rec in recs:
        bundle = api.get(f"/v1/audit/bundle/{rec['leaf_index']}", "cq-ste-01").json()
        assert verify_bundle(bundle, key).ok
        event = bundle["event"]
        assert event["type"] == "mrv.receipt" and event["record_id"] == rec["record_id"]
        import hashlib

        assert hashlib.sha256(canonical_json(event["receipt"])).hexdigest() == rec["receipt_sha256"]
        assert Decimal(event["receipt"]["result"]["emissions_tco2"]) == Decimal(
            rec["emissions_tco2"]
        )
    other = api.get(f"/v1/audit/bundle/{recs[0]['leaf_index']}", "sc-ste-01")
    assert other.status_code == 403


def test_report_workflow_roles_adjustment_and_exports(api):
    cq = api.org_id("CQ-CHE-01")
    upload(
        api,
        "cq-che-01",
        cq,
        rows("w1,CQ-CHE-01-F1,2025-01,fuel,diesel,1,t", "w2,CQ-CHE-01-F1,2025-02,fuel,diesel,1,t"),
    )
    rep = api.post("/v1/mrv/reports", "cq-che-01", json={"org_id": cq, "year": 2025})
    assert rep.status_code == 201 and rep.json()["status"] == "draft"
    rid = rep.json()["id"]
    assert api.get(f"/v1/mrv/reports/{rid}", "sc-che-01").status_code == 403
    assert api.post(f"/v1/mrv/reports/{rid}/verify", "ver-cq-01", json={}).status_code == 403
    assert api.post(f"/v1/mrv/reports/{rid}/submit", "cq-che-01", json={}).status_code == 200
    # Locked data: a later upload touching 2025 is refused, nothing stored.
    r = upload(api, "cq-che-01", cq, rows("w3,CQ-CHE-01-F1,2025-03,fuel,diesel,1,t"), "c.csv")
    assert r.status_code == 422 and "submitted" in r.json()["detail"]["errors"][0]["reason"]
    ver = api.org_id("VER-CQ-01")
    assert (
        api.post(
            f"/v1/mrv/reports/{rid}/assign", "sc-eed", json={"verifier_org_id": ver}
        ).status_code
        == 403
    )
    bad = api.post(
        f"/v1/mrv/reports/{rid}/assign",
        "cq-eeb",
        json={"verifier_org_id": api.org_id("BANK-CQ-01")},
    )
    assert bad.status_code == 422 and bad.json()["error"] == "mrv.not_a_verifier"
    ok = api.post(f"/v1/mrv/reports/{rid}/assign", "cq-eeb", json={"verifier_org_id": ver})
    assert ok.json()["status"] == "under_verification"
    assert api.post(f"/v1/mrv/reports/{rid}/verify", "ver-sc-01", json={}).status_code == 403
    adj = api.post(
        f"/v1/mrv/reports/{rid}/adjust",
        "ver-cq-01",
        json={"record_id": "w2", "changes": {"quantity": "3"}, "reason": "invoice shows 3 t"},
    )
    assert adj.status_code == 200, adj.text
    # the enterprise's figure stays; the verifier's stands beside it
    assert abs(Decimal(adj.json()["report"]["reported_tco2"]) - DIESEL * 2) < Decimal("1e-9")
    assert abs(Decimal(adj.json()["report"]["adjusted_tco2"]) - DIESEL * 4) < Decimal("1e-9")
    nope = api.post(f"/v1/mrv/reports/{rid}/lock", "cq-eeb", json={})
    assert nope.status_code == 409 and nope.json()["error"] == "mrv.invalid_transition"
    done = api.post(f"/v1/mrv/reports/{rid}/verify", "ver-cq-01", json={"comment": "ok"})
    assert done.json()["status"] == "verified"
    verified = Decimal(done.json()["verified_tco2"])
    assert abs(verified - DIESEL * 4) < Decimal("1e-9")
    assert api.post(f"/v1/mrv/reports/{rid}/lock", "cq-eeb", json={}).json()["status"] == "locked"
    history = api.get(f"/v1/mrv/reports/{rid}", "cq-che-01").json()["events"]
    assert [e["action"] for e in history] == [
        "create",
        "submit",
        "assign",
        "adjust",
        "verify",
        "lock",
    ]
    adjust = history[3]
    assert adjust["comment"] == "invoice shows 3 t"
    assert adjust["detail"]["before"]["inputs"]["quantity"] == "1"
    session = api.client.app.state.session_factory()
    try:
        assert DbVerifiedEmissions(session).verified_emissions(cq, 2025) == verified
        assert DbVerifiedEmissions(session).verified_emissions(cq, 2024) is None
    finally:
        session.close()
    listed = api.get("/v1/mrv/verified-emissions?year=2025", "cq-eeb").json()
    assert [(x["org_id"], Decimal(x["verified_tco2"])) for x in listed] == [(cq, verified)]
    exp = api.get(f"/v1/mrv/reports/{rid}/export?format=csv", "cq-eeb")
    rows_out = list(csv.DictReader(io.StringIO(exp.content.decode("utf-8-sig"))))
    assert rows_out[-1]["record_id"] == "TOTAL"
    assert Decimal(rows_out[-1]["verified_emissions_tco2"]) == verified
    assert sum(Decimal(r["verified_emissions_tco2"]) for r in rows_out[:-1]) == verified
    assert sum(Decimal(r["emissions_tco2"]) for r in rows_out[:-1]) == Decimal(
        rows_out[-1]["emissions_tco2"]
    )
    xl = api.get(f"/v1/mrv/reports/{rid}/export?format=xlsx", "cq-eeb")
    wb = load_workbook(io.BytesIO(xl.content))
    summary = {r[0].value: r[1].value for r in wb.worksheets[0].iter_rows()}
    assert summary["核查排放量 Verified (tCO2)"] == str(verified)


def test_intensity_and_summary(api):
    cq = api.org_id("CQ-POW-02")
    upload(
        api,
        "cq-pow-02",
        cq,
        rows(
            "i1,CQ-POW-02-F1,2025-05,electricity,CN-ETS,200,MWh",
            "i2,CQ-POW-02-F1,2025-05,output,product,1000,MWh",
        ),
    )
    summ = api.get(f"/v1/mrv/summary?year=2025&org_id={cq}", "cq-pow-02").json()
    assert Decimal(summ["monthly_by_source"]["2025-05"]["electricity"]) == CN_ETS_2022 * 200
    [row] = summ["intensity"]
    assert Decimal(row["intensity"]) == (CN_ETS_2022 * 200 / 1000).quantize(Decimal("1e-6"))


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_console_pages_in_both_languages(api, lang):
    from greencircle.demo.mrv import load_mrv_demo

    state = api.client.app.state
    session = state.session_factory()
    try:
        load_mrv_demo(session, state.log_signer)
        session.commit()
    finally:
        session.close()
    cjk = re.compile(r"[\u3400-\u9fff]")
    for user in ("cq-pow-01", "cq-eeb", "ver-cq-01"):
        api.client.cookies.clear()
        api.client.cookies.set("gc_lang", lang)
        api.client.post("/console/login", data={"username": user, "password": DEMO_PASSWORD})
        page = api.client.get("/console/mrv")
        assert page.status_code == 200
        ids = re.findall(r"/console/mrv/reports/(\w+)", page.text)
        assert ids, user
        report = api.client.get(f"/console/mrv/reports/{ids[0]}")
        assert report.status_code == 200
        factors = api.client.get("/console/mrv/factors?q=coal")
        for html in (page.text, report.text):
            text = visible_text(html)
            if lang == "en":
                # factor sources and organisation names are data: only the UI is checked
                assert not cjk.findall(text.replace("中文", "")), user
            else:
                assert "Monthly records" not in text and "Annual reports" not in text
        assert factors.status_code == 200 and "coal" in factors.text
        data = json.loads(
            re.search(r'id="mrv-chart-data">(.*?)</script>', report.text, re.S).group(1)
        )
        assert len(data["periods"]) == 12 and sum(data["series"]["fuel"]) >= 0


def test_factor_set_publications_are_logged_once(api):
    from greencircle.mrv.factors import load_library
    from greencircle.mrv.service import publish_factor_sets

    state = api.client.app.state
    leaves = api.get("/v1/audit/leaves?start=0&end=50", "gc-secretariat").json()
    published = [
        leaf["data"]
        for leaf in leaves
        if leaf["data"] and leaf["data"]["type"] == "mrv.factor_set.published"
    ]
    lib = load_library()
    assert {(e["factor_set"], e["version"], e["sha256"]) for e in published} == {
        (fs.factor_set, fs.version, fs.sha256) for fs in lib.sets
    }
    session = state.session_factory()
    try:
        assert publish_factor_sets(session, state.log_signer) == 0  # idempotent
    finally:
        session.close()


def test_findings_flag_jumps_and_missing_months_without_changing_data(api):
    cq = api.org_id("CQ-ALU-01")
    upload(
        api,
        "cq-alu-01",
        cq,
        rows(
            "f1,CQ-ALU-01-F1,2025-01,electricity,CN-ETS,100,MWh",
            "f2,CQ-ALU-01-F1,2025-02,electricity,CN-ETS,300,MWh",
        ),
    )
    found = api.get(f"/v1/mrv/findings?org_id={cq}&year=2025", "cq-alu-01")
    assert found.status_code == 200
    codes = [f["code"] for f in found.json()]
    assert "MRV-Q010" in codes  # +200 % month on month
    assert codes.count("MRV-Q020") == 10  # March to December missing
    jump = next(f for f in found.json() if f["code"] == "MRV-Q010")
    assert jump["severity"] in {"warning", "error"} and "2025-02" in jump["message"]
    recs = api.get(f"/v1/mrv/records?org_id={cq}&year=2025", "cq-alu-01").json()
    assert [r["quantity"] for r in recs["items"]] == ["100", "300"]  # nothing was "fixed"
    assert api.get(f"/v1/mrv/findings?org_id={cq}&year=2025", "sc-alu-01").status_code == 403


def test_region_chart_sums_the_scope_and_factor_filters(api):
    cq, sc = api.org_id("CQ-POW-03"), api.org_id("SC-POW-03")
    upload(api, "cq-pow-03", cq, rows("g1,CQ-POW-03-F1,2025-06,electricity,CN-ETS,10,MWh"))
    upload(api, "sc-pow-03", sc, rows("g2,SC-POW-03-F1,2025-06,electricity,CN-ETS,20,MWh"))
    for user, org in (("cq-pow-03", cq), ("sc-pow-03", sc)):
        assert (
            api.post("/v1/mrv/reports", user, json={"org_id": org, "year": 2025}).status_code == 201
        )
    api.client.cookies.clear()
    api.client.post("/console/login", data={"username": "cq-eeb", "password": DEMO_PASSWORD})
    html = api.client.get("/console/mrv?year=2025").text
    data = json.loads(re.search(r'id="mrv-chart-data">(.*?)</script>', html, re.S).group(1))
    june = data["series"]["electricity"][5]
    assert abs(Decimal(str(june)) - CN_ETS_2022 * 10) < Decimal("1e-6")  # CQ only, not SC
    page = api.client.get("/console/mrv/factors?region=CN-SW&year=2022").text
    assert "cn-grid-stat/CN-SW/2022" in page and "cn-grid-stat/CN-NW/2022" not in page
    page = api.client.get("/console/mrv/factors?source=GB/T%202589").text
    assert "cn-fuel/diesel@" in page
