"""Decimal strings ↔ integer ticks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencircle.exchange import PriceCode, PriceScale
from greencircle.exchange.errors import PriceInvalid

CNY = PriceScale()


@pytest.mark.parametrize(
    ("text", "ticks"),
    [("52.30", 5230), ("52.3", 5230), ("52", 5200), ("0.01", 1), ("52.300000", 5230),
     ("007.50", 750)],
)  # fmt: skip
def test_to_ticks(text, ticks):
    assert CNY.to_ticks(text) == ticks
    assert CNY.ticks_or_code(text) == ticks


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("52.305", PriceCode.OFF_TICK),
        ("0.001", PriceCode.OFF_TICK),
        ("0", PriceCode.NOT_POSITIVE),
        ("0.00", PriceCode.NOT_POSITIVE),
        ("-1.00", PriceCode.NOT_POSITIVE),
        ("", PriceCode.MALFORMED),
        (" 52.30", PriceCode.MALFORMED),
        ("52,30", PriceCode.MALFORMED),
        ("5e1", PriceCode.MALFORMED),
        ("NaN", PriceCode.MALFORMED),
        ("+1", PriceCode.MALFORMED),
        (".5", PriceCode.MALFORMED),
        ("١٢", PriceCode.MALFORMED),  # non-ASCII digits
        (52.3, PriceCode.MALFORMED),  # float: never
        (True, PriceCode.MALFORMED),
        (Decimal("NaN"), PriceCode.MALFORMED),
        (Decimal("-2"), PriceCode.NOT_POSITIVE),
        (Decimal("1.005"), PriceCode.OFF_TICK),
    ],
)
def test_rejections_have_codes(value, code):
    assert CNY.ticks_or_code(value) is code
    with pytest.raises(PriceInvalid) as exc:
        CNY.to_ticks(value)
    assert exc.value.code == f"exchange.{code.value}"


def test_decimal_and_int_inputs():
    assert CNY.to_ticks(Decimal("52.30")) == 5230
    assert CNY.to_ticks(Decimal("5.23E1")) == 5230
    assert CNY.to_ticks(52) == 5200


def test_other_ticks():
    five = PriceScale(Decimal("0.05"))
    assert (five.scale, five.to_ticks("52.35"), five.format(1047)) == (2, 1047, "52.35")
    assert five.ticks_or_code("52.31") is PriceCode.OFF_TICK
    whole = PriceScale(Decimal("1"))
    assert (whole.scale, whole.to_ticks("52"), whole.to_ticks("52.0"), whole.format(52)) == (
        0,
        52,
        52,
        "52",
    )
    assert whole.ticks_or_code("52.5") is PriceCode.OFF_TICK
    assert PriceScale(Decimal("0.50")).format(3) == "1.5"  # scale of the normalised tick
    for bad in ("0", "-0.01", "x", 0.01):
        with pytest.raises(PriceInvalid):
            PriceScale(bad)  # type: ignore[arg-type]


def test_format_and_decimal():
    assert CNY.format(5230) == "52.30" and CNY.format(5) == "0.05" and CNY.format(0) == "0.00"
    assert CNY.to_decimal(5230) == Decimal("52.30")
    assert str(CNY.to_decimal(5230)) == "52.30"


@given(st.integers(1, 10**12), st.sampled_from(["0.01", "0.05", "0.1", "1", "0.25", "10"]))
def test_round_trip(ticks, tick):
    scale = PriceScale(Decimal(tick))
    text = scale.format(ticks)
    assert scale.to_ticks(text) == ticks
    assert Decimal(text) == ticks * Decimal(tick)
    assert scale.to_decimal(ticks) == Decimal(text)
