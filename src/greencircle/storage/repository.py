"""Repository base and pagination shared by every domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from greencircle.errors import Invalid, NotFound
from greencircle.storage.base import Base

T = TypeVar("T", bound=Base)

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: ``items`` plus the total count before paging."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Repository(Generic[T]):
    """All SQL for one table lives in a subclass of this."""

    model: type[T]

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: Any) -> T | None:
        """Return the row with primary key ``key`` or ``None``."""
        return self.session.get(self.model, key)

    def require(self, key: Any) -> T:
        """Return the row with primary key ``key`` or raise :class:`NotFound`."""
        row = self.get(key)
        if row is None:
            raise NotFound(f"{self.model.__tablename__} {key!r} not found")
        return row

    def add(self, row: T) -> T:
        """Stage a new row and flush it so database constraints are checked now."""
        self.session.add(row)
        self.session.flush()
        return row

    def paginate(
        self,
        stmt: Select[T],
        *,
        limit: int,
        offset: int,
        sort: str | None,
        sortable: dict[str, Any],
    ) -> Page[T]:
        """Apply sorting (``"name"`` or ``"-name"``) and paging to ``stmt``.

        Raises
        ------
        Invalid
            ``invalid_sort`` for a key not in ``sortable``; ``invalid_page`` for bad bounds.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
            raise Invalid(f"limit must be 1..{MAX_PAGE_SIZE} and offset >= 0", code="invalid_page")
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if sort:
            key = sort.removeprefix("-")
            if key not in sortable:
                raise Invalid(
                    f"cannot sort by {key!r}; choose one of {sorted(sortable)}",
                    code="invalid_sort",
                )
            col = sortable[key]
            stmt = stmt.order_by(col.desc() if sort.startswith("-") else col.asc())
        pk = self.model.__mapper__.primary_key[0]
        stmt = stmt.order_by(pk).limit(limit).offset(offset)
        return Page(list(self.session.scalars(stmt)), int(total), limit, offset)
