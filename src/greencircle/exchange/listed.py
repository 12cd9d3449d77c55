"""Listed agreement (挂牌协议) and block agreement (大宗协议) trading rules (pure).

**Listed agreement**: participants post listings on either side; a taker picks one
listing among the best five opposing price levels and trades at that listing's price,
possibly for part of it. Listing prices must lie within the band around the previous
close (±10 % on the national market). The day's close is the volume-weighted average
price of the listed trades (the previous close when there were none).

**Block agreement**: bilateral trades proposed by one side and confirmed by the other,
at or above the block minimum quantity (100,000 t nationally) and within the wider block
band (±30 %, status ``recall``); they do not set the close.

Figures come from the market's rule data (``../shared/reference/README.md`` §3); this
module takes them as parameters. Outcomes are result codes, not exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

VISIBLE_LEVELS = 5


class ListedCode(StrEnum):
    """Result codes of listed and block trading."""

    OK = "ok"
    OUT_OF_BAND = "exchange.out_of_band"
    NOT_IN_BEST_LEVELS = "exchange.not_in_best_levels"
    UNKNOWN_LISTING = "exchange.unknown_listing"
    SELF_TRADE = "exchange.self_trade"
    INVALID_QUANTITY = "exchange.invalid_quantity"
    BELOW_BLOCK_MINIMUM = "exchange.below_block_minimum"
    ABOVE_LISTED_MAXIMUM = "exchange.above_listed_maximum"


def within_band(price_ticks: int, previous_close_ticks: int | None, band_bp: int) -> bool:
    """Whether a price lies within ``band_bp`` basis points of the previous close.

    With no previous close (first day) every positive price is accepted. The band is
    inclusive and computed exactly in integers: ``|p - c| * 10000 <= c * band_bp``.
    """
    if previous_close_ticks is None:
        return price_ticks > 0
    return abs(price_ticks - previous_close_ticks) * 10_000 <= previous_close_ticks * band_bp


@dataclass(slots=True)
class Listing:
    """A posted listing; ``quantity`` is what remains."""

    listing_id: str
    account: str
    side: str  # "buy" | "sell"
    price_ticks: int
    quantity: int
    seq: int


@dataclass(frozen=True, slots=True)
class ListedFill:
    """A listed-agreement trade at the listing's price."""

    listing_id: str
    maker_account: str
    taker_account: str
    maker_side: str
    price_ticks: int
    quantity: int


class ListedBoard:
    """The listings of one instrument, with the best-five-levels rule."""

    def __init__(
        self, previous_close_ticks: int | None, band_bp: int = 1000, max_quantity: int | None = None
    ) -> None:
        self.previous_close_ticks = previous_close_ticks
        self.band_bp = band_bp
        self.max_quantity = max_quantity
        self.listings: dict[str, Listing] = {}
        self.trades: list[ListedFill] = []
        self._seq = 0

    def post(
        self, listing_id: str, account: str, side: str, price_ticks: int, quantity: int
    ) -> ListedCode:
        """Post a listing (band and size checked)."""
        if quantity <= 0 or side not in {"buy", "sell"} or listing_id in self.listings:
            return ListedCode.INVALID_QUANTITY
        if self.max_quantity is not None and quantity >= self.max_quantity:
            return ListedCode.ABOVE_LISTED_MAXIMUM
        if not within_band(price_ticks, self.previous_close_ticks, self.band_bp):
            return ListedCode.OUT_OF_BAND
        self._seq += 1
        self.listings[listing_id] = Listing(
            listing_id, account, side, price_ticks, quantity, self._seq
        )
        return ListedCode.OK

    def withdraw(self, listing_id: str) -> ListedCode:
        """Withdraw what remains of a listing."""
        return ListedCode.OK if self.listings.pop(listing_id, None) else ListedCode.UNKNOWN_LISTING

    def levels(self, side: str, n: int = VISIBLE_LEVELS) -> list[int]:
        """The best ``n`` distinct price levels of one side (sells ascending, buys descending)."""
        prices = {x.price_ticks for x in self.listings.values() if x.side == side}
        return sorted(prices, reverse=side == "buy")[:n]

    def visible(self, side: str) -> list[Listing]:
        """Listings a taker may pick on ``side``: those in the best five price levels."""
        best = set(self.levels(side))
        rows = [x for x in self.listings.values() if x.side == side and x.price_ticks in best]
        return sorted(
            rows, key=lambda x: ((-x.price_ticks if side == "buy" else x.price_ticks), x.seq)
        )

    def take(
        self, listing_id: str, taker_account: str, quantity: int
    ) -> tuple[ListedCode, ListedFill | None]:
        """Trade against one listing at its price, if it is among the best five levels."""
        listing = self.listings.get(listing_id)
        if listing is None:
            return ListedCode.UNKNOWN_LISTING, None
        if quantity <= 0 or quantity > listing.quantity:
            return ListedCode.INVALID_QUANTITY, None
        if listing.account == taker_account:
            return ListedCode.SELF_TRADE, None
        if listing.price_ticks not in self.levels(listing.side):
            return ListedCode.NOT_IN_BEST_LEVELS, None
        fill = ListedFill(
            listing.listing_id,
            listing.account,
            taker_account,
            listing.side,
            listing.price_ticks,
            quantity,
        )
        listing.quantity -= quantity
        if listing.quantity == 0:
            del self.listings[listing_id]
        self.trades.append(fill)
        return ListedCode.OK, fill

    def close_price(self) -> int | None:
        """VWAP of the day's listed trades in ticks (half-up), else the previous close."""
        return closing_price(self.trades, self.previous_close_ticks)


def closing_price(trades: Iterable[ListedFill], previous_close_ticks: int | None) -> int | None:
    """Volume-weighted average price of ``trades``, rounded half up to a tick."""
    volume = notional = 0
    for t in trades:
        volume += t.quantity
        notional += t.quantity * t.price_ticks
    if volume == 0:
        return previous_close_ticks
    return (2 * notional + volume) // (2 * volume)


def check_block_trade(
    price_ticks: int,
    quantity: int,
    previous_close_ticks: int | None,
    *,
    band_bp: int = 3000,
    minimum_quantity: int = 100_000,
) -> ListedCode:
    """Validate a proposed block agreement trade (minimum size, wider band)."""
    if quantity < minimum_quantity:
        return ListedCode.BELOW_BLOCK_MINIMUM
    if not within_band(price_ticks, previous_close_ticks, band_bp):
        return ListedCode.OUT_OF_BAND
    return ListedCode.OK
