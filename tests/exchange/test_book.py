"""Shared semantic suite: every test runs against the fast and the reference book."""

from __future__ import annotations

import pytest

from greencircle.exchange import (
    Code,
    Depth,
    DepthLevel,
    Order,
    OrderBook,
    RestingOrder,
    STPMode,
)

from ._helpers import FOK, GTC, IOC, LIMIT, MARKET, B, Ledger, S, lim, mkt, norm, state, trades

# -- resting, crossing, price and time priority ---------------------------------------------


def test_non_crossing_orders_rest(new_book):
    book = new_book()
    assert isinstance(book, OrderBook)
    r = book.submit(lim("b1", B, 10, 5230))
    assert norm(r) == (Code.RESTING, (), 0, 10, 0, ())
    book.submit(lim("s1", S, 7, 5235))
    assert (book.best_bid(), book.best_ask(), len(book)) == (5230, 5235, 2)
    assert book.get("b1") == RestingOrder("b1", "A", B, 5230, 10)
    assert book.get("nope") is None


def test_empty_book_queries(new_book):
    book = new_book()
    assert book.best_bid() is None and book.best_ask() is None and len(book) == 0
    assert book.depth() == Depth((), ()) and book.depth(5) == Depth((), ())
    assert book.resting(B) == [] and book.resting(S) == []


@pytest.mark.parametrize("taker_side", [B, S])
def test_trade_prints_at_resting_price(new_book, taker_side):
    book = new_book()
    maker_side = S if taker_side is B else B
    book.submit(lim("m1", maker_side, 5, 5230))
    book.submit(lim("m2", maker_side, 5, 5240 if maker_side is S else 5220))
    limit = 5300 if taker_side is B else 5100  # far through both levels
    r = book.submit(lim("t", taker_side, 8, limit, acct="B"))
    assert r.code is Code.FILLED
    assert [(f.maker_order_id, f.price_ticks, f.quantity) for f in r.fills] == [
        ("m1", 5230, 5),
        ("m2", 5240 if maker_side is S else 5220, 3),
    ]
    f = r.fills[0]
    assert f.taker_order_id == "t" and f.taker_side is taker_side
    assert f.taker_account == "B" and f.maker_account == "A"
    if taker_side is B:
        assert (f.buy_order_id, f.sell_order_id) == ("t", "m1")
    else:
        assert (f.buy_order_id, f.sell_order_id) == ("m1", "t")


def test_fifo_within_a_level(new_book):
    book = new_book()
    for i in range(1, 4):
        book.submit(lim(f"s{i}", S, 4, 100))
    r = book.submit(lim("b", B, 10, 100))
    assert trades(r) == [("b", "s1", 100, 4), ("b", "s2", 100, 4), ("b", "s3", 100, 2)]
    assert book.get("s3").quantity == 2  # partially filled maker keeps its place
    book.submit(lim("s4", S, 1, 100))
    assert trades(book.submit(lim("b2", B, 3, 100))) == [("b2", "s3", 100, 2), ("b2", "s4", 100, 1)]


def test_price_priority_beats_time(new_book):
    book = new_book()
    book.submit(lim("s_old", S, 5, 101))
    book.submit(lim("s_new", S, 5, 100))
    assert trades(book.submit(lim("b", B, 5, 101))) == [("b", "s_new", 100, 5)]
    book.submit(lim("b_old", B, 5, 99))
    book.submit(lim("b_new", B, 5, 100))
    assert trades(book.submit(lim("s", S, 5, 99))) == [("b_new", "s", 100, 5)]


def test_limit_stops_at_its_price_and_gtc_remainder_rests(new_book):
    book = new_book()
    book.submit(lim("s1", S, 5, 100))
    book.submit(lim("s2", S, 5, 102))
    r = book.submit(lim("b", B, 8, 101))
    assert norm(r)[0] == Code.RESTING and (r.filled_quantity, r.resting_quantity) == (5, 3)
    assert trades(r) == [("b", "s1", 100, 5)]
    assert (book.best_bid(), book.best_ask()) == (101, 102)
    assert book.get("b") == RestingOrder("b", "A", B, 101, 3)


def test_limit_at_exactly_the_opposite_price_matches(new_book):
    book = new_book()
    book.submit(lim("b", B, 5, 100))
    assert book.submit(lim("s", S, 5, 100)).code is Code.FILLED
    assert len(book) == 0


# -- IOC, FOK, market -------------------------------------------------------------------------


