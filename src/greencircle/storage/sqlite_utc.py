"""SQLite ``DateTime(timezone=True)`` columns that read back aware UTC, as on PostgreSQL.

SQLite has no time zone type: SQLAlchemy stores a datetime as text without offset and
reads it back naive. The API then serialised such values without an offset although the
OpenAPI schema declares ``date-time`` (RFC 3339 requires one). :func:`install` replaces
the dialect's ``DateTime`` implementation on one engine so that, for columns declared
``timezone=True``:

* aware values are converted to UTC before they are written (naive ones are taken as UTC,
  as everywhere in the platform);
* values read back carry ``tzinfo=UTC``.

Columns declared without ``timezone=True`` are unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.sqlite import DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import sqltypes

__all__ = ["UTCDateTime", "install"]


class UTCDateTime(DATETIME):
    """SQLite ``DATETIME`` that keeps UTC for ``timezone=True`` columns."""

    def bind_processor(self, dialect: Dialect) -> Any:
        """Convert aware values to UTC, then store them as SQLAlchemy does."""
        store = super().bind_processor(dialect)
        if not self.timezone or store is None:
            return store

        def process(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC)
            return store(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """Parse as SQLAlchemy does, then attach UTC."""
        parse = super().result_processor(dialect, coltype)
        if not self.timezone:
            return parse

        def process(value: Any) -> Any:
            parsed = parse(value) if parse is not None else value
            if isinstance(parsed, datetime) and parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed

        return process


def install(engine: Engine) -> None:
    """Make ``engine`` (SQLite) read and write ``DateTime(timezone=True)`` as UTC."""
    dialect = engine.dialect
    dialect.colspecs = {**dialect.colspecs, sqltypes.DateTime: UTCDateTime}
