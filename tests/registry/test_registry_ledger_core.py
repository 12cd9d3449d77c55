"""Pure core: balance checks, serial splitting, allocation and penalty arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencircle.registry import ledger
from greencircle.registry.ledger import BalanceState, Reject
from greencircle.registry.markets import PenaltyRule


def test_debit_rejection_names_the_binding_constraint():
    b = BalanceState(posted=100, held=10, pledged=30, frozen=20)
    assert b.available == 40
    assert ledger.debit_rejection(b, 40) is None
    assert ledger.debit_rejection(b, 41) == Reject.FROZEN  # fine without the freeze
    assert ledger.debit_rejection(b, 61) == Reject.UNITS_PLEDGED  # needs pledged units
    assert ledger.debit_rejection(b, 91) == Reject.INSUFFICIENT_AVAILABLE
    assert ledger.debit_rejection(b, 0) == Reject.INVALID_QUANTITY
    assert ledger.debit_rejection(b, True) == Reject.INVALID_QUANTITY  # type: ignore[arg-type]
    assert ledger.debit_rejection(BalanceState(allow_negative=True), 10**9) is None


def test_take_lowest_splits_the_straddling_block():
    taken, kept = ledger.take_lowest([(1, 10), (21, 30)], 15)
    assert taken == [(1, 10), (21, 25)]
    assert kept == [(26, 30)]
    with pytest.raises(ValueError, match="hold 20"):
        ledger.take_lowest([(1, 10), (21, 30)], 21)


@given(
    st.lists(st.tuples(st.integers(1, 1000), st.integers(0, 50)), min_size=1, max_size=20),
    st.data(),
)
def test_take_lowest_conserves_serials(raw, data):
    # disjoint sorted blocks built from (gap, length)
    blocks, pos = [], 0
    for gap, length in raw:
        start = pos + gap
        blocks.append((start, start + length))
        pos = start + length
    total = sum(ledger.range_size(b) for b in blocks)
    q = data.draw(st.integers(1, total))
    taken, kept = ledger.take_lowest(blocks, q)
    assert sum(ledger.range_size(r) for r in taken) == q
    serials = lambda rs: {s for a, b in rs for s in range(a, b + 1)}  # noqa: E731
    assert serials(taken) | serials(kept) == serials(blocks)
    assert not serials(taken) & serials(kept)
    assert max(serials(taken)) < min(serials(kept), default=10**9)
    assert ledger.overlapping(taken + kept) == []


def test_serial_format_is_readable_and_fixed_width():
    s = ledger.format_serial("CN-CQ", "CQEA", 2025, "AL2025-CN-CQ", 1, 5000)
    assert s == "CN-CQ-CQEA-2025-AL2025-CN-CQ-000000001-000005000"


def test_replay_is_double_entry():
    bal = ledger.replay([("i", "src", "a", 10), ("i", "a", "b", 4)])
    assert bal == {("src", "i"): -10, ("a", "i"): 6, ("b", "i"): 4}
    assert sum(bal.values()) == 0


def test_allocation_arithmetic():
    # 0.8177 tCO2/MWh x 1,000,000 MWh x 1.0 = 817,700 t
    assert (
        ledger.benchmark_allocation(Decimal("0.8177"), Decimal(1_000_000), Decimal(1), 0) == 817_700
    )
    # half-even rounding to whole units
    assert ledger.benchmark_allocation(Decimal("0.5"), Decimal(5), Decimal(1), 0) == 2
    assert ledger.grandfathering_allocation(Decimal(1000), Decimal("0.98"), 0) == 980
    assert ledger.pre_allocation(817_701, 7000) == 572_390  # floor(0.7 x 817,701)
    assert ledger.obligation_units(Decimal("100.01"), 0) == 101  # rounded up
    assert ledger.offset_cap_units(1999, Decimal(5)) == 99  # floor(99.95)


def test_penalty_multiple_of_average_price():
    rule = PenaltyRule(
        "multiple_of_average_price", Decimal(5), Decimal(10), 1, next_year_deduction=True
    )
    pa = ledger.assess_penalty(
        rule, 120, unit_scale=0, currency_scale=2, average_price_minor=Decimal("9749.5")
    )
    assert pa.fine_min_minor == 5 * 120 * 9749.5
    assert pa.fine_max_minor == 10 * 120 * 9749.5
    assert pa.deduction_units == 120
    none = ledger.assess_penalty(rule, 0, unit_scale=0, currency_scale=2, average_price_minor=None)
    assert (none.fine_min_minor, none.deduction_units) == (0, 0)
    fixed = PenaltyRule("fixed_range", min_major=Decimal(20000), max_major=Decimal(30000))
    pf = ledger.assess_penalty(fixed, 5, unit_scale=0, currency_scale=2, average_price_minor=None)
    assert (pf.fine_min_minor, pf.fine_max_minor, pf.deduction_units) == (2_000_000, 3_000_000, 0)
