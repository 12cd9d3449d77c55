"""Exchange: continuous order book (price-time priority), prices in integer ticks.

The pure core lives here: :mod:`~greencircle.exchange.book` (interface, result codes),
:mod:`~greencircle.exchange.book_reference` (readable reference),
:mod:`~greencircle.exchange.book_fast` (production engine),
:mod:`~greencircle.exchange.prices` (decimal ↔ ticks) and
:mod:`~greencircle.exchange.replay` (the ``greencircle exchange replay`` contract).
"""

from __future__ import annotations

from greencircle.exchange.book import (
    ACCEPTED_CODES,
    Code,
    Depth,
    DepthLevel,
    Fill,
    Kind,
    Order,
    OrderBook,
    RestingOrder,
    Result,
    Side,
    STPMode,
    TimeInForce,
)
from greencircle.exchange.book_fast import FastBook
from greencircle.exchange.book_reference import ReferenceBook
from greencircle.exchange.prices import CNY_TICK, PriceCode, PriceScale

__all__ = [
    "ACCEPTED_CODES",
    "CNY_TICK",
    "Code",
    "Depth",
    "DepthLevel",
    "FastBook",
    "Fill",
    "Kind",
    "Order",
    "OrderBook",
    "PriceCode",
    "PriceScale",
    "ReferenceBook",
    "RestingOrder",
    "Result",
    "STPMode",
    "Side",
    "TimeInForce",
    "make_book",
]


def make_book(engine: str = "fast", stp_mode: STPMode = STPMode.NONE) -> OrderBook:
    """A new empty book: ``engine`` is ``"fast"`` (default) or ``"reference"``."""
    if engine == "fast":
        return FastBook(stp_mode)
    if engine == "reference":
        return ReferenceBook(stp_mode)
    raise ValueError(f"unknown engine {engine!r} (fast, reference)")
