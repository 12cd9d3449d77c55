"""Allocation (four-eyes, benchmark, pre-allocation, true-up) and compliance (offset cap,
vintage, deadline, shortfall penalty computed here independently from the market data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import pytest

from greencircle.demo.scenario import ENTERPRISES
from greencircle.registry import errors as rerr
from greencircle.registry.markets import default_catalog
from greencircle.registry.service import AllocationInput


def test_benchmark_allocation_four_eyes_pre_allocation_and_true_up(world):
    w = world
    reg, second = w.regulators("CN-CQ")
    pow1 = w.org("CQ-POW-01")
    bench = default_catalog().benchmark(
        "CN-NATIONAL", "power", "coal_conventional_300mw_plus", 2025
    )
    line = AllocationInput(
        pow1, "benchmark", Decimal(1_000_000), Decimal(1), "power", "coal_conventional_300mw_plus"
    )
    with w.svc() as svc:
        plan = svc.create_allocation_plan(
            reg,
            market_code="CN-NATIONAL",
            year=2025,
            product="CEA",
            lines=[line],
            pre_share_bp=7000,
        )
    expected = int((bench.value * 1_000_000).to_integral_value(ROUND_HALF_EVEN))
    assert plan.lines[0].quantity == expected == 817_700
    assert plan.lines[0].benchmark_status == bench.status == "estimate"
    assert plan.lines[0].pre_quantity == expected * 7000 // 10000
    with w.svc() as svc, pytest.raises(rerr.InvalidState):
        svc.issue_allocation(reg, plan.plan_id)  # not approved yet
    with w.svc() as svc, pytest.raises(rerr.FourEyesRequired):
        svc.approve_allocation_plan(reg, plan.plan_id)
    with w.svc() as svc, pytest.raises(rerr.OutOfJurisdiction):
        svc.approve_allocation_plan(w.actor("sc-eed"), plan.plan_id)
    with w.svc() as svc:
        svc.approve_allocation_plan(second, plan.plan_id)
    with w.svc() as svc:
        issued = svc.issue_allocation(reg, plan.plan_id)
        inst = svc.instrument("CN-NATIONAL", "CEA", 2025).id
    assert issued.status == "pre_issued"
    assert w.balance("CQ-POW-01", inst, "CN-NATIONAL").posted == 572_390
    # true-up on verified output 900,000 MWh: final 735,930, the rest issued
    with w.svc() as svc:
        svc.submit_true_up(reg, plan.plan_id, {pow1: Decimal(900_000)})
    with w.svc() as svc, pytest.raises(rerr.FourEyesRequired):
        svc.approve_true_up(reg, plan.plan_id)
    with w.svc() as svc:
        final = svc.approve_true_up(second, plan.plan_id)
    assert final.status == "final"
    assert final.lines[0].final_quantity == 735_930
    assert w.balance("CQ-POW-01", inst, "CN-NATIONAL").posted == 735_930
    assert len(final.tx_ids) == 2
    assert w.violations() == []


def test_true_up_below_pre_allocation_becomes_owed(world):
    w = world
    reg, second = w.regulators("CN-CQ")
    pow1 = w.org("CQ-CEM-01")
    line = AllocationInput(pow1, "grandfathering", Decimal(1000), Decimal("0.98"))
    with w.svc() as svc:
        plan = svc.create_allocation_plan(
            reg, market_code="CN-CQ", year=2025, product="CQEA", lines=[line], pre_share_bp=10_000
        )
    with w.svc() as svc:
        svc.approve_allocation_plan(second, plan.plan_id)
    with w.svc() as svc:
        svc.issue_allocation(reg, plan.plan_id)
    with w.svc() as svc:
        svc.submit_true_up(reg, plan.plan_id, {pow1: Decimal(900)})
    with w.svc() as svc:
        final = svc.approve_true_up(second, plan.plan_id)
    assert (final.lines[0].issued, final.lines[0].final_quantity, final.lines[0].owed) == (
        980,
        882,
        98,
    )
    w.emissions.values[(pow1, 2025)] = Decimal(500)
    with w.svc() as svc:
        st = svc.compliance_status(w.actor("cq-cem-01"), pow1, "CN-CQ", 2025)
    assert st.obligation == 500 + 98 and st.allocation_owed == 98


def test_plan_scope_rules(world):
    w = world
    reg, _ = w.regulators("CN-CQ")
    sc_org = w.org("SC-POW-01")
    with w.svc() as svc, pytest.raises(rerr.OutOfJurisdiction):
        svc.create_allocation_plan(
            reg,
            market_code="CN-NATIONAL",
            year=2025,
            product="CEA",
            lines=[AllocationInput(sc_org, "grandfathering", Decimal(1))],
        )
    with (
        w.svc() as svc,
        pytest.raises(rerr.OutOfJurisdiction),
    ):  # Sichuan may not allocate in Chongqing
        svc.create_allocation_plan(
            w.actor("sc-eed"),
            market_code="CN-CQ",
            year=2025,
            product="CQEA",
            lines=[AllocationInput(sc_org, "grandfathering", Decimal(1))],
        )
    with w.svc() as svc, pytest.raises(rerr.WrongMarket):
        svc.create_allocation_plan(reg, market_code="CN-CQ", year=2025, product="CEA", lines=[])
    with w.svc() as svc, pytest.raises(rerr.InvalidState):
        svc.issue(
            reg,
            market_code="CN-CQ",
            product="CQEA",
            vintage=2025,
            to_org_id=w.org("CQ-CEM-01"),
            quantity=5,
        )


def _setup_compliance(w):
    pow1 = w.org("CQ-CEM-01")
    allow = w.issue_allowances("CQ-CEM-01", 900)
    reg, _ = w.regulators("CN-CQ")
    with w.svc() as svc:
        tx = svc.issue(
            reg,
            market_code="CN-CQ",
            product="CCER",
            vintage=2024,
            project_id="P-0001",
            to_org_id=pow1,
            quantity=200,
        )
        offset = svc.instrument("CN-CQ", "CCER", 2024, project_id="P-0001").id
    assert tx.legs[0].serials == ["CN-CQ-CCER-P-0001-2024-P-0001-000000001-000000200"]
    w.emissions.values[(pow1, 2025)] = Decimal("1000.5")
    return pow1, allow, offset


def test_surrender_offset_cap_vintage_deadline_and_shortfall_penalty(world):
    w = world
    pow1, allow, offset = _setup_compliance(w)
    market = default_catalog().market("CN-CQ")
    a = w.actor("cq-cem-01")
    obligation = 1001  # ceil(1000.5)
    cap = int(Decimal(obligation) * market.offset_cap_pct.value / 100)  # floor
    assert cap == 80
    kw = {"org_id": pow1, "market_code": "CN-CQ", "year": 2025}
    with w.svc() as svc, pytest.raises(rerr.OffsetCapExceeded):
        svc.surrender(a, instrument_id=offset, quantity=cap + 1, **kw)
    with w.svc() as svc:
        r = svc.surrender(a, instrument_id=offset, quantity=cap, **kw)
    assert r.status.surrendered_offsets == cap and r.kind == "offset"
    with w.svc() as svc, pytest.raises(rerr.OffsetCapExceeded):
        svc.surrender(a, instrument_id=offset, quantity=1, **kw)
    with w.svc() as svc, pytest.raises(rerr.SurrenderExceedsObligation):
        svc.surrender(a, instrument_id=allow, quantity=obligation - cap + 1, **kw)
    with w.svc() as svc, pytest.raises(rerr.VintageNotEligible):  # no borrowing from 2026
        svc.surrender(a, instrument_id=allow, quantity=1, **{**kw, "year": 2024})
    with w.svc() as svc:
        r = svc.surrender(a, instrument_id=allow, quantity=900, **kw)
    assert r.status.remaining == obligation - cap - 900 == 21
    assert r.status.status == "open"
    # after the deadline (31 Aug of the next year, Asia/Shanghai)
    dl = datetime(
        2026,
        market.deadline.value.month,
        market.deadline.value.day,
        23,
        59,
        59,
        999999,
        ZoneInfo("Asia/Shanghai"),
    )
    w.clock.now = dl.astimezone(UTC) + timedelta(microseconds=1)
    with w.svc() as svc, pytest.raises(rerr.AfterDeadline):
        svc.surrender(a, instrument_id=allow, quantity=0 + 1, **kw)
    price = Decimal("8123.4")  # fen per t over the window
    w.prices.values[("CN-CQ", "CQEA")] = price
    with w.svc() as svc:
        rep = svc.shortfall_report(w.actor("cq-eeb"), "CN-CQ", 2025)
        region = svc.region_compliance(w.actor("cq-eeb"), "CN-CQ", 2025, "CN-CQ")
    (line,) = rep.lines
    rule = market.penalty.value
    assert line.shortfall == 21
    assert line.fine_min_minor == int(
        (rule.multiple_min * price * 21).to_integral_value(ROUND_HALF_EVEN)
    )
    assert line.fine_max_minor == int(
        (rule.multiple_max * price * 21).to_integral_value(ROUND_HALF_EVEN)
    )
    assert line.deduction_units == 21
    assert line.rule_status == market.penalty.status == "estimate"
    # the price window is the 6 calendar months before the deadline month
    _m, _p, start, end = w.prices.calls[-1]
    tz = ZoneInfo("Asia/Shanghai")
    assert start == datetime(2026, 2, 1, tzinfo=tz) and end == datetime(2026, 8, 1, tzinfo=tz)
    # every covered Chongqing industrial key emitter is listed (the others not verified)
    industrial = [e for e in ENTERPRISES if e[0] != "power" and e[1].startswith("CN-CQ-")]
    assert (region.entities, region.shortfall) == (len(industrial), 1)
    assert region.not_verified == len(industrial) - 1
    # next year's plan deducts the shortfall
    reg, _ = w.regulators("CN-CQ")
    with w.svc() as svc:
        plan = svc.create_allocation_plan(
            reg,
            market_code="CN-CQ",
            year=2026,
            product="CQEA",
            lines=[AllocationInput(pow1, "grandfathering", Decimal(1000))],
        )
    assert (plan.lines[0].deduction, plan.lines[0].quantity) == (21, 979)
    # Sichuan's regulator sees none of it
    with w.svc() as svc, pytest.raises(rerr.OutOfJurisdiction):
        svc.region_compliance(w.actor("sc-eed"), "CN-CQ", 2025, "CN-CQ")
    assert w.violations() == []


def test_surrender_rejections(world):
    w = world
    pow1, allow, _offset = _setup_compliance(w)
    a = w.actor("cq-cem-01")
    kw = {"org_id": pow1, "market_code": "CN-CQ", "year": 2025}
    reg, _ = w.regulators("CN-CQ")
    with w.svc() as svc:
        svc.issue(
            reg,
            market_code="CN-CQ",
            product="CQ-PDR",
            vintage=2025,
            region="Yangtze-CQ",
            pollutant="SO2",
            to_org_id=pow1,
            quantity=5000,
        )
        pdr = svc.instrument("CN-CQ", "CQ-PDR", 2025, region="Yangtze-CQ", pollutant="SO2").id
    with w.svc() as svc, pytest.raises(rerr.NotEligibleForCompliance):
        svc.surrender(a, instrument_id=pdr, quantity=1, **kw)
    with w.svc() as svc, pytest.raises(rerr.WrongMarket):
        svc.surrender(a, instrument_id=allow, quantity=1, **{**kw, "market_code": "CN-SC"})
    with w.svc() as svc, pytest.raises(rerr.NotHolder):
        svc.surrender(w.actor("cq-cem-02"), instrument_id=allow, quantity=1, **kw)
    with w.svc() as svc, pytest.raises(rerr.EmissionsNotVerified):
        svc.surrender(a, instrument_id=allow, quantity=1, **{**kw, "year": 2026})
    with w.svc() as svc, pytest.raises(rerr.InvalidInstrument):
        svc.instrument("CN-CQ", "CQ-PDR", 2025, region="Yangtze-CQ", pollutant="PM2.5")
    with w.svc() as svc, pytest.raises(rerr.NotEligibleForCompliance):
        svc.surrender(
            w.actor("kz-ent-01"),
            org_id=w.org("KZ-ENT-01"),
            market_code="SCO",
            year=2025,
            instrument_id=allow,
            quantity=1,
        )
    with w.svc() as svc:  # pledged units cannot be surrendered
        svc.pledge(
            a,
            account_number="CN-CQ.CQ-CEM-01",
            instrument_id=allow,
            quantity=900,
            pledgee_org_id=w.org("BANK-CQ-01"),
            reference="loan-1",
        )
    with w.svc() as svc, pytest.raises(rerr.UnitsPledged):
        svc.surrender(a, instrument_id=allow, quantity=1, **kw)
