"""Fast order book: the production matching engine (pure Python).

Data structures
---------------
``_orders``
    order id → order record, a plain list ``[qty, order_id, account, price, is_buy, key]``
    (lists are the cheapest mutable record CPython can allocate and index).
``_bids`` / ``_asks``
    level key → level, a list ``[total_qty, fifo, dead, price]`` where ``fifo`` is a
    :class:`collections.deque` of order records in arrival order. The key is the price for
    asks and the negated price for bids, so "best" is the smallest key on both sides and
    one matching loop serves both.
``_bheap`` / ``_aheap``
    binary heaps of level keys with lazy deletion: a level removed from the dict stays in
    its heap until it reaches the top; ``_bin`` / ``_ain`` hold the keys present in each
    heap so that a price never enters its heap twice (heap size ≤ distinct prices).

Cancel is O(1): the record is dropped from ``_orders``, its quantity is set to 0 and the
level total is reduced; a dead record is skipped (and popped) when it reaches the head of
its FIFO, and a level whose dead records outnumber the live ones is compacted. A level whose
total reaches 0 is removed from its dict at once.

Complexity: submit O(log L + F) (L levels, F fills), cancel O(1) amortised, amend O(1) for
a size decrease and as cancel + submit otherwise, best bid/ask O(1) amortised.

Semantics are defined by :mod:`greencircle.exchange.book` and
:mod:`greencircle.exchange.book_reference`; the differential tests hold this module to them.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop, heappush, nsmallest
from typing import Any

from greencircle.exchange.book import (
    Code,
    Depth,
    DepthLevel,
    Fill,
    Kind,
    Order,
    RestingOrder,
    Result,
    Side,
    STPMode,
    TimeInForce,
)

__all__ = ["FastBook"]

_tnew = tuple.__new__
_EMPTY: tuple[Any, ...] = ()
_INF = 1 << 200  # a level key above any price: market orders' limit

_BUY = Side.BUY
_SELL = Side.SELL
_LIMIT = Kind.LIMIT
_MARKET = Kind.MARKET
_GTC = TimeInForce.GTC
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK

_RESTING = Code.RESTING
_FILLED = Code.FILLED
_CANCELLED = Code.CANCELLED
_AMENDED = Code.AMENDED
_STP = Code.SELF_TRADE_PREVENTED

_R_UNKNOWN = Result(Code.UNKNOWN_ORDER)
_R_INVALID_QTY = Result(Code.INVALID_QUANTITY)
_R_INVALID_PRICE = Result(Code.INVALID_PRICE)
_R_DUPLICATE = Result(Code.DUPLICATE_ORDER_ID)
_R_FOK = Result(Code.FOK_NOT_FILLABLE)
_R_INVALID_AMEND = Result(Code.INVALID_AMEND)

#: Compact a level's FIFO when it holds more than this many dead records and they are
#: the majority.
_COMPACT_MIN_DEAD = 32


class FastBook:
    """Heap-of-levels + FIFO-deque order book (see module docstring).

    Parameters
    ----------
    stp_mode
        Self-trade prevention mode (default off).
    """

    __slots__ = ("_aheap", "_ain", "_asks", "_bheap", "_bids", "_bin", "_orders", "_stp", "_stp_on")

    def __init__(self, stp_mode: STPMode = STPMode.NONE) -> None:
        self._stp = STPMode(stp_mode)
        self._stp_on = self._stp is not STPMode.NONE
        self._orders: dict[str, list[Any]] = {}
        self._bids: dict[int, list[Any]] = {}
        self._asks: dict[int, list[Any]] = {}
        self._bheap: list[int] = []
        self._aheap: list[int] = []
        self._bin: set[int] = set()
        self._ain: set[int] = set()

    @property
    def stp_mode(self) -> STPMode:
        return self._stp

    # -- commands -----------------------------------------------------------------------

    def submit(self, order: Order) -> Result:
        return self.place(*order)

    def place(
        self,
        order_id: str,
        account: str,
        side: Side,
        quantity: int,
        price_ticks: int | None = None,
        kind: Kind = _LIMIT,
        tif: TimeInForce = _GTC,
    ) -> Result:
        oid, qty, price = order_id, quantity, price_ticks
        if type(qty) is not int or qty <= 0:
            return _R_INVALID_QTY
        if kind is not _LIMIT and kind is not _MARKET:
            kind = Kind(kind)
        if kind is _LIMIT:
            if type(price) is not int or price <= 0:
                return _R_INVALID_PRICE
        elif price is not None:
            return _R_INVALID_PRICE
        if oid in self._orders:
            return _R_DUPLICATE
        if side is _BUY:
            is_buy = True
        elif side is _SELL:
            is_buy = False
        else:
            side = Side(side)
            is_buy = side is _BUY
        if tif is _GTC:
            rests = kind is _LIMIT
        elif tif is _IOC:
            rests = False
        else:
            tif = TimeInForce(tif)
            rests = tif is _GTC and kind is _LIMIT
            if tif is _FOK and not self._fok_fillable(account, is_buy, qty, price):
                return _R_FOK
        # -- match (inlined: this is the hot path)
        if is_buy:
            levels = self._asks
            heap = self._aheap
            inheap = self._ain
            lim_key = _INF if price is None else price
        else:
            levels = self._bids
            heap = self._bheap
            inheap = self._bin
            lim_key = _INF if price is None else -price
        orders = self._orders
        remaining = qty
        fills: list[Fill] = []
        stp_cancelled = 0
        stp_makers: list[tuple[str, int]] | tuple[()] = _EMPTY
        stopped = False
        stp_on = self._stp_on
        while heap:
            key = heap[0]
            if key > lim_key:
                break
            lvl = levels.get(key)
            if lvl is None:  # stale heap entry
                heappop(heap)
                inheap.discard(key)
                continue
            fifo = lvl[1]
            px = lvl[3]
            level_gone = False
            while True:
                rec = fifo[0]
                mq = rec[0]
                if not mq:  # dead (cancelled / amended away)
                    fifo.popleft()
                    lvl[2] -= 1
                    continue
                if stp_on and rec[2] == account:
                    mode = self._stp
                    if mode is STPMode.CANCEL_NEWEST:
                        stopped = True
                        break
                    dec = mq if mode is not STPMode.DECREMENT or mq <= remaining else remaining
                    if not stp_makers:
                        stp_makers = []
                    stp_makers.append((rec[1], dec))
                    if dec == mq:
                        fifo.popleft()
                        del orders[rec[1]]
                    else:
                        rec[0] = mq - dec
                    t = lvl[0] - dec
                    if t == 0:
                        del levels[key]
                        heappop(heap)
                        inheap.discard(key)
                        level_gone = True
                    else:
                        lvl[0] = t
                    if mode is STPMode.CANCEL_BOTH:
                        stopped = True
                        break
                    if mode is STPMode.DECREMENT:
                        remaining -= dec
                        stp_cancelled += dec
                        if not remaining:
                            stopped = True
                            break
                    if level_gone:
                        break
                    continue
                if mq > remaining:
                    rec[0] = mq - remaining
                    lvl[0] -= remaining
                    fills.append(_tnew(Fill, (oid, rec[1], side, px, remaining, account, rec[2])))
                    remaining = 0
                    break
                fifo.popleft()
                del orders[rec[1]]
                fills.append(_tnew(Fill, (oid, rec[1], side, px, mq, account, rec[2])))
                remaining -= mq
                t = lvl[0] - mq
                if t == 0:
                    del levels[key]
                    heappop(heap)
                    inheap.discard(key)
                    break
                lvl[0] = t
                if not remaining:
                    break
            if stopped or not remaining:
                break
        filled = qty - remaining - stp_cancelled
        if stopped:
            stp_cancelled += remaining
            return _tnew(Result, (_STP, fills, filled, 0, stp_cancelled, stp_makers))
        if not remaining:
            return _tnew(Result, (_FILLED, fills, filled, 0, stp_cancelled, stp_makers))
        if not rests:
            return _tnew(
                Result, (_CANCELLED, fills, filled, 0, stp_cancelled + remaining, stp_makers)
            )
        assert price is not None
        if is_buy:
            own = self._bids
            key = -price
        else:
            own = self._asks
            key = price
        rec = [remaining, oid, account, price, is_buy, key]
        lvl = own.get(key)
        if lvl is None:
            own[key] = [remaining, deque((rec,)), 0, price]
            if is_buy:
                if key not in self._bin:
                    self._bin.add(key)
                    heappush(self._bheap, key)
            elif key not in self._ain:
                self._ain.add(key)
                heappush(self._aheap, key)
        else:
            lvl[0] += remaining
            lvl[1].append(rec)
        orders[oid] = rec
        return _tnew(Result, (_RESTING, fills, filled, remaining, stp_cancelled, stp_makers))

    def cancel(self, order_id: str) -> Result:
        rec = self._orders.pop(order_id, None)
        if rec is None:
            return _R_UNKNOWN
        q = rec[0]
        # inlined _unlink (hot path)
        levels = self._bids if rec[4] else self._asks
        key = rec[5]
        lvl = levels[key]
        t = lvl[0] - q
        if t == 0:
            del levels[key]  # its heap entry is deleted lazily
        else:
            lvl[0] = t
            rec[0] = 0
            dead = lvl[2] + 1
            fifo = lvl[1]
            if dead > _COMPACT_MIN_DEAD and dead > len(fifo) >> 1:
                lvl[1] = deque([r for r in fifo if r[0]])
                dead = 0
            lvl[2] = dead
        return _tnew(Result, (_CANCELLED, _EMPTY, 0, 0, q, _EMPTY))

    def amend(
        self, order_id: str, *, price_ticks: int | None = None, quantity: int | None = None
    ) -> Result:
        rec = self._orders.get(order_id)
        if rec is None:
            return _R_UNKNOWN
        if price_ticks is None and quantity is None:
            return _R_INVALID_AMEND
        if quantity is not None and (type(quantity) is not int or quantity <= 0):
            return _R_INVALID_AMEND
        if price_ticks is not None and (type(price_ticks) is not int or price_ticks <= 0):
            return _R_INVALID_PRICE
        old_q = rec[0]
        old_p = rec[3]
        new_p = old_p if price_ticks is None else price_ticks
        new_q = old_q if quantity is None else quantity
        decrease = old_q - new_q if new_q < old_q else 0
        if new_p == old_p and new_q <= old_q:
            if decrease:  # in place: keeps time priority
                rec[0] = new_q
                (self._bids if rec[4] else self._asks)[rec[5]][0] -= decrease
            return _tnew(Result, (_AMENDED, _EMPTY, 0, new_q, decrease, _EMPTY))
        # loses priority: leave the book and re-enter as a new GTC limit order
        del self._orders[order_id]
        self._unlink(rec)
        res = self.place(order_id, rec[2], _BUY if rec[4] else _SELL, new_q, new_p)
        code, fills, filled, resting, cancelled, stp_makers = res
        if code is not _RESTING and not decrease:
            return res
        if code is _RESTING:
            code = _AMENDED
        return _tnew(Result, (code, fills, filled, resting, cancelled + decrease, stp_makers))

    # -- internals ----------------------------------------------------------------------

    def _unlink(self, rec: list[Any]) -> None:
        """Take a record (already removed from ``_orders``) out of its level."""
        levels = self._bids if rec[4] else self._asks
        key = rec[5]
        lvl = levels[key]
        t = lvl[0] - rec[0]
        if t == 0:
            del levels[key]  # its heap entry is deleted lazily
            return
        lvl[0] = t
        rec[0] = 0
        dead = lvl[2] + 1
        fifo = lvl[1]
        if dead > _COMPACT_MIN_DEAD and dead > len(fifo) >> 1:
            lvl[1] = deque([r for r in fifo if r[0]])
            dead = 0
        lvl[2] = dead

    def _fok_fillable(self, account: str, is_buy: bool, qty: int, limit: int | None) -> bool:
        if is_buy:
            levels = self._asks
            lim_key = _INF if limit is None else limit
        else:
            levels = self._bids
            lim_key = _INF if limit is None else -limit
        total = 0
        if not self._stp_on:
            for key, lvl in levels.items():  # order does not matter for a sum
                if key <= lim_key:
                    total += lvl[0]
                    if total >= qty:
                        return True
            return False
        skip_own = self._stp is STPMode.CANCEL_OLDEST
        for key in sorted(k for k in levels if k <= lim_key):
            for rec in levels[key][1]:
                mq = rec[0]
                if not mq:
                    continue
                if rec[2] == account:
                    if skip_own:
                        continue
                    return False
                total += mq
                if total >= qty:
                    return True
        return False

    # -- queries ------------------------------------------------------------------------

    @staticmethod
    def _top(heap: list[int], levels: dict[int, list[Any]], inheap: set[int]) -> int | None:
        while heap:
            k = heap[0]
            if k in levels:
                return k
            heappop(heap)
            inheap.discard(k)
        return None

    def best_bid(self) -> int | None:
        k = self._top(self._bheap, self._bids, self._bin)
        return None if k is None else -k

    def best_ask(self) -> int | None:
        return self._top(self._aheap, self._asks, self._ain)

    @staticmethod
    def _depth(levels: dict[int, list[Any]], n: int | None) -> tuple[DepthLevel, ...]:
        keys = sorted(levels) if n is None else nsmallest(n, levels)
        return tuple(
            DepthLevel(lvl[3], lvl[0], len(lvl[1]) - lvl[2])
            for lvl in map(levels.__getitem__, keys)
        )

    def depth(self, levels: int | None = None) -> Depth:
        return Depth(self._depth(self._bids, levels), self._depth(self._asks, levels))

    def resting(self, side: Side) -> list[RestingOrder]:
        side = Side(side)
        levels = self._bids if side is _BUY else self._asks
        return [
            RestingOrder(rec[1], rec[2], side, rec[3], rec[0])
            for key in sorted(levels)
            for rec in levels[key][1]
            if rec[0]
        ]

    def get(self, order_id: str) -> RestingOrder | None:
        rec = self._orders.get(order_id)
        if rec is None:
            return None
        return RestingOrder(rec[1], rec[2], _BUY if rec[4] else _SELL, rec[3], rec[0])

    def __len__(self) -> int:
        return len(self._orders)
