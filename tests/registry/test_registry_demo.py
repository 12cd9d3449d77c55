"""The registry demo: the 2025 cycle on verified MRV reports, idempotent, balanced."""

from __future__ import annotations

from reg_support import DEMO_VERIFIED_2025, SIGNER, insert_verified
from sqlalchemy import select

from greencircle.auth.models import Organisation, User
from greencircle.auth.service import actor_for_user
from greencircle.demo.registry import (
    BENEFICIARY,
    CQ_FACTORS,
    NATIONAL_RATIOS,
    PLEDGE_REFERENCE,
    SECOND_REGULATOR,
    load_registry_demo,
)
from greencircle.registry.endpoints import service_for
from greencircle.registry.integrity import verify_ledger
from greencircle.registry.models import RegAllocationPlan
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work


def _actor(session, username):
    user = session.scalar(select(User).where(User.username == username))
    return actor_for_user(user, auth_method="test", token_id="")


def _statuses(session, market):
    svc = service_for(session, SIGNER)
    region = svc.region_compliance(_actor(session, "cq-eeb"), market, 2025, "CN-CQ")
    return {i.org_code: i for i in region.items}


def test_demo_runs_the_2025_cycle_and_loads_once(databases):
    engine = make_engine(databases.new("sqlite", "demo"))
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as s:
            insert_verified(s, DEMO_VERIFIED_2025, 2025)
        with unit_of_work(factory) as s:
            counts = load_registry_demo(s, SIGNER)
        assert counts == {
            "registry_users": 0,  # cq-eeb-2 comes with the base scenario now
            "registry_plans": 2,
            "registry_deposits": 4,
            "registry_transfers": 2,
            "registry_retirements": 1,
            "registry_pledges": 1,
            "registry_surrenders": 11,
        }
        with unit_of_work(factory) as s:
            assert set(load_registry_demo(s, SIGNER).values()) == {0}
            assert verify_ledger(s) == []
            plans = list(s.scalars(select(RegAllocationPlan)))
            second = s.scalar(select(User.id).where(User.username == SECOND_REGULATOR))
            assert {p.market_code for p in plans} == {"CN-CQ", "CN-NATIONAL"}
            assert all(p.approved_by == second != p.created_by for p in plans)
            assert {p.status for p in plans} == {"issued", "final"}
            cq = _statuses(s, "CN-CQ")
            assert set(cq) == set(CQ_FACTORS)
            assert {c for c, st in cq.items() if st.status == "compliant"} == {
                "CQ-CEM-01", "CQ-CEM-02", "CQ-STE-02", "CQ-CHE-01", "CQ-CHE-02", "CQ-ALU-01",
            }  # fmt: skip
            assert cq["CQ-CEM-03"].remaining == cq["CQ-CEM-03"].obligation
            assert 0 < cq["CQ-STE-01"].remaining < cq["CQ-STE-01"].obligation
            assert 0 < cq["CQ-CEM-02"].surrendered_offsets <= cq["CQ-CEM-02"].offset_cap
            nat = _statuses(s, "CN-NATIONAL")
            assert set(nat) == set(NATIONAL_RATIOS)
            assert nat["CQ-POW-01"].status == nat["CQ-POW-02"].status == "compliant"
            assert nat["CQ-POW-04"].status == "not_verified"  # no verified report: skipped
            svc = service_for(s, SIGNER)
            reg = _actor(s, "cq-eeb")
            (ret,) = svc.retirements(reg)
            assert ret.beneficiary == BENEFICIARY and ret.serials
            (pledge,) = svc.pledge_register(_actor(s, "bank-cq-01"))
            assert pledge.reference == PLEDGE_REFERENCE and pledge.status == "active"
            sc = s.scalar(select(Organisation.id).where(Organisation.code == "SC-CHE-01"))
            sc_lines = svc.balances(_actor(s, "sc-che-01"), sc)
            assert {b.account_number for b in sc_lines} == {"CN-CQ.SC-CHE-01", "CASH.CNY.SC-CHE-01"}
            assert all(b.posted > 0 for b in sc_lines)
    finally:
        engine.dispose()


def test_demo_without_verified_reports_allocates_but_surrenders_nothing(databases):
    engine = make_engine(databases.new("sqlite", "demo"))
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            counts = load_registry_demo(s, SIGNER)
            assert counts["registry_surrenders"] == 0 and counts["registry_plans"] == 2
            assert {st.status for st in _statuses(s, "CN-CQ").values()} == {"not_verified"}
            assert verify_ledger(s) == []
    finally:
        engine.dispose()


def test_demo_on_the_mrv_demo(databases):
    from greencircle.demo.mrv import load_mrv_demo

    engine = make_engine(databases.new("sqlite", "demo"))
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as s:
            load_mrv_demo(s, SIGNER)
        with unit_of_work(factory) as s:
            assert load_registry_demo(s, SIGNER)["registry_surrenders"] > 0
        with unit_of_work(factory) as s:
            assert verify_ledger(s) == []
            statuses = {st.status for st in _statuses(s, "CN-CQ").values()}
            assert "compliant" in statuses and statuses & {"open", "shortfall"}
    finally:
        engine.dispose()
