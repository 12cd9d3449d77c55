"""Exchange tables: auctions (see :mod:`greencircle.exchange.auctions`).

An auction row describes one session; its bids, offers and the authority's offered units
are :class:`~greencircle.exchange.models.ExOrder` rows with ``mode='auction'`` (one-way)
or ``mode='call'`` (call auction) and ``venue_ref`` = the auction's id, so their registry
holds and settlement are the shared clearing code.

Quantities are integers [t] (registry units of the instrument's unit, e.g. kg for
pollutant-discharge rights); prices are integer ticks of the market's tick; times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import utcnow
from greencircle.storage.base import Base

__all__ = [
    "AUCTION_KINDS",
    "AUCTION_STATUSES",
    "PRICINGS",
    "RESERVE_STATUSES",
    "ExAuction",
    "ExReserveRequest",
]

#: ``one_way``: an authority sells; ``call``: two-sided periodic uniform-price clearing.
AUCTION_KINDS = ("one_way", "call")
#: Pricing of a one-way auction.
PRICINGS = ("uniform", "pay_as_bid")
#: Life cycle. ``scheduled`` is stored until the auction is closed early, cleared or
#: cancelled; ``open`` / ``closed`` are derived from ``opens_at`` / ``closes_at``.
AUCTION_STATUSES = ("scheduled", "open", "closed", "cleared", "cancelled")


class ExAuction(Base):
    """One auction session and, once cleared, its public result.

    Attributes
    ----------
    kind
        ``one_way`` or ``call``.
    pricing
        ``uniform`` or ``pay_as_bid`` (one-way); ``uniform`` for call auctions.
    side
        ``sell``: the authority sells and bidders buy (one-way); ``two_sided`` (call).
    offered_quantity
        Units offered by the authority [t] (one-way; 0 for call auctions).
    reserve_price_ticks
        Lowest acceptable bid [ticks] (one-way).
    max_per_bidder
        Most units one bidder may bid for and win [t] (one-way; ``None``: no cap).
    min_bid_quantity
        Smallest bid [t].
    reference_price_ticks
        Reference price of a call auction [ticks] (breaks clearing-price ties).
    status
        Stored state: ``scheduled``, ``closed`` (closed early by the authority),
        ``cleared`` or ``cancelled``; see :data:`AUCTION_STATUSES`.
    clearing_price_ticks, sold_quantity
        Result: uniform / marginal price [ticks] and units sold or executed [t].
    result
        Public result and per-bid awards (JSON, see the service).
    seller_order_id
        The authority's offer (an ``ExOrder`` sell row holding its units).
    client_ref
        Idempotency key of the creating request (unique per organisation).
    titles
        The title per console language (``{"en": ..., "zh-CN": ...}``); ``title`` is shown
        where a language has none.
    """

    __tablename__ = "ex_auctions"
    __table_args__ = (
        UniqueConstraint("created_by_org_id", "client_ref"),
        Index("ix_ex_auctions_market_status", "market_code", "status"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(8))
    market_code: Mapped[str] = mapped_column(String(24))
    instrument_code: Mapped[str] = mapped_column(String(160))
    instrument_id: Mapped[str] = mapped_column(String(26))
    title: Mapped[str] = mapped_column(String(200))
    titles: Mapped[dict[str, str] | None] = mapped_column(JSON)
    pricing: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(12))
    offered_quantity: Mapped[int] = mapped_column(BigInteger)
    reserve_price_ticks: Mapped[int | None] = mapped_column(BigInteger)
    max_per_bidder: Mapped[int | None] = mapped_column(BigInteger)
    min_bid_quantity: Mapped[int] = mapped_column(BigInteger)
    reference_price_ticks: Mapped[int | None] = mapped_column(BigInteger)
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))
    created_by_org_id: Mapped[str] = mapped_column(String(26))
    created_by_user_id: Mapped[str] = mapped_column(String(26))
    client_ref: Mapped[str | None] = mapped_column(String(200))
    clearing_price_ticks: Mapped[int | None] = mapped_column(BigInteger)
    sold_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    seller_order_id: Mapped[str | None] = mapped_column(String(26))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


#: Life cycle of a reserve issuance request (four eyes).
RESERVE_STATUSES = ("pending", "issued", "rejected")


class ExReserveRequest(Base):
    """A request to issue new units into the authority's auction reserve account.

    Issuing units is a four-eyes act, as allocation plans are in the registry: one
    regulator of the market's authority requests, a different one approves (the units are
    issued then) or rejects.
    """

    __tablename__ = "ex_reserve_requests"
    __table_args__ = (Index("ix_ex_reserve_requests_market_status", "market_code", "status"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    market_code: Mapped[str] = mapped_column(String(24))
    product: Mapped[str] = mapped_column(String(24))
    vintage: Mapped[int] = mapped_column(BigInteger)
    project_id: Mapped[str | None] = mapped_column(String(60))
    region: Mapped[str | None] = mapped_column(String(60))
    pollutant: Mapped[str | None] = mapped_column(String(16))
    instrument_code: Mapped[str] = mapped_column(String(160))
    quantity: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    requested_by_user_id: Mapped[str] = mapped_column(String(26))
    requested_by_org_id: Mapped[str] = mapped_column(String(26))
    decided_by_user_id: Mapped[str | None] = mapped_column(String(26))
    reason: Mapped[str | None] = mapped_column(String(400))
    tx_id: Mapped[str | None] = mapped_column(String(26))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
