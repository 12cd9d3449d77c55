"""Access rules per role: only the holder moves its units; regulators act only in their
jurisdiction; verifiers and banks see only what they should; market eligibility."""

from __future__ import annotations

import pytest

from greencircle.errors import Forbidden
from greencircle.registry import errors as rerr


@pytest.fixture
def setup(world):
    inst = world.issue_allowances("CQ-POW-01", 1000)
    with world.svc() as svc:
        svc.deposit(
            world.actor("settle-01"),
            org_id=world.org("CQ-POW-01"),
            currency="CNY",
            amount_minor=500,
            reference="w",
        )
    return world, inst


def test_only_the_holder_moves_units(setup):
    w, inst = setup
    with w.svc() as svc:
        to = svc._holding(w.org("CQ-POW-02"), "CN-CQ").number
    kw = {"from_account": "CN-CQ.CQ-POW-01", "to_account": to, "instrument_id": inst, "quantity": 1}
    for user in ("cq-pow-02", "bank-cq-01"):
        with w.svc() as svc, pytest.raises(rerr.NotHolder):
            svc.transfer(w.actor(user), **kw)
    for user in (
        "cq-eeb",
        "ncm-operator",
        "settle-01",
        "ver-cq-01",
        "gc-secretariat"[:0] or "citizen-01",
    ):
        with w.svc() as svc, pytest.raises(Forbidden):
            svc.transfer(w.actor(user), **kw)
    with w.svc() as svc, pytest.raises(rerr.NotHolder):
        svc.retire(
            w.actor("cq-pow-02"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=1,
            beneficiary="b",
            purpose="p",
            period_start="2025-01-01",
            period_end="2025-01-02",
        )
    with w.svc() as svc, pytest.raises(rerr.NotHolder):
        svc.pledge(
            w.actor("cq-pow-02"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=1,
            pledgee_org_id=w.org("BANK-CQ-01"),
            reference="x",
        )


def test_visibility_by_role(setup):
    w, inst = setup
    owner = w.org("CQ-POW-01")
    with w.svc() as svc:
        own = {b.account_number for b in svc.balances(w.actor("cq-pow-01"), owner)}
        assert own == {"CN-CQ.CQ-POW-01", "CASH.CNY.CQ-POW-01"}
        assert {b.account_number for b in svc.balances(w.actor("cq-eeb"), owner)} == own
        assert svc.balances(w.actor("sc-eed"), owner) == []
        assert svc.balances(w.actor("ver-cq-01"), owner) == []  # verifiers: no holdings
        assert svc.balances(w.actor("bank-cq-01"), owner) == []
        assert svc.balances(w.actor("cq-pow-02"), owner) == []
        # the settlement bank sees cash accounts, not unit holdings
        assert {b.account_number for b in svc.balances(w.actor("settle-01"), owner)} == {
            "CASH.CNY.CQ-POW-01"
        }
        for user in ("ver-cq-01", "sc-eed", "bank-cq-01"):
            with pytest.raises(rerr.RegistryNotFound):
                svc.balance(w.actor(user), "CN-CQ.CQ-POW-01", inst)
            with pytest.raises((rerr.RegistryNotFound, Forbidden)):
                svc.serial_search(w.actor(user), inst, 1, 10)
        with pytest.raises(Forbidden):
            svc.compliance_status(w.actor("ver-cq-01"), owner, "CN-CQ", 2025)
        with pytest.raises(Forbidden):
            svc.shortfall_report(w.actor("bank-cq-01"), "CN-CQ", 2025)


def test_market_eligibility_and_wrong_market(setup):
    w, inst = setup
    with w.svc() as svc:
        # Chongqing admits Sichuan enterprises
        assert (
            svc.open_holding_account(w.actor("sc-pow-01"), w.org("SC-POW-01"), "CN-CQ").number
            == "CN-CQ.SC-POW-01"
        )
        acc = svc.open_holding_account(w.actor("kz-ent-01"), w.org("KZ-ENT-01"), "SCO")
        assert acc.number == "SCO.KZ-ENT-01"
    with w.svc() as svc, pytest.raises(rerr.JurisdictionNotEligible):
        svc.open_holding_account(w.actor("kz-ent-01"), w.org("KZ-ENT-01"), "CN-CQ")
    with w.svc() as svc, pytest.raises(rerr.OrgTypeNotEligible):
        svc.open_holding_account(w.actor("citizen-01"), w.org("CITIZEN-01"), "CN-CQ")
    with w.svc() as svc, pytest.raises(Forbidden):  # Sichuan's regulator may not open for a CQ firm
        svc.open_holding_account(w.actor("sc-eed"), w.org("CQ-POW-02"), "CN-CQ")
    with w.svc() as svc, pytest.raises(rerr.UnknownMarket):
        svc.open_holding_account(w.actor("cq-pow-01"), w.org("CQ-POW-01"), "EU-ETS")
    with w.svc() as svc:
        sc_acc = svc._holding(w.org("SC-POW-01"), "CN-SC").number
    with w.svc() as svc, pytest.raises(rerr.WrongMarket):
        svc.transfer(
            w.actor("cq-pow-01"),
            from_account="CN-CQ.CQ-POW-01",
            to_account=sc_acc,
            instrument_id=inst,
            quantity=1,
        )
    ex, kz = w.actor("ncm-operator"), w.org("KZ-ENT-01")
    with w.svc() as svc:  # a KZ buyer cannot receive Chongqing allowances
        svc.deposit(
            w.actor("settle-01"), org_id=kz, currency="CNY", amount_minor=100, reference="w"
        )
        uh = svc.reserve_units(ex, org_id=w.org("CQ-POW-01"), instrument_id=inst, quantity=1)
        ch = svc.reserve_cash(ex, org_id=kz, currency="CNY", amount_minor=100)
    with w.svc() as svc, pytest.raises(rerr.JurisdictionNotEligible):
        svc.settle_dvp(
            ex, unit_hold_id=uh.hold_id, cash_hold_id=ch.hold_id, quantity=1, cash_amount_minor=100
        )
    with w.svc() as svc, pytest.raises(rerr.JurisdictionNotEligible):
        svc.post_hold(ex, uh.hold_id, to_org_id=kz)
    with w.svc() as svc, pytest.raises(rerr.OutOfJurisdiction):
        svc.issue(
            w.actor("sc-eed"),
            market_code="CN-CQ",
            product="CCER",
            vintage=2024,
            project_id="P-1",
            to_org_id=w.org("CQ-POW-01"),
            quantity=1,
        )


def test_rejections_carry_codes_and_statuses():
    assert rerr.InsufficientAvailable("x").status_code == 422
    assert rerr.NotPledgee("x").status_code == 403
    assert rerr.IdempotencyConflict("x").status_code == 409
    assert rerr.RegistryNotFound("x").status_code == 404
    assert rerr.rejection("frozen", "d").to_dict() == {"error": "frozen", "detail": "d"}
    codes = set(rerr.REJECTIONS)
    assert {
        "insufficient_available",
        "units_pledged",
        "offset_cap_exceeded",
        "wrong_market",
        "jurisdiction_not_eligible",
        "after_deadline",
        "frozen",
        "four_eyes_required",
        "not_pledgee",
    } <= codes
