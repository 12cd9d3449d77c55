"""Many parallel workers doing random transfers, holds (reserve / post / void) and
surrenders against one database (real PostgreSQL server, and SQLite with its locking).
Afterwards every invariant holds and nothing was lost or doubled: each organisation's
balance equals what the successful operations (counted after commit) imply."""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal

import pytest

from greencircle.registry.errors import RegistryError
from greencircle.registry.service import AllocationInput

ORGS = ("CQ-CEM-01", "CQ-CEM-02", "CQ-STE-01", "CQ-CHE-01", "SC-CEM-01")
START = 5_000
WORKERS = 8
OPS = 30


@pytest.mark.slow
def test_parallel_workers_keep_the_ledger_sound(world_any):
    w = world_any
    reg, second = w.regulators("CN-CQ")
    with w.svc() as svc:
        plan = svc.create_allocation_plan(
            reg,
            market_code="CN-CQ",
            year=2025,
            product="CQEA",
            lines=[AllocationInput(w.org(o), "grandfathering", Decimal(START)) for o in ORGS[:4]],
        )
    with w.svc() as svc:
        svc.approve_allocation_plan(second, plan.plan_id)
    with w.svc() as svc:
        svc.issue_allocation(reg, plan.plan_id)
        inst = svc.instrument("CN-CQ", "CQEA", 2025).id
        for o in ORGS:
            svc._holding(w.org(o), "CN-CQ")
            w.emissions.values[(w.org(o), 2025)] = Decimal(1_000_000)
    delta: Counter[str] = Counter(dict.fromkeys(ORGS[:4], START))
    surrendered = Counter[str]()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []
    ex = w.actor("ncm-operator")

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(OPS):
                src, dst = rng.sample(ORGS, 2)
                q = rng.randint(1, 400)
                op = rng.choice(["transfer", "transfer", "hold", "surrender"])
                try:
                    if op == "transfer":
                        with w.svc() as svc:
                            svc.transfer(
                                w.actor(src.lower()),
                                from_account=f"CN-CQ.{src}",
                                to_account=f"CN-CQ.{dst}",
                                instrument_id=inst,
                                quantity=q,
                            )
                        with lock:
                            delta[src] -= q
                            delta[dst] += q
                    elif op == "surrender":
                        with w.svc() as svc:
                            svc.surrender(
                                w.actor(src.lower()),
                                org_id=w.org(src),
                                market_code="CN-CQ",
                                year=2025,
                                instrument_id=inst,
                                quantity=q,
                            )
                        with lock:
                            delta[src] -= q
                            surrendered[src] += q
                    else:
                        with w.svc() as svc:
                            h = svc.reserve_units(
                                ex, org_id=w.org(src), instrument_id=inst, quantity=q
                            )
                        if not h.ok:
                            raise h.raise_for_status().error() or RuntimeError
                        if rng.random() < 0.5:
                            part = rng.randint(1, q)
                            with w.svc() as svc:
                                svc.post_hold(ex, h.hold_id, to_org_id=w.org(dst), amount=part)
                            with lock:
                                delta[src] -= part
                                delta[dst] += part
                        with w.svc() as svc:
                            if svc.hold(ex, h.hold_id).remaining:
                                svc.void_hold(ex, h.hold_id)
                    with lock:
                        outcomes[op] += 1
                except RegistryError as exc:
                    with lock:
                        outcomes[f"rejected:{exc.code}"] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors
    assert w.violations() == []
    assert outcomes["transfer"] > 0 and outcomes["surrender"] > 0 and outcomes["hold"] > 0
    for o in ORGS:
        b = w.balance(o, inst)
        assert b.posted == delta[o], (o, b, delta[o])
        assert (b.held, b.pledged, b.frozen) == (0, 0, 0)
    with w.svc() as svc:
        admin = w.actor("gc-secretariat")
        comp = svc.balance(admin, "CN-CQ.SYS.COMPLIANCE", inst)
        for o in ORGS:
            st = svc.compliance_status(admin, w.org(o), "CN-CQ", 2025)
            assert st.surrendered_allowances == surrendered[o]
    assert comp.posted == sum(surrendered.values())
    assert sum(delta.values()) + comp.posted == START * 4
