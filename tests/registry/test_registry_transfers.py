"""Transfers, serial splitting and search, idempotency, four-eyes, holds, DvP and cash."""

from __future__ import annotations

import pytest

from greencircle.registry import errors as rerr


def _acc(svc, w, code, market="CN-CQ"):
    return svc._holding(w.org(code), market).number


def test_partial_moves_split_blocks_and_search_shows_history(world):
    w = world
    inst = w.issue_allowances("CQ-POW-01", 1000)
    a1, a2 = w.actor("cq-pow-01"), w.actor("cq-pow-02")
    with w.svc() as svc:
        to2 = _acc(svc, w, "CQ-POW-02")
        to3 = _acc(svc, w, "CQ-POW-03")
        r1 = svc.transfer(
            a1, from_account="CN-CQ.CQ-POW-01", to_account=to2, instrument_id=inst, quantity=250
        )
    with w.svc() as svc:
        r2 = svc.transfer(a2, from_account=to2, to_account=to3, instrument_id=inst, quantity=100)
    assert r1.tx.legs[0].ranges == [(1, 250)]
    assert r2.tx.legs[0].ranges == [(1, 100)]
    assert r1.tx.legs[0].serials == ["CN-CQ-CQEA-2025-AL2025-CN-CQ-000000001-000000250"]
    with w.svc() as svc:
        found = svc.serial_search(w.actor("cq-eeb"), inst, 50, 300)
    # now: 50..100 at POW-03, 101..250 at POW-02, 251..300 at POW-01
    assert [(s.split("-")[-2:], acc) for s, acc in found.current] == [
        (["000000050", "000000100"], "CN-CQ.CQ-POW-03"),
        (["000000101", "000000250"], "CN-CQ.CQ-POW-02"),
        (["000000251", "000000300"], "CN-CQ.CQ-POW-01"),
    ]
    kinds = [(h.kind, h.start, h.end, h.to_account) for h in found.history]
    assert kinds == [
        ("allocation", 50, 300, "CN-CQ.CQ-POW-01"),
        ("transfer", 50, 250, "CN-CQ.CQ-POW-02"),
        ("transfer", 50, 100, "CN-CQ.CQ-POW-03"),
    ]
    assert all(h.leaf_index is not None for h in found.history)
    # a participant sees only the steps touching its own accounts
    with w.svc() as svc:
        mine = svc.serial_search(w.actor("cq-pow-03"), inst, 1, 1000)
    assert [h.kind for h in mine.history] == ["transfer"]
    assert [acc for _s, acc in mine.current] == ["CN-CQ.CQ-POW-03"]
    assert w.violations() == []


def test_transfer_is_idempotent(world):
    w = world
    inst = w.issue_allowances("CQ-POW-01", 100)
    a = w.actor("cq-pow-01")
    with w.svc() as svc:
        to = _acc(svc, w, "CQ-POW-02")
    kw = {
        "from_account": "CN-CQ.CQ-POW-01",
        "to_account": to,
        "instrument_id": inst,
        "quantity": 10,
    }
    with w.svc() as svc:
        first = svc.transfer(a, idempotency_key="k-1", **kw)
    with w.svc() as svc:
        again = svc.transfer(a, idempotency_key="k-1", **kw)
    assert again.replayed and again.transfer_id == first.transfer_id
    assert w.balance("CQ-POW-01", inst).posted == 90
    with w.svc() as svc, pytest.raises(rerr.IdempotencyConflict):
        svc.transfer(a, idempotency_key="k-1", **{**kw, "quantity": 11})


