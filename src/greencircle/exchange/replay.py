"""Replay a file of order events through the matching engine alone (the replay contract).

Contract (``greencircle exchange replay ORDERS.jsonl --out TRADES.jsonl``): the
continuous-book matching engine alone — no funds checks, no price bands, no self-trade
prevention, no trading hours — over a file of events, for back-testing and market
reconstruction.

Input, one JSON object per line (UTF-8)::

    {"type": "new", "order_id": str, "account": str, "side": "buy"|"sell",
     "kind": "limit"|"market", "tif": "GTC"|"IOC"|"FOK", "price": "52.30", "quantity": int}
    {"type": "cancel", "order_id": str}

Output, one JSON object per trade in execution order::

    {"buy_order_id": str, "sell_order_id": str, "price": "52.30", "quantity": int,
     "aggressor": "buy"|"sell"}

(``aggressor``, the taker's side, is an extra field; the contract allows more fields.)

Decisions where the contract is silent
--------------------------------------
* ``price`` is a decimal string on the declared tick (default 0.01); an exact JSON number
  is accepted too (parsed as :class:`~decimal.Decimal`, never float). Output prices carry
  the tick's decimal places (``"52.3"`` in → ``"52.30"`` out).
* ``tif`` defaults to ``GTC`` and ``account`` to ``""`` when absent; ``price`` must be
  absent or ``null`` for market orders. ``order_id`` must be a non-empty string and
  ``quantity`` a JSON integer > 0.
* Extension: ``{"type": "amend", "order_id": str, "price"?: str, "quantity"?: int}`` amends
  a resting order (``quantity`` is the new open quantity; a decrease at the same price keeps
  time priority, anything else loses it); amending an unknown or finished order does
  nothing, like cancel.
* Blank lines are ignored. Any other line that is not a valid event — malformed JSON, a
  missing or mistyped field, an off-tick price, or a ``new`` whose ``order_id`` is still
  resting — is an error: by default the replay stops with
  :class:`~greencircle.exchange.errors.ReplayInputInvalid` naming the line (the CLI exits 1
  and leaves no TRADES file); with ``skip_invalid`` the line is reported and skipped.
* An FOK order that cannot fill completely is a normal outcome (counted, no trade).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from greencircle.exchange.book import Code, Kind, Order, OrderBook, Side, TimeInForce
from greencircle.exchange.errors import ReplayInputInvalid
from greencircle.exchange.prices import PriceCode, PriceScale

__all__ = ["ReplayStats", "replay"]

_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_KINDS = {"limit": Kind.LIMIT, "market": Kind.MARKET}
_TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
_FLUSH_EVERY = 4096
_PROGRESS_EVERY = 16384

_quote = json.encoder.encode_basestring
#: Exact numbers: a JSON number price is read as Decimal, never float.
_DECODER = json.JSONDecoder(parse_float=Decimal)


class _Writer(Protocol):
    def write(self, s: str, /) -> int:
        """Write ``s``; return the number of characters written."""


@dataclass
class ReplayStats:
    """What a replay did.

    Attributes
    ----------
    lines
        Lines read (including blank and skipped ones).
    events
        Valid events applied.
    trades, traded_quantity
        Trades written and their total quantity [lots].
    outcomes
        Count of result codes of applied events (``resting``, ``filled``, ``cancelled``,
        ``fok_not_fillable``, ``unknown_order`` for no-op cancels/amends...).
    skipped
        ``(line number, reason)`` of invalid lines skipped (``skip_invalid`` only).
    """

    lines: int = 0
    events: int = 0
    trades: int = 0
    traded_quantity: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _price(obj: dict[str, Any], scale: PriceScale) -> int | str:
    raw = obj.get("price")
    if raw is None:
        return '"price" is required for limit orders'
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        return '"price" must be a decimal string'
    got = scale.ticks_or_code(raw)
    if isinstance(got, PriceCode):
        return got.explain(raw, scale.tick)
    return got


def parse_event(obj: Any, scale: PriceScale) -> tuple[str, Any] | str:
    """Validate one decoded line: ``("new", Order)``, ``("cancel", id)``, ``("amend", ...)``.

    Returns the reason (a ``str``) when the object is not a valid event.
    """
    if type(obj) is not dict:
        return "not a JSON object"
    kind_of_event = obj.get("type")
    if kind_of_event == "new":
        oid = obj.get("order_id")
        if type(oid) is not str or not oid:
            return '"order_id" must be a non-empty string'
        account = obj.get("account", "")
        if type(account) is not str:
            return '"account" must be a string'
        raw = obj.get("side")
        side = _SIDES.get(raw) if type(raw) is str else None
        if side is None:
            return '"side" must be "buy" or "sell"'
        raw = obj.get("kind")
        kind = _KINDS.get(raw) if type(raw) is str else None
        if kind is None:
            return '"kind" must be "limit" or "market"'
        raw = obj.get("tif", "GTC")
        tif = _TIFS.get(raw) if type(raw) is str else None
        if tif is None:
            return '"tif" must be "GTC", "IOC" or "FOK"'
        qty = obj.get("quantity")
        if type(qty) is not int or qty <= 0:
            return '"quantity" must be an integer > 0'
        if kind is Kind.LIMIT:
            price = _price(obj, scale)
            if isinstance(price, str):
                return price
            return "new", Order(oid, account, side, qty, price, kind, tif)
        if obj.get("price") is not None:
            return 'market orders take no "price"'
        return "new", Order(oid, account, side, qty, None, kind, tif)
    if kind_of_event == "cancel":
        oid = obj.get("order_id")
        if type(oid) is not str or not oid:
            return '"order_id" must be a non-empty string'
        return "cancel", oid
    if kind_of_event == "amend":
        oid = obj.get("order_id")
        if type(oid) is not str or not oid:
            return '"order_id" must be a non-empty string'
        new_price: int | None = None
        if obj.get("price") is not None:
            p = _price(obj, scale)
            if isinstance(p, str):
                return p
            new_price = p
        qty = obj.get("quantity")
        if qty is not None and (type(qty) is not int or qty <= 0):
            return '"quantity" must be an integer > 0'
        if new_price is None and qty is None:
            return 'amend needs "price" and/or "quantity"'
        return "amend", (oid, new_price, qty)
    return '"type" must be "new" or "cancel" (or the "amend" extension)'


def replay(
    lines: Iterable[bytes | str],
    out: _Writer,
    book: OrderBook,
    *,
    scale: PriceScale | None = None,
    skip_invalid: bool = False,
    on_skip: Callable[[int, str], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayStats:
    """Apply the events of ``lines`` to ``book`` and write one JSON line per trade to ``out``.

    Parameters
    ----------
    lines
        The ORDERS lines (bytes or str), e.g. a file opened in binary mode.
    out
        Text sink for TRADES lines.
    book
        An empty :class:`~greencircle.exchange.book.OrderBook` without self-trade prevention.
    scale
        Price scale (default tick 0.01).
    skip_invalid
        Skip invalid lines (reported through ``on_skip``) instead of stopping.
    on_skip
        Called with ``(line number, reason)`` for each skipped line.
    on_progress
        Called now and then with the number of bytes/characters consumed so far.

    Raises
    ------
    ReplayInputInvalid
        On the first invalid line, unless ``skip_invalid``; ``detail`` is
        ``"line N: reason"``.
    """
    scale = scale or PriceScale()
    fmt = scale.format
    decode = _DECODER.decode
    submit = book.submit
    stats = ReplayStats()
    outcomes = stats.outcomes
    buf: list[str] = []
    consumed = 0
    lineno = 0
    trades = 0
    traded = 0
    for lineno, raw in enumerate(lines, 1):
        consumed += len(raw)
        if on_progress is not None and not lineno % _PROGRESS_EVERY:
            on_progress(consumed)
        if not raw.strip():
            continue
        try:
            obj = decode(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            event: tuple[str, Any] | str = f"not valid JSON ({exc})"
        else:
            event = parse_event(obj, scale)
        if isinstance(event, str):
            reason: str | None = event
        else:
            reason = None
            what, payload = event
            if what == "new":
                res = submit(payload)
                code = res.code
                if code is Code.DUPLICATE_ORDER_ID:
                    reason = f'"order_id" {payload.order_id!r} is already resting'
            elif what == "cancel":
                res = book.cancel(payload)
                code = res.code
            else:
                oid, new_price, new_qty = payload
                res = book.amend(oid, price_ticks=new_price, quantity=new_qty)
                code = res.code
        if reason is not None:
            if not skip_invalid:
                raise ReplayInputInvalid(f"line {lineno}: {reason}")
            stats.skipped.append((lineno, reason))
            if on_skip is not None:
                on_skip(lineno, reason)
            continue
        stats.events += 1
        outcomes[code] += 1
        fills = res.fills
        if fills:
            for f in fills:
                q = f.quantity
                if f.taker_side is Side.BUY:
                    buy, sell, aggressor = f.taker_order_id, f.maker_order_id, "buy"
                else:
                    buy, sell, aggressor = f.maker_order_id, f.taker_order_id, "sell"
                buf.append(
                    f'{{"buy_order_id":{_quote(buy)},"sell_order_id":{_quote(sell)},'
                    f'"price":"{fmt(f.price_ticks)}","quantity":{q},'
                    f'"aggressor":"{aggressor}"}}\n'
                )
                traded += q
            trades += len(fills)
            if len(buf) >= _FLUSH_EVERY:
                out.write("".join(buf))
                buf.clear()
    if buf:
        out.write("".join(buf))
    if on_progress is not None:
        on_progress(consumed)
    stats.lines = lineno
    stats.trades = trades
    stats.traded_quantity = traded
    stats.outcomes = Counter({str(k): v for k, v in outcomes.items()})
    return stats
