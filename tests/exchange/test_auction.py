"""Auctions: worked examples computed by hand, and invariants over random inputs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from greencircle.exchange.auction import (
    AuctionSide,
    Bid,
    CallOrder,
    Pricing,
    call_auction,
    one_way_auction,
)


def bid(i, bidder, price, qty):
    return Bid(f"b{i}", bidder, price, qty, i)


def test_uniform_price_with_pro_rata_at_the_margin_and_reserve():
    bids = [bid(1, "A", 60, 50), bid(2, "B", 55, 40), bid(3, "C", 55, 40), bid(4, "D", 49, 100)]
    r = one_way_auction(bids, 100, 50)
    # A takes 50 at 60; 50 left for B and C (80 wanted at 55): 25 each; D below reserve.
    assert [(a.bidder, a.quantity, a.price_ticks) for a in r.awards] == [
        ("A", 50, 55),
        ("B", 25, 55),
        ("C", 25, 55),
    ]
    assert (r.clearing_price_ticks, r.sold, r.unsold, r.rejected_below_reserve) == (
        55,
        100,
        0,
        ("b4",),
    )
    pab = one_way_auction(bids, 100, 50, pricing=Pricing.PAY_AS_BID)
    assert [(a.bidder, a.price_ticks) for a in pab.awards] == [("A", 60), ("B", 55), ("C", 55)]


def test_largest_remainder_goes_to_earlier_bids_and_caps_hold():
    bids = [bid(1, "A", 10, 1), bid(2, "B", 10, 1), bid(3, "C", 10, 1)]
    r = one_way_auction(bids, 2, 5)
    assert [(a.bidder, a.quantity) for a in r.awards] == [("A", 1), ("B", 1)]
    capped = one_way_auction(
        [bid(1, "A", 70, 40), bid(2, "A", 65, 40), bid(3, "B", 60, 100)], 100, 10, bidder_cap=50
    )
    won = {}
    for a in capped.awards:
        won[a.bidder] = won.get(a.bidder, 0) + a.quantity
    assert won == {"A": 50, "B": 50}
    assert capped.clearing_price_ticks == 60


def test_undersubscribed_and_buy_back():
    r = one_way_auction([bid(1, "A", 60, 30)], 100, 50)
    assert (r.sold, r.unsold) == (30, 70)
    back = one_way_auction(
        [bid(1, "A", 40, 30), bid(2, "B", 45, 30), bid(3, "C", 55, 30)],
        50,
        50,
        side=AuctionSide.BUY,
    )
    # The authority buys the cheapest offers at or below 50: A 30, then B 20; C is too dear.
    assert [(a.bidder, a.quantity, a.price_ticks) for a in back.awards] == [
        ("A", 30, 45),
        ("B", 20, 45),
    ]
    assert back.rejected_below_reserve == ("b3",)


bids_st = st.lists(
    st.tuples(st.sampled_from("ABCDE"), st.integers(1, 20), st.integers(1, 50)), max_size=25
)


@given(bids_st, st.integers(0, 300), st.integers(1, 20), st.none() | st.integers(1, 80))
def test_one_way_invariants(raw, quantity, reserve, cap):
    bids = [bid(i, b, p, q) for i, (b, p, q) in enumerate(raw)]
    r = one_way_auction(bids, quantity, reserve, bidder_cap=cap)
    assert r.sold + r.unsold == quantity and r.sold == sum(a.quantity for a in r.awards)
    by_bidder: dict[str, int] = {}
    got = {a.bid_id: a.quantity for a in r.awards}
    for a in r.awards:
        by_bidder[a.bidder] = by_bidder.get(a.bidder, 0) + a.quantity
        assert a.price_ticks >= reserve
    if cap is not None:
        assert all(v <= cap for v in by_bidder.values())
    for b in bids:  # price priority: a bid left short means every worse bid got nothing
        capped_out = cap is not None and by_bidder.get(b.bidder, 0) >= cap
        if b.price_ticks >= reserve and got.get(b.bid_id, 0) < b.quantity and not capped_out:
            assert all(got.get(o.bid_id, 0) == 0 for o in bids if o.price_ticks < b.price_ticks)


def test_call_auction_worked_example():
    orders = [
        CallOrder("b1", "x", "buy", 102, 10, 1),
        CallOrder("b2", "y", "buy", 101, 5, 2),
        CallOrder("b3", "z", "buy", 100, 10, 3),
        CallOrder("s1", "u", "sell", 99, 8, 4),
        CallOrder("s2", "v", "sell", 100, 7, 5),
        CallOrder("s3", "w", "sell", 101, 10, 6),
    ]
    # Volume by price: 99→8, 100→15 (imbalance 10), 101→15 (imbalance 10), 102→10.
    no_ref = call_auction(orders)
    assert (no_ref.price_ticks, no_ref.volume, no_ref.imbalance) == (100, 15, 10)
    with_ref = call_auction(orders, reference_price_ticks=101)
    assert (with_ref.price_ticks, with_ref.volume) == (101, 15)
    assert [(f.order_id, f.quantity) for f in with_ref.fills] == [
        ("b1", 10),
        ("b2", 5),
        ("s1", 8),
        ("s2", 7),
    ]
    assert (
        call_auction(
            [CallOrder("b", "x", "buy", 10, 5, 1), CallOrder("s", "y", "sell", 11, 5, 2)]
        ).volume
        == 0
    )


orders_st = st.lists(
    st.tuples(st.sampled_from(["buy", "sell"]), st.integers(90, 110), st.integers(1, 20)),
    max_size=30,
)


@given(orders_st, st.none() | st.integers(90, 110))
def test_call_auction_maximises_volume_and_balances(raw, ref):
    orders = [CallOrder(f"o{i}", "a", s, p, q, i) for i, (s, p, q) in enumerate(raw)]
    r = call_auction(orders, ref)

    def volume(p):
        d = sum(o.quantity for o in orders if o.side == "buy" and o.price_ticks >= p)
        s = sum(o.quantity for o in orders if o.side == "sell" and o.price_ticks <= p)
        return min(d, s)

    best = max((volume(o.price_ticks) for o in orders), default=0)
    assert r.volume == best
    buys = sum(f.quantity for f in r.fills if f.side == "buy")
    sells = sum(f.quantity for f in r.fills if f.side == "sell")
    assert buys == sells == r.volume
    if r.price_ticks is not None:
        for f in r.fills:
            o = next(o for o in orders if o.order_id == f.order_id)
            assert (
                (o.price_ticks >= r.price_ticks)
                if o.side == "buy"
                else (o.price_ticks <= r.price_ticks)
            )
