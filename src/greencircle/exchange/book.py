"""The order-book interface: commands, results, result codes and the ``OrderBook`` protocol.

Two implementations stand behind :class:`OrderBook`:

* :class:`greencircle.exchange.book_reference.ReferenceBook` — small and obviously correct
  (sorted lists, linear scans); the specification in executable form.
* :class:`greencircle.exchange.book_fast.FastBook` — the production engine (price level →
  FIFO queue, heaps of prices with lazy deletion, order-id → record map).

Both are driven by the same shared test suite and a randomized differential test.

Units: prices are integer **ticks** (``price_ticks``; see :mod:`greencircle.exchange.prices`
for the decimal boundary, default tick 0.01 CNY), quantities are integer lots (1 t).

Semantics (continuous trading, price-time priority)
---------------------------------------------------
* A limit order matches while the best opposite price is at or better than its limit;
  within a level, resting orders fill first-in first-out; each trade prints at the
  **resting** (maker) order's price.
* ``GTC`` remainders rest; ``IOC`` remainders are cancelled; ``FOK`` orders fill completely
  at once or do nothing (code :attr:`Code.FOK_NOT_FILLABLE`, no side effect).
* Market orders take liquidity at any price and never rest (any ``tif`` other than ``FOK``
  behaves as ``IOC``; ``FOK`` market orders are all-or-nothing).
* Cancel of an unknown or finished order is a no-op reported as :attr:`Code.UNKNOWN_ORDER`.
* Amend (``quantity`` is the new *open* quantity): a decrease at an unchanged price keeps
  time priority; an increase, or any price change, loses it (the order re-enters at the
  back of its new level, and a new price may cross and trade as an aggressor).
* Self-trade prevention (:class:`STPMode`) is a per-book option, off by default; the
  service layer turns it on, replay mode leaves it off.

Expected outcomes are result codes (:class:`Code`) on a :class:`Result`, never exceptions.
``place(order_id, account, side, quantity, price_ticks, kind, tif)`` is ``submit`` without
building an :class:`Order` (the allocation-free entry used by replay and benchmarks). A
book is single-threaded: one writer per instrument.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = [
    "ACCEPTED_CODES",
    "Code",
    "Depth",
    "DepthLevel",
    "Fill",
    "Kind",
    "Order",
    "OrderBook",
    "RestingOrder",
    "Result",
    "STPMode",
    "Side",
    "TimeInForce",
]


class Side(StrEnum):
    """Order side."""

    BUY = "buy"
    SELL = "sell"


class Kind(StrEnum):
    """Order type."""

    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    """Time in force: good-till-cancelled, immediate-or-cancel, fill-or-kill."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class STPMode(StrEnum):
    """Self-trade prevention: what happens when an order would trade with its own account.

    ``NONE``
        Orders of the same account trade with each other (replay / back-testing).
    ``CANCEL_NEWEST``
        The incoming order's remainder is cancelled; fills before that point stand; the
        resting order is untouched. (The recommended default for the service layer.)
    ``CANCEL_OLDEST``
        The resting order is cancelled and matching continues with the next one.
    ``CANCEL_BOTH``
        Both the resting order and the incoming order's remainder are cancelled.
    ``DECREMENT``
        No trade; both are reduced by the smaller open quantity (the smaller one is
        therefore cancelled, equal ones both); the incoming order then continues.
    """

    NONE = "none"
    CANCEL_NEWEST = "cancel_newest"
    CANCEL_OLDEST = "cancel_oldest"
    CANCEL_BOTH = "cancel_both"
    DECREMENT = "decrement"


class Code(StrEnum):
    """Result codes of :meth:`OrderBook.submit`, :meth:`~OrderBook.cancel` and ``amend``.

    Accepted outcomes (see :data:`ACCEPTED_CODES`) change the book; the others are
    rejections that leave it exactly as it was.
    """

    #: The order (or its remainder) rests in the book; it may have traded first.
    RESTING = "resting"
    #: The order traded its whole quantity.
    FILLED = "filled"
    #: Submit: the IOC / market remainder was cancelled. Cancel: the order was cancelled.
    CANCELLED = "cancelled"
    #: Amend accepted; the order still rests (a re-priced order may have traded first).
    AMENDED = "amended"
    #: Self-trade prevention cancelled the incoming order's remainder.
    SELF_TRADE_PREVENTED = "self_trade_prevented"
    #: Rejections (no effect on the book).
    FOK_NOT_FILLABLE = "fok_not_fillable"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_PRICE = "invalid_price"
    UNKNOWN_ORDER = "unknown_order"
    INVALID_AMEND = "invalid_amend"

    @property
    def accepted(self) -> bool:
        """Whether the command was accepted (changed or could have changed the book)."""
        return self in ACCEPTED_CODES


