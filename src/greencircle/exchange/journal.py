"""The exchange command journal: every accepted command, in sequence, in its transaction.

A row is appended (and flushed, to obtain its sequence number) before the command touches
the book, in the same database transaction as the command's orders, trades and registry
settlement. Rejected commands are not journaled (they change nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.exchange.models import ExJournal

__all__ = ["append_command", "read_journal"]


def append_command(
    session: Session,
    *,
    market: str,
    instrument: str,
    command: str,
    order_id: str,
    payload: Mapping[str, Any],
    actor_user_id: str,
    org_id: str,
) -> int:
    """Append one accepted command; returns its sequence number."""
    row = ExJournal(
        market_code=market,
        instrument_code=instrument,
        command=command,
        order_id=order_id,
        payload=dict(payload),
        actor_user_id=actor_user_id,
        org_id=org_id,
    )
    session.add(row)
    session.flush()
    return int(row.seq)


def read_journal(
    session: Session, *, after_seq: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """Journal rows with ``seq > after_seq`` in order (operator / audit export)."""
    rows = session.scalars(
        select(ExJournal).where(ExJournal.seq > after_seq).order_by(ExJournal.seq).limit(limit)
    )
    return [
        {
            "seq": int(r.seq),
            "market": r.market_code,
            "instrument": r.instrument_code,
            "command": r.command,
            "order_id": r.order_id,
            "payload": r.payload,
            "actor_user_id": r.actor_user_id,
            "org_id": r.org_id,
            "at": r.created_at.isoformat() if r.created_at else None,
        }
        for r in rows
    ]
