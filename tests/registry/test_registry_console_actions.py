"""The registry actions that were API-only, now in the console: compliance surrender,
allocation plans with the four-eyes step, pledges, freezes and their lifting, and the
account statement with CSV/XLSX exports. Each form needs the session's CSRF token, is
scoped like the API, and reports a rejection as its message without writing anything."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from urllib.parse import quote

from openpyxl import load_workbook

from greencircle.demo.registry import SECOND_REGULATOR
from greencircle.web.i18n import catalog
from tests_support import console_login

R = "/v1/registry"
CQEA = "CN-CQ:CQEA:2025"
EN = catalog("en")


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert m
    return m.group(1)


def balance(api, user: str, account: str, instrument: str) -> dict:
    r = api.get(f"{R}/accounts/{quote(account)}/balance", user, params={"instrument": instrument})
    assert r.status_code == 200, r.text
    return r.json()


def test_surrender_from_the_compliance_page(reg_api):
    api = reg_api
    q = {"market": "CN-NATIONAL", "year": 2025}
    before = api.get(f"{R}/compliance/status", "cq-pow-03", params=q).json()
    assert before["status"] == "open" and before["remaining"] > 100
    console_login(api, "cq-pow-03", "en")
    page = api.client.get("/console/registry/compliance?year=2025").text
    assert 'data-testid="surrender-form"' in page
    form = {"market": "CN-NATIONAL", "year": "2025", "instrument": "CN-NATIONAL:CEA:2025"}
    r = api.client.post(
        "/console/registry/surrender", data=form | {"quantity": "100", "csrf": "0" * 32}
    )
    assert r.status_code == 403 and "csrf_failed" in r.text
    token = csrf_of(page)
    r = api.client.post(
        "/console/registry/surrender", data=form | {"quantity": "100", "csrf": token}
    )
    assert r.status_code == 200 and EN["registry.done.surrendered"] in r.text
    after = api.get(f"{R}/compliance/status", "cq-pow-03", params=q).json()
    assert after["surrendered_allowances"] == before["surrendered_allowances"] + 100
    assert after["remaining"] == before["remaining"] - 100
    for bad, code in (
        ("1e2", "invalid_quantity"),
        ("-5", "invalid_quantity"),
        (str(after["remaining"] + 1), "surrender_exceeds_obligation"),
    ):
        r = api.client.post(
            "/console/registry/surrender", data=form | {"quantity": bad, "csrf": token}
        )
        assert r.status_code == 200 and EN[f"registry.error.{code}"] in r.text, (bad, r.text[-800:])
    # a plant of the national market surrenders nothing in the Chongqing pilot
    r = api.client.post(
        "/console/registry/surrender",
        data=form | {"market": "CN-CQ", "instrument": CQEA, "quantity": "1", "csrf": token},
    )
    assert EN["registry.error.not_covered"] in r.text
    assert api.get(f"{R}/compliance/status", "cq-pow-03", params=q).json() == after


def test_allocation_plan_four_eyes_from_the_console(reg_api):
    api = reg_api
    console_login(api, "cq-cem-01", "en")
    assert api.client.get("/console/registry/plans").status_code == 403
    console_login(api, "cq-eeb", "en")
    page = api.client.get("/console/registry/plans").text
    token = csrf_of(page)
    form = {"market": "CN-CQ", "year": "2027", "product": "CQEA", "pre_share_pct": "100"}
    r = api.client.post(
        "/console/registry/plans", data=form | {"lines": "CQ-CEM-01; 1000", "csrf": token}
    )
    assert EN["registry.error.invalid_plan_line"] in r.text
    assert not api.get(f"{R}/allocation-plans", "cq-eeb", params={"year": 2027}).json()["items"]
    lines = "CQ-CEM-01, grandfathering, 1000, 0.98\nCQ-STE-01, grandfathering, 2500"
    r = api.client.post("/console/registry/plans", data=form | {"lines": lines, "csrf": token})
    assert r.status_code == 200 and EN["registry.done.plan_created"] in r.text
    (plan,) = api.get(f"{R}/allocation-plans", "cq-eeb", params={"year": 2027}).json()["items"]
    assert plan["status"] == "draft" and plan["unit"] == "tCO2e"
    # 1000 x 0.98 and 2500 x 1, in whole tonnes
    assert sorted(ln["quantity"] for ln in plan["lines"]) == [980, 2500]
    assert "3,480 tCO₂e" in r.text
    approve = f"/console/registry/plans/{plan['plan_id']}/approve"
    r = api.client.post(approve, data={"csrf": token})
    assert EN["registry.error.four_eyes_required"] in r.text
    console_login(api, SECOND_REGULATOR, "en")
    page = api.client.get("/console/registry/plans").text
    r = api.client.post(approve, data={"csrf": csrf_of(page)})
    assert EN["registry.done.plan_approved"] in r.text
    console_login(api, "cq-eeb", "en")
    page = api.client.get("/console/registry/plans").text
    r = api.client.post(
        f"/console/registry/plans/{plan['plan_id']}/issue", data={"csrf": csrf_of(page)}
    )
    assert EN["registry.done.plan_issued"] in r.text
    got = balance(api, "cq-cem-01", "CN-CQ.CQ-CEM-01", "CN-CQ:CQEA:2027")
    assert got["posted"] == 980
    # Sichuan's regulator cannot approve a Chongqing plan
    console_login(api, "sc-eed", "en")
    page = api.client.get("/console/registry/plans").text
    assert plan["plan_id"] not in page


def test_pledge_freeze_and_lift_from_the_console(reg_api):
    api = reg_api
    acc = "CN-CQ.CQ-CEM-01"
    start = balance(api, "cq-cem-01", acc, CQEA)
    console_login(api, "cq-cem-01", "en")
    page = api.client.get("/console/registry/pledges").text
    assert 'data-testid="pledge-form"' in page
    form = {"holding": f"{acc}|{CQEA}", "pledgee": "BANK-CQ-01", "reference": "LOAN-CONSOLE-1"}
    r = api.client.post(
        "/console/registry/pledges", data=form | {"quantity": "10", "csrf": csrf_of(page)}
    )
    assert r.status_code == 200 and EN["registry.done.pledged"] in r.text
    assert "LOAN-CONSOLE-1" in r.text
    r = api.client.post(
        "/console/registry/pledges",
        data=form | {"quantity": str(start["available"]), "csrf": csrf_of(page)},
    )
    # what is missing is exactly what was just pledged: the binding reason is the pledge
    assert EN["registry.error.units_pledged"] in r.text
    assert balance(api, "cq-cem-01", acc, CQEA)["pledged"] == start["pledged"] + 10
    # an enterprise may not freeze
    page = api.client.get("/console/registry/freezes").text
    assert 'data-testid="freeze-form"' not in page
    freeze = {"account": acc, "instrument": CQEA, "reason": "court order 7", "quantity": "7"}
    r = api.client.post("/console/registry/freezes", data=freeze | {"csrf": csrf_of(page)})
    assert EN["registry.error.permission_denied"] in r.text
    # Sichuan's regulator may not freeze a Chongqing account
    console_login(api, "sc-eed", "en")
    page = api.client.get("/console/registry/freezes").text
    r = api.client.post("/console/registry/freezes", data=freeze | {"csrf": csrf_of(page)})
    assert r.status_code == 200 and "court order 7" not in r.text
    assert balance(api, "cq-cem-01", acc, CQEA)["frozen"] == start["frozen"]
    console_login(api, "cq-eeb", "en")
    page = api.client.get("/console/registry/freezes").text
    r = api.client.post("/console/registry/freezes", data=freeze | {"csrf": csrf_of(page)})
    assert EN["registry.done.frozen"] in r.text and "court order 7" in r.text
    assert balance(api, "cq-cem-01", acc, CQEA)["frozen"] == start["frozen"] + 7
    (fid,) = re.findall(r'action="/console/registry/freezes/([0-9A-Z]+)/lift"', r.text)
    r = api.client.post(
        f"/console/registry/freezes/{fid}/lift",
        data={"reason": "order lifted", "csrf": csrf_of(r.text)},
    )
    assert EN["registry.done.lifted"] in r.text and "order lifted" in r.text
    assert balance(api, "cq-cem-01", acc, CQEA)["frozen"] == start["frozen"]


def test_account_statement_with_running_balance_and_exports(reg_api):
    api = reg_api
    acc = "CN-CQ.CQ-CEM-01"
    now = balance(api, "cq-cem-01", acc, CQEA)
    console_login(api, "cq-cem-01", "en")
    q = f"account={quote(acc)}&instrument={quote(CQEA)}"
    page = api.client.get(f"/console/registry/statement?{q}")
    assert page.status_code == 200
    assert f'data-testid="closing">{now["posted"]:,} tCO₂e<' in page.text
    r = api.client.get(f"/console/registry/statement?{q}&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    running = Decimal(0)
    for row in rows:  # the running balance, recomputed from the movements
        running += Decimal(row["credit"]) - Decimal(row["debit"])
        assert Decimal(row["balance"]) == running
        assert row["unit"] == "tCO2e"
        assert row["time_beijing"].endswith("+08:00")
    assert running == now["posted"] and len(rows) >= 2
    assert {row["kind"] for row in rows} >= {"allocation", "surrender"}
    x = api.client.get(f"/console/registry/statement?{q}&format=xlsx")
    ws = load_workbook(io.BytesIO(x.content)).active
    sheet = [[c.value for c in line] for line in ws.iter_rows()]
    assert sheet[0] == list(rows[0].keys())
    assert [Decimal(str(line[6])) for line in sheet[1:]] == [
        Decimal(row["balance"]) for row in rows
    ]
    # money is exported in CNY with its two decimals, not in fen
    cash, cny = "CASH.CNY.CQ-CEM-01", "CASH:CNY"
    fen = balance(api, "cq-cem-01", cash, cny)["posted"]
    q2 = f"account={quote(cash)}&instrument={quote(cny)}&format=csv"
    money = list(
        csv.DictReader(io.StringIO(api.client.get(f"/console/registry/statement?{q2}").text))
    )
    assert money[-1]["unit"] == "CNY"
    assert Decimal(money[-1]["balance"]) * 100 == fen
    # the bare page leads to the holdings, where every holding links to its statement
    bare = api.client.get("/console/registry/statement", follow_redirects=False)
    assert bare.status_code == 303 and bare.headers["location"] == "/console/registry"
    # another organisation's statement is not visible
    other = f"account={quote('CN-CQ.CQ-CEM-02')}&instrument={quote(CQEA)}"
    assert api.client.get(f"/console/registry/statement?{other}").status_code == 404
    console_login(api, "cq-eeb", "en")
    assert api.client.get(f"/console/registry/statement?{other}").status_code == 200


def test_verified_emissions_keep_mrv_unit_and_headers_carry_no_second_unit(reg_api):
    api = reg_api
    console_login(api, "cq-pow-01", "en")
    page = api.client.get("/console/registry/compliance?year=2025").text
    label = EN["registry.col.verified"]
    shown = re.search(rf"<dt>{re.escape(label)}</dt><dd>(.*?)</dd>", page, re.S).group(1)
    assert shown.endswith(" tCO₂"), shown  # MRV verifies tCO2; allowances are tCO2e
    assert "[" not in label and "[" not in EN["registry.col.fine_min"]
