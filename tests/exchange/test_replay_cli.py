"""The replay contract: ``greencircle exchange replay ORDERS.jsonl --out TRADES.jsonl``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greencircle.cli.main import app

from ._helpers import random_stream

ORDERS = [
    {"type": "new", "order_id": "s1", "account": "A", "side": "sell", "kind": "limit",
     "tif": "GTC", "price": "52.30", "quantity": 10},
    {"type": "new", "order_id": "s2", "account": "B", "side": "sell", "kind": "limit",
     "tif": "GTC", "price": "52.30", "quantity": 5},
    {"type": "new", "order_id": "s3", "account": "C", "side": "sell", "kind": "limit",
     "tif": "GTC", "price": "52.35", "quantity": 8},
    {"type": "new", "order_id": "b1", "account": "D", "side": "buy", "kind": "limit",
     "tif": "GTC", "price": "52.20", "quantity": 7},
    # same account as s1: replay has no self-trade prevention
    {"type": "new", "order_id": "b2", "account": "A", "side": "buy", "kind": "limit",
     "tif": "IOC", "price": "52.30", "quantity": 12},
    {"type": "cancel", "order_id": "s2"},
    {"type": "new", "order_id": "b3", "account": "E", "side": "buy", "kind": "market",
     "tif": "IOC", "quantity": 4},
    {"type": "new", "order_id": "s4", "account": "F", "side": "sell", "kind": "limit",
     "tif": "FOK", "price": "52.20", "quantity": 8},
    {"type": "new", "order_id": "s5", "account": "F", "side": "sell", "kind": "limit",
     "tif": "FOK", "price": "52.20", "quantity": 7},
    {"type": "cancel", "order_id": "b1"},
    {"type": "cancel", "order_id": "zz"},
    {"type": "new", "order_id": "b4", "account": "G", "side": "buy", "kind": "limit",
     "tif": "GTC", "price": "52.4", "quantity": 10},
    {"type": "new", "order_id": "s6", "account": "H", "side": "sell", "kind": "market",
     "tif": "GTC", "quantity": 2},
    {"type": "new", "order_id": "s7", "account": "H", "side": "sell", "kind": "market",
     "tif": "FOK", "quantity": 100},
    {"type": "new", "order_id": "b5", "account": "I", "side": "buy", "kind": "limit",
     "tif": "GTC", "price": "52.39", "quantity": 1},
    {"type": "new", "order_id": "s8", "account": "J", "side": "sell", "kind": "limit",
     "tif": "GTC", "price": "52.39", "quantity": 5},
]  # fmt: skip

# Worked by hand, line by line:
#  1-3 asks s1 10@52.30, s2 5@52.30, s3 8@52.35; 4 bid b1 7@52.20 rests (no cross)
#  5 b2 IOC 12@52.30: s1 10 then s2 2 (FIFO, both at 52.30); 52.35 is beyond the limit
#  6 s2 cancelled (3 left); 7 b3 market 4: s3 4@52.35 (s3 has 4 left)
#  8 s4 FOK 8@52.20: only 7 bid -> nothing; 9 s5 FOK 7@52.20: b1 7@52.20 (resting price)
#  10 b1 finished, 11 unknown: no-ops
#  12 b4 10@52.40: s3 4@52.35 (resting price), 6 rest at 52.40
#  13 s6 market GTC 2: b4 2@52.40, never rests; 14 s7 market FOK 100: nothing
#  15 b5 1@52.39 rests; 16 s8 5@52.39: b4 4@52.40 (better price first), b5 1@52.39
EXPECTED = [
    ("b2", "s1", "52.30", 10, "buy"),
    ("b2", "s2", "52.30", 2, "buy"),
    ("b3", "s3", "52.35", 4, "buy"),
    ("b1", "s5", "52.20", 7, "sell"),
    ("b4", "s3", "52.35", 4, "buy"),
    ("b4", "s6", "52.40", 2, "sell"),
    ("b4", "s8", "52.40", 4, "sell"),
    ("b5", "s8", "52.39", 1, "sell"),
]


def flat(text: str) -> str:
    return " ".join(text.split())


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_trades(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("engine", [None, "fast", "reference"])
def test_contract_hand_worked_example(runner, tmp_path, engine):
    orders = write_jsonl(tmp_path / "ORDERS.jsonl", ORDERS)
    out = tmp_path / "TRADES.jsonl"
    args = ["exchange", "replay", str(orders), "--out", str(out)]
    if engine:
        args += ["--engine", engine]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert "8 trades" in r.stderr
    rows = read_trades(out)
    for row in rows:
        assert type(row["price"]) is str and type(row["quantity"]) is int
    got = [
        (t["buy_order_id"], t["sell_order_id"], t["price"], t["quantity"], t["aggressor"])
        for t in rows
    ]
    assert got == EXPECTED


def test_blank_lines_ignored_and_numbers_exact(runner, tmp_path):
    orders = tmp_path / "o.jsonl"
    orders.write_text(
        '{"type":"new","order_id":"s","account":"x","side":"sell","kind":"limit",'
        '"tif":"GTC","price":52.3,"quantity":3}\n\n   \n'
        '{"type":"new","order_id":"b","side":"buy","kind":"market","price":null,"quantity":5}\n',
        encoding="utf-8",
    )
    out = tmp_path / "t.jsonl"
    r = runner.invoke(app, ["exchange", "replay", str(orders), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert read_trades(out) == [
        {"buy_order_id": "b", "sell_order_id": "s", "price": "52.30", "quantity": 3,
         "aggressor": "buy"}
    ]  # fmt: skip


def test_invalid_line_fails_naming_it_and_writes_nothing(runner, tmp_path):
    rows = [*ORDERS[:3], {**ORDERS[3], "price": "52.205"}, *ORDERS[4:]]
    orders = write_jsonl(tmp_path / "o.jsonl", rows)
    out = tmp_path / "t.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    r = runner.invoke(app, ["exchange", "replay", str(orders), "--out", str(out)])
    assert r.exit_code == 1
    err = flat(r.stderr)
    assert "error: exchange.replay_line_invalid" in err and "line 4:" in err
    assert "not a multiple of the tick 0.01" in err
    assert out.read_text("utf-8") == "previous\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl", "t.jsonl"]  # no temp left


def test_skip_invalid_reports_and_continues(runner, tmp_path):
    orders = tmp_path / "o.jsonl"
    lines = [json.dumps(r) for r in ORDERS]
    lines.insert(2, "{not json")
    lines.insert(5, json.dumps({"type": "new", "order_id": "s1", "side": "sell",
                                "kind": "limit", "price": "60.00", "quantity": 1}))  # fmt: skip
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "t.jsonl"
    r = runner.invoke(app, ["exchange", "replay", str(orders), "--out", str(out), "--skip-invalid"])
    assert r.exit_code == 0, r.output
    err = flat(r.stderr)
    assert "line 3 skipped: not valid JSON" in err
    assert "line 6 skipped" in err and "already resting" in err
    assert "2 lines skipped" in err
    got = [(t["buy_order_id"], t["sell_order_id"], t["price"], t["quantity"]) for t in
           read_trades(out)]  # fmt: skip
    assert got == [e[:4] for e in EXPECTED]


def test_unreadable_orders_file(runner, tmp_path):
    r = runner.invoke(
        app, ["exchange", "replay", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "t")]
    )
    assert r.exit_code == 1
    assert "error: exchange.replay_file_unreadable" in flat(r.stderr)


def test_tick_size_option(runner, tmp_path):
    rows = [
        {"type": "new", "order_id": "s", "side": "sell", "kind": "limit", "price": "52.35",
         "quantity": 1},
        {"type": "new", "order_id": "b", "side": "buy", "kind": "limit", "price": "52.4",
         "quantity": 1},
    ]  # fmt: skip
    orders = write_jsonl(tmp_path / "o.jsonl", rows)
    out = tmp_path / "t.jsonl"
    args = ["exchange", "replay", str(orders), "--out", str(out), "--tick-size", "0.05"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert read_trades(out)[0]["price"] == "52.35"
    r = runner.invoke(app, [*args[:-1], "0.1"])
    assert r.exit_code == 1 and "line 1:" in flat(r.stderr)
    r = runner.invoke(app, [*args[:-1], "abc"])
    assert r.exit_code == 1 and "exchange.tick_invalid" in flat(r.stderr)


def test_engines_agree_on_a_random_file(runner, tmp_path):
    rng = random.Random(7)
    rows = []
    for cmd in random_stream(rng, 5000, ids=200, mid=5000, spread=20):
        if cmd[0] == "new":
            o = cmd[1]
            if o.quantity <= 0 or (o.price_ticks is not None and o.price_ticks <= 0):
                continue
            row = {"type": "new", "order_id": o.order_id, "account": o.account,
                   "side": o.side.value, "kind": o.kind.value, "tif": o.tif.value,
                   "quantity": o.quantity}  # fmt: skip
            if o.price_ticks is not None:
                row["price"] = f"{o.price_ticks // 100}.{o.price_ticks % 100:02d}"
            rows.append(row)
        elif cmd[0] == "cancel":
            rows.append({"type": "cancel", "order_id": cmd[1]})
    orders = write_jsonl(tmp_path / "o.jsonl", rows)
    outs = {}
    for engine in ("fast", "reference"):
        out = tmp_path / f"{engine}.jsonl"
        args = ["exchange", "replay", str(orders), "--out", str(out), "--engine", engine]
        r = runner.invoke(app, [*args, "--skip-invalid"])  # duplicate live ids are skipped
        assert r.exit_code == 0, r.output
        outs[engine] = out.read_text("utf-8")
    assert outs["fast"] == outs["reference"]
    assert outs["fast"].count("\n") > 500


def test_help(runner):
    r = runner.invoke(app, ["exchange", "replay", "--help"])
    assert r.exit_code == 0 and "--out" in r.output and "--engine" in r.output