def test_ioc_remainder_is_cancelled(new_book):
    book = new_book()
    book.submit(lim("s1", S, 5, 100))
    r = book.submit(lim("b", B, 8, 100, tif=IOC))
    assert norm(r)[0] == Code.CANCELLED
    assert (r.filled_quantity, r.resting_quantity, r.cancelled_quantity) == (5, 0, 3)
    assert book.get("b") is None and len(book) == 0


def test_ioc_without_match_does_not_rest(new_book):
    book = new_book()
    book.submit(lim("s1", S, 5, 101))
    r = book.submit(lim("b", B, 8, 100, tif=IOC))
    assert norm(r) == (Code.CANCELLED, (), 0, 0, 8, ())
    assert len(book) == 1


def test_ioc_fully_filled(new_book):
    book = new_book()
    book.submit(lim("s1", S, 5, 100))
    assert book.submit(lim("b", B, 5, 100, tif=IOC)).code is Code.FILLED


def test_fok_fills_completely_across_levels(new_book):
    book = new_book()
    book.submit(lim("s1", S, 3, 100))
    book.submit(lim("s2", S, 3, 101))
    book.submit(lim("s3", S, 3, 102))
    r = book.submit(lim("b", B, 5, 101, tif=FOK))
    assert r.code is Code.FILLED
    assert trades(r) == [("b", "s1", 100, 3), ("b", "s2", 101, 2)]
    assert book.depth().asks == (DepthLevel(101, 1, 1), DepthLevel(102, 3, 1))


def test_fok_exact_quantity_fills(new_book):
    book = new_book()
    book.submit(lim("b1", B, 3, 100))
    book.submit(lim("b2", B, 4, 99))
    r = book.submit(lim("s", S, 7, 99, tif=FOK))
    assert r.code is Code.FILLED and r.filled_quantity == 7 and len(book) == 0


def test_fok_not_fillable_does_nothing(new_book):
    book = new_book()
    book.submit(lim("s1", S, 3, 100))
    book.submit(lim("s2", S, 3, 101))
    book.submit(lim("s3", S, 30, 103))  # beyond the limit: does not count
    before = state(book)
    r = book.submit(lim("b", B, 7, 102, tif=FOK))
    assert norm(r) == (Code.FOK_NOT_FILLABLE, (), 0, 0, 0, ())
    assert not r.code.accepted
    assert state(book) == before


def test_market_order_takes_any_price_and_never_rests(new_book):
    book = new_book()
    book.submit(lim("s1", S, 2, 100))
    book.submit(lim("s2", S, 2, 5000))
    r = book.submit(mkt("m", B, 10))
    assert trades(r) == [("m", "s1", 100, 2), ("m", "s2", 5000, 2)]
    assert (r.code, r.cancelled_quantity) == (Code.CANCELLED, 6)
    assert len(book) == 0 and book.get("m") is None


@pytest.mark.parametrize("tif", [GTC, IOC])
def test_market_order_on_empty_book_is_cancelled(new_book, tif):
    book = new_book()
    r = book.submit(mkt("m", S, 10, tif=tif))
    assert norm(r) == (Code.CANCELLED, (), 0, 0, 10, ())
    assert len(book) == 0


def test_market_fok(new_book):
    book = new_book()
    book.submit(lim("b1", B, 2, 100))
    assert book.submit(mkt("m1", S, 3, tif=FOK)).code is Code.FOK_NOT_FILLABLE
    assert book.get("b1").quantity == 2
    book.submit(lim("b2", B, 2, 90))
    r = book.submit(mkt("m2", S, 3, tif=FOK))
    assert trades(r) == [("b1", "m2", 100, 2), ("b2", "m2", 90, 1)]


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("qty", [0, -5, True, 1.5])
def test_invalid_quantity(new_book, qty):
    book = new_book()
    assert book.submit(Order("x", "A", B, qty, 100)).code is Code.INVALID_QUANTITY


@pytest.mark.parametrize(
    ("price", "kind"), [(None, LIMIT), (0, LIMIT), (-3, LIMIT), (100, MARKET), (1.5, LIMIT)]
)
def test_invalid_price(new_book, price, kind):
    book = new_book()
    r = book.submit(Order("x", "A", B, 5, price, kind))
    assert r.code is Code.INVALID_PRICE and not r.code.accepted and len(book) == 0


def test_duplicate_live_id_rejected_but_finished_id_reusable(new_book):
    book = new_book()
    book.submit(lim("o1", B, 5, 100))
    assert book.submit(lim("o1", S, 5, 200)).code is Code.DUPLICATE_ORDER_ID
    assert book.submit(lim("o1", S, 5, 100, acct="B")).code is Code.DUPLICATE_ORDER_ID
    book.cancel("o1")
    assert book.submit(lim("o1", S, 5, 200)).code is Code.RESTING


