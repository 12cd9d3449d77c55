"""Strict, bounded quantities and amounts: JSON integers only (no ``"10"``, ``true``,
``1E2`` or ``1.0``), at most ``MAX_AMOUNT`` per operation and ``MAX_OUTSTANDING`` per
instrument, so every sum the registry forms stays inside signed 64 bits; 422 with a stable
code and nothing written."""

from __future__ import annotations

import json

import pytest

from greencircle.registry import errors as rerr
from greencircle.registry import ledger

R = "/v1/registry"
CQEA = "CN-CQ:CQEA:2025"
INT64_MAX = 2**63 - 1


def test_the_bounds_keep_every_sum_within_64_bits():
    # a balance is bounded by what is outstanding; the holds, pledges and freezes of an
    # account by its balance; a region's total by the market's outstanding amount
    assert ledger.MAX_AMOUNT == 10**15 and ledger.MAX_OUTSTANDING == 10**17
    assert 4 * ledger.MAX_OUTSTANDING + ledger.MAX_AMOUNT < INT64_MAX
    for bad in (0, -1, ledger.MAX_AMOUNT + 1, 2**63, True, 1.0, "10"):
        assert ledger.check_quantity(bad) == ledger.Reject.INVALID_QUANTITY, bad  # type: ignore[arg-type]
    assert ledger.check_quantity(ledger.MAX_AMOUNT) is None
    edge = ledger.BalanceState(posted=-ledger.MAX_OUTSTANDING + 5, allow_negative=True)
    assert not ledger.outstanding_rejection(edge, 5)
    assert ledger.outstanding_rejection(edge, 6)


def _raw(api, path: str, user: str, text: str):
    headers = api.auth(user) | {"Content-Type": "application/json"}
    return api.client.post(path, content=text.encode(), headers=headers)


@pytest.mark.parametrize("literal", ['"10"', "true", "1E2", "1.0", "10.5", "null"])
def test_lax_quantities_are_refused(reg_api, literal):
    api = reg_api
    before = api.get(
        f"{R}/accounts/CN-CQ.CQ-ALU-01/balance", "cq-alu-01", params={"instrument": CQEA}
    ).json()
    body = json.dumps(
        {"from_account": "CN-CQ.CQ-ALU-01", "to_account": "CN-CQ.CQ-CEM-01", "instrument": CQEA}
    )
    r = _raw(api, f"{R}/transfers", "cq-alu-01", body[:-1] + f', "quantity": {literal}}}')
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    after = api.get(
        f"{R}/accounts/CN-CQ.CQ-ALU-01/balance", "cq-alu-01", params={"instrument": CQEA}
    ).json()
    assert after == before
    # the same for money and for the other unit-moving bodies
    cash = json.dumps({"org_id": api.org_id("CQ-ALU-01"), "reference": "DEP-LAX"})
    r = _raw(api, f"{R}/cash/deposits", "settle-01", cash[:-1] + f', "amount_minor": {literal}}}')
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    sur = json.dumps({"market_code": "CN-CQ", "year": 2025, "instrument": CQEA})
    r = _raw(api, f"{R}/surrenders", "cq-cem-01", sur[:-1] + f', "quantity": {literal}}}')
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text


@pytest.mark.parametrize("value", [2**63, 2**63 - 1, 10**15 + 1])
def test_quantities_beyond_the_bound_are_refused(reg_api, value):
    api = reg_api
    transfer = {"from_account": "CN-CQ.CQ-ALU-01", "to_account": "CN-CQ.CQ-CEM-01"}
    transfer |= {"instrument": CQEA, "quantity": value}
    r = api.post(f"{R}/transfers", "cq-alu-01", json=transfer)
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    dep = {"org_id": api.org_id("CQ-ALU-01"), "amount_minor": value, "reference": "DEP-BIG"}
    r = api.post(f"{R}/cash/deposits", "settle-01", json=dep)
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    cash = api.get(f"{R}/balances", "cq-alu-01").json()["items"]
    assert all(b["posted"] < 10**15 for b in cash)


def test_outstanding_bound_stops_deposits_before_64_bit_overflow(world):
    """``MAX_OUTSTANDING / MAX_AMOUNT`` deposits of the largest amount fill the bound; one
    more minor unit is ``outstanding_limit`` and nothing is written."""
    w = world
    bank, org = w.actor("settle-01"), w.org("CQ-ALU-01")
    n = ledger.MAX_OUTSTANDING // ledger.MAX_AMOUNT
    with w.svc() as svc:
        for i in range(n):
            svc.deposit(
                bank, org_id=org, currency="CNY", amount_minor=ledger.MAX_AMOUNT, reference=f"D{i}"
            )
    with w.svc() as svc, pytest.raises(rerr.OutstandingLimit):
        svc.deposit(bank, org_id=org, currency="CNY", amount_minor=1, reference="D-over")
    with w.svc() as svc:
        (bal,) = [
            b
            for b in svc.balances(w.actor("gc-secretariat"), org)
            if b.account_number == "CASH.CNY.CQ-ALU-01"
        ]
        assert bal.posted == ledger.MAX_OUTSTANDING < INT64_MAX
        with pytest.raises(rerr.InvalidQuantity):
            svc.deposit(
                bank, org_id=org, currency="CNY", amount_minor=ledger.MAX_AMOUNT + 1, reference="X"
            )
    assert w.violations() == []
