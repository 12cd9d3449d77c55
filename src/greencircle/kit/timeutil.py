"""Time helpers: store UTC, show the market's zone (Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken as UTC).

    SQLite returns naive datetimes for ``DateTime(timezone=True)`` columns; this restores
    the zone so comparisons work the same on SQLite and PostgreSQL.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_local(value: datetime, tz: ZoneInfo = CHINA_TZ) -> datetime:
    """Convert an aware (or naive-UTC) datetime to ``tz`` for display."""
    return as_utc(value).astimezone(tz)
