"""HTTP contract of the registry (``/v1/registry``): every operation, every rejection code,
and who may see and move what. Runs on a copy of the registry demo (2025 cycle)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from reg_support import api_insert_verified

from greencircle.audit.verify import verify_bundle
from greencircle.demo.registry import BENEFICIARY, PLEDGE_REFERENCE, SECOND_REGULATOR
from greencircle.demo.scenario import ENTERPRISES
from tests_support import DEMO_PASSWORD

R = "/v1/registry"
CQEA = "CN-CQ:CQEA:2025"
Y = date.today().year  # a compliance year whose CN-CQ deadline (31 Aug Y+1) is ahead


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def err(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code, body
    assert body["detail"], body
    return dict(body)


def issue_ccer(api: Any, org: str, quantity: int, project: str = "P-TEST-1") -> str:
    body = {
        "market_code": "CN-CQ",
        "product": "CCER",
        "vintage": 2024,
        "to_org_id": api.org_id(org),
        "quantity": quantity,
        "project_id": project,
    }
    tx = ok(api.post(f"{R}/issuances", "cq-eeb", json=body), 201)
    return str(tx["legs"][0]["instrument_code"])


def add_user(api: Any, org: str, admin: str, username: str, roles: list[str]) -> str:
    body = {
        "username": username,
        "display_name": username,
        "password": DEMO_PASSWORD,
        "roles": roles,
        "locale": "en",
    }
    ok(api.post(f"/v1/organisations/{api.org_id(org)}/users", admin, json=body), 201)
    return username


def balance(api: Any, user: str, account: str, instrument: str) -> dict[str, Any]:
    r = api.get(f"{R}/accounts/{account}/balance", user, params={"instrument": instrument})
    return dict(ok(r))


# ======================================================================================
# reference data
# ======================================================================================
def test_markets_and_instruments(reg_api):
    api = reg_api
    markets = ok(api.get(f"{R}/markets", "cq-cem-01"))
    cq = next(m for m in markets if m["code"] == "CN-CQ")
    assert cq["rules"]["offset_cap_pct"] == {
        "value": "8",
        "status": "recall",
        "source": cq["rules"]["offset_cap_pct"]["source"],
    }
    assert {p["code"] for p in cq["products"]} >= {"CQEA", "CCER", "CQ-PDR"}
    assert ok(api.get(f"{R}/markets/CN-NATIONAL", "cq-cem-01"))["authority_jurisdiction"] == "CN"
    err(api.get(f"{R}/markets/XX", "cq-cem-01"), 404, "unknown_market")
    page = ok(api.get(f"{R}/instruments", "cq-cem-01", params={"market": "CN-CQ"}))
    codes = [i["code"] for i in page["items"]]
    assert codes == sorted(codes) and CQEA in codes
    by_issued = ok(api.get(f"{R}/instruments?sort=-issued&limit=1", "cq-cem-01"))
    assert by_issued["total"] >= 3 and len(by_issued["items"]) == 1
    assert by_issued["items"][0]["issued"] == max(
        i["issued"] for i in ok(api.get(f"{R}/instruments", "cq-cem-01"))["items"]
    )
    err(api.get(f"{R}/instruments?sort=bogus", "cq-cem-01"), 422, "invalid_sort")
    one = ok(api.get(f"{R}/instruments/{CQEA}", "cq-cem-01"))
    assert ok(api.get(f"{R}/instruments/{one['id']}", "cq-cem-01"))["code"] == CQEA
    err(api.get(f"{R}/instruments/CN-CQ:NOPE:1", "cq-cem-01"), 404, "not_found")
    assert api.get(f"{R}/markets").status_code == 200  # reference data is public
    err(api.get(f"{R}/balances"), 401, "not_authenticated")


# ======================================================================================
# accounts, balances, blocks, proofs and the access matrix
# ======================================================================================
def test_holdings_blocks_and_proof_bundles(reg_api):
    api = reg_api
    page = ok(api.get(f"{R}/balances", "cq-cem-01"))
    (line,) = [b for b in page["items"] if b["instrument_code"] == CQEA]
    assert line["account_number"] == "CN-CQ.CQ-CEM-01"
    assert line["posted"] == line["available"] + line["held"] + line["encumbered"]
    accounts = ok(api.get(f"{R}/accounts", "cq-cem-01"))["items"]
    assert [a["number"] for a in accounts] == sorted(a["number"] for a in accounts)
    blocks = ok(api.get(f"{R}/accounts/CN-CQ.CQ-CEM-01/blocks", "cq-cem-01"))["items"]
    assert sum(b["quantity"] for b in blocks if b["instrument_code"] == CQEA) == line["posted"]
    assert all(b["serials"].startswith("CN-CQ-CQEA-2025-AL2025-CN-CQ-") for b in blocks)
    proof = ok(api.get(f"{R}/accounts/CN-CQ.CQ-CEM-01/proofs?instrument={CQEA}", "cq-cem-01"))
    assert proof["bundles"]
    key = api.get("/v1/audit/public-key").json()["public_key"]
    for bundle in proof["bundles"]:
        assert verify_bundle(bundle, key).ok
    for block in blocks:
        bundle = ok(api.get(f"{R}/transactions/{block['last_tx_id']}/proof", "cq-cem-01"))
        assert bundle["leaf_index"] == block["leaf_index"]
        assert bundle in proof["bundles"]
    err(api.get(f"{R}/transactions/{blocks[0]['last_tx_id']}/proof", "cq-pow-01"), 404, "not_found")
    err(api.get(f"{R}/transactions/nope/proof", "cq-cem-01"), 404, "not_found")
    # a regulator sees the holdings of its jurisdiction
    other = ok(api.get(f"{R}/balances", "cq-eeb", params={"org_id": api.org_id("CQ-CEM-01")}))
    assert other["total"] == page["total"]


def test_access_matrix(reg_api):
    api = reg_api
    cem02 = api.org_id("CQ-CEM-02")
    # enterprise A cannot see or move B's holdings
    err(api.get(f"{R}/balances?org_id={cem02}", "cq-cem-01"), 403, "out_of_jurisdiction")
    err(api.get(f"{R}/accounts?org_id={cem02}", "cq-cem-01"), 403, "out_of_jurisdiction")
    err(api.get(f"{R}/accounts/CN-CQ.CQ-CEM-02/blocks", "cq-cem-01"), 404, "not_found")
    err(
        api.get(f"{R}/accounts/CN-CQ.CQ-CEM-02/proofs?instrument={CQEA}", "cq-cem-01"),
        404,
        "not_found",
    )
    move = {"from_account": "CN-CQ.CQ-CEM-02", "to_account": "CN-CQ.CQ-CEM-01"}
    move |= {"instrument": CQEA, "quantity": 1}
    err(api.post(f"{R}/transfers", "cq-cem-01", json=move), 403, "not_holder")
    assert not [
        t for t in ok(api.get(f"{R}/transfers", "cq-cem-01"))["items"] if "CEM-02" in str(t)
    ]
    # a regulator only within its jurisdiction
    assert ok(api.get(f"{R}/balances?org_id={cem02}", "cq-eeb"))["total"] > 0
    err(api.get(f"{R}/balances?org_id={cem02}", "sc-eed"), 403, "out_of_jurisdiction")
    err(api.get(f"{R}/accounts/CN-CQ.CQ-CEM-02/blocks", "sc-eed"), 404, "not_found")
    q = {"market": "CN-CQ", "year": 2025}
    err(api.get(f"{R}/compliance/regions/CN-CQ", "sc-eed", params=q), 403, "out_of_jurisdiction")
    assert ok(api.get(f"{R}/compliance/regions/CN-CQ", "cq-eeb", params=q))["entities"] == 8
    assert not ok(api.get(f"{R}/retirements", "sc-eed"))["items"]
    assert ok(api.get(f"{R}/retirements", "cq-eeb"))["items"]
    # banks see pledges in their favour only; regulators those of their jurisdiction
    (pledge,) = ok(api.get(f"{R}/pledges", "bank-cq-01"))["items"]
    assert pledge["reference"] == PLEDGE_REFERENCE
    assert ok(api.get(f"{R}/pledges", "cq-eeb"))["items"] == [pledge]
    assert ok(api.get(f"{R}/pledges", "cq-che-02"))["items"] == [pledge]
    for user in ("bank-sc-01", "sc-eed", "cq-cem-01"):
        assert ok(api.get(f"{R}/pledges", user))["items"] == [], user
    # the bank sees no holdings of its borrower
    err(
        api.get(f"{R}/balances?org_id={api.org_id('CQ-CHE-02')}", "bank-cq-01"),
        403,
        "out_of_jurisdiction",
    )
    # a verifier sees nothing of the registry
    for path in ("/balances", "/accounts", "/pledges", "/retirements", "/transfers", "/freezes"):
        err(api.get(f"{R}{path}", "ver-cq-01"), 403, "permission_denied")
    err(api.get(f"{R}/compliance/status", "ver-cq-01", params=q), 403, "permission_denied")
    # the settlement bank sees cash, not units
    cash = ok(api.get(f"{R}/balances?org_id={api.org_id('CQ-ALU-01')}", "settle-01"))["items"]
    assert cash and all(b["account_number"].startswith("CASH.CNY.") for b in cash)


# ======================================================================================
# issuance, accounts, cancellation
# ======================================================================================
def test_issuance_and_its_rejections(reg_api):
    api = reg_api
    cem01 = api.org_id("CQ-CEM-01")
    code = issue_ccer(api, "CQ-CEM-01", 5_000)
    assert code == "CN-CQ:CCER:2024:P-TEST-1"
    assert balance(api, "cq-cem-01", "CN-CQ.CQ-CEM-01", code)["available"] == 5_000
    base = {"market_code": "CN-CQ", "product": "CCER", "vintage": 2024, "to_org_id": cem01}
    base |= {"quantity": 10, "project_id": "P2"}
    cases = [
        ("cq-eeb", {"product": "CQEA", "project_id": None}, 409, "invalid_state"),
        ("sc-eed", {}, 403, "out_of_jurisdiction"),
        ("cq-cem-01", {}, 403, "permission_denied"),
        ("cq-eeb", {"product": "CEA"}, 422, "wrong_market"),
        ("cq-eeb", {"project_id": None}, 422, "invalid_instrument"),
        ("cq-eeb", {"quantity": 0}, 422, "invalid_quantity"),
        ("cq-eeb", {"market_code": "XX"}, 404, "unknown_market"),
        ("cq-eeb", {"to_org_id": api.org_id("KZ-ENT-01")}, 403, "jurisdiction_not_eligible"),
        ("cq-eeb", {"to_org_id": api.org_id("VER-CQ-01")}, 403, "org_type_not_eligible"),
    ]
    for user, change, status, error in cases:
        err(api.post(f"{R}/issuances", user, json=base | change), status, error)
    # pollutant-discharge rights: region and pollutant identify the series
    pdr = base | {"product": "CQ-PDR", "project_id": None, "region": "Yangtze-CQ"}
    err(
        api.post(f"{R}/issuances", "cq-eeb", json=pdr | {"pollutant": "CO2"}),
        422,
        "invalid_instrument",
    )
    tx = ok(api.post(f"{R}/issuances", "cq-eeb", json=pdr | {"pollutant": "SO2"}), 201)
    assert tx["legs"][0]["instrument_code"] == "CN-CQ:CQ-PDR:2024:Yangtze-CQ:SO2"
    # cancellation by the regulator, with a reason
    cancel = {"account_number": "CN-CQ.CQ-CEM-01", "instrument": code, "quantity": 100}
    ok(api.post(f"{R}/cancellations", "cq-eeb", json=cancel | {"reason": "double issuance"}), 201)
    assert balance(api, "cq-cem-01", "CN-CQ.CQ-CEM-01", code)["available"] == 4_900
    err(
        api.post(f"{R}/cancellations", "sc-eed", json=cancel | {"reason": "x"}),
        403,
        "out_of_jurisdiction",
    )
    err(
        api.post(f"{R}/cancellations", "cq-eeb", json=cancel | {"reason": "x", "quantity": 10**9}),
        422,
        "insufficient_available",
    )


def test_open_accounts_by_market_eligibility(reg_api):
    api = reg_api
    acc = ok(api.post(f"{R}/accounts", "sc-cem-01", json={"market_code": "CN-CQ"}), 201)
    assert acc["number"] == "CN-CQ.SC-CEM-01"  # Sichuan is admitted to Chongqing
    again = ok(api.post(f"{R}/accounts", "sc-cem-01", json={"market_code": "CN-CQ"}), 201)
    assert again["id"] == acc["id"]
    err(
        api.post(f"{R}/accounts", "kz-ent-01", json={"market_code": "CN-CQ"}),
        403,
        "jurisdiction_not_eligible",
    )
    assert ok(api.post(f"{R}/accounts", "kz-ent-01", json={"market_code": "SCO"}), 201)
    err(api.post(f"{R}/accounts", "sc-cem-01", json={"market_code": "XX"}), 404, "unknown_market")
    other = {"market_code": "CN-CQ", "org_id": api.org_id("CQ-CEM-01")}
    err(api.post(f"{R}/accounts", "sc-cem-01", json=other), 403, "permission_denied")
    err(
        api.post(f"{R}/accounts", "sc-cem-01", json={"market_code": "CN-CQ", "x": 1}),
        422,
        "validation_error",
    )


# ======================================================================================
# allocation plans, four-eyes, true-up
# ======================================================================================
def plan_body(api: Any, year: int, lines: dict[str, int], pre_share_bp: int = 10_000) -> dict:
    return {
        "market_code": "CN-CQ",
        "year": year,
        "product": "CQEA",
        "pre_share_bp": pre_share_bp,
        "lines": [
            {"org_id": api.org_id(code), "method": "grandfathering", "activity": str(q)}
            for code, q in lines.items()
        ],
    }


def test_allocation_plan_four_eyes_issue_and_true_up(reg_api):
    api = reg_api
    second = SECOND_REGULATOR
    body = plan_body(api, Y + 1, {"CQ-CEM-01": 10_000, "CQ-STE-01": 20_000}, 8_000)
    plan = ok(api.post(f"{R}/allocation-plans", "cq-eeb", json=body), 201)
    assert plan["status"] == "draft" and plan["total_quantity"] == 30_000
    pid = plan["plan_id"]
    err(api.post(f"{R}/allocation-plans/{pid}/approve", "cq-eeb"), 403, "four_eyes_required")
    err(api.post(f"{R}/allocation-plans/{pid}/issue", "cq-eeb"), 409, "invalid_state")
    err(api.post(f"{R}/allocation-plans/{pid}/approve", "sc-eed"), 403, "out_of_jurisdiction")
    err(api.post(f"{R}/allocation-plans/{pid}/approve", "cq-cem-01"), 403, "permission_denied")
    assert ok(api.post(f"{R}/allocation-plans/{pid}/approve", second))["status"] == "approved"
    issued = ok(api.post(f"{R}/allocation-plans/{pid}/issue", "cq-eeb"))
    assert issued["status"] == "pre_issued"
    assert {ln["issued"] for ln in issued["lines"]} == {8_000, 16_000}
    err(api.post(f"{R}/allocation-plans/{pid}/issue", "cq-eeb"), 409, "invalid_state")
    true_up = {"activities": {api.org_id("CQ-CEM-01"): "5000"}}
    up = ok(api.post(f"{R}/allocation-plans/{pid}/true-up", "cq-eeb", json=true_up))
    assert up["status"] == "true_up_pending"
    err(
        api.post(f"{R}/allocation-plans/{pid}/true-up/approve", "cq-eeb"), 403, "four_eyes_required"
    )
    final = ok(api.post(f"{R}/allocation-plans/{pid}/true-up/approve", second))
    lines = {ln["org_id"]: ln for ln in final["lines"]}
    assert final["status"] == "final"
    assert lines[api.org_id("CQ-CEM-01")]["owed"] == 3_000  # 8,000 issued, 5,000 final
    assert lines[api.org_id("CQ-STE-01")]["issued"] == 20_000
    assert len(final["tx_ids"]) == 2
    # listings and visibility
    plans = ok(api.get(f"{R}/allocation-plans?market=CN-CQ", "cq-eeb"))["items"]
    assert [p["year"] for p in plans] == [Y + 1, 2025]
    assert ok(api.get(f"{R}/allocation-plans", "sc-eed"))["items"] == []
    err(api.get(f"{R}/allocation-plans/{pid}", "sc-eed"), 404, "not_found")
    err(api.get(f"{R}/allocation-plans", "cq-cem-01"), 403, "permission_denied")
    # a line outside the regulator's jurisdiction; a second plan for the same year
    bad = plan_body(api, Y + 2, {"SC-CEM-01": 100})
    err(api.post(f"{R}/allocation-plans", "cq-eeb", json=bad), 403, "out_of_jurisdiction")
    wrong = plan_body(api, Y + 2, {"CQ-CEM-01": 100}) | {"product": "CCER"}
    err(api.post(f"{R}/allocation-plans", "cq-eeb", json=wrong), 422, "wrong_market")
    bench = plan_body(api, Y + 2, {"CQ-CEM-01": 100})
    bench["lines"][0] |= {"method": "benchmark", "sector": "cement", "benchmark_key": "clinker"}
    err(api.post(f"{R}/allocation-plans", "cq-eeb", json=bench), 422, "unknown_benchmark")


# ======================================================================================
# transfers
# ======================================================================================
def test_transfers_four_eyes_trusted_accounts_and_rejections(reg_api):
    api = reg_api
    ccer = issue_ccer(api, "CQ-CEM-01", 300_000)
    src, dst = "CN-CQ.CQ-CEM-01", "CN-CQ.CQ-CEM-02"
    move = {"from_account": src, "to_account": dst, "instrument": ccer}
    done = ok(api.post(f"{R}/transfers", "cq-cem-01", json=move | {"quantity": 100}), 201)
    assert done["status"] == "completed" and done["tx"]["legs"][0]["serials"]
    assert balance(api, "cq-cem-02", dst, ccer)["available"] == 100
    cases = [
        ({"quantity": 10**9}, 422, "insufficient_available"),
        ({"quantity": 0}, 422, "invalid_quantity"),
        ({"to_account": "CN-NATIONAL.CQ-POW-01", "quantity": 1}, 422, "wrong_market"),
        ({"to_account": src, "quantity": 1}, 422, "same_account"),
        ({"to_account": "CN-CQ.NOBODY", "quantity": 1}, 404, "not_found"),
        ({"instrument": "CN-CQ:NOPE:1", "quantity": 1}, 404, "not_found"),
    ]
    for change, status, error in cases:
        err(api.post(f"{R}/transfers", "cq-cem-01", json=move | change), status, error)
    err(api.post(f"{R}/transfers", "cq-cem-03", json=move | {"quantity": 1}), 403, "not_holder")
    # at or above the four-eyes threshold (50,000 on CN-CQ): held until a second user approves
    pending = api.post(f"{R}/transfers", "cq-cem-01", json=move | {"quantity": 60_000})
    pending = ok(pending, 202)
    assert pending["status"] == "pending_approval" and pending["four_eyes"]
    tid = pending["transfer_id"]
    held = balance(api, "cq-cem-01", src, ccer)
    assert held["held"] == 60_000
    err(api.post(f"{R}/transfers/{tid}/approve", "cq-cem-01"), 403, "four_eyes_required")
    err(api.post(f"{R}/transfers/{tid}/approve", "cq-cem-02"), 404, "not_found")
    second = add_user(api, "CQ-CEM-01", "cq-cem-01", "cq-cem-01-b", ["enterprise_admin"])
    approved = ok(api.post(f"{R}/transfers/{tid}/approve", second))
    assert approved["status"] == "completed"
    err(api.post(f"{R}/transfers/{tid}/approve", second), 409, "invalid_state")
    assert ok(api.get(f"{R}/transfers/{tid}", "cq-cem-01"))["status"] == "completed"
    assert balance(api, "cq-cem-02", dst, ccer)["available"] == 60_100
    # rejection by the second user, cancellation by the initiator
    p2 = ok(api.post(f"{R}/transfers", "cq-cem-01", json=move | {"quantity": 50_000}), 202)
    rej = api.post(f"{R}/transfers/{p2['transfer_id']}/reject", second, json={"reason": "no"})
    assert ok(rej)["status"] == "rejected"
    p3 = ok(api.post(f"{R}/transfers", "cq-cem-01", json=move | {"quantity": 50_000}), 202)
    assert (
        ok(api.post(f"{R}/transfers/{p3['transfer_id']}/reject", "cq-cem-01", json={}))["status"]
        == "cancelled"
    )
    assert balance(api, "cq-cem-01", src, ccer)["held"] == 0
    # trusted accounts skip the second approval
    ok(api.post(f"{R}/trusted-accounts", "cq-cem-01", json={"account_number": dst}), 201)
    direct = ok(api.post(f"{R}/transfers", "cq-cem-01", json=move | {"quantity": 50_000}), 201)
    assert direct["status"] == "completed" and not direct["four_eyes"]
    err(
        api.post(
            f"{R}/trusted-accounts", "cq-cem-01", json={"account_number": "CASH.CNY.CQ-ALU-01"}
        ),
        422,
        "wrong_market",
    )
    # listings: sender, receiver and supervisor see it; sorting and paging
    mine = ok(api.get(f"{R}/transfers?status=completed&sort=-quantity", "cq-cem-01"))["items"]
    assert [t["quantity"] for t in mine] == sorted((t["quantity"] for t in mine), reverse=True)
    assert tid in {t["transfer_id"] for t in ok(api.get(f"{R}/transfers", "cq-cem-02"))["items"]}
    assert tid in {
        t["transfer_id"] for t in ok(api.get(f"{R}/transfers?limit=500", "cq-eeb"))["items"]
    }
    assert ok(api.get(f"{R}/transfers?limit=1", "cq-cem-01"))["total"] >= 4


def test_transfers_replay_with_an_idempotency_key(reg_api):
    api = reg_api
    ccer = issue_ccer(api, "CQ-CEM-01", 1_000)
    move = {"from_account": "CN-CQ.CQ-CEM-01", "to_account": "CN-CQ.CQ-CEM-02"}
    move |= {"instrument": ccer, "quantity": 10}
    h = {"Idempotency-Key": "tr-0001"}
    first = ok(api.post(f"{R}/transfers", "cq-cem-01", json=move, headers=h), 201)
    again = ok(api.post(f"{R}/transfers", "cq-cem-01", json=move, headers=h), 201)
    assert again["transfer_id"] == first["transfer_id"]
    assert balance(api, "cq-cem-02", "CN-CQ.CQ-CEM-02", ccer)["available"] == 10
    r = api.post(f"{R}/transfers", "cq-cem-01", json=move | {"quantity": 11}, headers=h)
    assert r.status_code == 409


# ======================================================================================
# pledges and freezes
# ======================================================================================
def test_pledges_block_units_and_only_the_pledgee_releases_or_enforces(reg_api):
    api = reg_api
    (pledge,) = ok(api.get(f"{R}/pledges?status=active", "cq-che-02"))["items"]
    pid = pledge["pledge_id"]
    line = balance(api, "cq-che-02", "CN-CQ.CQ-CHE-02", CQEA)
    assert line["pledged"] == pledge["quantity"] and line["available"] == 0
    move = {"from_account": "CN-CQ.CQ-CHE-02", "to_account": "CN-CQ.CQ-CEM-01"}
    err(
        api.post(f"{R}/transfers", "cq-che-02", json=move | {"instrument": CQEA, "quantity": 1}),
        422,
        "units_pledged",
    )
    err(api.post(f"{R}/pledges/{pid}/release", "cq-che-02"), 403, "not_pledgee")
    err(api.post(f"{R}/pledges/{pid}/enforce", "cq-che-02"), 403, "not_pledgee")
    err(api.post(f"{R}/pledges/{pid}/release", "bank-sc-01"), 403, "not_pledgee")
    err(api.post(f"{R}/pledges/{pid}/request-release", "bank-cq-01"), 403, "not_holder")
    assert ok(api.post(f"{R}/pledges/{pid}/request-release", "cq-che-02"))["release_requested"]
    assert ok(api.post(f"{R}/pledges/{pid}/release", "bank-cq-01"))["status"] == "released"
    err(api.post(f"{R}/pledges/{pid}/release", "bank-cq-01"), 409, "invalid_state")
    assert balance(api, "cq-che-02", "CN-CQ.CQ-CHE-02", CQEA)["available"] == pledge["quantity"]
    # a new pledge, enforced by the bank: the units move to the bank's holding
    body = {"account_number": "CN-CQ.CQ-CHE-02", "instrument": CQEA, "quantity": 500}
    body |= {"pledgee_org_id": api.org_id("BANK-CQ-01"), "reference": "LOAN-T-1"}
    new = ok(api.post(f"{R}/pledges", "cq-che-02", json=body), 201)
    err(
        api.post(
            f"{R}/pledges", "cq-che-02", json=body | {"pledgee_org_id": api.org_id("CQ-CEM-01")}
        ),
        409,
        "invalid_state",
    )
    err(
        api.post(f"{R}/pledges", "cq-che-02", json=body | {"quantity": 10**9}),
        422,
        "insufficient_available",
    )
    err(api.post(f"{R}/pledges", "cq-cem-01", json=body), 403, "not_holder")
    enforced = ok(api.post(f"{R}/pledges/{new['pledge_id']}/enforce", "bank-cq-01"))
    assert enforced["status"] == "enforced" and enforced["tx_id"]
    assert balance(api, "bank-cq-01", "CN-CQ.BANK-CQ-01", CQEA)["available"] == 500
    register = ok(api.get(f"{R}/pledges?sort=-quantity", "cq-eeb"))["items"]
    assert {p["status"] for p in register} == {"released", "enforced"}


def test_freezes_by_regulators_with_reasons(reg_api):
    api = reg_api
    body = {"account_number": "CN-CQ.CQ-ALU-01", "instrument": CQEA, "reason": "court order 17"}
    err(api.post(f"{R}/freezes", "sc-eed", json=body), 403, "out_of_jurisdiction")
    err(api.post(f"{R}/freezes", "cq-alu-01", json=body), 403, "permission_denied")
    f = ok(api.post(f"{R}/freezes", "cq-eeb", json=body), 201)
    assert f["status"] == "active" and f["quantity"] > 0
    line = balance(api, "cq-alu-01", "CN-CQ.CQ-ALU-01", CQEA)
    assert line["frozen"] == f["quantity"] and line["available"] == 0
    move = {"from_account": "CN-CQ.CQ-ALU-01", "to_account": "CN-CQ.CQ-CEM-01"}
    err(
        api.post(f"{R}/transfers", "cq-alu-01", json=move | {"instrument": CQEA, "quantity": 1}),
        422,
        "frozen",
    )
    retire = {"account_number": "CN-CQ.CQ-ALU-01", "instrument": CQEA, "quantity": 1}
    retire |= {"beneficiary": "x", "purpose": "y", "period_start": "2025-01-01"}
    retire |= {"period_end": "2025-12-31"}
    err(api.post(f"{R}/retirements", "cq-alu-01", json=retire), 422, "frozen")
    assert ok(api.get(f"{R}/freezes", "cq-alu-01"))["items"][0]["freeze_id"] == f["freeze_id"]
    assert ok(api.get(f"{R}/freezes", "cq-cem-01"))["items"] == []
    assert ok(api.get(f"{R}/freezes?status=active", "cq-eeb"))["total"] == 1
    fid = f["freeze_id"]
    err(api.post(f"{R}/freezes/{fid}/lift", "cq-eeb", json={"reason": " "}), 409, "invalid_state")
    err(
        api.post(f"{R}/freezes/{fid}/lift", "sc-eed", json={"reason": "x"}),
        403,
        "out_of_jurisdiction",
    )
    lifted = ok(api.post(f"{R}/freezes/{fid}/lift", "cq-eeb", json={"reason": "order lifted"}))
    assert lifted["status"] == "lifted" and lifted["lift_reason"] == "order lifted"
    err(
        api.post(f"{R}/freezes/{fid}/lift", "cq-eeb", json={"reason": "again"}),
        409,
        "invalid_state",
    )
    assert balance(api, "cq-alu-01", "CN-CQ.CQ-ALU-01", CQEA)["frozen"] == 0


# ======================================================================================
# cash
# ======================================================================================
def test_cash_deposits_and_withdrawals_by_the_settlement_bank(reg_api):
    api = reg_api
    body = {"org_id": api.org_id("CQ-CEM-02"), "amount_minor": 1_000_000, "reference": "D-1"}
    dep = ok(api.post(f"{R}/cash/deposits", "settle-01", json=body), 201)
    assert dep["account_number"] == "CASH.CNY.CQ-CEM-02" and dep["balance_minor"] == 1_000_000
    wd = ok(api.post(f"{R}/cash/withdrawals", "settle-01", json=body | {"amount_minor": 400}), 201)
    assert wd["balance_minor"] == 999_600
    err(api.post(f"{R}/cash/withdrawals", "settle-01", json=body), 422, "insufficient_available")
    err(api.post(f"{R}/cash/deposits", "cq-cem-02", json=body), 403, "permission_denied")
    err(
        api.post(f"{R}/cash/deposits", "settle-01", json=body | {"amount_minor": 0}),
        422,
        "invalid_quantity",
    )
    err(
        api.post(f"{R}/cash/deposits", "settle-01", json=body | {"currency": "XYZ"}),
        422,
        "unknown_currency",
    )
    mine = ok(api.get(f"{R}/balances", "cq-cem-02"))["items"]
    assert any(b["account_number"] == "CASH.CNY.CQ-CEM-02" and b["posted"] == 999_600 for b in mine)


# ======================================================================================
# compliance
# ======================================================================================
def test_demo_compliance_status_region_and_shortfalls(reg_api):
    api = reg_api
    q = {"market": "CN-CQ", "year": 2025}
    after = datetime.now(UTC) > datetime(2026, 8, 31, 16, tzinfo=UTC)
    st = ok(api.get(f"{R}/compliance/status", "cq-cem-03", params=q))
    assert st["status"] == ("shortfall" if after else "open")
    assert st["obligation"] == 610_000 and st["remaining"] == 610_000
    assert st["verified_emissions_tco2"] == "610000"
    cem02 = ok(api.get(f"{R}/compliance/status", "cq-cem-02", params=q))
    assert (
        cem02["status"] == "compliant" and 0 < cem02["surrendered_offsets"] <= cem02["offset_cap"]
    )
    other = {"org_id": api.org_id("CQ-CEM-01")} | q
    err(api.get(f"{R}/compliance/status", "cq-cem-03", params=other), 403, "permission_denied")
    assert ok(api.get(f"{R}/compliance/status", "cq-eeb", params=other))["status"] == "compliant"
    region = ok(api.get(f"{R}/compliance/regions/CN-CQ", "cq-eeb", params=q))
    assert region["compliant"] == 6 and region["entities"] == 8
    assert region["shortfall" if after else "open"] == 2
    nat = ok(
        api.get(f"{R}/compliance/regions/CN-CQ", "cq-eeb", params=q | {"market": "CN-NATIONAL"})
    )
    assert nat["not_verified"] == 1 and nat["entities"] == 4
    report = ok(api.get(f"{R}/compliance/shortfalls", "cq-eeb", params=q))
    if after:
        lines = {ln["org_code"]: ln for ln in report["lines"]}
        assert set(lines) == {"CQ-CEM-03", "CQ-STE-01"}
        assert lines["CQ-STE-01"]["shortfall"] == 115_000
        assert lines["CQ-STE-01"]["deduction_units"] == 115_000
        assert lines["CQ-STE-01"]["rule_status"] == "estimate"
    err(api.get(f"{R}/compliance/shortfalls", "cq-cem-01", params=q), 403, "permission_denied")
    err(api.get(f"{R}/compliance/shortfalls", "sc-eed", params=q), 403, "out_of_jurisdiction")
    surr = ok(api.get(f"{R}/surrenders?sort=-quantity", "cq-cem-02"))["items"]
    assert {s["kind"] for s in surr} == {"allowance", "offset"}
    err(
        api.get(f"{R}/surrenders?org_id={api.org_id('CQ-CEM-02')}", "cq-cem-01"),
        403,
        "out_of_jurisdiction",
    )
    # after the deadline nothing can be surrendered for the year
    late = {"market_code": "CN-CQ", "year": 2025, "instrument": CQEA, "quantity": 1}
    if after:
        err(api.post(f"{R}/surrenders", "cq-cem-03", json=late), 422, "after_deadline")


def test_surrender_rules_over_http(reg_api):
    api = reg_api
    api_insert_verified(api, {"CQ-CEM-01": "21000", "CQ-STE-01": "500.2"}, Y)
    ccer = issue_ccer(api, "CQ-CEM-01", 2000)
    q = {"market": "CN-CQ", "year": Y}
    st = ok(api.get(f"{R}/compliance/status", "cq-cem-01", params=q))
    assert (st["status"], st["obligation"], st["offset_cap"]) == (
        "open",
        21_000,
        1680,
    )  # cap: floor(8 % of 21,000)
    base = {"market_code": "CN-CQ", "year": Y, "instrument": CQEA}
    s1 = ok(api.post(f"{R}/surrenders", "cq-cem-01", json=base | {"quantity": 100}), 201)
    assert s1["kind"] == "allowance" and s1["status"]["remaining"] == 20_900
    err(
        api.post(
            f"{R}/surrenders", "cq-cem-01", json=base | {"instrument": ccer, "quantity": 1681}
        ),
        422,
        "offset_cap_exceeded",
    )
    s2 = ok(
        api.post(
            f"{R}/surrenders", "cq-cem-01", json=base | {"instrument": ccer, "quantity": 1680}
        ),
        201,
    )
    assert s2["kind"] == "offset" and s2["status"]["surrendered_offsets"] == 1680
    err(
        api.post(f"{R}/surrenders", "cq-cem-01", json=base | {"quantity": 19_221}),
        422,
        "surrender_exceeds_obligation",
    )
    err(
        api.post(f"{R}/surrenders", "cq-cem-02", json=base | {"quantity": 1}),
        422,
        "emissions_not_verified",
    )
    err(
        api.post(f"{R}/surrenders", "cq-cem-01", json=base | {"quantity": 0}),
        422,
        "invalid_quantity",
    )
    err(
        api.post(
            f"{R}/surrenders",
            "cq-cem-01",
            json=base | {"org_id": api.org_id("CQ-STE-01"), "quantity": 1},
        ),
        403,
        "not_holder",
    )
    err(
        api.post(
            f"{R}/surrenders",
            "cq-pow-01",
            json=base | {"instrument": "CN-NATIONAL:CEA:2025", "quantity": 1},
        ),
        422,
        "wrong_market",
    )
    err(
        api.post(f"{R}/surrenders", "cq-eeb", json=base | {"quantity": 1}), 403, "permission_denied"
    )
    err(
        api.post(f"{R}/surrenders", "kz-ent-01", json=base | {"market_code": "SCO", "quantity": 1}),
        422,
        "not_eligible_for_compliance",
    )
    # pollutant rights cannot be surrendered for carbon compliance
    pdr = {"market_code": "CN-CQ", "product": "CQ-PDR", "vintage": Y, "region": "Yangtze-CQ"}
    pdr |= {"pollutant": "NOx", "to_org_id": api.org_id("CQ-CEM-01"), "quantity": 10}
    tx = ok(api.post(f"{R}/issuances", "cq-eeb", json=pdr), 201)
    code = tx["legs"][0]["instrument_code"]
    err(
        api.post(f"{R}/surrenders", "cq-cem-01", json=base | {"instrument": code, "quantity": 1}),
        422,
        "not_eligible_for_compliance",
    )
    # allowances of a later vintage cannot be borrowed
    plan = ok(
        api.post(f"{R}/allocation-plans", "cq-eeb", json=plan_body(api, Y + 1, {"CQ-CEM-01": 50})),
        201,
    )
    ok(api.post(f"{R}/allocation-plans/{plan['plan_id']}/approve", SECOND_REGULATOR))
    ok(api.post(f"{R}/allocation-plans/{plan['plan_id']}/issue", "cq-eeb"))
    later = f"CN-CQ:CQEA:{Y + 1}"
    err(
        api.post(f"{R}/surrenders", "cq-cem-01", json=base | {"instrument": later, "quantity": 1}),
        422,
        "vintage_not_eligible",
    )
    # the rest with allowances: compliant
    buy = {"from_account": "CN-CQ.CQ-ALU-01", "to_account": "CN-CQ.CQ-CEM-01"}
    buy |= {"instrument": CQEA, "quantity": 5000}
    assert ok(api.post(f"{R}/transfers", "cq-alu-01", json=buy), 201)["status"] == "completed"
    done = ok(api.post(f"{R}/surrenders", "cq-cem-01", json=base | {"quantity": 19_220}), 201)
    assert done["status"]["status"] == "compliant" and done["status"]["remaining"] == 0
    region = ok(api.get(f"{R}/compliance/regions/CN-CQ", "cq-eeb", params=q))
    # every covered Chongqing industrial emitter is listed, verified or not; CQ-STE-01
    # (500.2 t < the 20,000 t threshold) is not covered
    covered = [e for e in ENTERPRISES if e[0] != "power" and e[1].startswith("CN-CQ-")]
    assert region["compliant"] == 1 and region["entities"] == len(covered) - 1


# ======================================================================================
# retirement and certificates
# ======================================================================================
def retire_body(quantity: int = 25) -> dict[str, Any]:
    return {
        "account_number": "CN-CQ.CQ-ALU-01",
        "instrument": CQEA,
        "quantity": quantity,
        "beneficiary": "Chongqing Marathon 2025",
        "purpose": "Carbon-neutral sports event",
        "period_start": "2025-11-01",
        "period_end": "2025-11-02",
    }


def test_retirement_certificate_and_proof(reg_api):
    api = reg_api
    r = api.post(f"{R}/retirements", "cq-alu-01", json=retire_body())
    created = ok(r, 201)
    rid = created["retirement_id"]
    assert r.headers["location"] == f"{R}/retirements/{rid}"
    assert created["serials"] and created["leaf_index"] is not None
    assert ok(api.get(f"{R}/retirements/{rid}", "cq-eeb"))["quantity"] == 25
    listed = ok(api.get(f"{R}/retirements", "cq-alu-01"))["items"]
    assert {x["beneficiary"] for x in listed} == {BENEFICIARY, "Chongqing Marathon 2025"}
    proof_url = f"/v1/audit/bundle/{created['leaf_index']}"
    for lang, title in (("zh", "碳减排量注销证明"), ("en", "Certificate of Retirement")):
        page = api.get(f"{R}/retirements/{rid}/certificate?lang={lang}&format=html", "cq-alu-01")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert title in page.text and proof_url in page.text
        assert all(s in page.text for s in created["serials"])
        pdf = api.get(f"{R}/retirements/{rid}/certificate?lang={lang}&format=pdf", "cq-alu-01")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 2_000
        assert f"retirement-{rid}-{lang}.pdf" in pdf.headers["content-disposition"]
    dl = api.get(f"{R}/retirements/{rid}/certificate?format=pdf&download=true", "cq-alu-01")
    assert dl.headers["content-disposition"].startswith("attachment")
    err(api.get(f"{R}/retirements/{rid}/certificate?lang=fr", "cq-alu-01"), 422, "validation_error")
    err(api.get(f"{R}/retirements/{rid}/certificate", "cq-cem-01"), 404, "not_found")
    assert api.get(f"{R}/retirements/{rid}/certificate", "cq-eeb").status_code == 200
    bundle = ok(api.get(f"{R}/retirements/{rid}/proof", "cq-alu-01"))
    key = api.get("/v1/audit/public-key").json()["public_key"]
    assert verify_bundle(bundle, key).ok
    assert bundle["event"]["retirement_id"] == rid
    assert bundle == ok(api.get(proof_url, "cq-alu-01"))
    err(api.get(f"{R}/retirements/{rid}/proof", "cq-cem-01"), 404, "not_found")


def test_retirement_rejections(reg_api):
    api = reg_api
    cases = [
        ("cq-alu-01", {"period_end": "2025-10-01"}, 409, "invalid_state"),
        ("cq-alu-01", {"period_start": "2025-13-01"}, 409, "invalid_state"),
        ("cq-alu-01", {"quantity": 10**9}, 422, "insufficient_available"),
        ("cq-alu-01", {"quantity": -1}, 422, "invalid_quantity"),
        ("cq-alu-01", {"instrument": "CN-NATIONAL:CEA:2025"}, 422, "wrong_market"),
        ("cq-alu-01", {"account_number": "CASH.CNY.CQ-ALU-01"}, 422, "wrong_market"),
        ("cq-cem-01", {}, 403, "not_holder"),
        ("ver-cq-01", {}, 403, "permission_denied"),
    ]
    for user, change, status, error in cases:
        err(api.post(f"{R}/retirements", user, json=retire_body() | change), status, error)


# ======================================================================================
# serials
# ======================================================================================
def test_serial_search_shows_the_whole_history(reg_api):
    api = reg_api
    (ret,) = ok(api.get(f"{R}/retirements", "cq-alu-01"))["items"]
    first = ret["serials"][0]
    start, end = (int(x) for x in first.rsplit("-", 2)[1:])
    found = ok(
        api.get(f"{R}/serials", "cq-eeb", params={"instrument": CQEA, "start": start, "end": end})
    )
    kinds = [h["kind"] for h in found["history"]]
    assert kinds[0] == "allocation" and kinds[-1] == "retire"
    assert found["current"] == [[first, "CN-CQ.SYS.RETIREMENT"]]
    own = ok(
        api.get(
            f"{R}/serials", "cq-alu-01", params={"instrument": CQEA, "start": start, "end": end}
        )
    )
    assert [h["kind"] for h in own["history"]] == kinds
    err(
        api.get(
            f"{R}/serials", "cq-cem-03", params={"instrument": CQEA, "start": start, "end": end}
        ),
        404,
        "not_found",
    )
    err(
        api.get(f"{R}/serials", "cq-eeb", params={"instrument": CQEA, "start": 5, "end": 1}),
        422,
        "invalid_quantity",
    )


# ======================================================================================
# exchange holds and delivery versus payment
# ======================================================================================
def test_exchange_holds_and_dvp_settlement(reg_api):
    api = reg_api
    alu, ste = api.org_id("CQ-ALU-01"), api.org_id("CQ-STE-02")
    units = {"org_id": alu, "instrument": CQEA, "quantity": 1_000, "reference": "ORD-1"}
    err(api.post(f"{R}/holds/units", "cq-alu-01", json=units), 403, "permission_denied")
    uh = ok(api.post(f"{R}/holds/units", "ncm-operator", json=units), 201)
    assert uh["status"] == "reserved"
    err(
        api.post(f"{R}/holds/units", "ncm-operator", json=units | {"quantity": 10**9}),
        422,
        "insufficient_available",
    )
    cash = {"org_id": ste, "currency": "CNY", "amount_minor": 6_000_000, "reference": "ORD-2"}
    ch = ok(api.post(f"{R}/holds/cash", "ncm-operator", json=cash), 201)
    settle = {"unit_hold_id": uh["hold_id"], "cash_hold_id": ch["hold_id"]}
    settle |= {"quantity": 600, "cash_amount_minor": 3_600_000, "reference": "TRADE-1"}
    s = ok(api.post(f"{R}/settlements", "ncm-operator", json=settle), 201)
    assert {leg["instrument_code"] for leg in s["tx"]["legs"]} == {CQEA, "CASH:CNY"}
    assert s["unit_hold"]["remaining"] == 400
    post = ok(
        api.post(
            f"{R}/holds/{uh['hold_id']}/post",
            "ncm-operator",
            json={"to_org_id": ste, "amount": 100},
        )
    )
    assert post["kind"] == "hold_post"
    err(
        api.post(f"{R}/holds/{uh['hold_id']}/void", "ncm-operator", json={"amount": 301}),
        422,
        "hold_exceeded",
    )
    v = ok(api.post(f"{R}/holds/{uh['hold_id']}/void", "ncm-operator", json={}))
    assert v["status"] == "posted" and v["remaining"] == 0
    assert ok(api.get(f"{R}/holds/{ch['hold_id']}", "cq-ste-02"))["remaining"] == 2_400_000
    err(api.get(f"{R}/holds/{ch['hold_id']}", "cq-alu-01"), 404, "not_found")


def test_openapi_documents_the_registry_routes(reg_api):
    spec = reg_api.get("/openapi.json").json()
    paths = set(spec["paths"])
    for p in (
        "/v1/registry/balances",
        "/v1/registry/allocation-plans/{plan_id}/approve",
        "/v1/registry/transfers/{transfer_id}/approve",
        "/v1/registry/surrenders",
        "/v1/registry/compliance/regions/{jurisdiction_code}",
        "/v1/registry/retirements/{retirement_id}/certificate",
        "/v1/registry/pledges/{pledge_id}/enforce",
        "/v1/registry/freezes/{freeze_id}/lift",
        "/v1/registry/serials",
    ):
        assert p in paths, p
    assert "BalanceView" in spec["components"]["schemas"]


@pytest.mark.parametrize("user", ["cq-eeb", "cq-alu-01", "bank-cq-01", "gc-secretariat"])
def test_the_ledger_stays_balanced_after_the_demo(reg_api, user):
    page = ok(reg_api.get(f"{R}/balances", user))
    for b in page["items"]:
        assert b["posted"] == b["available"] + b["held"] + b["pledged"] + b["frozen"]
