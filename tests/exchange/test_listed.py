"""Listed and block agreement rules against hand-worked cases and invariants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from greencircle.exchange.listed import (
    ListedBoard,
    ListedCode,
    check_block_trade,
    closing_price,
    within_band,
)


def test_band_is_inclusive_and_exact():
    # Previous close 52.30 CNY = 5230 ticks; ±10 % → [4707, 5753].
    assert within_band(5753, 5230, 1000) and within_band(4707, 5230, 1000)
    assert not within_band(5754, 5230, 1000) and not within_band(4706, 5230, 1000)
    assert within_band(1, None, 1000)


def test_taker_picks_among_the_best_five_levels_and_trades_at_the_listing_price():
    board = ListedBoard(previous_close_ticks=5000)
    for i, price in enumerate([5010, 5020, 5030, 5040, 5050, 5060]):
        assert board.post(f"s{i}", "seller", "sell", price, 100) == ListedCode.OK
    assert board.levels("sell") == [5010, 5020, 5030, 5040, 5050]
    code, _ = board.take("s5", "buyer", 10)  # sixth level: not visible
    assert code == ListedCode.NOT_IN_BEST_LEVELS
    code, fill = board.take("s3", "buyer", 40)  # not the best, but among the five
    assert code == ListedCode.OK and fill is not None
    assert (fill.price_ticks, fill.quantity) == (5040, 40)
    assert board.listings["s3"].quantity == 60  # partial fill
    assert board.take("s0", "seller", 1)[0] == ListedCode.SELF_TRADE
    assert board.post("x", "seller", "sell", 5600, 10) == ListedCode.OUT_OF_BAND
    board.take("s0", "buyer", 100)  # s0 gone: s5 moves into the best five
    assert board.take("s5", "buyer", 10)[0] == ListedCode.OK


def test_close_is_vwap_of_listed_trades_or_previous_close():
    board = ListedBoard(previous_close_ticks=5000)
    assert board.close_price() == 5000
    board.post("a", "s", "sell", 5100, 300)
    board.post("b", "s", "sell", 5000, 100)
    board.take("a", "b1", 300)
    board.take("b", "b1", 100)
    assert board.close_price() == (5100 * 300 + 5000 * 100 + 200) // 400  # 5075


def test_block_trade_rules():
    assert check_block_trade(5000, 99_999, 5000) == ListedCode.BELOW_BLOCK_MINIMUM
    assert check_block_trade(6500, 100_000, 5000) == ListedCode.OK  # +30 % inclusive
    assert check_block_trade(6501, 100_000, 5000) == ListedCode.OUT_OF_BAND
    assert check_block_trade(3500, 200_000, 5000) == ListedCode.OK


@given(
    st.lists(st.tuples(st.integers(1, 1000), st.integers(1, 10_000)), max_size=40),
    st.integers(1, 1000),
)
def test_vwap_lies_between_min_and_max_price(trades, prev):
    from greencircle.exchange.listed import ListedFill

    fills = [ListedFill(str(i), "m", "t", "sell", p, q) for i, (p, q) in enumerate(trades)]
    close = closing_price(fills, prev)
    if trades:
        assert min(p for p, _ in trades) <= close <= max(p for p, _ in trades)
        exact = sum(p * q for p, q in trades) / sum(q for _, q in trades)
        assert abs(close - exact) <= 0.5
    else:
        assert close == prev
