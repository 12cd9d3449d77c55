"""Reference order book: the specification, written to be read, not to be fast.

Each side is one Python list of resting orders kept sorted by priority (price best first,
then arrival sequence). Matching always looks at element 0 of the opposite list; resting
re-sorts the list; cancel is a linear search. Every operation is O(n) in the number of
resting orders, which is fine for tests and small books. :mod:`book_fast` must produce
exactly the same fills, results and book state on any command stream (checked by the
differential tests).
"""

from __future__ import annotations

from dataclasses import dataclass

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

__all__ = ["ReferenceBook"]


@dataclass
class _Resting:
    order_id: str
    account: str
    side: Side
    price: int
    quantity: int
    seq: int


class ReferenceBook:
    """Sorted-list order book (see module docstring).

    Parameters
    ----------
    stp_mode
        Self-trade prevention mode (default off).
    """

    def __init__(self, stp_mode: STPMode = STPMode.NONE) -> None:
        self._stp = STPMode(stp_mode)
        self._book: dict[Side, list[_Resting]] = {Side.BUY: [], Side.SELL: []}
        self._seq = 0

    @property
    def stp_mode(self) -> STPMode:
        return self._stp

    # -- helpers ------------------------------------------------------------------------

    def _find(self, order_id: str) -> _Resting | None:
        for side in (Side.BUY, Side.SELL):
            for r in self._book[side]:
                if r.order_id == order_id:
                    return r
        return None

    def _rest(self, order_id: str, account: str, side: Side, price: int, quantity: int) -> None:
        self._seq += 1
        orders = self._book[side]
        orders.append(_Resting(order_id, account, side, price, quantity, self._seq))
        if side is Side.BUY:
            orders.sort(key=lambda r: (-r.price, r.seq))
        else:
            orders.sort(key=lambda r: (r.price, r.seq))

    @staticmethod
    def _crosses(side: Side, limit: int | None, maker_price: int) -> bool:
        if limit is None:
            return True
        return maker_price <= limit if side is Side.BUY else maker_price >= limit

    def _fok_fillable(self, side: Side, account: str, limit: int | None, quantity: int) -> bool:
        available = 0
        opposite = Side.SELL if side is Side.BUY else Side.BUY
        for maker in self._book[opposite]:
            if not self._crosses(side, limit, maker.price):
                break
            if self._stp is not STPMode.NONE and maker.account == account:
                if self._stp is STPMode.CANCEL_OLDEST:
                    continue
                break
            available += maker.quantity
            if available >= quantity:
                return True
        return available >= quantity

    def _execute(
        self, order_id: str, account: str, side: Side, quantity: int, limit: int | None
    ) -> tuple[list[Fill], int, int, list[tuple[str, int]], bool]:
        """Match; return fills, remaining, STP-cancelled own quantity, STP makers, stopped."""
        opposite = self._book[Side.SELL if side is Side.BUY else Side.BUY]
        fills: list[Fill] = []
        stp_makers: list[tuple[str, int]] = []
        remaining = quantity
        stp_cancelled = 0
        while remaining > 0 and opposite and self._crosses(side, limit, opposite[0].price):
            maker = opposite[0]
            if self._stp is not STPMode.NONE and maker.account == account:
                if self._stp is STPMode.CANCEL_NEWEST:
                    return fills, 0, stp_cancelled + remaining, stp_makers, True
                if self._stp is STPMode.CANCEL_OLDEST:
                    stp_makers.append((maker.order_id, maker.quantity))
                    opposite.pop(0)
                    continue
                if self._stp is STPMode.CANCEL_BOTH:
                    stp_makers.append((maker.order_id, maker.quantity))
                    opposite.pop(0)
                    return fills, 0, stp_cancelled + remaining, stp_makers, True
                # DECREMENT
                dec = min(remaining, maker.quantity)
                stp_makers.append((maker.order_id, dec))
                maker.quantity -= dec
                if maker.quantity == 0:
                    opposite.pop(0)
                remaining -= dec
                stp_cancelled += dec
                if remaining == 0:
                    return fills, 0, stp_cancelled, stp_makers, True
                continue
            q = min(remaining, maker.quantity)
            fills.append(
                Fill(order_id, maker.order_id, side, maker.price, q, account, maker.account)
            )
            maker.quantity -= q
            remaining -= q
            if maker.quantity == 0:
                opposite.pop(0)
        return fills, remaining, stp_cancelled, stp_makers, False

    def _enter(
        self,
        order_id: str,
        account: str,
        side: Side,
        quantity: int,
        limit: int | None,
        rests: bool,
        resting_code: Code,
    ) -> Result:
        fills, remaining, stp_cancelled, stp_makers, stopped = self._execute(
            order_id, account, side, quantity, limit
        )
        filled = sum(f.quantity for f in fills)
        if stopped:  # self-trade prevention removed the rest of the incoming order
            return Result(Code.SELF_TRADE_PREVENTED, fills, filled, 0, stp_cancelled, stp_makers)
        if remaining == 0:
            return Result(Code.FILLED, fills, filled, 0, stp_cancelled, stp_makers)
        if rests:
            assert limit is not None
            self._rest(order_id, account, side, limit, remaining)
            return Result(resting_code, fills, filled, remaining, stp_cancelled, stp_makers)
        return Result(Code.CANCELLED, fills, filled, 0, stp_cancelled + remaining, stp_makers)

    # -- commands -----------------------------------------------------------------------

    def submit(self, order: Order) -> Result:
        side, kind, tif = Side(order.side), Kind(order.kind), TimeInForce(order.tif)
        if type(order.quantity) is not int or order.quantity <= 0:
            return Result(Code.INVALID_QUANTITY)
        if kind is Kind.LIMIT:
            if type(order.price_ticks) is not int or order.price_ticks <= 0:
                return Result(Code.INVALID_PRICE)
            limit: int | None = order.price_ticks
        elif order.price_ticks is not None:
            return Result(Code.INVALID_PRICE)
        else:
            limit = None
        if self._find(order.order_id) is not None:
            return Result(Code.DUPLICATE_ORDER_ID)
        if tif is TimeInForce.FOK and not self._fok_fillable(
            side, order.account, limit, order.quantity
        ):
            return Result(Code.FOK_NOT_FILLABLE)
        rests = kind is Kind.LIMIT and tif is TimeInForce.GTC
        return self._enter(
            order.order_id, order.account, side, order.quantity, limit, rests, Code.RESTING
        )

    def place(
        self,
        order_id: str,
        account: str,
        side: Side,
        quantity: int,
        price_ticks: int | None = None,
        kind: Kind = Kind.LIMIT,
        tif: TimeInForce = TimeInForce.GTC,
    ) -> Result:
        return self.submit(Order(order_id, account, side, quantity, price_ticks, kind, tif))

    def cancel(self, order_id: str) -> Result:
        r = self._find(order_id)
        if r is None:
            return Result(Code.UNKNOWN_ORDER)
        self._book[r.side].remove(r)
        return Result(Code.CANCELLED, cancelled_quantity=r.quantity)

    def amend(
        self, order_id: str, *, price_ticks: int | None = None, quantity: int | None = None
    ) -> Result:
        r = self._find(order_id)
        if r is None:
            return Result(Code.UNKNOWN_ORDER)
        if price_ticks is None and quantity is None:
            return Result(Code.INVALID_AMEND)
        if quantity is not None and (type(quantity) is not int or quantity <= 0):
            return Result(Code.INVALID_AMEND)
        if price_ticks is not None and (type(price_ticks) is not int or price_ticks <= 0):
            return Result(Code.INVALID_PRICE)
        new_price = r.price if price_ticks is None else price_ticks
        new_qty = r.quantity if quantity is None else quantity
        decrease = max(0, r.quantity - new_qty)
        if new_price == r.price and new_qty <= r.quantity:
            r.quantity = new_qty  # keeps its place in the queue
            return Result(Code.AMENDED, (), 0, new_qty, decrease)
        # loses priority: leave the book, re-enter as a new GTC limit order
        self._book[r.side].remove(r)
        res = self._enter(r.order_id, r.account, r.side, new_qty, new_price, True, Code.AMENDED)
        return res._replace(cancelled_quantity=res.cancelled_quantity + decrease)

    # -- queries ------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        bids = self._book[Side.BUY]
        return bids[0].price if bids else None

    def best_ask(self) -> int | None:
        asks = self._book[Side.SELL]
        return asks[0].price if asks else None

    def _levels(self, side: Side, n: int | None) -> tuple[DepthLevel, ...]:
        out: list[DepthLevel] = []
        for r in self._book[side]:
            if out and out[-1].price_ticks == r.price:
                last = out[-1]
                out[-1] = DepthLevel(r.price, last.quantity + r.quantity, last.orders + 1)
            else:
                if n is not None and len(out) == n:
                    break
                out.append(DepthLevel(r.price, r.quantity, 1))
        return tuple(out)

    def depth(self, levels: int | None = None) -> Depth:
        return Depth(self._levels(Side.BUY, levels), self._levels(Side.SELL, levels))

    def resting(self, side: Side) -> list[RestingOrder]:
        return [
            RestingOrder(r.order_id, r.account, r.side, r.price, r.quantity)
            for r in self._book[Side(side)]
        ]

    def get(self, order_id: str) -> RestingOrder | None:
        r = self._find(order_id)
        if r is None:
            return None
        return RestingOrder(r.order_id, r.account, r.side, r.price, r.quantity)

    def __len__(self) -> int:
        return len(self._book[Side.BUY]) + len(self._book[Side.SELL])
