"""Errors of the exchange domain (expected failures at the boundary).

Inside the matching engine, expected outcomes are result codes
(:class:`greencircle.exchange.book.Code`), never exceptions; these errors are raised only
where a caller asked for an exception (``PriceScale.to_ticks``) or by whole-file tools
(``greencircle exchange replay``).
"""

from __future__ import annotations

from greencircle.errors import Invalid

__all__ = ["PriceInvalid", "ReplayFileUnreadable", "ReplayInputInvalid"]


class PriceInvalid(Invalid):
    """A price is malformed, not positive, or not a multiple of the tick."""

    code = "exchange.price_invalid"


class ReplayInputInvalid(Invalid):
    """A line of a replay ORDERS file is not a valid event (``detail`` names the line)."""

    code = "exchange.replay_line_invalid"


class ReplayFileUnreadable(Invalid):
    """The replay ORDERS file cannot be read, or the TRADES file cannot be written."""

    code = "exchange.replay_file_unreadable"
