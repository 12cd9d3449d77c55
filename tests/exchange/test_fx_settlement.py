"""Cross-border settlement (KZT-funded buyer, PvP FX leg), T+1 resale, trading hours.

Expected amounts are computed here with integer arithmetic from the published rule
(``ceil(CNY minor / rate)``), independently of :func:`greencircle.exchange.fx.convert_minor`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from greencircle.errors import Forbidden, PlatformError
from greencircle.exchange.fx import FxService, convert_minor, fill_payment
from greencircle.exchange.models import ExTrade
from greencircle.exchange.rules import load_rules
from greencircle.registry.service import RegistryService
from greencircle.storage.engine import unit_of_work

from .ex_support import (
    BUYER,
    INSTRUMENT,
    SELLER,
    SIGNER,
    Market,
    fund,
    issue_itmo,
    load_actor,
    org_id,
)

SCO_PROJECT = "ITMO-CQ-0001"
RATE = "0.0139"  # CNY per KZT
KZ = "KZ-ENT-01"
KZ_U = "kz-ent-01"
SELLER_U = "cq-cem-01"
BUYER_U = "cq-ste-01"
T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # Wednesday 10:00 Shanghai


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def kzt_for(cny_fen: int) -> int:
    """KZT tiyn buying ``cny_fen`` at 0.0139 CNY/KZT: ceil(fen / 0.0139) = ceil(fen·10⁴/139)."""
    return ceil_div(cny_fen * 10_000, 139)


def fee(notional: int) -> int:
    return notional * 5 // 10_000


@pytest.fixture
def world(databases) -> Iterator[tuple[Market, str]]:
    url = databases.new("sqlite", "demo")
    fund(
        url,
        SIGNER,
        units={SELLER: 1_000, BUYER: 1_000},
        cash_minor={SELLER: 100_000, BUYER: 1_000_000},
    )
    m = Market(url)
    m.now = T0
    with unit_of_work(m.factory) as s:
        inst = issue_itmo(s, SIGNER, to=SELLER, project=SCO_PROJECT, quantity=1_000)
        reg = RegistryService(s, SIGNER)
        bank = load_actor(s, "settle-01")
        reg.deposit(
            bank,
            org_id=org_id(s, KZ),
            currency="KZT",
            amount_minor=200_000_000,  # KZT 2,000,000.00
            reference="KZT funding",
        )
        reg.deposit(
            bank,
            org_id=org_id(s, "SETTLE-01"),
            currency="CNY",
            amount_minor=1_500_000,  # CNY 15,000.00 of FX liquidity
            reference="FX liquidity",
        )
        FxService(s, SIGNER).record_rate(
            bank,
            base="KZT",
            quote="CNY",
            rate=RATE,
            source="test snapshot",
            valid_from=T0 - timedelta(hours=1),
            valid_until=T0 + timedelta(hours=6),
        )
    yield m, inst
    m.close()


def sco(m: Market, username: str, inst: str, **kw: Any) -> Any:
    return m.run(lambda svc: svc.place(m.actor(username), market="SCO", instrument=inst, **kw))


def test_kzt_buyer_settles_dvp_with_a_pvp_fx_leg(world: tuple[Market, str]) -> None:
    m, inst = world
    sco(m, SELLER_U, inst, side="sell", price="80.00", quantity=60)
    sco(m, SELLER_U, inst, side="sell", price="80.50", quantity=40)
    ack = sco(m, KZ_U, inst, side="buy", price="81.00", quantity=100, funding_currency="KZT")
    assert ack.ok, ack.detail
    assert [(t["price"], t["quantity"]) for t in ack.trades] == [("80.00", 60), ("80.50", 40)]
    n1, n2 = 8000 * 60, 8050 * 40
    # per fill: increment of the conversion of the cumulative CNY cost (fees included)
    c1, c2 = n1 + fee(n1), n1 + fee(n1) + n2 + fee(n2)
    paid = [kzt_for(c1), kzt_for(c2) - kzt_for(c1)]
    assert [t["buyer_paid_minor"] for t in ack.trades] == paid
    assert {t["buyer_currency"] for t in ack.trades} == {"KZT"}
    assert len({t["fx_rate_id"] for t in ack.trades}) == 1
    assert m.posted("CASH.KZT.KZ-ENT-01", "CASH:KZT") == 200_000_000 - kzt_for(c2)
    assert m.posted("CASH.KZT.SETTLE-01", "CASH:KZT") == kzt_for(c2)
    assert m.posted("CASH.CNY.SETTLE-01", "CASH:CNY") == 1_500_000 - c2
    assert m.posted(f"CASH.CNY.{SELLER}", "CASH:CNY") == 100_000 + n1 + n2 - fee(n1) - fee(n2)
    assert m.posted("CASH.CNY.NCM-OPERATOR", "CASH:CNY") == 2 * (fee(n1) + fee(n2))
    assert m.posted("SCO.KZ-ENT-01", inst) == 100
    # the whole buy is filled: nothing stays reserved anywhere
    for acc, cur in (("CASH.KZT.KZ-ENT-01", "KZT"), ("CASH.CNY.SETTLE-01", "CNY")):
        assert m.held(acc, f"CASH:{cur}") == 0
    assert set(m.totals().values()) == {0}  # double entry: every instrument sums to zero
    assert m.violations() == []


def test_resting_kzt_order_reserves_both_legs_and_cancel_releases_them(
    world: tuple[Market, str],
) -> None:
    m, inst = world
    ack = sco(m, KZ_U, inst, side="buy", price="79.00", quantity=10, funding_currency="KZT")
    need = 7900 * 10 + fee(7900 * 10)
    assert ack.order["paid_minor"] == 0
    assert m.held("CASH.KZT.KZ-ENT-01", "CASH:KZT") == kzt_for(need)
    assert m.held("CASH.CNY.SETTLE-01", "CASH:CNY") == need
    up = m.run(lambda svc: svc.amend(m.actor(KZ_U), ack.order["id"], price="79.50"))
    assert (up.ok, up.code) == (False, "amend_exceeds_reservation")
    down = m.run(lambda svc: svc.amend(m.actor(KZ_U), ack.order["id"], quantity=4))
    need4 = 7900 * 4 + fee(7900 * 4)
    assert down.code == "amended"
    assert m.held("CASH.KZT.KZ-ENT-01", "CASH:KZT") == kzt_for(need4)
    assert m.held("CASH.CNY.SETTLE-01", "CASH:CNY") == need4
    m.run(lambda svc: svc.cancel(m.actor(KZ_U), ack.order["id"]))
    assert m.held("CASH.KZT.KZ-ENT-01", "CASH:KZT") == 0
    assert m.held("CASH.CNY.SETTLE-01", "CASH:CNY") == 0


@pytest.mark.parametrize(
    ("funding", "shift", "qty", "code"),
    [
        ("UZS", timedelta(0), 10, "fx_rate_unavailable"),  # no UZS snapshot recorded
        ("KZT", timedelta(hours=7), 10, "fx_rate_unavailable"),  # snapshot expired
        ("EUR", timedelta(0), 10, "fx_not_supported"),
        ("KZT", timedelta(0), 200, "fx_liquidity"),  # CNY 16,008 > provider's 15,000
        ("KZT", timedelta(0), 301, "position_limit_exceeded"),  # > 30 % of 1,000 t issued
        ("KZT", timedelta(0), 300, "insufficient_funds"),  # KZT 2.05 m > the buyer's 2 m
    ],
)
def test_fx_rejections_leave_nothing_reserved(
    world: tuple[Market, str], funding: str, shift: timedelta, qty: int, code: str
) -> None:
    m, inst = world
    if code == "insufficient_funds":  # enough CNY liquidity, too little KZT
        with unit_of_work(m.factory) as s:
            RegistryService(s, SIGNER).deposit(
                load_actor(s, "settle-01"),
                org_id=org_id(s, "SETTLE-01"),
                currency="CNY",
                amount_minor=10_000_000,
                reference="more liquidity",
            )
    m.now = T0 + shift
    price = "95.00" if code == "insufficient_funds" else "80.00"
    ack = sco(m, KZ_U, inst, side="buy", price=price, quantity=qty, funding_currency=funding)
    assert (ack.ok, ack.code) == (False, code)
    assert m.held("CASH.KZT.KZ-ENT-01", "CASH:KZT") == 0
    assert m.held("CASH.CNY.SETTLE-01", "CASH:CNY") == 0


def test_settlement_report_nets_to_zero_per_currency(world: tuple[Market, str]) -> None:
    m, inst = world
    sco(m, SELLER_U, inst, side="sell", price="80.00", quantity=30)
    sco(m, KZ_U, inst, side="buy", price="80.00", quantity=30, funding_currency="KZT")
    m.place(SELLER_U, side="sell", price="50.00", quantity=10)
    assert m.place(BUYER_U, side="buy", price="50.00", quantity=10).code == "filled"
    day = "2026-07-01"
    with unit_of_work(m.factory) as s:
        fx = FxService(s, SIGNER)
        rep = fx.settlement_report(load_actor(s, "settle-01"), day)
        gross = fx.settlement_report(load_actor(s, "ncm-operator"), day, netted=False)
        mine = fx.statement(load_actor(s, KZ_U), day)
        with pytest.raises(Forbidden):
            fx.settlement_report(load_actor(s, KZ_U), day)
        trades = s.scalars(select(ExTrade).where(ExTrade.trade_date == day)).all()
    groups = {(g["settlement_bank"], g["currency"]): g for g in rep["groups"]}
    assert set(groups) == {("SETTLE-01", "CNY"), ("SETTLE-01", "KZT")}
    for g in rep["groups"]:
        assert sum(p["net_minor"] for p in g["participants"]) == 0
        assert g["netted_total_minor"] <= g["gross_total_minor"]
    kzt_paid = sum(int(t.buyer_paid_minor or 0) for t in trades)
    assert kzt_paid == kzt_for(8000 * 30 + fee(8000 * 30))
    kzt = {p["org_code"]: p for p in groups[("SETTLE-01", "KZT")]["participants"]}
    assert kzt[KZ]["debit_minor"] == kzt["SETTLE-01"]["credit_minor"] == kzt_paid
    cny = {p["org_code"]: p for p in groups[("SETTLE-01", "CNY")]["participants"]}
    # the seller sold 30 t in SCO and 10 t in CN-CQ, paying a fee on each
    n_sco, n_cq = 8000 * 30, 5000 * 10
    assert cny[SELLER]["net_minor"] == n_sco + n_cq - fee(n_sco) - fee(n_cq)
    assert cny[BUYER]["net_minor"] == -(n_cq + fee(n_cq))
    assert cny["SETTLE-01"]["net_minor"] == -(n_sco + fee(n_sco))
    assert all("net_minor" not in p for g in gross["groups"] for p in g["participants"])
    assert mine["lines"] == [
        {"currency": "KZT", "debit_minor": kzt_paid, "credit_minor": 0, "net_minor": -kzt_paid}
    ]


def test_rate_snapshots_are_validated_logged_and_restricted(world: tuple[Market, str]) -> None:
    m, _inst = world
    with unit_of_work(m.factory) as s:
        fx = FxService(s, SIGNER)
        bank = load_actor(s, "settle-01")
        base = {"source": "t", "valid_from": T0, "valid_until": T0 + timedelta(hours=1)}
        for kw, code in [
            ({"base": "KZT", "quote": "CNY", "rate": "-1"}, "exchange.fx_bad_rate"),
            ({"base": "KZT", "quote": "CNY", "rate": "abc"}, "exchange.fx_bad_rate"),
            ({"base": "KZT", "quote": "KZT", "rate": "1"}, "exchange.fx_same_currency"),
            ({"base": "XXX", "quote": "CNY", "rate": "1"}, "exchange.fx_unknown_currency"),
        ]:
            with pytest.raises(PlatformError) as err:
                fx.record_rate(bank, **(base | kw))
            assert err.value.code == code
        with pytest.raises(PlatformError) as err:
            fx.record_rate(
                bank, base="KZT", quote="CNY", rate="1", source="t", valid_from=T0, valid_until=T0
            )
        assert err.value.code == "exchange.fx_bad_validity"
        with pytest.raises(Forbidden):
            fx.record_rate(load_actor(s, KZ_U), base="KZT", quote="CNY", rate="1", **base)
        row = fx.current("KZT", "CNY", T0)
        assert row is not None
        assert (row.rate, row.leaf_index is not None) == (RATE, True)


@settings(max_examples=200, deadline=None)
@given(
    fills=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=12),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=6),
)
def test_per_fill_payments_sum_to_the_conversion_of_the_total(
    fills: list[int], rate: Decimal
) -> None:
    spent = 0
    paid = 0
    for f in fills:
        paid += fill_payment(spent, f, rate, 2, 2)
        spent += f
    assert paid == convert_minor(spent, rate, 2, 2)
    # the provider never gives more CNY than the KZT it receives is worth
    assert Decimal(paid) * rate >= spent


# ------------------------------------------------------------------------------------------
# T+1 resale and trading hours
# ------------------------------------------------------------------------------------------
@pytest.fixture
def cq(databases) -> Iterator[Market]:
    url = databases.new("sqlite", "demo")
    fund(url, SIGNER, units={SELLER: 1_000, BUYER: 100}, cash_minor={BUYER: 10_000_000})
    m = Market(url)
    m.rules = {k: dataclasses.replace(v, resale_t_plus_1=True) for k, v in load_rules().items()}
    m.now = T0
    yield m
    m.close()


def test_allowances_bought_today_are_sellable_from_the_next_trading_day(cq: Market) -> None:
    cq.place(SELLER_U, side="sell", price="50.00", quantity=10)
    assert cq.place(BUYER_U, side="buy", price="50.00", quantity=10).code == "filled"
    # 110 held now, 10 bought today: 100 sellable
    bad = cq.place(BUYER_U, side="sell", price="55.00", quantity=101)
    assert (bad.ok, bad.code) == (False, "resale_restricted")
    assert cq.held(f"CN-CQ.{BUYER}", INSTRUMENT) == 0
    assert cq.place(BUYER_U, side="sell", price="55.00", quantity=100).code == "resting"
    assert cq.place(BUYER_U, side="sell", price="55.00", quantity=1).code == "resale_restricted"
    cq.now = T0 + timedelta(days=1)  # Thursday
    assert cq.place(BUYER_U, side="sell", price="55.00", quantity=10).code == "resting"


@pytest.mark.parametrize(
    ("when", "ok"),
    [
        (datetime(2026, 7, 1, 1, 30, tzinfo=UTC), True),  # Wed 09:30 Shanghai
        (datetime(2026, 7, 1, 4, 0, tzinfo=UTC), False),  # Wed 12:00: lunch break
        (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), False),  # Wed 15:00: closed
        (datetime(2026, 7, 4, 2, 0, tzinfo=UTC), False),  # Saturday
        (datetime(2026, 10, 2, 2, 0, tzinfo=UTC), False),  # National Day holiday
    ],
)
def test_orders_only_in_trading_hours(databases, when: datetime, ok: bool) -> None:
    url = databases.new("sqlite", "demo")
    fund(url, SIGNER, units={SELLER: 10}, cash_minor={})
    m = Market(url, enforce_hours=True)
    m.now = when
    try:
        ack = m.place(SELLER_U, side="sell", price="50.00", quantity=1)
        assert ack.ok is ok
        if not ok:
            assert ack.code == "market_closed"
            assert m.held(f"CN-CQ.{SELLER}", INSTRUMENT) == 0
    finally:
        m.close()