def test_string_enum_values_are_accepted(new_book):
    book = new_book()
    book.submit(Order("s", "A", "sell", 5, 100, "limit", "GTC"))  # type: ignore[arg-type]
    r = book.submit(Order("b", "B", "buy", 5, None, "market", "IOC"))  # type: ignore[arg-type]
    assert trades(r) == [("b", "s", 100, 5)]


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_resting_unknown_and_finished(new_book):
    book = new_book()
    book.submit(lim("b1", B, 5, 100))
    book.submit(lim("b2", B, 5, 100))
    assert norm(book.cancel("b1")) == (Code.CANCELLED, (), 0, 0, 5, ())
    assert book.cancel("b1").code is Code.UNKNOWN_ORDER  # already cancelled
    assert book.cancel("never").code is Code.UNKNOWN_ORDER
    book.submit(lim("s", S, 5, 100))  # fills b2
    before = state(book)
    assert norm(book.cancel("b2")) == (Code.UNKNOWN_ORDER, (), 0, 0, 0, ())  # finished
    assert book.cancel("s").code is Code.UNKNOWN_ORDER  # taker finished
    assert state(book) == before


def test_cancel_partially_filled_order(new_book):
    book = new_book()
    book.submit(lim("b1", B, 10, 100))
    book.submit(lim("s", S, 4, 100))
    assert book.cancel("b1").cancelled_quantity == 6
    assert len(book) == 0 and book.depth() == Depth((), ())


def test_cancel_middle_of_queue_keeps_fifo(new_book):
    book = new_book()
    for i in range(5):
        book.submit(lim(f"s{i}", S, 1, 100))
    book.cancel("s1")
    book.cancel("s3")
    assert book.depth().asks == (DepthLevel(100, 3, 3),)
    r = book.submit(lim("b", B, 3, 100))
    assert [f.maker_order_id for f in r.fills] == ["s0", "s2", "s4"]


def test_many_cancels_in_a_level(new_book):
    book = new_book()
    for i in range(200):
        book.submit(lim(f"s{i}", S, 1, 100))
    for i in range(199):
        if i != 150:
            book.cancel(f"s{i}")
    assert book.depth().asks == (DepthLevel(100, 2, 2),)
    r = book.submit(lim("b", B, 5, 100))
    assert [f.maker_order_id for f in r.fills] == ["s150", "s199"]
    assert len(book) == 1 and book.best_ask() is None


# -- amend -----------------------------------------------------------------------------------------


def test_amend_size_decrease_keeps_priority(new_book):
    book = new_book()
    book.submit(lim("s1", S, 10, 100))
    book.submit(lim("s2", S, 10, 100))
    r = book.amend("s1", quantity=4)
    assert norm(r) == (Code.AMENDED, (), 0, 4, 6, ())
    assert trades(book.submit(lim("b", B, 5, 100))) == [("b", "s1", 100, 4), ("b", "s2", 100, 1)]


def test_amend_size_increase_loses_priority(new_book):
    book = new_book()
    book.submit(lim("s1", S, 10, 100))
    book.submit(lim("s2", S, 10, 100))
    r = book.amend("s1", quantity=11)
    assert (r.code, r.resting_quantity, r.cancelled_quantity) == (Code.AMENDED, 11, 0)
    assert [o.order_id for o in book.resting(S)] == ["s2", "s1"]
    assert trades(book.submit(lim("b", B, 12, 100))) == [("b", "s2", 100, 10), ("b", "s1", 100, 2)]


def test_amend_price_change_loses_priority_even_when_moved_back(new_book):
    book = new_book()
    book.submit(lim("b1", B, 5, 100))
    book.submit(lim("b2", B, 5, 100))
    assert book.amend("b1", price_ticks=99).code is Code.AMENDED
    assert book.depth() == Depth((DepthLevel(100, 5, 1), DepthLevel(99, 5, 1)), ())
    book.amend("b1", price_ticks=100)
    assert [o.order_id for o in book.resting(B)] == ["b2", "b1"]


def test_amend_price_and_decrease_together(new_book):
    book = new_book()
    book.submit(lim("b1", B, 5, 100))
    r = book.amend("b1", price_ticks=101, quantity=3)
    assert norm(r) == (Code.AMENDED, (), 0, 3, 2, ())
    assert book.get("b1") == RestingOrder("b1", "A", B, 101, 3)


