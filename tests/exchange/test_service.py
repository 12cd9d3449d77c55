"""Service-level tests of durable continuous trading: risk, DvP, journal, rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from greencircle.errors import Forbidden
from greencircle.exchange import Side
from greencircle.exchange.models import ExJournal, ExOrder, ExTrade
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.storage.engine import unit_of_work

from .ex_support import BUYER, INSTRUMENT, SELLER, SIGNER, Market, fund

CASH = "CASH:CNY"
CASH_B = f"CASH.CNY.{BUYER}"
CASH_S = f"CASH.CNY.{SELLER}"
UNITS_B = f"CN-CQ.{BUYER}"
UNITS_S = f"CN-CQ.{SELLER}"
OP_CASH = "CASH.CNY.NCM-OPERATOR"
SELLER_U = "cq-cem-01"
BUYER_U = "cq-ste-01"
UNITS0 = {SELLER: 10_000, BUYER: 1_000}
CASH0 = {BUYER: 10_000_000, SELLER: 100_000}


def _market(url: str, **kw: Any) -> Market:
    fund(url, SIGNER, units=UNITS0, cash_minor=CASH0)
    return Market(url, **kw)


@pytest.fixture
def mkt(databases) -> Iterator[Market]:
    m = _market(databases.new("sqlite", "demo"))
    yield m
    m.close()


@pytest.fixture
def mkt_any(databases, backend) -> Iterator[Market]:
    m = _market(databases.new(backend, "demo"))
    yield m
    m.close()


def _count(m: Market, model: Any) -> int:
    with unit_of_work(m.factory) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _fee(notional: int, bps: int = 5) -> int:
    return notional * bps // 10_000


# ------------------------------------------------------------------------------------------
# DvP and fees (SQLite and PostgreSQL)
# ------------------------------------------------------------------------------------------
def test_fill_settles_units_cash_and_fees_dvp(mkt_any: Market) -> None:
    m = mkt_any
    b0 = m.balances()
    s = m.place(SELLER_U, side="sell", price="50.00", quantity=100)
    assert (s.ok, s.code) == (True, "resting")
    assert m.held(UNITS_S, INSTRUMENT) == 100
    b = m.place(BUYER_U, side="buy", price="51.00", quantity=60)
    assert (b.ok, b.code) == (True, "filled")
    assert [(t["price"], t["quantity"]) for t in b.trades] == [("50.00", 60)]
    notional = 5000 * 60  # fen: price [ticks = fen] x quantity [t]
    fee = _fee(notional)
    after = m.balances()
    assert after[(UNITS_B, INSTRUMENT)][0] == b0[(UNITS_B, INSTRUMENT)][0] + 60
    assert after[(UNITS_S, INSTRUMENT)] == (b0[(UNITS_S, INSTRUMENT)][0] - 60, 40)
    assert after[(CASH_B, CASH)] == (CASH0[BUYER] - notional - fee, 0)  # surplus released
    assert after[(CASH_S, CASH)] == (CASH0[SELLER] + notional - fee, 0)
    assert after[(OP_CASH, CASH)][0] == 2 * fee
    assert b.order["notional_minor"] == notional
    assert b.order["fee_minor"] == fee
    # the maker completes; its hold is then fully used
    b2 = m.place(BUYER_U, side="buy", price="50.00", quantity=40)
    assert b2.code == "filled"
    assert m.held(UNITS_S, INSTRUMENT) == 0
    assert m.totals() == dict.fromkeys(m.totals(), 0)
    assert m.violations() == []
    assert _count(m, ExTrade) == 2


def test_partial_fill_then_cancel_releases_the_remaining_hold(mkt_any: Market) -> None:
    m = mkt_any
    m.place(SELLER_U, side="sell", price="50.00", quantity=10)
    b = m.place(BUYER_U, side="buy", price="50.00", quantity=30)
    assert (b.code, b.order["open_quantity"], b.order["filled_quantity"]) == ("resting", 20, 10)
    need = 5000 * 20 + _fee(5000 * 20)
    assert m.held(CASH_B, CASH) == need
    c = m.run(lambda svc: svc.cancel(m.actor(BUYER_U), b.order["id"]))
    assert (c.ok, c.order["status"], c.order["cancelled_quantity"]) == (True, "cancelled", 20)
    assert m.held(CASH_B, CASH) == 0
    again = m.run(lambda svc: svc.cancel(m.actor(BUYER_U), b.order["id"]))
    assert (again.ok, again.code) == (False, "order_not_open")


# ------------------------------------------------------------------------------------------
# rejections: result codes, no effect
# ------------------------------------------------------------------------------------------
REJECTIONS = [
    ({"side": "buy", "price": "50.001", "quantity": 1}, "off_tick_price"),
    ({"side": "buy", "price": "5o", "quantity": 1}, "malformed_price"),
    ({"side": "buy", "price": "0", "quantity": 1}, "non_positive_price"),
    ({"side": "buy", "quantity": 1}, "price_required"),
    ({"side": "buy", "kind": "market", "price": "50", "quantity": 1}, "price_not_allowed"),
    ({"side": "buy", "price": "50", "quantity": 0}, "invalid_quantity"),
    ({"side": "buy", "price": "50", "quantity": 100_000}, "quantity_too_large"),
    ({"side": "sideways", "price": "50", "quantity": 1}, "invalid_order"),
    ({"side": "buy", "price": "50", "quantity": 1, "market": "XX"}, "unknown_market"),
    (
        {"side": "buy", "price": "50", "quantity": 1, "instrument": "CQEA:1999"},
        "unknown_instrument",
    ),
    ({"side": "buy", "price": "20000.00", "quantity": 600}, "insufficient_funds"),
    ({"side": "sell", "price": "50", "quantity": 10_001}, "insufficient_units"),
]


@pytest.mark.parametrize(("kw", "code"), REJECTIONS)
def test_rejections_are_result_codes_without_effect(mkt: Market, kw: dict[str, Any], code: str):
    user = BUYER_U if kw["side"] == "buy" else SELLER_U
    before = mkt.balances()
    ack = mkt.place(user, **kw)
    assert (ack.ok, ack.code) == (False, code), ack
    assert ack.detail
    assert mkt.balances() == before
    assert _count(mkt, ExOrder) == 0
    assert _count(mkt, ExJournal) == 0


def test_lot_size(databases) -> None:
    m = _market(databases.new("sqlite", "demo"), lot=10)
    try:
        assert m.place(SELLER_U, side="sell", price="50", quantity=15).code == "lot_size"
        assert m.place(SELLER_U, side="sell", price="50", quantity=20).code == "resting"
    finally:
        m.close()


def test_price_band_around_previous_close_vwap(mkt: Market) -> None:
    today = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    mkt.now = today - timedelta(days=1)
    mkt.place(SELLER_U, side="sell", price="49.00", quantity=10)
    mkt.place(SELLER_U, side="sell", price="52.00", quantity=30)
    mkt.place(BUYER_U, side="buy", price="52.00", quantity=40)  # VWAP (490+1560)/40 = 51.25
    mkt.now = today
    with unit_of_work(mkt.factory) as s:
        svc = ExchangeService(s, SIGNER, BookRegistry(), clock=mkt.clock)
        bars = svc.ohlc("CN-CQ", "CQEA:2025")
    assert bars["previous_close"] == "51.25"
    assert bars["bars"][0]["close"] == "51.25"
    # band = [ceil(51.25 * 0.9), floor(51.25 * 1.1)] = [46.13, 56.37]
    assert mkt.place(BUYER_U, side="buy", price="56.38", quantity=1).code == "outside_price_band"
    assert mkt.place(BUYER_U, side="buy", price="46.12", quantity=1).code == "outside_price_band"
    assert mkt.place(BUYER_U, side="buy", price="56.37", quantity=1).code == "resting"
    assert mkt.place(SELLER_U, side="sell", price="46.13", quantity=1).code == "filled"
    # a market buy is protected at the upper band limit
    mkt.place(SELLER_U, side="sell", price="56.00", quantity=5)
    mb = mkt.place(BUYER_U, side="buy", kind="market", quantity=3)
    assert mb.order["protection_price"] == "56.37"
    assert [(t["price"], t["quantity"]) for t in mb.trades] == [("56.00", 3)]


# ------------------------------------------------------------------------------------------
# order types, STP, amend
# ------------------------------------------------------------------------------------------
def test_market_buy_reserves_the_walk_and_releases_the_rest(mkt: Market) -> None:
    mkt.place(SELLER_U, side="sell", price="50.00", quantity=10)
    mkt.place(SELLER_U, side="sell", price="52.00", quantity=10)
    ack = mkt.place(BUYER_U, side="buy", kind="market", quantity=25)
    assert ack.code == "cancelled"
    assert ack.order["reason"] == "market_remainder"
    assert [(t["price"], t["quantity"]) for t in ack.trades] == [("50.00", 10), ("52.00", 10)]
    spent = 5000 * 10 + 5200 * 10 + _fee(5000 * 10) + _fee(5200 * 10)
    assert mkt.balances()[(CASH_B, CASH)] == (CASH0[BUYER] - spent, 0)
    empty = mkt.place(BUYER_U, side="buy", kind="market", quantity=5)
    assert (empty.ok, empty.order["status"], empty.trades) == (True, "cancelled", [])


def test_fok_not_fillable_is_killed_and_released(mkt: Market) -> None:
    mkt.place(SELLER_U, side="sell", price="50.00", quantity=10)
    ack = mkt.place(BUYER_U, side="buy", price="50.00", quantity=11, tif="FOK")
    assert (ack.ok, ack.code, ack.order["reason"]) == (True, "fok_not_fillable", "fok_not_fillable")
    assert mkt.held(CASH_B, CASH) == 0
    assert mkt.place(BUYER_U, side="buy", price="50.00", quantity=10, tif="FOK").code == "filled"


def test_self_trade_prevention_cancels_the_newest(mkt: Market) -> None:
    s = mkt.place(BUYER_U, side="sell", price="50.00", quantity=5)
    b = mkt.place(BUYER_U, side="buy", price="50.00", quantity=5)
    assert (b.code, b.order["status"], b.trades) == ("self_trade_prevented", "cancelled", [])
    assert mkt.held(CASH_B, CASH) == 0
    with unit_of_work(mkt.factory) as sess:
        assert sess.get(ExOrder, s.order["id"]).status == "open"  # type: ignore[union-attr]


def test_amend_tops_up_or_releases_the_reservation(mkt: Market) -> None:
    b = mkt.place(BUYER_U, side="buy", price="50.00", quantity=10)
    oid = b.order["id"]
    up = mkt.run(lambda svc: svc.amend(mkt.actor(BUYER_U), oid, price="50.01"))
    assert (up.ok, up.code) == (True, "amended")
    assert mkt.held(CASH_B, CASH) == 5001 * 10 + _fee(5001 * 10)
    # 3,000 t at 50.01 costs more than the buyer's CNY 100,000: refused, nothing changes
    big = mkt.run(lambda svc: svc.amend(mkt.actor(BUYER_U), oid, quantity=3_000))
    assert (big.ok, big.code) == (False, "insufficient_funds")
    assert mkt.held(CASH_B, CASH) == 5001 * 10 + _fee(5001 * 10)
    down = mkt.run(lambda svc: svc.amend(mkt.actor(BUYER_U), oid, price="49.00", quantity=8))
    assert (down.code, down.order["open_quantity"], down.order["price"]) == ("amended", 8, "49.00")
    assert mkt.held(CASH_B, CASH) == 4900 * 8 + _fee(4900 * 8)
    s = mkt.place(SELLER_U, side="sell", price="49.50", quantity=8)
    more = mkt.run(lambda svc: svc.amend(mkt.actor(SELLER_U), s.order["id"], quantity=10_001))
    assert (more.ok, more.code) == (False, "insufficient_units")
    grown = mkt.run(lambda svc: svc.amend(mkt.actor(SELLER_U), s.order["id"], quantity=9))
    assert (grown.code, mkt.held(UNITS_S, INSTRUMENT)) == ("amended", 9)
    shrunk = mkt.run(lambda svc: svc.amend(mkt.actor(SELLER_U), s.order["id"], quantity=8))
    assert (shrunk.code, mkt.held(UNITS_S, INSTRUMENT)) == ("amended", 8)
    cross = mkt.run(lambda svc: svc.amend(mkt.actor(SELLER_U), s.order["id"], price="49.00"))
    assert (cross.code, [t["quantity"] for t in cross.trades]) == ("filled", [8])


def test_access_control(mkt: Market) -> None:
    b = mkt.place(BUYER_U, side="buy", price="50.00", quantity=10)
    with pytest.raises(Forbidden):
        mkt.run(lambda svc: svc.cancel(mkt.actor(SELLER_U), b.order["id"]))
    for user in ("cq-eeb", "citizen-01", "ver-cq-01"):
        with pytest.raises(Forbidden):
            mkt.place(user, side="buy", price="50.00", quantity=1)
    op = mkt.run(lambda svc: svc.cancel(mkt.actor("ncm-operator"), b.order["id"]))
    assert (op.ok, op.order["reason"]) == (True, "cancelled_by_operator")


# ------------------------------------------------------------------------------------------
# journal and rebuild
# ------------------------------------------------------------------------------------------
def test_journal_and_rebuilt_books_equal_the_live_ones(mkt_any: Market) -> None:
    m = mkt_any
    acks = [
        m.place(SELLER_U, side="sell", price="50.00", quantity=10),
        m.place(SELLER_U, side="sell", price="50.00", quantity=7),
        m.place(SELLER_U, side="sell", price="51.00", quantity=5),
        m.place(BUYER_U, side="buy", price="49.00", quantity=3),
        m.place(BUYER_U, side="buy", price="49.00", quantity=4),
        m.place(BUYER_U, side="buy", price="50.00", quantity=12),
    ]
    assert all(a.ok for a in acks)
    m.run(lambda svc: svc.amend(m.actor(BUYER_U), acks[3].order["id"], quantity=2))
    m.run(lambda svc: svc.amend(m.actor(SELLER_U), acks[2].order["id"], price="50.00"))
    m.run(lambda svc: svc.cancel(m.actor(BUYER_U), acks[4].order["id"]))
    assert _count(m, ExJournal) == 9
    live = m.books.loaded()[0].book
    fresh = BookRegistry()
    with unit_of_work(m.factory) as s:
        rebuilt = fresh.get(s, "CN-CQ", INSTRUMENT).book
    for side in (Side.BUY, Side.SELL):
        assert rebuilt.resting(side) == live.resting(side)
    assert rebuilt.depth(None) == live.depth(None)
    assert [r.quantity for r in rebuilt.resting(Side.SELL)] == [5, 5]  # 7 - 2 left, then 5
    assert m.violations() == []


def test_operator_expires_the_book_and_releases_every_hold(mkt: Market) -> None:
    mkt.place(SELLER_U, side="sell", price="51.00", quantity=10)
    mkt.place(BUYER_U, side="buy", price="50.00", quantity=10)
    with pytest.raises(Forbidden):
        mkt.run(lambda svc: svc.expire(mkt.actor(BUYER_U), "CN-CQ", "CQEA:2025"))
    ids = mkt.run(lambda svc: svc.expire(mkt.actor("ncm-operator"), "CN-CQ", "CQEA:2025"))
    assert len(ids) == 2
    assert mkt.held(CASH_B, CASH) == mkt.held(UNITS_S, INSTRUMENT) == 0
    assert len(mkt.books.loaded()[0].book) == 0
    with unit_of_work(mkt.factory) as s:
        assert {o.reason for o in s.scalars(select(ExOrder))} == {"expired"}
