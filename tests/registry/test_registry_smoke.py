from __future__ import annotations


def test_allocate_transfer_and_invariants(world_any):
    w = world_any
    inst = w.issue_allowances("CQ-POW-01", 1000)
    a = w.actor("cq-pow-01")
    with w.svc() as svc:
        r = svc.transfer(
            a,
            from_account="CN-CQ.CQ-POW-01",
            to_account=svc._holding(w.org("CQ-POW-02"), "CN-CQ").number,
            instrument_id=inst,
            quantity=300,
        )
    assert r.status == "completed"
    assert r.tx.legs[0].ranges == [(1, 300)]
    assert w.balance("CQ-POW-01", inst).available == 700
    assert w.balance("CQ-POW-02", inst).available == 300
    assert w.violations() == []
