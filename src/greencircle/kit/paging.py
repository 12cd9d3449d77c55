"""One page of a filtered query and the total count of its rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

__all__ = ["page"]

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
