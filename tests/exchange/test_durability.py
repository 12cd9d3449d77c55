"""Kill-and-restart: the real server is SIGKILLed mid-burst and restarted on the same database.

Every order acknowledged with 2xx is present afterwards, every acknowledged trade is there,
the rebuilt book equals the acknowledged state (the pure engine replaying the acknowledged
commands, plus the one command in flight if it committed), and unit and cash totals are
conserved with every participant's balance equal to what the stored trades imply.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from typing import Any

import httpx
from sqlalchemy import select

from greencircle.audit.keys import signer_from
from greencircle.exchange import FastBook, Side, STPMode
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
from tests_support import DEMO_PASSWORD, make_settings, serving

from .ex_support import BUYER, INSTRUMENT, SELLER, Market, fund, org_id

UNITS0 = {SELLER: 50_000, BUYER: 50_000}
CASH0 = {SELLER: 50_000_000, BUYER: 50_000_000}


def _token(client: httpx.Client, username: str) -> str:
    r = client.post("/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _commands(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """A deterministic stream of limit orders (crossing often) and some cancels."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        trader = "cq-cem-01" if i % 2 else "cq-ste-01"
        if i > 5 and rng.random() < 0.15:
            out.append({"type": "cancel", "trader": trader})
            continue
        side = rng.choice(["buy", "sell"])
        px = 5000 + rng.randint(-20, 20)
        out.append(
            {
                "type": "new",
                "trader": trader,
                "body": {
                    "market": "CN-CQ",
                    "instrument": "CQEA:2025",
                    "side": side,
                    "kind": "limit",
                    "tif": rng.choice(["GTC", "GTC", "GTC", "IOC"]),
                    "price": f"{px // 100}.{px % 100:02d}",
                    "quantity": rng.randint(1, 30),
                },
            }
        )
    return out


