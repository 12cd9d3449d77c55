"""Line validation and the replay function (no CLI)."""

from __future__ import annotations

import io
import json

import pytest

from greencircle.exchange import FastBook, Kind, Order, PriceScale, Side, TimeInForce
from greencircle.exchange.errors import ReplayInputInvalid
from greencircle.exchange.replay import parse_event, replay

SCALE = PriceScale()
NEW = {"type": "new", "order_id": "o1", "account": "A", "side": "buy", "kind": "limit",
       "tif": "IOC", "price": "52.30", "quantity": 3}  # fmt: skip


def test_parse_valid_events():
    assert parse_event(NEW, SCALE) == (
        "new",
        Order("o1", "A", Side.BUY, 3, 5230, Kind.LIMIT, TimeInForce.IOC),
    )
    m = {**NEW, "kind": "market", "price": None}
    del m["tif"], m["account"]
    assert parse_event(m, SCALE) == ("new", Order("o1", "", Side.BUY, 3, None, Kind.MARKET))
    assert parse_event({"type": "cancel", "order_id": "x"}, SCALE) == ("cancel", "x")
    assert parse_event({"type": "amend", "order_id": "x", "quantity": 2}, SCALE) == (
        "amend",
        ("x", None, 2),
    )
    assert parse_event({"type": "amend", "order_id": "x", "price": "1.5"}, SCALE) == (
        "amend",
        ("x", 150, None),
    )


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"type": "modify"}, '"type"'),
        ({"order_id": ""}, '"order_id"'),
        ({"order_id": 7}, '"order_id"'),
        ({"account": 1}, '"account"'),
        ({"side": "bid"}, '"side"'),
        ({"side": ["buy"]}, '"side"'),
        ({"kind": "stop"}, '"kind"'),
        ({"tif": "GTD"}, '"tif"'),
        ({"quantity": 0}, '"quantity"'),
        ({"quantity": 2.0}, '"quantity"'),
        ({"quantity": True}, '"quantity"'),
        ({"quantity": "3"}, '"quantity"'),
        ({"price": None}, '"price" is required'),
        ({"price": "52.305"}, "tick"),
        ({"price": "-1"}, "greater than zero"),
        ({"price": "0"}, "greater than zero"),
        ({"price": "1e3"}, "plain decimal"),
        ({"price": True}, "decimal string"),
        ({"kind": "market"}, "market orders take no"),
    ],
)
def test_parse_invalid_new(patch, needle):
    reason = parse_event({**NEW, **patch}, SCALE)
    assert isinstance(reason, str) and needle in reason


@pytest.mark.parametrize(
    "obj",
    [
        [],
        "x",
        {"type": "cancel"},
        {"type": "amend", "order_id": "x"},
        {"type": "amend", "order_id": "x", "quantity": 0},
        {"type": "amend", "order_id": "x", "price": "0.001"},
    ],
)
def test_parse_invalid_other(obj):
    assert isinstance(parse_event(obj, SCALE), str)


def test_replay_function_with_amend_extension_and_stats():
    lines = [
        json.dumps({"type": "new", "order_id": "s1", "side": "sell", "kind": "limit",
                    "price": "10.00", "quantity": 5}),
        json.dumps({"type": "new", "order_id": "s2", "side": "sell", "kind": "limit",
                    "price": "10.00", "quantity": 5}),
        json.dumps({"type": "amend", "order_id": "s1", "quantity": 6}),  # loses priority
        json.dumps({"type": "amend", "order_id": "nope", "quantity": 6}),  # no-op
        json.dumps({"type": "new", "order_id": "b", "side": "buy", "kind": "market",
                    "quantity": 7}),
    ]  # fmt: skip
    out = io.StringIO()
    stats = replay([line.encode() for line in lines], out, FastBook())
    trades = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [(t["sell_order_id"], t["quantity"]) for t in trades] == [("s2", 5), ("s1", 2)]
    assert (stats.lines, stats.events, stats.trades, stats.traded_quantity) == (5, 5, 2, 7)
    assert stats.outcomes == {"resting": 2, "amended": 1, "unknown_order": 1, "filled": 1}


def test_replay_error_names_line_and_invalid_utf8():
    with pytest.raises(ReplayInputInvalid) as exc:
        replay([b"\n", b'{"type": "cancel", "order_id": "x"}\n', b"\xff\xfe{\n"], io.StringIO(),
               FastBook())  # fmt: skip
    assert exc.value.code == "exchange.replay_line_invalid"
    assert str(exc.value.detail).startswith("line 3: not valid JSON")


def test_replay_ids_are_json_escaped():
    lines = [
        json.dumps({"type": "new", "order_id": 's"1\\', "side": "sell", "kind": "limit",
                    "price": "1", "quantity": 1}),
        json.dumps({"type": "new", "order_id": "买\n", "side": "buy", "kind": "limit",
                    "price": "1", "quantity": 1}),
    ]  # fmt: skip
    out = io.StringIO()
    replay(lines, out, FastBook())
    t = json.loads(out.getvalue())
    assert (t["buy_order_id"], t["sell_order_id"], t["price"]) == ("买\n", 's"1\\', "1.00")


def test_progress_reports_bytes_consumed():
    lines = [b'{"type": "cancel", "order_id": "x"}\n'] * 40_000
    seen: list[int] = []
    stats = replay(lines, io.StringIO(), FastBook(), on_progress=seen.append)
    assert seen[-1] == sum(len(x) for x in lines) and len(seen) >= 3
    assert stats.outcomes == {"unknown_order": 40_000}
