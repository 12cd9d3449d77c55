"""Exchange tables: block agreement proposals (大宗协议).

Listed agreement listings (挂牌协议) need no table of their own: a listing, and a taker's
order against it, are :class:`~greencircle.exchange.models.ExOrder` rows with
``mode='listed'`` (``venue_ref`` of a taker's order is the listing's id). Each side of a
block agreement is also an ``ExOrder`` row (``mode='block'``, ``venue_ref`` = the
proposal's id) carrying its registry holds; the proposal below is the negotiation between
them. Quantities are integers [t], prices integer ticks of the market's tick, times UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import utcnow
from greencircle.storage.base import Base

__all__ = ["PROPOSAL_STATUSES", "ExBlockProposal"]

#: Life cycle of a block proposal: ``proposed`` (open), then exactly one of the others.
PROPOSAL_STATUSES = ("proposed", "confirmed", "rejected", "withdrawn", "expired")


class ExBlockProposal(Base):
    """A block agreement proposed by one participant to a named counterparty.

    ``side`` is the initiator's side; the counterparty takes the other one. The
    initiator's reservation is ``initiator_order_id``'s hold from the proposal on; the
    counterparty's order (and its hold) exists once it confirms, and the trade is then
    settled at once (``trade_id``). ``client_ref`` makes a proposal idempotent per
    initiator organisation.
    """

    __tablename__ = "ex_block_proposals"
    __table_args__ = (
        UniqueConstraint("initiator_org_id", "client_ref"),
        Index("ix_ex_block_proposals_status_expiry", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    market_code: Mapped[str] = mapped_column(String(24))
    instrument_code: Mapped[str] = mapped_column(String(160))
    instrument_id: Mapped[str] = mapped_column(String(26))
    initiator_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    initiator_user_id: Mapped[str] = mapped_column(String(26))
    counterparty_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    side: Mapped[str] = mapped_column(String(4))
    price_ticks: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    initiator_order_id: Mapped[str] = mapped_column(String(26))
    counterparty_order_id: Mapped[str | None] = mapped_column(String(26))
    trade_id: Mapped[str | None] = mapped_column(String(26))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(200))
    client_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
