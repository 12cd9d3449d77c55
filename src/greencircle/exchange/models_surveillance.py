"""Exchange tables: market surveillance (rejected order attempts, alerts).

See :mod:`greencircle.exchange.surveillance`. Quantities are integers [t], prices integer
ticks of the market's tick; times are UTC; ``trade_date`` is the local trading date
``YYYY-MM-DD`` of the market.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import utcnow
from greencircle.storage.base import Base

__all__ = ["ALERT_STATUSES", "ExAlert", "ExRejection"]

#: Review states of an alert.
ALERT_STATUSES = ("open", "acknowledged", "closed")


class ExRejection(Base):
    """A rejected order attempt worth watching (``outside_price_band``,
    ``position_limit_exceeded``), recorded in the command's own transaction."""

    __tablename__ = "ex_rejections"
    __table_args__ = (Index("ix_ex_rejections_market_time", "market_code", "created_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    market_code: Mapped[str] = mapped_column(String(24))
    instrument_code: Mapped[str] = mapped_column(String(160))
    org_id: Mapped[str] = mapped_column(String(26))
    user_id: Mapped[str] = mapped_column(String(26))
    code: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500))
    side: Mapped[str] = mapped_column(String(4))
    price_ticks: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExAlert(Base):
    """A surveillance alert for the regulator; ``key`` makes re-scans idempotent.

    ``status``: ``open`` → ``acknowledged`` → ``closed`` (or ``open`` → ``closed``).
    """

    __tablename__ = "ex_alerts"
    __table_args__ = (Index("ix_ex_alerts_market_time", "market_code", "created_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    market_code: Mapped[str] = mapped_column(String(24))
    instrument_code: Mapped[str | None] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(12))
    org_id: Mapped[str | None] = mapped_column(String(26))
    trade_date: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(300), unique=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), index=True)
    note: Mapped[str | None] = mapped_column(String(1000))
    reviewed_by: Mapped[str | None] = mapped_column(String(26))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
