"""Exchange tables: the command journal, orders and trades.

Quantities are integers in the instrument class's unit (``tCO2e``, ``kg``, ... see
:mod:`greencircle.exchange.units`); prices are integer ticks of the market's tick; money is in
minor units of the market currency (``*_minor``). Times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import utcnow
from greencircle.storage.base import Base

__all__ = ["FX_STATES", "ExFxRate", "ExJournal", "ExOrder", "ExSetting", "ExTrade"]

#: 64-bit autoincrement key that is SQLite's rowid alias on SQLite.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class ExJournal(Base):
    """Append-only journal of accepted commands (new, cancel, amend), one row per command.

    Written in the same transaction as the command's effects (orders, trades, registry
    settlement), so a committed command is always journaled and vice versa.
    """

    __tablename__ = "ex_journal"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    market_code: Mapped[str] = mapped_column(String(24))
    instrument_code: Mapped[str] = mapped_column(String(160))
    command: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(String(26), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor_user_id: Mapped[str] = mapped_column(String(26))
    org_id: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExOrder(Base):
    """An order of any trading mode and its current state (with its registry holds).

    ``mode``: ``continuous`` (the order book; only these are loaded into books),
    ``listed`` (a listed-agreement listing or a taker's order against one), ``block`` (a
    side of a block agreement), ``auction`` / ``call`` (a bid or offer of an auction).
    ``venue_ref`` is the id of the listing, proposal or auction the order belongs to.

    ``status``: ``open`` (resting), ``filled``, ``cancelled`` (by the owner, an IOC / market
    remainder, self-trade prevention). ``priority_seq`` is the journal sequence that gave
    the order its time priority (its ``new``, or an ``amend`` that lost priority): resting
    orders replayed in that order rebuild the book exactly.
    """

    __tablename__ = "ex_orders"
    __table_args__ = (
        UniqueConstraint("org_id", "client_order_id"),
        Index("ix_ex_orders_book_status", "market_code", "instrument_code", "status"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(26))
    client_order_id: Mapped[str | None] = mapped_column(String(200))
    market_code: Mapped[str] = mapped_column(String(24))
    instrument_code: Mapped[str] = mapped_column(String(160))
    instrument_id: Mapped[str] = mapped_column(String(26))
    side: Mapped[str] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(8))
    tif: Mapped[str] = mapped_column(String(3))
    price_ticks: Mapped[int | None] = mapped_column(BigInteger)
    protection_ticks: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    open_quantity: Mapped[int] = mapped_column(BigInteger)
    filled_quantity: Mapped[int] = mapped_column(BigInteger)
    cancelled_quantity: Mapped[int] = mapped_column(BigInteger)
    notional_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(40))
    hold_id: Mapped[str | None] = mapped_column(String(26))
    hold_open: Mapped[int] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(String(12), default="continuous")
    venue_ref: Mapped[str | None] = mapped_column(String(26), index=True)
    funding_currency: Mapped[str | None] = mapped_column(String(3))
    fx_rate_id: Mapped[str | None] = mapped_column(String(26))
    fx_hold_id: Mapped[str | None] = mapped_column(String(26))
    fx_hold_open: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    priority_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExTrade(Base):
    """A trade of any mode, settled delivery-versus-payment in its transaction.

    ``mode``: ``continuous`` (order book), ``listed`` (listed agreement), ``block`` (block
    agreement), ``auction`` (one-way auction), ``call`` (call auction). ``buy_order_id`` /
    ``sell_order_id`` are the ids of the mode's order, listing, proposal or bid.
    ``sets_close``: whether the trade counts in the day's close (VWAP; block trades do
    not). A buyer funding in another currency pays ``buyer_paid_minor`` of
    ``buyer_currency`` at the rate snapshot ``fx_rate_id`` (payment versus payment).
    """

    __tablename__ = "ex_trades"
    __table_args__ = (Index("ix_ex_trades_book_time", "market_code", "instrument_code", "seq"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(BigInteger)
    market_code: Mapped[str] = mapped_column(String(24))
    instrument_code: Mapped[str] = mapped_column(String(160))
    price_ticks: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    notional_minor: Mapped[int] = mapped_column(BigInteger)
    buy_order_id: Mapped[str] = mapped_column(String(26), index=True)
    sell_order_id: Mapped[str] = mapped_column(String(26), index=True)
    buyer_org_id: Mapped[str] = mapped_column(String(26), index=True)
    seller_org_id: Mapped[str] = mapped_column(String(26), index=True)
    aggressor: Mapped[str] = mapped_column(String(4))
    buyer_fee_minor: Mapped[int] = mapped_column(BigInteger)
    seller_fee_minor: Mapped[int] = mapped_column(BigInteger)
    settlement_tx_id: Mapped[str] = mapped_column(String(26))
    trade_date: Mapped[str] = mapped_column(String(10))
    executed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mode: Mapped[str] = mapped_column(String(12), default="continuous")
    sets_close: Mapped[bool] = mapped_column(Boolean, default=True)
    buyer_currency: Mapped[str | None] = mapped_column(String(3))
    buyer_paid_minor: Mapped[int | None] = mapped_column(BigInteger)
    fx_rate_id: Mapped[str | None] = mapped_column(String(26))


class ExFxRate(Base):
    """An FX rate snapshot: ``rate`` units of ``quote_currency`` per 1 ``base_currency``.

    ``rate`` is an exact decimal string. A snapshot is usable for conversions at instants
    in ``[valid_from, valid_until)``; trades keep the id of the snapshot they used, so a
    statement can be reproduced. Snapshots are immutable and logged.
    """

    __tablename__ = "ex_fx_rates"
    __table_args__ = (
        Index("ix_ex_fx_rates_pair", "base_currency", "quote_currency", "valid_from"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    base_currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(200))
    source_ref: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by_user_id: Mapped[str] = mapped_column(String(26))
    recorded_by_org_id: Mapped[str] = mapped_column(String(26))
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: ``active`` (usable), ``pending`` (outside the plausibility band: waits for a second
    #: user of the recording bank) or ``rejected``; see :data:`FX_STATES`.
    state: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    #: The recorder's reason for a rate outside the band (optional when recording).
    reason: Mapped[str | None] = mapped_column(String(400))
    decided_by_user_id: Mapped[str | None] = mapped_column(String(26))
    #: The second user's reason for approving or rejecting a pending rate (required).
    decision_reason: Mapped[str | None] = mapped_column(String(400))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


#: Life cycle of an FX snapshot (four eyes for rates outside the plausibility band).
FX_STATES = ("active", "pending", "rejected")


class ExSetting(Base):
    """A setting of this exchange database, e.g. ``trading_hours = relaxed`` written by the
    demo loader so that ``make demo`` can be tried on any day (see
    :func:`greencircle.exchange.endpoints.hours_enforced`)."""

    __tablename__ = "ex_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    set_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
