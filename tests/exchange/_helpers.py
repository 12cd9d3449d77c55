"""Shared helpers for the exchange tests: engines, command streams, invariants."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from greencircle.exchange import (
    FastBook,
    Kind,
    Order,
    OrderBook,
    ReferenceBook,
    Result,
    Side,
    STPMode,
    TimeInForce,
)

ENGINES: dict[str, Callable[[STPMode], OrderBook]] = {
    "fast": FastBook,
    "reference": ReferenceBook,
}

B, S = Side.BUY, Side.SELL
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
LIMIT, MARKET = Kind.LIMIT, Kind.MARKET

Command = tuple[Any, ...]  # ("new", Order) | ("cancel", id) | ("amend", id, price, qty)


def lim(oid: str, side: Side, qty: int, price: int, acct: str = "A", tif=GTC) -> Order:
    """A limit order."""
    return Order(oid, acct, side, qty, price, LIMIT, tif)


def mkt(oid: str, side: Side, qty: int, acct: str = "A", tif=IOC) -> Order:
    """A market order."""
    return Order(oid, acct, side, qty, None, MARKET, tif)


def norm(res: Result) -> tuple[Any, ...]:
    """A result with sequences as tuples (implementations may return lists)."""
    return (
        res.code,
        tuple(res.fills),
        res.filled_quantity,
        res.resting_quantity,
        res.cancelled_quantity,
        tuple(res.stp_makers),
    )


def trades(res: Result) -> list[tuple[str, str, int, int]]:
    """Fills as (buy id, sell id, price, quantity)."""
    return [(f.buy_order_id, f.sell_order_id, f.price_ticks, f.quantity) for f in res.fills]


def state(book: OrderBook) -> tuple[Any, ...]:
    """Everything observable about a book."""
    return (
        book.resting(B),
        book.resting(S),
        book.depth(),
        book.depth(3),
        book.best_bid(),
        book.best_ask(),
        len(book),
    )


def apply(book: OrderBook, cmd: Command) -> Result:
    """Apply one command."""
    if cmd[0] == "new":
        return book.submit(cmd[1])
    if cmd[0] == "cancel":
        return book.cancel(cmd[1])
    return book.amend(cmd[1], price_ticks=cmd[2], quantity=cmd[3])


class Ledger:
    """Quantity conservation and the no-cross invariant, checked command by command.

    in  = accepted submitted quantity + amend increases
    out = 2 × traded quantity + cancelled quantities + STP maker reductions + resting
    """

    def __init__(self) -> None:
        self.inflow = 0
        self.traded = 0
        self.cancelled = 0

    def step(self, book: OrderBook, cmd: Command) -> Result:
        before = book.get(cmd[1]) if cmd[0] == "amend" else None
        res = apply(book, cmd)
        if res.code.accepted:
            if cmd[0] == "new":
                self.inflow += cmd[1].quantity
            elif cmd[0] == "amend" and cmd[3] is not None:
                assert before is not None
                self.inflow += max(0, cmd[3] - before.quantity)
            self.traded += sum(f.quantity for f in res.fills)
            self.cancelled += res.cancelled_quantity + sum(q for _, q in res.stp_makers)
        else:
            assert not res.fills and res.filled_quantity == res.cancelled_quantity == 0
        for f in res.fills:
            assert f.quantity > 0
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask, (bid, ask)
        return res

    def check(self, book: OrderBook) -> None:
        resting = sum(o.quantity for side in (B, S) for o in book.resting(side))
        assert self.inflow == 2 * self.traded + self.cancelled + resting


def random_stream(
    rng: random.Random,
    n: int,
    *,
    ids: int = 60,
    accounts: Sequence[str] = ("A", "B", "C"),
    mid: int = 1000,
    spread: int = 6,
) -> Iterable[Command]:
    """A random stream of new/cancel/amend commands (all kinds and TIFs, some invalid)."""
    for _ in range(n):
        r = rng.random()
        oid = f"o{rng.randrange(ids)}"
        if r < 0.6:
            side = B if rng.random() < 0.5 else S
            qty = rng.randint(1, 20) if rng.random() > 0.002 else rng.choice((0, -1))
            tif = (GTC, GTC, GTC, IOC, FOK)[rng.randrange(5)]
            acct = accounts[rng.randrange(len(accounts))]
            if rng.random() < 0.08:
                yield ("new", Order(oid, acct, side, qty, None, MARKET, tif))
            else:
                # passive-biased prices build depth; a few cross the touch
                offset = rng.randint(-spread // 4, spread)
                price = mid - offset if side is B else mid + offset
                if rng.random() < 0.002:
                    price = 0
                yield ("new", Order(oid, acct, side, qty, price, LIMIT, tif))
        elif r < 0.85:
            yield ("cancel", oid)
        else:
            price = mid + rng.randint(-spread, spread) if rng.random() < 0.5 else None
            qty = rng.randint(0 if rng.random() < 0.01 else 1, 25) if rng.random() < 0.7 else None
            yield ("amend", oid, price, qty)
