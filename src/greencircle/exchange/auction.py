"""Auctions (pure): one-way sealed-bid auctions and two-sided call auctions.

Prices are integer ticks and quantities integer lots, as in the continuous book; nothing
here touches funds or the database (the service layer reserves and settles).

**One-way sealed-bid auction** (an authority sells allowances, or buys them back): bids at
or better than the reserve price are ranked by price, then submission order; each
bidder's allocation is capped; the stack is filled until the offered quantity is gone.
Bids at the marginal price share what is left pro rata (largest remainder, ties to the
earlier bid). Uniform pricing charges everyone the marginal accepted price; pay-as-bid
charges each bid its own price.

**Call auction** (periodic uniform-price clearing, e.g. pollutant-discharge rights): the
clearing price maximises executed volume; ties are broken by the smallest imbalance, then
by the price nearest the reference price, then by the lower price. At that price every
buy above it and sell below it executes in full; orders at the price execute in time
priority on the side with more volume.

References
----------
.. [1] EU Auctioning Regulation 1031/2010, Art. 7 (uniform price, pro-rata ties) — used
   here as the conventional design; China's one-way auctions publish their own rules.
.. [2] Euronext / SSE call-auction price determination: maximum volume, minimum
   imbalance, reference price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Pricing(StrEnum):
    """How winners pay in a one-way auction."""

    UNIFORM = "uniform"
    PAY_AS_BID = "pay_as_bid"


class AuctionSide(StrEnum):
    """``sell``: the authority sells, bidders buy (higher is better); ``buy``: buy-back."""

    SELL = "sell"
    BUY = "buy"


@dataclass(frozen=True, slots=True)
class Bid:
    """A sealed bid: ``seq`` is the submission order (earlier wins ties)."""

    bid_id: str
    bidder: str
    price_ticks: int
    quantity: int
    seq: int


@dataclass(frozen=True, slots=True)
class Award:
    """What one bid won and the price it pays (or is paid) per unit [ticks]."""

    bid_id: str
    bidder: str
    quantity: int
    price_ticks: int


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """Outcome of a one-way auction."""

    awards: tuple[Award, ...]
    clearing_price_ticks: int | None
    sold: int
    unsold: int
    rejected_below_reserve: tuple[str, ...]


def one_way_auction(
    bids: Sequence[Bid],
    quantity: int,
    reserve_price_ticks: int,
    *,
    pricing: Pricing = Pricing.UNIFORM,
    bidder_cap: int | None = None,
    side: AuctionSide = AuctionSide.SELL,
) -> AuctionResult:
    """Clear a one-way sealed-bid auction.

    Parameters
    ----------
    bids
        Sealed bids (positive quantities and prices).
    quantity
        Units offered (``side=sell``) or wanted (``side=buy``) by the authority [lots].
    reserve_price_ticks
        Lowest acceptable bid when selling; highest acceptable offer when buying back.
    pricing
        Uniform (marginal accepted price) or pay-as-bid.
    bidder_cap
        Most units one bidder may win, over all its bids [lots].
    side
        ``sell`` (bidders buy; higher prices rank first) or ``buy`` (buy-back; lower first).

    Returns
    -------
    AuctionResult
        Awards in ranking order, the clearing price (``None`` if nothing sold), sold and
        unsold quantities, and bids rejected for failing the reserve.
    """
    if quantity < 0 or (bidder_cap is not None and bidder_cap < 0):
        raise ValueError("quantity and bidder_cap must be non-negative")
    sign = -1 if side is AuctionSide.SELL else 1
    ok = [b for b in bids if sign * b.price_ticks <= sign * reserve_price_ticks]
    ok_ids = {b.bid_id for b in ok}
    rejected = tuple(b.bid_id for b in bids if b.bid_id not in ok_ids)
    ranked = sorted(ok, key=lambda b: (sign * b.price_ticks, b.seq))
    # Effective demand of each bid after the bidder's cap, in ranking order.
    used: dict[str, int] = {}
    demand: list[tuple[Bid, int]] = []
    for b in ranked:
        room = b.quantity if bidder_cap is None else max(0, bidder_cap - used.get(b.bidder, 0))
        take = min(b.quantity, room)
        used[b.bidder] = used.get(b.bidder, 0) + take
        if take > 0:
            demand.append((b, take))
    left = quantity
    won: dict[str, int] = {}
    i = 0
    while i < len(demand) and left > 0:
        price = demand[i][0].price_ticks
        group = []
        while i < len(demand) and demand[i][0].price_ticks == price:
            group.append(demand[i])
            i += 1
        want = sum(q for _, q in group)
        if want <= left:
            for b, q in group:
                won[b.bid_id] = q
            left -= want
        else:  # marginal price: pro rata, largest remainder, earlier bid first
            shares = [(b, q * left // want, (q * left) % want) for b, q in group]
            rest = left - sum(s for _, s, _ in shares)
            order = sorted(range(len(shares)), key=lambda k: (-shares[k][2], shares[k][0].seq))
            extra = set(order[:rest])
            for k, (b, s, _r) in enumerate(shares):
                won[b.bid_id] = s + (1 if k in extra else 0)
            left = 0
    winners = [(b, won[b.bid_id]) for b, _ in demand if won.get(b.bid_id)]
    clearing = winners[-1][0].price_ticks if winners else None
    awards = tuple(
        Award(
            b.bid_id,
            b.bidder,
            q,
            clearing if pricing is Pricing.UNIFORM and clearing is not None else b.price_ticks,
        )
        for b, q in winners
    )
    sold = quantity - left
    return AuctionResult(awards, clearing, sold, left, rejected)


@dataclass(frozen=True, slots=True)
class CallOrder:
    """A limit order in a call auction (``seq`` = time priority)."""

    order_id: str
    account: str
    side: str  # "buy" | "sell"
    price_ticks: int
    quantity: int
    seq: int


@dataclass(frozen=True, slots=True)
class CallFill:
    """One order's execution at the clearing price."""

    order_id: str
    account: str
    side: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CallResult:
    """Outcome of a call auction."""

    price_ticks: int | None
    volume: int
    imbalance: int
    fills: tuple[CallFill, ...]


