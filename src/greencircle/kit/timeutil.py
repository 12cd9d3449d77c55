"""Time helpers: store UTC, show the market's zone (Asia/Shanghai by default)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BeforeValidator

CHINA_TZ = ZoneInfo("Asia/Shanghai")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})")


def _iso_date_only(value: Any) -> Any:
    # pydantic also reads numbers (and numeric strings) as Unix times; a calendar date
    # given as text must be ISO 8601 ``YYYY-MM-DD``, as the OpenAPI ``date`` format says.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected an ISO 8601 date YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("expected an ISO 8601 date YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
"""A calendar date that must be written ``YYYY-MM-DD`` (no Unix timestamps)."""


def _rfc3339_only(value: Any) -> Any:
    # As for dates: numbers would be read as Unix times; the format is ``date-time``.
    bad_text = isinstance(value, str) and not _RFC3339.fullmatch(value)
    if bad_text or isinstance(value, int | float):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2026-01-31T09:30:00Z")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only)]
"""An instant written as RFC 3339 with its offset (no Unix timestamps, no naive times)."""


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