ACCEPTED_CODES = frozenset(
    {Code.RESTING, Code.FILLED, Code.CANCELLED, Code.AMENDED, Code.SELF_TRADE_PREVENTED}
)


class Order(NamedTuple):
    """An incoming order (immutable command).

    Parameters
    ----------
    order_id
        Caller-chosen id; must not collide with a live (resting) order of the book.
    account
        Owning account (used by self-trade prevention only).
    side
        :class:`Side`.
    quantity
        Order quantity [lots], integer > 0.
    price_ticks
        Limit price [ticks], integer > 0; ``None`` for market orders.
    kind
        :class:`Kind` (default limit).
    tif
        :class:`TimeInForce` (default GTC).
    """

    order_id: str
    account: str
    side: Side
    quantity: int
    price_ticks: int | None = None
    kind: Kind = Kind.LIMIT
    tif: TimeInForce = TimeInForce.GTC


class Fill(NamedTuple):
    """One trade between an incoming (taker) order and a resting (maker) order.

    ``price_ticks`` is always the maker's price.
    """

    taker_order_id: str
    maker_order_id: str
    taker_side: Side
    price_ticks: int
    quantity: int
    taker_account: str
    maker_account: str

    @property
    def buy_order_id(self) -> str:
        """Id of the buying order."""
        return self.taker_order_id if self.taker_side is Side.BUY else self.maker_order_id

    @property
    def sell_order_id(self) -> str:
        """Id of the selling order."""
        return self.maker_order_id if self.taker_side is Side.BUY else self.taker_order_id


class Result(NamedTuple):
    """Outcome of a command.

    Attributes
    ----------
    code
        :class:`Code`.
    fills
        Trades in execution order (empty for rejections and cancels).
    filled_quantity
        Quantity the incoming / amended order traded in this command [lots].
    resting_quantity
        Quantity of the order left resting after the command [lots].
    cancelled_quantity
        Quantity of the order removed without trading in this command [lots]: an IOC or
        market remainder, an STP cancel or decrement, an explicit cancel, an amend
        decrease. Zero for rejections.
    stp_makers
        ``(order_id, quantity)`` of resting orders reduced or cancelled by self-trade
        prevention during this command, in the order it happened.
    """

    code: Code
    fills: Sequence[Fill] = ()
    filled_quantity: int = 0
    resting_quantity: int = 0
    cancelled_quantity: int = 0
    stp_makers: Sequence[tuple[str, int]] = ()


class RestingOrder(NamedTuple):
    """A view of an order resting in the book."""

    order_id: str
    account: str
    side: Side
    price_ticks: int
    quantity: int


class DepthLevel(NamedTuple):
    """Aggregated price level: price [ticks], total open quantity [lots], order count."""

    price_ticks: int
    quantity: int
    orders: int


class Depth(NamedTuple):
    """Depth snapshot: levels best first on each side."""

    bids: tuple[DepthLevel, ...]
    asks: tuple[DepthLevel, ...]


@runtime_checkable
class OrderBook(Protocol):
    """A continuous limit order book for one instrument (price-time priority)."""

    @property
    def stp_mode(self) -> STPMode:
        """The self-trade prevention mode of this book."""

    def submit(self, order: Order) -> Result:
        """Match ``order`` against the book, then rest, cancel or reject its remainder."""

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
        """:meth:`submit` of an order given by its fields, without building the
        :class:`Order` (the fast path)."""

    def cancel(self, order_id: str) -> Result:
        """Cancel a resting order (``UNKNOWN_ORDER`` for unknown or finished orders)."""

    def amend(
        self, order_id: str, *, price_ticks: int | None = None, quantity: int | None = None
    ) -> Result:
        """Change a resting order's price and/or open quantity (see module notes)."""

    def best_bid(self) -> int | None:
        """Best bid price [ticks], or ``None`` when there is no bid."""

    def best_ask(self) -> int | None:
        """Best ask price [ticks], or ``None`` when there is no ask."""

    def depth(self, levels: int | None = None) -> Depth:
        """Best ``levels`` price levels per side (all when ``None``)."""

    def resting(self, side: Side) -> list[RestingOrder]:
        """All resting orders of a side in priority order (best price, then oldest)."""

    def get(self, order_id: str) -> RestingOrder | None:
        """The resting order with this id, or ``None``."""

    def __len__(self) -> int:
        """Number of resting orders."""
