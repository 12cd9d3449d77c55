"""One page of a filtered query, the total count of its rows, and the paging parameters.

Every listing of the API takes ``limit`` and ``offset`` as the bounded types :data:`Limit`
and :data:`Offset` declared here, so the OpenAPI schema states their bounds and an
out-of-range value is a 422 ``validation_error`` before any query runs (SQLite and
PostgreSQL take ``LIMIT``/``OFFSET`` as signed 64-bit integers; a larger Python ``int``
would overflow in the driver).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

__all__ = ["DEFAULT_LIMIT", "INT64_MAX", "MAX_LIMIT", "MAX_OFFSET", "Limit", "Offset", "page"]

#: Largest integer SQLite and PostgreSQL store or bind (signed 64 bits); integer query and
#: path parameters that reach the database are bounded by it.
INT64_MAX = 2**63 - 1
#: Rows on a page unless ``limit`` is given.
DEFAULT_LIMIT = 50
#: Largest page a listing returns [rows].
MAX_LIMIT = 500
#: Most rows a listing skips [rows]; far above any table here, far below 2**63 - 1.
MAX_OFFSET = 1_000_000_000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, 1..{MAX_LIMIT} rows")]
"""``limit`` query parameter: rows on the page, 1 to :data:`MAX_LIMIT`."""

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows skipped, 0..{MAX_OFFSET}")]
"""``offset`` query parameter: matching rows skipped, 0 to :data:`MAX_OFFSET`."""

T = TypeVar("T")


def page(
    session: Session,
    model: type[T],
    conds: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    limit: int,
    offset: int,
) -> tuple[list[T], int]:
    """The rows of ``model`` matching every condition, ordered, from ``offset`` on.

    Parameters
    ----------
    session
        The unit of work.
    model
        The mapped class queried.
    conds
        Conditions, all of which a row must meet.
    order_by
        Ordering clauses.
    limit
        Rows at most on the page.
    offset
        Matching rows skipped before the page.

    Returns
    -------
    tuple
        The page's rows and the number of all matching rows.
    """
    total = int(session.scalar(select(func.count()).select_from(model).where(*conds)) or 0)
    rows = session.scalars(
        select(model).where(*conds).order_by(*order_by).limit(limit).offset(offset)
    ).all()
    return list(rows), total
