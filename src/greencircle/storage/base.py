"""Declarative base with a constraint naming convention and common column types."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Root of every table; constraint names are deterministic for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def id_column() -> Mapped[str]:
    """A ULID primary key column."""
    return mapped_column(String(26), primary_key=True, default=new_id)


def created_at_column() -> Mapped[datetime]:
    """A UTC creation timestamp column."""
    return mapped_column(DateTime(timezone=True), default=utcnow, server_default=func.now())