class Burst(threading.Thread):
    """Sends the command stream one request at a time and records the acknowledgements."""

    def __init__(self, base: str, tokens: dict[str, str], commands: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.tokens = tokens
        self.commands = commands
        self.acked: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (command, answer)
        self.in_flight: dict[str, Any] | None = None
        self.own_open: dict[str, list[str]] = {"cq-cem-01": [], "cq-ste-01": []}
        self.count = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as c:
            for cmd in self.commands:
                headers = {"Authorization": f"Bearer {self.tokens[cmd['trader']]}"}
                if cmd["type"] == "cancel":
                    mine = self.own_open[cmd["trader"]]
                    if not mine:
                        continue
                    cmd = {**cmd, "order_id": mine[0]}
                self.in_flight = cmd
                try:
                    if cmd["type"] == "new":
                        r = c.post("/v1/exchange/orders", json=cmd["body"], headers=headers)
                    else:
                        r = c.delete(f"/v1/exchange/orders/{cmd['order_id']}", headers=headers)
                except httpx.HTTPError:
                    return
                if r.status_code == 409 and cmd["type"] == "cancel":
                    self.own_open[cmd["trader"]].remove(cmd["order_id"])
                    self.in_flight = None
                    continue
                assert r.is_success, r.text
                ack = r.json()
                self.acked.append((cmd, ack))
                self.in_flight = None
                order = ack["order"]
                mine = self.own_open[cmd["trader"]]
                if cmd["type"] == "new" and order["status"] == "open":
                    mine.append(order["id"])
                elif cmd["type"] == "cancel":
                    mine.remove(order["id"])
                self.count += 1


def _replay(commands: list[tuple[dict[str, Any], str]], orgs: dict[str, str]) -> FastBook:
    """The pure engine over ``(command, order_id)`` (same STP as the service)."""
    book = FastBook(STPMode.CANCEL_NEWEST)
    for cmd, oid in commands:
        if cmd["type"] == "cancel":
            book.cancel(oid)
            continue
        b = cmd["body"]
        whole, frac = b["price"].split(".")
        ticks = int(whole) * 100 + int(frac)
        from greencircle.exchange import Kind, TimeInForce

        book.place(
            oid, orgs[cmd["trader"]], Side(b["side"]), b["quantity"], ticks, Kind.LIMIT,
            TimeInForce(b["tif"]),
        )  # fmt: skip
    return book


def _depth(book: FastBook) -> dict[str, list[tuple[str, int]]]:
    d = book.depth(None)
    fmt = lambda p: f"{p // 100}.{p % 100:02d}"  # noqa: E731
    return {
        "bids": [(fmt(lv.price_ticks), lv.quantity) for lv in d.bids],
        "asks": [(fmt(lv.price_ticks), lv.quantity) for lv in d.asks],
    }


def test_sigkill_mid_burst_loses_no_acknowledged_order_or_trade(databases, tmp_path):
    url = databases.new("sqlite", "demo")
    var = tmp_path / "var"
    signer = signer_from(make_settings(url, var))
    fund(url, signer, units=UNITS0, cash_minor=CASH0)
    mkt = Market(url, signer=signer)
    try:
        before = mkt.balances()
        totals_before = mkt.totals()
        orgs = {"cq-cem-01": mkt.org(SELLER), "cq-ste-01": mkt.org(BUYER)}
        commands = _commands(2000)

        with serving(url, var) as (base, proc):
            with httpx.Client(base_url=base, timeout=10) as c:
                tokens = {u: _token(c, u) for u in orgs}
            burst = Burst(base, tokens, commands)
            burst.start()
            deadline = time.monotonic() + 30
            while burst.count < 60 and time.monotonic() < deadline and burst.is_alive():
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            burst.join(timeout=15)
        assert not burst.is_alive()
        acked = list(burst.acked)
        in_flight = burst.in_flight
        assert 60 <= len(acked) < len(commands)  # killed mid-burst

        # -- what the database holds after the kill
        engine = make_engine(url)
        try:
            with unit_of_work(make_session_factory(engine)) as s:
                orders = {o.id: o for o in s.scalars(select(ExOrder))}
                trades = {t.id: t for t in s.scalars(select(ExTrade))}
                seller_id = org_id(s, SELLER)
        finally:
            engine.dispose()
        acked_order_ids = [ack["order"]["id"] for _, ack in acked]
        assert set(acked_order_ids) <= set(orders)
        acked_trade_ids = {t["id"] for _, ack in acked for t in ack["trades"]}
        assert acked_trade_ids <= set(trades)
        # at most the single in-flight command committed without its answer
        unacked_new = set(orders) - set(acked_order_ids)
        assert len(unacked_new) <= 1
        for _, ack in acked:  # acknowledged fills are never undone
            o = orders[ack["order"]["id"]]
            assert int(o.filled_quantity) >= ack["order"]["filled_quantity"]

        # -- expected book: the acknowledged commands (+ the in-flight one if it committed)
        stream = [(cmd, ack["order"]["id"]) for cmd, ack in acked]
        if in_flight is not None:
            if in_flight["type"] == "new" and unacked_new:
                stream.append((in_flight, next(iter(unacked_new))))
            elif in_flight["type"] == "cancel" and orders[in_flight["order_id"]].status != "open":
                stream.append((in_flight, in_flight["order_id"]))
        expected = _replay(stream, orgs)

        # -- restart on the same database: the rebuilt book equals the expected one
        with serving(url, var) as (base, _proc), httpx.Client(base_url=base, timeout=10) as c:
            r = c.get("/v1/exchange/markets/CN-CQ/instruments/CQEA:2025/depth?levels=all")
            assert r.status_code == 200, r.text
            got = r.json()
            assert {
                "bids": [(lv["price"], lv["quantity"]) for lv in got["bids"]],
                "asks": [(lv["price"], lv["quantity"]) for lv in got["asks"]],
            } == _depth(expected)
            open_ids = set()
            for user in orgs:
                h = {"Authorization": f"Bearer {_token(c, user)}"}
                r = c.get("/v1/exchange/orders?status=open&limit=500", headers=h)
                open_ids |= {o["id"] for o in r.json()["items"]}
            resting = {o.order_id for side in (Side.BUY, Side.SELL) for o in expected.resting(side)}
            assert open_ids == resting
            # the restarted exchange trades: cross the best ask if there is one
            if got["asks"]:
                h = {"Authorization": f"Bearer {_token(c, 'cq-ste-01')}"}
                body = {
                    "market": "CN-CQ",
                    "instrument": "CQEA:2025",
                    "side": "buy",
                    "kind": "limit",
                    "tif": "IOC",
                    "price": got["asks"][0]["price"],
                    "quantity": 1,
                }
                r = c.post("/v1/exchange/orders", json=body, headers=h)
                assert r.status_code == 201, r.text

        # -- registry invariants: totals conserved, balances equal the stored trades
        engine = make_engine(url)
        try:
            with unit_of_work(make_session_factory(engine)) as s:
                all_trades = list(s.scalars(select(ExTrade)))
                open_orders = list(s.scalars(select(ExOrder).where(ExOrder.status == "open")))
        finally:
            engine.dispose()
        assert mkt.totals() == totals_before
        assert mkt.violations() == []
        after = mkt.balances()
        units_s = f"CN-CQ.{SELLER}"
        cash_s = f"CASH.CNY.{SELLER}"
        du = dc = fees = 0
        for t in all_trades:
            sign = -1 if t.seller_org_id == seller_id else 1
            if t.seller_org_id == t.buyer_org_id:
                sign = 0
            du += sign * int(t.quantity)
            dc += -sign * int(t.notional_minor)
            fees += int(t.buyer_fee_minor) + int(t.seller_fee_minor)
            dc -= int(t.seller_fee_minor) if t.seller_org_id == seller_id else 0
            dc -= int(t.buyer_fee_minor) if t.buyer_org_id == seller_id else 0
        assert after[(units_s, INSTRUMENT)][0] == before[(units_s, INSTRUMENT)][0] + du
        assert after[(cash_s, "CASH:CNY")][0] == before[(cash_s, "CASH:CNY")][0] + dc
        participants = sum(
            after.get((f"CASH.CNY.{code}", "CASH:CNY"), (0, 0))[0]
            for code in (SELLER, BUYER, "NCM-OPERATOR")
        )
        assert participants == sum(CASH0.values())
        assert after.get(("CASH.CNY.NCM-OPERATOR", "CASH:CNY"), (0, 0))[0] == fees
        # holds: exactly what the open orders still reserve (nothing leaked by the kill)
        for code in (SELLER, BUYER):
            oid = orgs["cq-cem-01" if code == SELLER else "cq-ste-01"]
            mine = [o for o in open_orders if o.org_id == oid]
            units_held = sum(int(o.hold_open) for o in mine if o.side == "sell")
            cash_held = sum(int(o.hold_open) for o in mine if o.side == "buy")
            assert after[(f"CN-CQ.{code}", INSTRUMENT)][1] == units_held
            assert after[(f"CASH.CNY.{code}", "CASH:CNY")][1] == cash_held
    finally:
        mkt.close()
