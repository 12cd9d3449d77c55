"""Service tests of listed agreement (挂牌协议) and block agreement (大宗协议) trading:
holds, DvP, fees, best-five-levels rule, close price, block band and minimum, expiry,
visibility, idempotency, journal and log leaves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from greencircle.audit.models import LogLeaf
from greencircle.errors import Forbidden, NotFound
from greencircle.exchange.agreements import AgreementService, load_block_rules
from greencircle.exchange.models import ExJournal, ExOrder, ExTrade
from greencircle.exchange.models_agreements import ExBlockProposal
from greencircle.exchange.service import ExchangeService
from greencircle.storage.engine import unit_of_work

from .ex_support import BUYER, INSTRUMENT, SELLER, SIGNER, Market, fund

T = TypeVar("T")

CASH = "CASH:CNY"
CASH_B = f"CASH.CNY.{BUYER}"
CASH_S = f"CASH.CNY.{SELLER}"
UNITS_B = f"CN-CQ.{BUYER}"
UNITS_S = f"CN-CQ.{SELLER}"
OP_CASH = "CASH.CNY.NCM-OPERATOR"
SELLER_U = "cq-cem-01"
BUYER_U = "cq-ste-01"
THIRD_U = "cq-ste-02"
OPERATOR_U = "ncm-operator"
UNITS0 = {SELLER: 300_000, BUYER: 1_000}
CASH0 = {BUYER: 2_000_000_000, SELLER: 10_000_000}
INST = "CQEA:2025"

# Wednesday 11 June 2025 and Thursday 12 June 2025 (trading days), Asia/Shanghai = UTC+8
DAY1_10H = datetime(2025, 6, 11, 2, 0, tzinfo=UTC)
DAY1_12H = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)
DAY1_14H = datetime(2025, 6, 11, 6, 0, tzinfo=UTC)
DAY2_10H = datetime(2025, 6, 12, 2, 0, tzinfo=UTC)
DAY2_14H = datetime(2025, 6, 12, 6, 0, tzinfo=UTC)
SATURDAY = datetime(2025, 6, 14, 2, 0, tzinfo=UTC)


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


def agr(m: Market, fn: Callable[[AgreementService], T]) -> T:
    """Run ``fn`` in its own transaction under the book lock (like the API)."""
    session = m.factory()
    try:
        svc = AgreementService(
            session,
            m.signer,
            m.books,
            rules=m.rules,
            clock=m.clock,
            enforce_hours=m.enforce_hours,
        )
        return m.books.transact(session, lambda: fn(svc))
    finally:
        session.close()


def post(m: Market, user: str, **kw: Any) -> Any:
    kw.setdefault("market", "CN-CQ")
    kw.setdefault("instrument", INST)
    return agr(m, lambda s: s.post_listing(m.actor(user), **kw))


def take(m: Market, user: str, listing_id: str, quantity: int, **kw: Any) -> Any:
    return agr(m, lambda s: s.take_listing(m.actor(user), listing_id, quantity=quantity, **kw))


def propose(m: Market, user: str, **kw: Any) -> Any:
    kw.setdefault("market", "CN-CQ")
    kw.setdefault("instrument", INST)
    return agr(m, lambda s: s.propose(m.actor(user), **kw))


def _count(m: Market, model: Any, *conds: Any) -> int:
    with unit_of_work(m.factory) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*conds)) or 0)


def _fee(notional: int, bps: int = 5) -> int:
    return notional * bps // 10_000


def _need(price_fen: int, qty: int) -> int:
    return price_fen * qty + _fee(price_fen * qty)


def _nonzero(m: Market) -> dict[tuple[str, str], tuple[int, int]]:
    """Balances without the empty rows opening an account creates."""
    return {k: v for k, v in m.balances().items() if v != (0, 0)}


def _leaves(m: Market) -> list[dict[str, Any]]:
    with unit_of_work(m.factory) as s:
        rows = s.scalars(select(LogLeaf.data).where(LogLeaf.event_type == "exchange.trade"))
        return [json.loads(r) for r in rows]


def _commands(m: Market) -> list[str]:
    with unit_of_work(m.factory) as s:
        return list(s.scalars(select(ExJournal.command).order_by(ExJournal.seq)))


def _exchange(m: Market, fn: Callable[[ExchangeService], T]) -> T:
    with unit_of_work(m.factory) as s:
        return fn(ExchangeService(s, m.signer, m.books, rules=m.rules, clock=m.clock))


# ------------------------------------------------------------------------------------------
# listed agreement: holds, partial fills, fees (SQLite and PostgreSQL)
# ------------------------------------------------------------------------------------------
def test_listing_partial_takes_settle_dvp_with_fees_and_release_holds(mkt_any: Market) -> None:
    m = mkt_any
    b0 = m.balances()
    totals0 = m.totals()
    sell = post(m, SELLER_U, side="sell", price="50.00", quantity=100)
    assert (sell.ok, sell.code, sell.order["mode"]) == (True, "listed", "listed")
    assert m.held(UNITS_S, INSTRUMENT) == 100
    t1 = take(m, BUYER_U, sell.order["id"], 30)
    assert (t1.ok, t1.code, t1.order["venue_ref"]) == (True, "filled", sell.order["id"])
    assert (t1.order["tif"], t1.order["side"]) == ("IOC", "buy")
    assert [(t["price"], t["quantity"]) for t in t1.trades] == [("50.00", 30)]
    notional = 5000 * 30
    fee = _fee(notional)
    after = m.balances()
    assert after[(UNITS_S, INSTRUMENT)] == (b0[(UNITS_S, INSTRUMENT)][0] - 30, 70)
    assert after[(UNITS_B, INSTRUMENT)][0] == b0[(UNITS_B, INSTRUMENT)][0] + 30
    assert after[(CASH_B, CASH)] == (CASH0[BUYER] - notional - fee, 0)
    assert after[(CASH_S, CASH)] == (CASH0[SELLER] + notional - fee, 0)
    assert after[(OP_CASH, CASH)][0] == 2 * fee
    # a buy listing partly taken keeps exactly price x open + fee on hold
    bid = post(m, BUYER_U, side="buy", price="49.00", quantity=10)
    assert m.held(CASH_B, CASH) == _need(4900, 10)
    t2 = take(m, SELLER_U, bid.order["id"], 4)
    assert (t2.ok, t2.order["side"]) == (True, "sell")
    assert m.held(CASH_B, CASH) == _need(4900, 6)
    board = agr(m, lambda s: s.board("CN-CQ", INST))
    assert board["asks"] == [
        {
            "price": "50.00",
            "quantity": 70,
            "listings": [{"id": sell.order["id"], "price": "50.00", "quantity": 70}],
        }
    ]
    assert board["bids"][0]["listings"][0]["quantity"] == 6
    # the rest of the sell listing: filled, no hold left
    t3 = take(m, BUYER_U, sell.order["id"], 70)
    assert t3.ok
    mine, total = agr(m, lambda s: s.my_listings(m.actor(SELLER_U)))
    assert total == 1 and mine[0]["status"] == "filled" and mine[0]["filled_quantity"] == 100
    assert m.held(UNITS_S, INSTRUMENT) == 0
    c = agr(m, lambda s: s.cancel_listing(m.actor(BUYER_U), bid.order["id"]))
    assert (c.ok, c.order["status"], c.order["cancelled_quantity"]) == (True, "cancelled", 6)
    assert m.held(CASH_B, CASH) == 0
    assert m.totals() == totals0
    assert m.violations() == []
    modes = [leaf["mode"] for leaf in _leaves(m)]
    assert modes == ["listed"] * 3
    assert _commands(m) == ["list", "take", "list", "take", "take", "cancel_listing"]
    with unit_of_work(m.factory) as s:
        trades = s.scalars(select(ExTrade)).all()
        assert {(t.mode, t.sets_close) for t in trades} == {("listed", True)}


def test_listing_rows_stay_out_of_the_continuous_book(mkt: Market) -> None:
    m = mkt
    post(m, SELLER_U, side="sell", price="50.00", quantity=10)
    depth = m.run(lambda svc: svc.depth("CN-CQ", INST))
    assert depth["asks"] == []
    # a continuous buy at the listing's price does not trade with the listing
    b = m.place(BUYER_U, side="buy", price="50.00", quantity=5)
    assert (b.ok, b.code) == (True, "resting")


# ------------------------------------------------------------------------------------------
# best five price levels
# ------------------------------------------------------------------------------------------
def test_only_the_best_five_price_levels_may_be_taken(mkt: Market) -> None:
    m = mkt
    ids = {}
    for p in ("50.00", "50.10", "50.20", "50.30", "50.40", "50.50"):
        ids[p] = post(m, SELLER_U, side="sell", price=p, quantity=10).order["id"]
    same = post(m, SELLER_U, side="sell", price="50.20", quantity=5).order["id"]
    board = agr(m, lambda s: s.board("CN-CQ", INST))
    assert [lv["price"] for lv in board["asks"]] == ["50.00", "50.10", "50.20", "50.30", "50.40"]
    assert [x["id"] for x in board["asks"][2]["listings"]] == [ids["50.20"], same]
    before = m.balances()
    sixth = take(m, BUYER_U, ids["50.50"], 10)
    assert (sixth.ok, sixth.code) == (False, "listing_not_in_best_levels")
    assert m.balances() == before
    fifth = take(m, BUYER_U, ids["50.40"], 10)  # not the best level, still allowed
    assert (fifth.ok, fifth.trades[0]["price"]) == (True, "50.40")
    second_at_level = take(m, BUYER_U, same, 5)
    assert second_at_level.ok
    # 50.40 is gone: 50.50 is now among the best five
    now_fifth = take(m, BUYER_U, ids["50.50"], 10)
    assert (now_fifth.ok, now_fifth.trades[0]["price"]) == (True, "50.50")


def test_best_levels_of_buy_listings_are_the_highest_prices(mkt: Market) -> None:
    m = mkt
    ids = [
        post(m, BUYER_U, side="buy", price=p, quantity=1).order["id"]
        for p in ("49.00", "49.10", "49.20", "49.30", "49.40", "48.90")
    ]
    low = take(m, SELLER_U, ids[-1], 1)
    assert low.code == "listing_not_in_best_levels"
    assert take(m, SELLER_U, ids[0], 1).ok


# ------------------------------------------------------------------------------------------
# listed rejections
# ------------------------------------------------------------------------------------------
LISTING_REJECTIONS = [
    ({"side": "buy", "price": "50.001", "quantity": 1}, "off_tick_price"),
    ({"side": "buy", "price": "5o", "quantity": 1}, "malformed_price"),
    ({"side": "buy", "price": "0", "quantity": 1}, "non_positive_price"),
    ({"side": "buy", "price": None, "quantity": 1}, "price_required"),
    ({"side": "buy", "price": "50", "quantity": 0}, "invalid_quantity"),
    ({"side": "buy", "price": "50", "quantity": 100_000}, "quantity_too_large"),
    ({"side": "sideways", "price": "50", "quantity": 1}, "invalid_order"),
    ({"side": "buy", "price": "50", "quantity": 1, "market": "XX"}, "unknown_market"),
    (
        {"side": "buy", "price": "50", "quantity": 1, "instrument": "CQEA:1999"},
        "unknown_instrument",
    ),
    ({"side": "buy", "price": "99999.00", "quantity": 90_000}, "insufficient_funds"),
    ({"side": "sell", "price": "50", "quantity": 1, "funding_currency": "KZT"}, "invalid_order"),
]


@pytest.mark.parametrize(("kw", "code"), LISTING_REJECTIONS)
def test_listing_rejections_have_no_effect(mkt: Market, kw: dict[str, Any], code: str) -> None:
    user = BUYER_U if kw["side"] == "buy" else SELLER_U
    before = mkt.balances()
    ack = post(mkt, user, **kw)
    assert (ack.ok, ack.code) == (False, code), ack
    assert ack.detail
    assert mkt.balances() == before
    assert _count(mkt, ExOrder) == 0
    assert _count(mkt, ExJournal) == 0


def test_insufficient_units_and_lot_size(databases) -> None:
    url = databases.new("sqlite", "demo")
    m = _market(url)
    ack = post(m, BUYER_U, side="sell", price="50.00", quantity=1_001)
    assert ack.code == "insufficient_units"
    lots = Market(url, lot=10)
    try:
        assert post(lots, BUYER_U, side="buy", price="50.00", quantity=15).code == "lot_size"
        listing = post(lots, SELLER_U, side="sell", price="50.00", quantity=20)
        assert take(lots, BUYER_U, listing.order["id"], 5).code == "lot_size"
    finally:
        lots.close()
        m.close()


def test_take_rejections(mkt: Market) -> None:
    m = mkt
    sell = post(m, SELLER_U, side="sell", price="50.00", quantity=10).order["id"]
    bid = post(m, BUYER_U, side="buy", price="49.00", quantity=2_000).order["id"]
    before = _nonzero(m)
    assert take(m, SELLER_U, sell, 1).code == "self_trade"
    assert take(m, BUYER_U, sell, 11).code == "quantity_exceeds_listing"
    assert take(m, BUYER_U, sell, 0).code == "invalid_quantity"
    assert take(m, THIRD_U, sell, 10).code == "insufficient_funds"  # no cash deposited
    units_b = m.posted(UNITS_B, INSTRUMENT)
    poor = take(m, THIRD_U, bid, 10)
    assert poor.code == "insufficient_units", units_b
    assert _nonzero(m) == before
    with pytest.raises(NotFound):
        take(m, BUYER_U, "01NOSUCHLISTING00000000000", 1)
    agr(m, lambda s: s.cancel_listing(m.actor(SELLER_U), sell))
    assert take(m, BUYER_U, sell, 1).code == "listing_not_open"
    again = agr(m, lambda s: s.cancel_listing(m.actor(SELLER_U), sell))
    assert again.code == "listing_not_open"


def test_owner_operator_and_others_on_listings(mkt: Market) -> None:
    m = mkt
    sell = post(m, SELLER_U, side="sell", price="50.00", quantity=10).order["id"]
    with pytest.raises(Forbidden):
        agr(m, lambda s: s.cancel_listing(m.actor(BUYER_U), sell))
    with pytest.raises(Forbidden):
        agr(m, lambda s: s.amend_listing(m.actor(BUYER_U), sell, price="49.00"))
    with pytest.raises(NotFound):
        agr(m, lambda s: s.listing(m.actor(BUYER_U), sell))
    with pytest.raises(Forbidden):  # a regulator cannot trade
        post(m, "cq-eeb", side="buy", price="50.00", quantity=1)
    assert agr(m, lambda s: s.listing(m.actor(OPERATOR_U), sell))["id"] == sell
    op = agr(m, lambda s: s.cancel_listing(m.actor(OPERATOR_U), sell))
    assert (op.ok, op.order["reason"]) == (True, "cancelled_by_operator")
    assert m.held(UNITS_S, INSTRUMENT) == 0


def test_amend_listing_moves_the_price_and_the_hold(mkt: Market) -> None:
    m = mkt
    bid = post(m, BUYER_U, side="buy", price="49.00", quantity=100).order["id"]
    up = agr(m, lambda s: s.amend_listing(m.actor(BUYER_U), bid, price="51.00"))
    assert (up.ok, up.code, up.order["price"]) == (True, "amended", "51.00")
    assert m.held(CASH_B, CASH) == _need(5100, 100)
    down = agr(m, lambda s: s.amend_listing(m.actor(BUYER_U), bid, price="48.00"))
    assert down.ok
    assert m.held(CASH_B, CASH) == _need(4800, 100)
    bad = agr(m, lambda s: s.amend_listing(m.actor(BUYER_U), bid, price="48.001"))
    assert bad.code == "off_tick_price"
    big = post(m, BUYER_U, side="buy", price="10000.00", quantity=1_000).order["id"]
    held = m.held(CASH_B, CASH)
    poor = agr(m, lambda s: s.amend_listing(m.actor(BUYER_U), big, price="99999.00"))
    assert poor.code == "insufficient_funds"
    assert m.held(CASH_B, CASH) == held
    assert _commands(m).count("amend_listing") == 2


# ------------------------------------------------------------------------------------------
# close price: listed trades count, block trades do not; bands on the next day
# ------------------------------------------------------------------------------------------
def test_close_is_vwap_of_continuous_and_listed_trades_not_block(mkt: Market) -> None:
    m = mkt
    m.now = DAY1_10H
    m.place(SELLER_U, side="sell", price="50.00", quantity=10)
    assert m.place(BUYER_U, side="buy", price="50.00", quantity=10).code == "filled"
    listing = post(m, SELLER_U, side="sell", price="52.00", quantity=30)
    assert take(m, BUYER_U, listing.order["id"], 30).ok
    m.now = DAY1_14H
    prop = propose(m, SELLER_U, side="sell", counterparty=BUYER, price="80.00", quantity=100_000)
    assert prop.ok, prop
    conf = agr(m, lambda s: s.confirm(m.actor(BUYER_U), prop.order["id"]))
    assert (conf.ok, conf.code) == (True, "confirmed")
    with unit_of_work(m.factory) as s:
        modes = {t.mode: t.sets_close for t in s.scalars(select(ExTrade))}
    assert modes == {"continuous": True, "listed": True, "block": False}
    m.now = DAY2_10H
    expected = (5000 * 10 + 5200 * 30 + 20) // 40  # VWAP half-up, block trade excluded
    assert expected == 5150
    ohlc = _exchange(m, lambda svc: svc.ohlc("CN-CQ", INST))
    assert ohlc["previous_close"] == "51.50"
    # listed band ±10 %: [4635, 5665] ticks
    assert post(m, SELLER_U, side="sell", price="56.66", quantity=1).code == "outside_price_band"
    assert post(m, BUYER_U, side="buy", price="46.34", quantity=1).code == "outside_price_band"
    assert post(m, SELLER_U, side="sell", price="56.65", quantity=1).ok
    assert post(m, BUYER_U, side="buy", price="46.35", quantity=1).ok
    # block band ±30 % computed here: [ceil(0.7 c), floor(1.3 c)]
    low, high = -(-5150 * 7 // 10), 5150 * 13 // 10
    assert (low, high) == (3605, 6695)
    m.now = DAY2_14H
    for price, ok in (("66.96", False), ("36.04", False), ("66.95", True), ("36.05", True)):
        ack = propose(m, SELLER_U, side="sell", counterparty=BUYER, price=price, quantity=100_000)
        assert ack.ok is ok, (price, ack)
        if ok:
            assert agr(m, lambda s, a=ack: s.withdraw(m.actor(SELLER_U), a.order["id"])).ok
        else:
            assert ack.code == "outside_block_band"
    assert [leaf["mode"] for leaf in _leaves(m)] == ["continuous", "listed", "block"]


# ------------------------------------------------------------------------------------------
# block agreement (SQLite and PostgreSQL)
# ------------------------------------------------------------------------------------------
def test_block_proposal_confirm_settles_and_releases(mkt_any: Market) -> None:
    m = mkt_any
    totals0 = m.totals()
    b0 = m.balances()
    prop = propose(
        m, BUYER_U, side="buy", counterparty=SELLER, price="45.00", quantity=100_000, note="Q3"
    )
    assert (prop.ok, prop.code, prop.order["status"]) == (True, "proposed", "proposed")
    assert (prop.order["role"], prop.order["counterparty"]) == ("initiator", SELLER)
    notional = 4500 * 100_000
    fee = _fee(notional)
    assert m.held(CASH_B, CASH) == notional + fee
    pid = prop.order["id"]
    # only the parties see it
    with pytest.raises(NotFound):
        agr(m, lambda s: s.proposal(m.actor(THIRD_U), pid))
    assert agr(m, lambda s: s.proposals(m.actor(THIRD_U)))[1] == 0
    incoming, n = agr(m, lambda s: s.proposals(m.actor(SELLER_U), role="incoming"))
    assert (n, incoming[0]["id"], incoming[0]["my_side"]) == (1, pid, "sell")
    assert agr(m, lambda s: s.proposals(m.actor(SELLER_U), role="outgoing"))[1] == 0
    assert agr(m, lambda s: s.proposals(m.actor(BUYER_U), role="outgoing"))[1] == 1
    with pytest.raises(NotFound):
        agr(m, lambda s: s.confirm(m.actor(THIRD_U), pid))
    assert agr(m, lambda s: s.confirm(m.actor(BUYER_U), pid)).code == "not_counterparty"
    assert agr(m, lambda s: s.reject(m.actor(BUYER_U), pid)).code == "not_counterparty"
    assert agr(m, lambda s: s.withdraw(m.actor(SELLER_U), pid)).code == "not_initiator"
    conf = agr(m, lambda s: s.confirm(m.actor(SELLER_U), pid, client_order_id="c-1"))
    assert (conf.ok, conf.code, conf.order["status"]) == (True, "confirmed", "confirmed")
    assert [(t["price"], t["quantity"]) for t in conf.trades] == [("45.00", 100_000)]
    replay = agr(m, lambda s: s.confirm(m.actor(SELLER_U), pid, client_order_id="c-1"))
    assert (replay.ok, replay.replayed) == (True, True)
    after = m.balances()
    assert after[(CASH_B, CASH)] == (CASH0[BUYER] - notional - fee, 0)
    assert after[(CASH_S, CASH)] == (CASH0[SELLER] + notional - fee, 0)
    assert after[(UNITS_S, INSTRUMENT)] == (b0[(UNITS_S, INSTRUMENT)][0] - 100_000, 0)
    assert after[(UNITS_B, INSTRUMENT)][0] == b0[(UNITS_B, INSTRUMENT)][0] + 100_000
    assert after[(OP_CASH, CASH)][0] == 2 * fee
    again = agr(m, lambda s: s.confirm(m.actor(SELLER_U), pid))
    assert again.code == "proposal_not_open"
    assert m.totals() == totals0
    assert m.violations() == []
    assert [leaf["mode"] for leaf in _leaves(m)] == ["block"]
    assert _count(m, ExTrade) == 1
    assert _commands(m) == ["propose", "confirm"]
    with unit_of_work(m.factory) as s:
        sides = s.scalars(select(ExOrder).where(ExOrder.venue_ref == pid)).all()
        assert {(o.mode, o.side, o.status) for o in sides} == {
            ("block", "buy", "filled"),
            ("block", "sell", "filled"),
        }


BLOCK_REJECTIONS = [
    ({"counterparty": "NOPE"}, "unknown_counterparty"),
    ({"counterparty": SELLER}, "self_trade"),
    ({"quantity": 99_999}, "below_block_minimum"),
    ({"quantity": 0}, "invalid_quantity"),
    ({"price": "45.001"}, "off_tick_price"),
    ({"side": "sideways"}, "invalid_order"),
    ({"market": "XX"}, "unknown_market"),
    ({"expires_at": datetime(2000, 1, 1, tzinfo=UTC)}, "invalid_expiry"),
    ({"quantity": 300_001, "side": "sell"}, "insufficient_units"),
]


@pytest.mark.parametrize(("kw", "code"), BLOCK_REJECTIONS)
def test_block_rejections_have_no_effect(mkt: Market, kw: dict[str, Any], code: str) -> None:
    base = {"side": "sell", "counterparty": BUYER, "price": "45.00", "quantity": 100_000}
    before = mkt.balances()
    ack = propose(mkt, SELLER_U, **(base | kw))
    assert (ack.ok, ack.code) == (False, code), ack
    assert mkt.balances() == before
    assert _count(mkt, ExBlockProposal) == 0
    assert _count(mkt, ExJournal) == 0


def test_block_confirm_refused_without_funds_or_units(mkt: Market) -> None:
    m = mkt
    sell = propose(
        m, SELLER_U, side="sell", counterparty="CQ-STE-02", price="45.00", quantity=100_000
    )
    assert sell.ok
    held = m.held(UNITS_S, INSTRUMENT)
    ack = agr(m, lambda s: s.confirm(m.actor(THIRD_U), sell.order["id"]))
    assert ack.code == "insufficient_funds"
    assert m.held(UNITS_S, INSTRUMENT) == held == 100_000
    buy = propose(m, BUYER_U, side="buy", counterparty="CQ-STE-02", price="45.00", quantity=100_000)
    ack = agr(m, lambda s: s.confirm(m.actor(THIRD_U), buy.order["id"]))
    assert ack.code == "insufficient_units"
    poor = propose(m, THIRD_U, side="buy", counterparty=SELLER, price="45.00", quantity=100_000)
    assert poor.code == "insufficient_funds"


def test_reject_withdraw_and_expiry_release_holds(mkt: Market) -> None:
    m = mkt
    m.now = DAY1_14H
    a = propose(m, SELLER_U, side="sell", counterparty=BUYER, price="45.00", quantity=100_000)
    assert m.held(UNITS_S, INSTRUMENT) == 100_000
    r = agr(m, lambda s: s.reject(m.actor(BUYER_U), a.order["id"], reason="price"))
    assert (r.ok, r.order["status"]) == (True, "rejected")
    assert m.held(UNITS_S, INSTRUMENT) == 0
    assert agr(m, lambda s: s.confirm(m.actor(BUYER_U), a.order["id"])).code == (
        "proposal_not_open"
    )
    b = propose(m, BUYER_U, side="buy", counterparty=SELLER, price="45.00", quantity=100_000)
    assert m.held(CASH_B, CASH) == _need(4500, 100_000)
    w = agr(m, lambda s: s.withdraw(m.actor(BUYER_U), b.order["id"]))
    assert (w.ok, w.order["status"]) == (True, "withdrawn")
    assert m.held(CASH_B, CASH) == 0
    # default expiry: the end of the day's block session, 15:00 Shanghai = 07:00 UTC
    c = propose(m, SELLER_U, side="sell", counterparty=BUYER, price="45.00", quantity=100_000)
    assert c.order["expires_at"] == "2025-06-11T07:00:00+00:00"
    d = propose(
        m,
        SELLER_U,
        side="sell",
        counterparty=BUYER,
        price="46.00",
        quantity=100_000,
        expires_at=DAY1_14H + timedelta(minutes=30),
    )
    assert m.held(UNITS_S, INSTRUMENT) == 200_000
    m.now = DAY1_14H + timedelta(minutes=31)
    # lazily on confirm: expired, holds released, the rejection is committed with it
    late = agr(m, lambda s: s.confirm(m.actor(BUYER_U), d.order["id"]))
    assert late.code == "proposal_expired"
    assert m.held(UNITS_S, INSTRUMENT) == 100_000
    assert agr(m, lambda s: s.proposal(m.actor(SELLER_U), d.order["id"]))["status"] == "expired"
    # by the operator at the end of the day
    m.now = DAY1_14H + timedelta(hours=2)
    with pytest.raises(Forbidden):
        agr(m, lambda s: s.expire(m.actor(SELLER_U)))
    ids = agr(m, lambda s: s.expire(m.actor(OPERATOR_U), market="CN-CQ"))
    assert ids == [c.order["id"]]
    assert m.held(UNITS_S, INSTRUMENT) == 0
    assert agr(m, lambda s: s.withdraw(m.actor(SELLER_U), c.order["id"])).code == (
        "proposal_expired"
    )
    assert _commands(m) == [
        "propose",
        "reject",
        "propose",
        "withdraw",
        "propose",
        "propose",
        "expire",
        "expire",
    ]
    assert m.violations() == []


def test_lazy_expiry_on_listing_proposals(mkt: Market) -> None:
    m = mkt
    m.now = DAY1_14H
    propose(m, SELLER_U, side="sell", counterparty=BUYER, price="45.00", quantity=100_000)
    m.now = DAY2_10H
    items, _ = agr(m, lambda s: s.proposals(m.actor(BUYER_U), role="incoming"))
    assert [p["status"] for p in items] == ["expired"]
    assert m.held(UNITS_S, INSTRUMENT) == 0


# ------------------------------------------------------------------------------------------
# idempotency
# ------------------------------------------------------------------------------------------
def test_retries_with_the_same_key_are_idempotent(mkt: Market) -> None:
    m = mkt
    a = post(m, SELLER_U, side="sell", price="50.00", quantity=10, client_order_id="k-1")
    b = post(m, SELLER_U, side="sell", price="50.00", quantity=10, client_order_id="k-1")
    assert (a.order["id"], b.replayed) == (b.order["id"], True)
    assert m.held(UNITS_S, INSTRUMENT) == 10
    t1 = take(m, BUYER_U, a.order["id"], 4, client_order_id="t-1")
    t2 = take(m, BUYER_U, a.order["id"], 4, client_order_id="t-1")
    assert (t1.order["id"], t2.replayed) == (t2.order["id"], True)
    assert _count(m, ExTrade) == 1
    p1 = propose(
        m,
        SELLER_U,
        side="sell",
        counterparty=BUYER,
        price="45.00",
        quantity=100_000,
        client_ref="p-1",
    )
    p2 = propose(
        m,
        SELLER_U,
        side="sell",
        counterparty=BUYER,
        price="45.00",
        quantity=100_000,
        client_ref="p-1",
    )
    assert (p1.order["id"], p2.replayed) == (p2.order["id"], True)
    assert _count(m, ExBlockProposal) == 1
    assert m.held(UNITS_S, INSTRUMENT) == 6 + 100_000


# ------------------------------------------------------------------------------------------
# trading hours (enforced, fixed clock)
# ------------------------------------------------------------------------------------------
def test_hours_are_enforced_per_mode(databases) -> None:
    m = _market(databases.new("sqlite", "demo"), enforce_hours=True)
    try:
        for at in (SATURDAY, DAY1_12H):
            m.now = at
            ack = post(m, SELLER_U, side="sell", price="50.00", quantity=10)
            assert (ack.ok, ack.code) == (False, "market_closed"), at
        m.now = DAY1_10H
        listing = post(m, SELLER_U, side="sell", price="50.00", quantity=10)
        assert listing.ok
        block = propose(
            m, SELLER_U, side="sell", counterparty=BUYER, price="45.00", quantity=100_000
        )
        assert (block.ok, block.code) == (False, "market_closed")
        assert "13:00" in (block.detail or "")
        m.now = DAY1_12H
        assert take(m, BUYER_U, listing.order["id"], 1).code == "market_closed"
        m.now = DAY1_14H
        assert take(m, BUYER_U, listing.order["id"], 1).ok
        block = propose(
            m,
            SELLER_U,
            side="sell",
            counterparty=BUYER,
            price="45.00",
            quantity=100_000,
            expires_at=DAY2_14H + timedelta(hours=1),
        )
        assert block.ok
        m.now = DAY2_10H + timedelta(hours=1)  # Thursday 11:00: listed open, block closed
        ack = agr(m, lambda s: s.confirm(m.actor(BUYER_U), block.order["id"]))
        assert (ack.ok, ack.code) == (False, "market_closed")
        m.now = DAY2_14H
        assert agr(m, lambda s: s.confirm(m.actor(BUYER_U), block.order["id"])).ok
    finally:
        m.close()


def test_block_rules_are_data_with_status_and_source() -> None:
    rules = load_block_rules()
    cq = rules["CN-CQ"]
    assert (cq.band_bp, cq.min_quantity, cq.sets_close) == (3000, 100_000, False)
    assert cq.statuses["band_pct"][0] == "recall"
    assert all(src for _status, src in cq.statuses.values())