def test_four_eyes_above_threshold_and_trusted_accounts(world):
    w = world
    inst = w.issue_allowances("CQ-POW-01", 200_000)
    a = w.actor("cq-pow-01")
    b = w.add_user("CQ-POW-01", "cq-pow-01-b", ("enterprise_admin",))
    with w.svc() as svc:
        to = _acc(svc, w, "CQ-POW-02")
        big = svc.transfer(
            a, from_account="CN-CQ.CQ-POW-01", to_account=to, instrument_id=inst, quantity=60_000
        )
    assert big.status == "pending_approval" and big.four_eyes
    bal = w.balance("CQ-POW-01", inst)
    assert (bal.held, bal.available) == (60_000, 140_000)
    with w.svc() as svc, pytest.raises(rerr.FourEyesRequired):
        svc.approve_transfer(a, big.transfer_id)
    # another organisation cannot even see it
    with w.svc() as svc, pytest.raises(rerr.RegistryNotFound):
        svc.approve_transfer(w.actor("cq-pow-02"), big.transfer_id)
    with w.svc() as svc:
        done = svc.approve_transfer(b, big.transfer_id)
    assert done.status == "completed" and done.tx is not None
    assert w.balance("CQ-POW-02", inst).posted == 60_000
    # rejected: units come back
    with w.svc() as svc:
        p = svc.transfer(
            a, from_account="CN-CQ.CQ-POW-01", to_account=to, instrument_id=inst, quantity=50_000
        )
    with w.svc() as svc:
        assert svc.reject_transfer(b, p.transfer_id, "wrong counterparty").status == "rejected"
    assert w.balance("CQ-POW-01", inst).available == 140_000
    # trusted destination: no approval needed
    with w.svc() as svc:
        svc.add_trusted_account(a, to)
    with w.svc() as svc:
        t = svc.transfer(
            a, from_account="CN-CQ.CQ-POW-01", to_account=to, instrument_id=inst, quantity=50_000
        )
    assert t.status == "completed" and not t.four_eyes
    assert w.violations() == []


def test_exchange_holds_and_dvp_settlement(world_any):
    w = world_any
    inst = w.issue_allowances("CQ-POW-01", 1000)
    ex, bank = w.actor("ncm-operator"), w.actor("settle-01")
    seller, buyer = w.org("CQ-POW-01"), w.org("SC-POW-01")  # Chongqing admits CN-SC
    with w.svc() as svc:
        dep = svc.deposit(
            bank,
            org_id=buyer,
            currency="CNY",
            amount_minor=10_000_000,
            reference="wire-1",
            idempotency_key="w1",
        )
    with w.svc() as svc:  # replay of the deposit books nothing twice
        assert svc.deposit(
            bank,
            org_id=buyer,
            currency="CNY",
            amount_minor=10_000_000,
            reference="wire-1",
            idempotency_key="w1",
        ).replayed
    assert dep.balance_minor == 10_000_000
    with w.svc() as svc:
        uh = svc.reserve_units(
            ex, org_id=seller, instrument_id=inst, quantity=400, reference="ord-s1"
        )
        ch = svc.reserve_cash(
            ex, org_id=buyer, currency="CNY", amount_minor=3_200_000, reference="ord-b1"
        )
        too_much = svc.reserve_units(
            ex, org_id=seller, instrument_id=inst, quantity=601, reference="ord-s2"
        )
    assert uh.ok and ch.ok
    assert not too_much.ok and too_much.code == "insufficient_available"
    with pytest.raises(rerr.InsufficientAvailable):
        too_much.raise_for_status()
    with w.svc() as svc:  # partial fill: 300 t at CNY 80.00
        st = svc.settle_dvp(
            ex,
            unit_hold_id=uh.hold_id,
            cash_hold_id=ch.hold_id,
            quantity=300,
            cash_amount_minor=2_400_000,
            idempotency_key="fill-1",
        )
    assert st.unit_hold.remaining == 100 and st.unit_hold.status == "pending"
    with w.svc() as svc:
        again = svc.settle_dvp(
            ex,
            unit_hold_id=uh.hold_id,
            cash_hold_id=ch.hold_id,
            quantity=300,
            cash_amount_minor=2_400_000,
            idempotency_key="fill-1",
        )
    assert again.replayed and again.tx.tx_id == st.tx.tx_id
    with w.svc() as svc:
        svc.void_hold(ex, uh.hold_id)
        svc.void_hold(ex, ch.hold_id)
        with pytest.raises(rerr.InvalidState):
            svc.void_hold(ex, ch.hold_id)
    assert w.balance("CQ-POW-01", inst).posted == 700
    assert w.balance("SC-POW-01", inst).posted == 300
    with w.svc() as svc:
        admin = w.actor("gc-secretariat")
        cash_b = svc.balance(admin, "CASH.CNY.SC-POW-01", svc.cash_instrument("CNY").id)
        cash_s = svc.balance(admin, "CASH.CNY.CQ-POW-01", svc.cash_instrument("CNY").id)
    assert (cash_b.posted, cash_b.held) == (7_600_000, 0)
    assert cash_s.posted == 2_400_000
    with w.svc() as svc, pytest.raises(rerr.InsufficientAvailable):
        svc.withdraw(bank, org_id=buyer, currency="CNY", amount_minor=7_600_001, reference="out")
    with w.svc() as svc:
        assert (
            svc.withdraw(
                bank, org_id=buyer, currency="CNY", amount_minor=600_000, reference="out"
            ).balance_minor
            == 7_000_000
        )
    assert w.violations() == []