def test_amend_to_crossing_price_trades_as_aggressor_at_resting_price(new_book):
    book = new_book()
    book.submit(lim("s1", S, 3, 102))
    book.submit(lim("s2", S, 3, 103))
    book.submit(lim("b1", B, 5, 100, acct="B"))
    r = book.amend("b1", price_ticks=105)
    assert r.code is Code.FILLED
    assert trades(r) == [("b1", "s1", 102, 3), ("b1", "s2", 103, 2)]
    assert r.fills[0].taker_order_id == "b1"
    book.submit(lim("b2", B, 5, 100, acct="B"))
    r = book.amend("b2", price_ticks=103, quantity=4)
    assert (r.code, r.filled_quantity, r.resting_quantity, r.cancelled_quantity) == (
        Code.AMENDED,
        1,
        3,
        1,
    )
    assert (book.best_bid(), book.best_ask()) == (103, None)


def test_amend_partially_filled_order_quantity_is_open_quantity(new_book):
    book = new_book()
    book.submit(lim("s1", S, 10, 100))
    book.submit(lim("b", B, 4, 100))
    r = book.amend("s1", quantity=5)  # open 6 -> 5: a decrease
    assert (r.code, r.resting_quantity, r.cancelled_quantity) == (Code.AMENDED, 5, 1)


def test_amend_rejections_leave_book_unchanged(new_book):
    book = new_book()
    book.submit(lim("s1", S, 10, 100))
    before = state(book)
    assert book.amend("nope", quantity=1).code is Code.UNKNOWN_ORDER
    assert book.amend("s1").code is Code.INVALID_AMEND
    assert book.amend("s1", quantity=0).code is Code.INVALID_AMEND
    assert book.amend("s1", quantity=-2).code is Code.INVALID_AMEND
    assert book.amend("s1", price_ticks=0).code is Code.INVALID_PRICE
    assert state(book) == before
    r = book.amend("s1", price_ticks=100, quantity=10)  # no change: accepted, keeps priority
    assert norm(r) == (Code.AMENDED, (), 0, 10, 0, ())
    assert state(book) == before


def test_amend_finished_order_is_unknown(new_book):
    book = new_book()
    book.submit(lim("s1", S, 10, 100))
    book.submit(mkt("m", B, 10))
    assert book.amend("s1", quantity=3).code is Code.UNKNOWN_ORDER


# -- depth -----------------------------------------------------------------------------------------


def test_depth_best_n_and_full(new_book):
    book = new_book()
    for i, p in enumerate([100, 99, 98, 97, 99]):
        book.submit(lim(f"b{i}", B, i + 1, p))
    for i, p in enumerate([101, 103, 102, 101]):
        book.submit(lim(f"s{i}", S, 10 * (i + 1), p))
    assert book.depth(2) == Depth(
        (DepthLevel(100, 1, 1), DepthLevel(99, 7, 2)),
        (DepthLevel(101, 50, 2), DepthLevel(102, 30, 1)),
    )
    full = book.depth()
    assert [lv.price_ticks for lv in full.bids] == [100, 99, 98, 97]
    assert [lv.price_ticks for lv in full.asks] == [101, 102, 103]
    assert book.depth(0) == Depth((), ())
    assert [o.order_id for o in book.resting(B)] == ["b0", "b1", "b4", "b2", "b3"]


# -- self-trade prevention ------------------------------------------------------------------------


def _stp_book(new_book, mode):
    book = new_book(mode)
    assert book.stp_mode is mode
    book.submit(lim("s_b1", S, 3, 100, acct="B"))
    book.submit(lim("s_own", S, 5, 100, acct="A"))
    book.submit(lim("s_b2", S, 4, 101, acct="B"))
    return book


def test_stp_off_trades_with_own_account(new_book):
    book = _stp_book(new_book, STPMode.NONE)
    r = book.submit(lim("t", B, 10, 101, acct="A"))
    assert trades(r) == [("t", "s_b1", 100, 3), ("t", "s_own", 100, 5), ("t", "s_b2", 101, 2)]


def test_stp_cancel_newest(new_book):
    book = _stp_book(new_book, STPMode.CANCEL_NEWEST)
    r = book.submit(lim("t", B, 10, 101, acct="A"))
    assert trades(r) == [("t", "s_b1", 100, 3)]
    assert (r.code, r.filled_quantity, r.resting_quantity, r.cancelled_quantity) == (
        Code.SELF_TRADE_PREVENTED,
        3,
        0,
        7,
    )
    assert tuple(r.stp_makers) == ()
    assert [(o.order_id, o.quantity) for o in book.resting(S)] == [("s_own", 5), ("s_b2", 4)]
    assert book.get("t") is None


