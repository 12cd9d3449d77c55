"""Hypothesis state machine of the ledger: random operations through the service; after
every step the invariants hold (issued = held + surrendered + retired + cancelled, no
negative available balance, serial ranges never overlap, journal replay = balances) and
the service accepts or rejects exactly as a simple model predicts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from reg_support import World

from greencircle.registry.errors import RegistryError

ORGS = ("CQ-POW-01", "CQ-POW-02", "SC-POW-01")
qty = st.integers(1, 400)
who = st.sampled_from(ORGS)


@pytest.mark.slow
def test_ledger_state_machine(databases):
    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.w = World(databases.new("sqlite", "demo"))
            self.inst: str | None = None
            self.posted = dict.fromkeys(ORGS, 0)
            self.held = dict.fromkeys(ORGS, 0)
            self.pledged = dict.fromkeys(ORGS, 0)
            self.frozen = dict.fromkeys(ORGS, 0)
            self.holds: list[tuple[str, str, int]] = []  # (hold_id, org, remaining)
            self.pledges: list[tuple[str, str, int]] = []
            self.freezes: list[tuple[str, str, int]] = []

        def teardown(self) -> None:
            self.w.close()

        def avail(self, org: str) -> int:
            return self.posted[org] - self.held[org] - self.pledged[org] - self.frozen[org]

        def acc(self, org: str) -> str:
            return f"CN-CQ.{org}"

        def attempt(self, expect_ok: bool, fn):  # type: ignore[no-untyped-def]
            try:
                with self.w.svc() as svc:
                    out = fn(svc)
            except RegistryError as exc:
                rejected = exc.code
            else:
                rejected = None
            if rejected is not None:
                assert not expect_ok, f"unexpected rejection {rejected}"
                return None
            assert expect_ok, "operation should have been rejected"
            return out

        @rule(org=who, q=qty)
        def issue(self, org: str, q: int) -> None:
            w = self.w

            def op(svc):  # type: ignore[no-untyped-def]
                tx = svc.issue(
                    w.actor("cq-eeb"),
                    market_code="CN-CQ",
                    product="CCER",
                    vintage=2024,
                    project_id="P-9",
                    to_org_id=w.org(org),
                    quantity=q,
                )
                self.inst = svc.instrument("CN-CQ", "CCER", 2024, project_id="P-9").id
                return tx

            self.attempt(True, op)
            self.posted[org] += q

        @precondition(lambda self: self.inst is not None)
        @rule(src=who, dst=who, q=qty)
        def transfer(self, src: str, dst: str, q: int) -> None:
            if src == dst:
                return
            ok = q <= self.avail(src) and q < 50_000
            self.attempt(
                ok,
                lambda svc: svc.transfer(
                    self.w.actor(src.lower()),
                    from_account=self.acc(src),
                    to_account=svc._holding(self.w.org(dst), "CN-CQ").number,
                    instrument_id=self.inst,
                    quantity=q,
                ),
            )
            if ok:
                self.posted[src] -= q
                self.posted[dst] += q

        @precondition(lambda self: self.inst is not None)
        @rule(org=who, q=qty)
        def reserve(self, org: str, q: int) -> None:
            with self.w.svc() as svc:
                r = svc.reserve_units(
                    self.w.actor("ncm-operator"),
                    org_id=self.w.org(org),
                    instrument_id=self.inst,
                    quantity=q,
                )
            assert r.ok == (q <= self.avail(org)), r
            if r.ok:
                self.held[org] += q
                self.holds.append((r.hold_id, org, q))

        @precondition(lambda self: self.holds)
        @rule(data=st.data(), post=st.booleans(), to=who)
        def settle_hold(self, data, post: bool, to: str) -> None:  # type: ignore[no-untyped-def]
            i = data.draw(st.integers(0, len(self.holds) - 1))
            hid, org, rem = self.holds[i]
            q = data.draw(st.integers(1, rem))
            ex = self.w.actor("ncm-operator")
            if post:
                self.attempt(
                    True, lambda svc: svc.post_hold(ex, hid, to_org_id=self.w.org(to), amount=q)
                )
                self.posted[org] -= q
                self.posted[to] += q
            else:
                self.attempt(True, lambda svc: svc.void_hold(ex, hid, q))
            self.held[org] -= q
            if q == rem:
                self.holds.pop(i)
            else:
                self.holds[i] = (hid, org, rem - q)

        @precondition(lambda self: self.inst is not None)
        @rule(org=who, q=qty)
        def pledge(self, org: str, q: int) -> None:
            ok = q <= self.avail(org)
            p = self.attempt(
                ok,
                lambda svc: svc.pledge(
                    self.w.actor(org.lower()),
                    account_number=self.acc(org),
                    instrument_id=self.inst,
                    quantity=q,
                    pledgee_org_id=self.w.org("BANK-CQ-01"),
                    reference="loan",
                ),
            )
            if ok:
                self.pledged[org] += q
                self.pledges.append((p.pledge_id, org, q))

        @precondition(lambda self: self.pledges)
        @rule(data=st.data())
        def release(self, data) -> None:  # type: ignore[no-untyped-def]
            pid, org, q = self.pledges.pop(data.draw(st.integers(0, len(self.pledges) - 1)))
            self.attempt(True, lambda svc: svc.release_pledge(self.w.actor("bank-cq-01"), pid))
            self.pledged[org] -= q

        @precondition(lambda self: self.inst is not None)
        @rule(org=who, q=qty)
        def freeze(self, org: str, q: int) -> None:
            ok = q <= self.avail(org)
            f = self.attempt(
                ok,
                lambda svc: svc.freeze(
                    self.w.actor("cq-eeb"),
                    account_number=self.acc(org),
                    instrument_id=self.inst,
                    quantity=q,
                    reason="test",
                ),
            )
            if ok:
                self.frozen[org] += q
                self.freezes.append((f.freeze_id, org, q))

        @precondition(lambda self: self.freezes)
        @rule(data=st.data())
        def unfreeze(self, data) -> None:  # type: ignore[no-untyped-def]
            fid, org, q = self.freezes.pop(data.draw(st.integers(0, len(self.freezes) - 1)))
            self.attempt(True, lambda svc: svc.unfreeze(self.w.actor("cq-eeb"), fid, "done"))
            self.frozen[org] -= q

        @precondition(lambda self: self.inst is not None)
        @rule(org=who, q=qty)
        def retire(self, org: str, q: int) -> None:
            ok = q <= self.avail(org)
            self.attempt(
                ok,
                lambda svc: svc.retire(
                    self.w.actor(org.lower()),
                    account_number=self.acc(org),
                    instrument_id=self.inst,
                    quantity=q,
                    beneficiary="b",
                    purpose="p",
                    period_start="2025-01-01",
                    period_end="2025-12-31",
                ),
            )
            if ok:
                self.posted[org] -= q

        @invariant()
        def ledger_is_sound(self) -> None:
            assert self.w.violations() == []
            if self.inst is None:
                return
            with self.w.svc() as svc:
                admin = self.w.actor("gc-secretariat")
                for org in ORGS:
                    number = svc._holding(self.w.org(org), "CN-CQ").number
                    b = svc.balance(admin, number, self.inst)
                    assert (b.posted, b.held, b.pledged, b.frozen) == (
                        self.posted[org],
                        self.held[org],
                        self.pledged[org],
                        self.frozen[org],
                    ), org
                    assert b.available >= 0

    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
