"""Service tests of auctions: one-way (uniform, pay-as-bid) and call auctions, wired to
registry holds and DvP settlement. Expected awards are worked out by hand here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from greencircle.audit.models import LogLeaf
from greencircle.errors import Forbidden, NotFound, PlatformError
from greencircle.exchange.auctions import AuctionService
from greencircle.exchange.models import ExJournal, ExOrder, ExTrade
from greencircle.registry.service import RegistryService
from greencircle.storage.engine import unit_of_work

from .ex_support import INSTRUMENT, SIGNER, Market, fund

T = TypeVar("T")

CASH = "CASH:CNY"
OP_CASH = "CASH.CNY.NCM-OPERATOR"
AUTH = "cq-eeb"
SECOND_AUTH = "cq-eeb-2"  # the four-eyes approver of reserve issuance
AUTH_UNITS = "CN-CQ.CQ-EEB"
AUTH_CASH = "CASH.CNY.CQ-EEB"
BIDDERS = ("CQ-STE-01", "CQ-POW-01", "CQ-CHE-01", "CQ-CHE-02", "CQ-ALU-01")
CASH0 = 50_000_000  # fen per bidder
NOW = datetime(2025, 6, 10, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
OPEN = NOW - timedelta(hours=1)
CLOSE = NOW + timedelta(hours=2)
PDR = "CQ-PDR:2025:Yangtze-CQ:SO2"
PDR_CODE = f"CN-CQ:{PDR}"


class AuctionMarket(Market):
    """The funded demo world plus the auction service."""

    def auctions(self, fn: Callable[[AuctionService], T]) -> T:
        session = self.factory()
        try:
            svc = AuctionService(
                session,
                self.signer,
                self.books,
                rules=self.rules,
                clock=self.clock,
                enforce_hours=self.enforce_hours,
            )
            return self.books.transact(session, lambda: fn(svc))
        finally:
            session.close()

    def reserve(self, quantity: int, **kw: Any) -> dict[str, Any]:
        kw = {"market": "CN-CQ", "product": "CQEA", "vintage": 2025} | kw
        asked = self.auctions(
            lambda svc: svc.request_reserve(self.actor(AUTH), quantity=quantity, **kw)
        )
        return self.auctions(
            lambda svc: svc.approve_reserve(self.actor(SECOND_AUTH), str(asked["id"]))
        )

    def create(self, user: str = AUTH, **kw: Any) -> Any:
        kw = {
            "market": "CN-CQ",
            "instrument": "CQEA:2025",
            "title": "CQEA 2025 auction",
            "opens_at": OPEN,
            "closes_at": CLOSE,
        } | kw
        return self.auctions(lambda svc: svc.create(self.actor(user), **kw))

    def bid(self, user: str, auction_id: str, price: str, quantity: int, **kw: Any) -> Any:
        return self.auctions(
            lambda svc: svc.bid(self.actor(user), auction_id, price=price, quantity=quantity, **kw)
        )

    def clear(self, user: str, auction_id: str, **kw: Any) -> Any:
        return self.auctions(lambda svc: svc.clear(self.actor(user), auction_id, **kw))

    def get(self, user: str, auction_id: str) -> dict[str, Any]:
        return self.auctions(lambda svc: svc.get(self.actor(user), auction_id))


def _world(url: str, **kw: Any) -> AuctionMarket:
    fund(
        url,
        SIGNER,
        units={"CQ-CEM-01": 5_000},
        cash_minor=dict.fromkeys(BIDDERS, CASH0) | {"CQ-CEM-01": 100_000, "CQ-CEM-02": 100_000},
    )
    m = AuctionMarket(url, **kw)
    m.now = NOW
    return m


@pytest.fixture
def mkt(databases) -> Iterator[AuctionMarket]:
    m = _world(databases.new("sqlite", "demo"))
    yield m
    m.close()


@pytest.fixture
def mkt_any(databases, backend) -> Iterator[AuctionMarket]:
    m = _world(databases.new(backend, "demo"))
    yield m
    m.close()


def _fee(notional: int) -> int:
    return notional * 5 // 10_000  # 5 bps per side, rounded down


def _units(code: str) -> str:
    return f"CN-CQ.{code}"


def _cash(code: str) -> str:
    return f"CASH.CNY.{code}"


def _user(code: str) -> str:
    return code.lower()


# ------------------------------------------------------------------------------------------
# uniform price, pro rata at the margin (SQLite and PostgreSQL)
# ------------------------------------------------------------------------------------------
def test_uniform_auction_end_to_end(mkt_any: AuctionMarket) -> None:
    m = mkt_any
    res = m.reserve(1_000)
    assert (res["account"], res["instrument"], res["quantity"]) == (AUTH_UNITS, INSTRUMENT, 1_000)
    assert m.posted(AUTH_UNITS, INSTRUMENT) == 1_000
    created = m.create(
        offered_quantity=600, reserve_price="40.00", max_per_bidder=300, min_bid_quantity=10
    )
    assert (created.ok, created.code) == (True, "created"), created.detail
    aid = created.order["id"]
    assert created.order["status"] == "open"
    assert m.held(AUTH_UNITS, INSTRUMENT) == 600  # the offer holds the authority's units
    before = m.balances()
    a, b, c, d, e = BIDDERS
    acks = [
        m.bid(_user(a), aid, "45.00", 200),
        m.bid(_user(b), aid, "43.00", 250),
        m.bid(_user(c), aid, "42.00", 200),
        m.bid(_user(d), aid, "42.00", 100),
        m.bid(_user(e), aid, "40.00", 100),
    ]
    assert all(x.ok and x.code == "resting" for x in acks), [x.detail for x in acks]
    # a bid reserves price x quantity + fee
    assert m.held(_cash(a), CASH) == 4500 * 200 + _fee(4500 * 200)
    # per-bidder cap: B's bids would total 350 t > 300 t
    capped = m.bid(_user(b), aid, "50.00", 100)
    assert (capped.ok, capped.code) == (False, "above_bidder_cap")
    # sealed: a bidder sees only its own bids; the authority sees none before clearing
    view = m.get(_user(b), aid)
    assert [x["quantity"] for x in view["my_bids"]] == [250]
    assert view["all_bids"] is None
    assert m.get(AUTH, aid)["all_bids"] is None
    assert m.get(AUTH, aid)["my_bids"] == []
    # clearing waits for the close
    early = m.clear(AUTH, aid)
    assert (early.ok, early.code) == (False, "auction_not_closed")
    m.now = CLOSE + timedelta(minutes=1)
    assert m.get(_user(a), aid)["status"] == "closed"
    late = m.bid(_user(a), aid, "45.00", 10)
    assert (late.ok, late.code) == (False, "auction_not_open")
    done = m.clear("ncm-operator", aid)
    assert (done.ok, done.code) == (True, "cleared"), done.detail
    # By hand: A 200 @45 and B 250 @43 fill (150 t left); at 42.00 C 200 + D 100 = 300 t
    # share 150 t pro rata: C 100, D 50; E (40.00) gets nothing. Everyone pays 42.00.
    won = {a: 200, b: 250, c: 100, d: 50}
    assert sorted((t["quantity"], t["price"]) for t in done.trades) == sorted(
        (q, "42.00") for q in won.values()
    )
    public = done.order["result"]
    assert public["clearing_price"] == "42.00"
    assert (public["sold"], public["unsold"], public["offered"]) == (600, 0, 600)
    assert (public["bidders"], public["bids"], public["demand"]) == (5, 5, 850)
    assert public["bid_to_cover"] == "1.42"  # 850 / 600
    after = m.balances()
    seller_fees = 0
    for code in BIDDERS:
        q = won.get(code, 0)
        notional = 4200 * q  # fen: price [ticks = fen] x quantity [t]
        seller_fees += _fee(notional)
        assert after[(_cash(code), CASH)] == (CASH0 - notional - _fee(notional), 0), code
        u0 = before.get((_units(code), INSTRUMENT), (0, 0))[0]
        assert after.get((_units(code), INSTRUMENT), (0, 0)) == (u0 + q, 0), code
    proceeds = 4200 * 600
    assert after[(AUTH_CASH, CASH)] == (proceeds - seller_fees, 0)
    assert after[(AUTH_UNITS, INSTRUMENT)] == (400, 0)  # 1,000 - 600 sold, nothing held
    assert after[(OP_CASH, CASH)][0] == 2 * seller_fees  # both sides' fees
    assert m.totals() == dict.fromkeys(m.totals(), 0)
    assert m.violations() == []
    # after clearing: the authority sees every bid, a bidder only its own awards
    assert len(m.get(AUTH, aid)["all_bids"]) == 5
    assert m.get(_user(a), aid)["all_bids"] is None
    mine = m.auctions(lambda svc: svc.results(m.actor(_user(d)), aid))
    assert mine["my_awards"] == [
        {"order_id": acks[3].order["id"], "side": "buy", "quantity": 50, "price_ticks": 4200}
        | {"price": "42.00"}
    ]
    assert mine["all_bids"] is None
    full = m.auctions(lambda svc: svc.results(m.actor(AUTH), aid))
    assert {x["org"]: x["awarded"] for x in full["all_bids"]} == won | {e: 0}
    again = m.clear(AUTH, aid)
    assert (again.ok, again.code) == (False, "auction_finished")
    org_a, org_e = m.org(a), m.org(e)
    with unit_of_work(m.factory) as s:
        trades = s.scalars(select(ExTrade)).all()
        assert {(t.mode, t.sets_close) for t in trades} == {("auction", False)}
        commands = [j.command for j in s.scalars(select(ExJournal).order_by(ExJournal.seq))]
        assert commands == ["auction_create"] + ["auction_bid"] * 5 + ["auction_clear"]
        leaves = s.scalars(
            select(LogLeaf).where(LogLeaf.event_type == "exchange.auction_result")
        ).all()
        assert len(leaves) == 1
        assert leaves[0].subject == f"exauction:{aid}"
        statuses = {
            o.org_id: (o.status, o.reason)
            for o in s.scalars(select(ExOrder).where(ExOrder.venue_ref == aid))
        }
        assert statuses[org_e] == ("cancelled", "auction_unfilled")
        assert statuses[org_a] == ("filled", None)


def test_pro_rata_largest_remainder_goes_to_the_earlier_bid(mkt: AuctionMarket) -> None:
    m = mkt
    m.reserve(10)
    aid = m.create(offered_quantity=10, reserve_price="40.00").order["id"]
    a, b, c, d, _ = BIDDERS
    m.bid(_user(a), aid, "50.00", 5)
    ids = [m.bid(_user(x), aid, "45.00", 3).order["id"] for x in (b, c, d)]
    done = m.clear(AUTH, aid, close_now=True)
    assert done.ok, done.detail
    # 5 t left for 9 t at 45.00: 3 x 5/9 = 1 rem 6/9 each; the 2 extra lots go to B and C
    by_order = {t["buy_order_id"]: t["quantity"] for t in done.trades}
    assert [by_order.get(i, 0) for i in ids] == [2, 2, 1]
    assert done.order["status"] == "cleared"
    assert m.violations() == []


# ------------------------------------------------------------------------------------------
# pay as bid, undersubscribed: unsold units go back to the authority
# ------------------------------------------------------------------------------------------
def test_pay_as_bid_undersubscribed_returns_unsold_units(mkt: AuctionMarket) -> None:
    m = mkt
    m.reserve(1_000)
    ack = m.create(offered_quantity=500, reserve_price="30.00", pricing="pay_as_bid")
    aid = ack.order["id"]
    a, b, c, _, _ = BIDDERS
    m.bid(_user(a), aid, "35.00", 100)
    m.bid(_user(b), aid, "32.00", 150)
    m.bid(_user(c), aid, "31.00", 50)
    w = m.bid(_user(c), aid, "31.50", 20)
    withdrawn = m.auctions(lambda svc: svc.withdraw_bid(m.actor(_user(c)), w.order["id"]))
    assert (withdrawn.ok, withdrawn.code) == (True, "cancelled")
    twice = m.auctions(lambda svc: svc.withdraw_bid(m.actor(_user(c)), w.order["id"]))
    assert (twice.ok, twice.code) == (False, "order_not_open")
    other = m.get(_user(b), aid)["my_bids"][0]["id"]
    with pytest.raises(NotFound):  # another organisation's bid
        m.auctions(lambda svc: svc.withdraw_bid(m.actor(_user(a)), other))
    m.now = CLOSE
    done = m.clear(AUTH, aid)
    assert done.ok, done.detail
    # 300 t bid for 500 t: every bid wins in full at its own price; 200 t unsold
    assert sorted((t["price"], t["quantity"]) for t in done.trades) == [
        ("31.00", 50),
        ("32.00", 150),
        ("35.00", 100),
    ]
    public = done.order["result"]
    assert (public["sold"], public["unsold"], public["clearing_price"]) == (300, 200, "31.00")
    assert public["bid_to_cover"] == "0.60"
    after = m.balances()
    assert after[(AUTH_UNITS, INSTRUMENT)] == (700, 0)  # unsold units released
    notionals = [3500 * 100, 3200 * 150, 3100 * 50]
    assert after[(AUTH_CASH, CASH)][0] == sum(notionals) - sum(_fee(n) for n in notionals)
    assert after[(_cash(a), CASH)] == (CASH0 - notionals[0] - _fee(notionals[0]), 0)
    assert after[(_cash(c), CASH)] == (CASH0 - notionals[2] - _fee(notionals[2]), 0)
    assert m.totals() == dict.fromkeys(m.totals(), 0)
    assert m.violations() == []


# ------------------------------------------------------------------------------------------
# rejections and permissions
# ------------------------------------------------------------------------------------------
def test_bid_and_create_rejections(mkt: AuctionMarket) -> None:
    m = mkt
    m.reserve(1_000)
    none = m.create(offered_quantity=5_000, reserve_price="40.00")
    assert (none.ok, none.code) == (False, "insufficient_units")
    bad = [
        ({"offered_quantity": 0, "reserve_price": "40.00"}, "invalid_quantity"),
        ({"offered_quantity": 10, "reserve_price": "40.001"}, "off_tick_price"),
        ({"offered_quantity": 10}, "price_required"),
        ({"offered_quantity": 10, "reserve_price": "40", "pricing": "dutch"}, "invalid_auction"),
        ({"offered_quantity": 10, "reserve_price": "40", "closes_at": OPEN}, "invalid_schedule"),
        ({"offered_quantity": 10, "reserve_price": "40", "instrument": "CQEA:1999"}, None),
        ({"kind": "call", "reference_price": "40"}, "instrument_not_eligible"),
    ]
    for kw, code in bad:
        ack = m.create(**kw)
        assert not ack.ok, kw
        assert ack.code == (code or "unknown_instrument"), (kw, ack.code)
    aid = m.create(
        offered_quantity=100, reserve_price="40.00", min_bid_quantity=10, max_per_bidder=50
    ).order["id"]
    a = _user(BIDDERS[0])
    cases = [
        ({"price": "39.99", "quantity": 10}, "below_reserve"),
        ({"price": "40.001", "quantity": 10}, "off_tick_price"),
        ({"price": "abc", "quantity": 10}, "malformed_price"),
        ({"price": "41.00", "quantity": 5}, "below_min_bid"),
        ({"price": "41.00", "quantity": 0}, "invalid_quantity"),
        ({"price": "41.00", "quantity": 60}, "above_bidder_cap"),
        ({"price": "41.00", "quantity": 10, "side": "sell"}, "invalid_order"),
        ({"price": "99999.00", "quantity": 50, "user": "cq-cem-02"}, "insufficient_funds"),
        ({"price": "41.00", "quantity": 10, "funding_currency": "XXX"}, "fx_not_supported"),
    ]
    for kw, code in cases:
        user = kw.pop("user", a)
        ack = m.bid(user, aid, **kw)
        assert (ack.ok, ack.code) == (False, code), (kw, ack.detail)
    assert m.held(_cash(BIDDERS[0]), CASH) == 0  # rejections leave nothing behind
    ok = m.bid(a, aid, "41.00", 20, client_order_id="k-1")
    replay = m.bid(a, aid, "41.00", 20, client_order_id="k-1")
    assert replay.replayed and replay.order["id"] == ok.order["id"]
    # permissions: enterprises cannot create, another province's regulator neither
    with pytest.raises(Forbidden) as exc:
        m.create(user=a, offered_quantity=10, reserve_price="40")
    assert exc.value.code == "permission_denied"
    with pytest.raises(Forbidden) as exc:
        m.create(user="sc-eed", offered_quantity=10, reserve_price="40")
    assert exc.value.code == "exchange.not_authority"
    with pytest.raises(Forbidden) as exc:
        m.clear("sc-eed", aid)
    assert exc.value.code == "exchange.not_authority"
    with pytest.raises(Forbidden):
        m.clear("ncm-operator", aid, close_now=True)  # only the authority closes early
    with pytest.raises(Forbidden):
        m.clear(a, aid)
    with pytest.raises(NotFound):
        m.get(a, "01NOSUCHAUCTION00000000000")
    # not yet open
    later = m.create(
        offered_quantity=10,
        reserve_price="40.00",
        opens_at=NOW + timedelta(hours=1),
        closes_at=NOW + timedelta(hours=3),
    ).order
    assert later["status"] == "scheduled"
    early = m.bid(a, later["id"], "41.00", 10)
    assert (early.ok, early.code) == (False, "auction_not_open")
    cancelled = m.auctions(lambda svc: svc.cancel(m.actor(AUTH), later["id"]))
    assert (cancelled.ok, cancelled.order["status"]) == (True, "cancelled")
    assert m.held(AUTH_UNITS, INSTRUMENT) == 100  # only the first auction's offer is held
    listed, total = m.auctions(lambda svc: svc.list_auctions(m.actor(a), status="open"))
    assert (total, [x["id"] for x in listed]) == (1, [aid])
    _, total = m.auctions(lambda svc: svc.list_auctions(m.actor(a)))
    assert total == 2


def test_lot_size_and_weekend(databases) -> None:
    url = databases.new("sqlite", "demo")
    m = _world(url, lot=10, enforce_hours=True)
    try:
        m.reserve(1_000)
        aid = m.create(offered_quantity=100, reserve_price="40.00").order["id"]
        ack = m.bid(_user(BIDDERS[0]), aid, "41.00", 15)
        assert (ack.ok, ack.code) == (False, "lot_size")
        assert m.create(offered_quantity=105, reserve_price="40.00").code == "lot_size"
        m.now = datetime(2025, 6, 14, 2, 0, tzinfo=UTC)  # Saturday 10:00 in Shanghai
        weekend = m.create(
            offered_quantity=100,
            reserve_price="40.00",
            opens_at=m.now - timedelta(hours=1),
            closes_at=m.now + timedelta(hours=1),
        ).order["id"]
        closed = m.bid(_user(BIDDERS[0]), weekend, "41.00", 10)
        assert (closed.ok, closed.code) == (False, "market_closed")
    finally:
        m.close()


# ------------------------------------------------------------------------------------------
# call auction of pollutant-discharge rights
# ------------------------------------------------------------------------------------------
SELLS = (("CQ-CEM-01", "19.00", 100), ("CQ-CEM-02", "20.50", 100), ("CQ-ALU-01", "21.00", 50))
BUYS = (("CQ-STE-01", "21.00", 80), ("CQ-POW-01", "20.50", 70), ("CQ-CHE-01", "19.50", 60))


def _issue_pdr(m: AuctionMarket, holders: dict[str, int]) -> None:
    regulator = m.actor(AUTH)
    orgs = {code: m.org(code) for code in holders}
    with unit_of_work(m.factory) as s:
        svc = RegistryService(s, m.signer)
        for code, q in holders.items():
            svc.issue(
                regulator,
                market_code="CN-CQ",
                product="CQ-PDR",
                vintage=2025,
                region="Yangtze-CQ",
                pollutant="SO2",
                to_org_id=orgs[code],
                quantity=q,
            )


def test_call_auction_for_pollutant_rights(mkt: AuctionMarket) -> None:
    m = mkt
    _issue_pdr(m, {code: 1_000 for code, _, _ in SELLS})
    created = m.create(
        user="ncm-operator",
        kind="call",
        instrument=PDR,
        title="SO2 call",
        reference_price="20.00",
    )
    assert created.ok, created.detail
    aid = created.order["id"]
    assert created.order["instrument"] == PDR_CODE
    ids: dict[str, str] = {}
    for code, price, qty in SELLS:
        ack = m.bid(_user(code), aid, price, qty, side="sell")
        assert ack.ok, ack.detail
        ids[code] = ack.order["id"]
    for code, price, qty in BUYS:
        ack = m.bid(_user(code), aid, price, qty, side="buy")
        assert ack.ok, ack.detail
        ids[code] = ack.order["id"]
    assert m.held(_units("CQ-CEM-01"), PDR_CODE) == 100
    cross = m.bid("cq-cem-01", aid, "22.00", 10, side="buy")
    assert (cross.ok, cross.code) == (False, "self_trade_prevented")
    m.now = CLOSE
    done = m.clear("cq-eeb", aid)
    assert done.ok, done.detail
    # By hand, executable volume per candidate price:
    #   19.00: demand 210, supply 100 -> 100;  19.50: 210 / 100 -> 100;
    #   20.50: demand 150, supply 200 -> 150;  21.00: demand 80, supply 250 -> 80.
    # 20.50 maximises volume (150 t). Buys at or above it fill in full (80 + 70); sells at
    # or below it in price then time priority: CEM-01 100, CEM-02 50 of 100; ALU-01 none.
    public = done.order["result"]
    assert (public["clearing_price"], public["volume"], public["imbalance"]) == ("20.50", 150, 50)
    assert sorted((t["quantity"], t["price"]) for t in done.trades) == [
        (20, "20.50"),
        (50, "20.50"),
        (80, "20.50"),
    ]
    fills = {"CQ-STE-01": 80, "CQ-POW-01": 70, "CQ-CHE-01": 0}
    after = m.balances()
    for code, q in fills.items():
        notional = 2050 * q
        assert after[(_cash(code), CASH)] == (CASH0 - notional - _fee(notional), 0), code
        assert after.get((_units(code), PDR_CODE), (0, 0)) == (q, 0), code
    for code, q in (("CQ-CEM-01", 100), ("CQ-CEM-02", 50), ("CQ-ALU-01", 0)):
        assert after[(_units(code), PDR_CODE)] == (1_000 - q, 0), code
    with unit_of_work(m.factory) as s:
        trades = s.scalars(select(ExTrade)).all()
        assert {(t.mode, t.sets_close) for t in trades} == {("call", True)}
        b3 = s.get(ExOrder, ids["CQ-CHE-01"])
        assert b3 is not None
        assert (b3.status, b3.cancelled_quantity) == ("cancelled", 60)
        s2 = s.get(ExOrder, ids["CQ-CEM-02"])
        assert s2 is not None
        assert (s2.filled_quantity, s2.cancelled_quantity, s2.status) == (50, 50, "cancelled")
    assert m.totals() == dict.fromkeys(m.totals(), 0)
    assert m.violations() == []


def test_call_auction_created_by_the_regulator_and_reference_price_tie(
    mkt: AuctionMarket,
) -> None:
    m = mkt
    _issue_pdr(m, {"CQ-CEM-01": 100})
    aid = m.create(kind="call", instrument=PDR, title="tie", reference_price="20.40").order["id"]
    m.bid("cq-cem-01", aid, "20.00", 50, side="sell")
    m.bid("cq-ste-01", aid, "21.00", 50, side="buy")
    done = m.clear(AUTH, aid, close_now=True)
    # 50 t execute at every price in [20.00, 21.00] with no imbalance: the price nearest
    # the reference 20.40 among the order prices is 20.00 (distance 0.40 < 0.60).
    assert done.order["result"]["clearing_price"] == "20.00"
    assert [t["quantity"] for t in done.trades] == [50]
    assert m.violations() == []


def test_reserve_issuance_needs_a_second_regulator(mkt: AuctionMarket) -> None:
    m = mkt
    kw = {"market": "CN-CQ", "product": "CQEA", "vintage": 2025, "quantity": 700}
    asked = m.auctions(lambda svc: svc.request_reserve(m.actor(AUTH), **kw))
    assert (asked["status"], m.posted(AUTH_UNITS, "CN-CQ:CQEA:2025")) == ("pending", 0)
    with pytest.raises(PlatformError) as same:
        m.auctions(lambda svc: svc.approve_reserve(m.actor(AUTH), str(asked["id"])))
    assert same.value.code == "four_eyes_required"
    with pytest.raises(PlatformError) as elsewhere:
        m.auctions(lambda svc: svc.approve_reserve(m.actor("sc-eed"), str(asked["id"])))
    assert elsewhere.value.code == "exchange.not_authority"
    done = m.auctions(lambda svc: svc.approve_reserve(m.actor(SECOND_AUTH), str(asked["id"])))
    assert (done["status"], done["account"]) == ("issued", AUTH_UNITS)
    assert m.posted(AUTH_UNITS, "CN-CQ:CQEA:2025") == 700
    with pytest.raises(PlatformError) as twice:
        m.auctions(lambda svc: svc.approve_reserve(m.actor(SECOND_AUTH), str(asked["id"])))
    assert twice.value.code == "exchange.reserve_not_pending"
    other = m.auctions(lambda svc: svc.request_reserve(m.actor(SECOND_AUTH), **kw))
    no = m.auctions(lambda svc: svc.reject_reserve(m.actor(AUTH), str(other["id"]), "too many"))
    assert (no["status"], no["reason"]) == ("rejected", "too many")
    assert m.posted(AUTH_UNITS, "CN-CQ:CQEA:2025") == 700  # nothing more issued
    assert m.violations() == []