def test_stp_cancel_oldest(new_book):
    book = _stp_book(new_book, STPMode.CANCEL_OLDEST)
    r = book.submit(lim("t", B, 10, 101, acct="A"))
    assert trades(r) == [("t", "s_b1", 100, 3), ("t", "s_b2", 101, 4)]
    assert tuple(r.stp_makers) == (("s_own", 5),)
    assert (r.code, r.resting_quantity) == (Code.RESTING, 3)
    assert book.resting(S) == [] and book.best_bid() == 101


def test_stp_cancel_both(new_book):
    book = _stp_book(new_book, STPMode.CANCEL_BOTH)
    r = book.submit(lim("t", B, 10, 101, acct="A"))
    assert trades(r) == [("t", "s_b1", 100, 3)]
    assert tuple(r.stp_makers) == (("s_own", 5),)
    assert (r.code, r.cancelled_quantity) == (Code.SELF_TRADE_PREVENTED, 7)
    assert [o.order_id for o in book.resting(S)] == ["s_b2"] and book.best_bid() is None


def test_stp_decrement(new_book):
    book = _stp_book(new_book, STPMode.DECREMENT)
    r = book.submit(lim("t", B, 10, 101, acct="A"))
    # 3 traded with B; 5 decremented against s_own (gone); 2 traded with s_b2
    assert trades(r) == [("t", "s_b1", 100, 3), ("t", "s_b2", 101, 2)]
    assert tuple(r.stp_makers) == (("s_own", 5),)
    assert (r.code, r.filled_quantity, r.cancelled_quantity) == (Code.FILLED, 5, 5)
    assert [(o.order_id, o.quantity) for o in book.resting(S)] == [("s_b2", 2)]


def test_stp_decrement_larger_resting_order(new_book):
    book = new_book(STPMode.DECREMENT)
    book.submit(lim("s_own", S, 9, 100, acct="A"))
    r = book.submit(mkt("t", B, 4, acct="A"))
    assert norm(r) == (Code.SELF_TRADE_PREVENTED, (), 0, 0, 4, (("s_own", 4),))
    assert book.get("s_own").quantity == 5


def test_stp_applies_to_amend_crossing(new_book):
    book = new_book(STPMode.CANCEL_NEWEST)
    book.submit(lim("s_own", S, 5, 100, acct="A"))
    book.submit(lim("b", B, 5, 99, acct="A"))
    r = book.amend("b", price_ticks=100)
    assert r.code is Code.SELF_TRADE_PREVENTED and not r.fills
    assert book.get("b") is None and book.get("s_own").quantity == 5


@pytest.mark.parametrize(
    ("mode", "code"),
    [
        (STPMode.CANCEL_NEWEST, Code.FOK_NOT_FILLABLE),
        (STPMode.CANCEL_BOTH, Code.FOK_NOT_FILLABLE),
        (STPMode.DECREMENT, Code.FOK_NOT_FILLABLE),
        (STPMode.CANCEL_OLDEST, Code.FILLED),
        (STPMode.NONE, Code.FILLED),
    ],
)
def test_stp_and_fok(new_book, mode, code):
    book = _stp_book(new_book, mode)
    before = state(book)
    r = book.submit(lim("t", B, 7, 101, acct="A", tif=FOK))
    assert r.code is code
    if code is Code.FOK_NOT_FILLABLE:
        assert state(book) == before
    # 3 available before the own order: FOK for 3 fills in every mode
    book2 = _stp_book(new_book, mode)
    assert book2.submit(lim("t", B, 3, 101, acct="A", tif=FOK)).code is Code.FILLED


def test_stp_other_accounts_unaffected(new_book):
    book = _stp_book(new_book, STPMode.CANCEL_NEWEST)
    r = book.submit(lim("t", B, 12, 101, acct="C"))
    assert r.code is Code.FILLED and len(r.fills) == 3


# -- conservation on a hand-made sequence ---------------------------------------------------


def test_conservation_and_no_cross_on_a_mixed_sequence(new_book):
    for mode in STPMode:
        book = new_book(mode)
        ledger = Ledger()
        cmds = [
            ("new", lim("s1", S, 10, 101, "A")),
            ("new", lim("s2", S, 5, 100, "B")),
            ("new", lim("b1", B, 7, 99, "A")),
            ("new", lim("b2", B, 12, 101, "A")),
            ("amend", "b1", 102, 9),
            ("new", mkt("m", S, 30, "B")),
            ("new", lim("s3", S, 4, 98, "C", tif=FOK)),
            ("cancel", "s1"),
            ("amend", "b2", None, 2),
            ("new", lim("s4", S, 40, 97, "A", tif=IOC)),
        ]
        for cmd in cmds:
            ledger.step(book, cmd)
        ledger.check(book)
