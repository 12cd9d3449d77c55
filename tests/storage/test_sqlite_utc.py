"""``DateTime(timezone=True)`` reads back aware UTC on SQLite exactly as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select

metadata = MetaData()
stamps = Table(
    "tz_probe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True)),
    Column("naive_at", DateTime()),
)

BEIJING = timezone(timedelta(hours=8))


@pytest.mark.postgres
def test_aware_values_round_trip_as_the_same_instant(databases, engines, backend):
    engine = engines(databases.new(backend, "empty"))
    metadata.create_all(engine)
    local = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=BEIJING)  # 01:30:15.25 UTC
    with engine.begin() as conn:
        conn.execute(insert(stamps).values(id=1, at=local))
        conn.execute(insert(stamps).values(id=2, at=datetime(2026, 3, 1, 1, 30, 15)))  # naive=UTC
        back = dict(conn.execute(select(stamps.c.id, stamps.c.at)).all())
        # Rows are compared within the database too: the same instant, whatever the zone.
        later = conn.scalars(
            select(stamps.c.id).where(stamps.c.at > datetime(2026, 3, 1, 1, 30, tzinfo=UTC))
        ).all()
    assert back[1].utcoffset() == timedelta(0)
    assert back[1] == local
    assert back[1].isoformat() == "2026-03-01T01:30:15.250000+00:00"
    assert back[2] == datetime(2026, 3, 1, 1, 30, 15, tzinfo=UTC)
    assert sorted(later) == [1, 2]


def test_columns_without_time_zone_stay_naive(databases, engines):
    engine = engines(databases.new("sqlite", "empty"))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(stamps).values(id=1, naive_at=datetime(2026, 3, 1, 1, 30)))
        value = conn.scalar(select(stamps.c.naive_at))
    assert value == datetime(2026, 3, 1, 1, 30)
    assert value.tzinfo is None