def call_auction(
    orders: Sequence[CallOrder], reference_price_ticks: int | None = None
) -> CallResult:
    """Uniform-price clearing of a call auction (see the module notes for the rules)."""
    buys = [o for o in orders if o.side == "buy"]
    sells = [o for o in orders if o.side == "sell"]
    prices = sorted({o.price_ticks for o in orders})
    best: tuple[int, int, int, int] | None = None  # (-volume, imbalance, distance, price)
    for p in prices:
        demand = sum(o.quantity for o in buys if o.price_ticks >= p)
        supply = sum(o.quantity for o in sells if o.price_ticks <= p)
        volume = min(demand, supply)
        if volume == 0:
            continue
        dist = abs(p - reference_price_ticks) if reference_price_ticks is not None else 0
        key = (-volume, abs(demand - supply), dist, p)
        if best is None or key < best:
            best = key
    if best is None:
        return CallResult(None, 0, 0, ())
    price = best[3]
    volume = -best[0]
    fills: list[CallFill] = []
    for side, eligible in (
        (
            "buy",
            sorted(
                (o for o in buys if o.price_ticks >= price), key=lambda o: (-o.price_ticks, o.seq)
            ),
        ),
        (
            "sell",
            sorted(
                (o for o in sells if o.price_ticks <= price), key=lambda o: (o.price_ticks, o.seq)
            ),
        ),
    ):
        left = volume
        for o in eligible:
            if left == 0:
                break
            q = min(o.quantity, left)
            fills.append(CallFill(o.order_id, o.account, side, q))
            left -= q
    return CallResult(price, volume, best[1], tuple(fills))
