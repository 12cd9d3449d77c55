"""The transparency log service: append events, sign checkpoints, serve proofs.

Events are appended **in the caller's transaction**, so a state change and its log leaf
commit or roll back together. Appends are serialised by a lock on the single
``log_state`` row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions are
already exclusive). Every append signs a new checkpoint for the new tree head.

Proofs read only the O(log n) stored perfect-subtree hashes they need (one query per
level class), never the whole tree.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.checkpoint import format_checkpoint, parse_note, sign_note
from greencircle.audit.keys import LogSigner
from greencircle.audit.merkle import (
    NodeKey,
    append_leaves,
    canonical_json,
    consistency_proof,
    empty_root,
    inclusion_proof,
    leaf_hash,
    root_at,
)
from greencircle.audit.models import LogCheckpoint, LogLeaf, LogNode, LogState
from greencircle.errors import Conflict, Invalid, NotFound
from greencircle.kit.timeutil import as_utc, utcnow

MAX_LEAVES_PER_READ = 1000
_LEAF_COLUMNS = ("idx", "leaf_hash", "event_type", "org_id", "subject", "data", "appended_at")
BUNDLE_FORMAT = "greencircle-receipt-bundle/v1"


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head as served by ``GET /v1/audit/checkpoint``."""

    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: datetime
    note: str

    @property
    def signature(self) -> bytes:
        """The raw Ed25519 signature over the checkpoint body (64 bytes)."""
        sig = parse_note(self.note).signatures[0]
        return sig.signature

    def to_dict(self) -> dict[str, Any]:
        """The HTTP contract's shape."""
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": as_utc(self.timestamp).isoformat(),
            "checkpoint": self.note,
            "signature": base64.b64encode(self.signature).decode(),
        }


class DbSubtreeStore:
    """:class:`~greencircle.audit.merkle.SubtreeStore` over ``log_leaves``/``log_nodes``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Fetch perfect-subtree hashes in one query: level 0 from leaves, others from nodes.

        Plain SQL with one ``(level = ? AND idx = ?)`` term per key: both SQLite and
        PostgreSQL answer every term from the primary key (SQLite scans for a row-value IN
        list), and a proof needs at most ~2·log2(n) keys.
        """
        conn = self.session.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        leaves = [i for lvl, i in keys if lvl == 0]
        inner = [(lvl, i) for lvl, i in keys if lvl > 0]
        parts: list[str] = []
        params: list[int] = []
        if leaves:
            parts.append(
                f"SELECT 0, idx, leaf_hash FROM log_leaves WHERE idx IN "
                f"({', '.join([mark] * len(leaves))})"
            )
            params += leaves
        if inner:
            terms = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(inner))
            parts.append(f"SELECT level, idx, hash FROM log_nodes WHERE {terms}")
            params += [v for key in inner for v in key]
        if not parts:
            return {}
        rows = conn.exec_driver_sql(" UNION ALL ".join(parts), tuple(params))
        return {(int(lvl), int(i)): bytes(h) for lvl, i, h in rows}


class AuditLog:
    """Append-only, verifiable log of platform events (RFC 9162)."""

    def __init__(self, session: Session, signer: LogSigner) -> None:
        self.session = session
        self.signer = signer
        self.store = DbSubtreeStore(session)

    # -- head ----------------------------------------------------------------------------
    def _state(self, *, lock: bool) -> LogState | None:
        if not lock:  # the identity map answers repeated reads within the transaction
            return self.session.get(LogState, 1)
        return self.session.scalar(select(LogState).where(LogState.id == 1).with_for_update())

    def ensure_initialised(self) -> LogState:
        """Create the log head (size 0, signed empty checkpoint) if it does not exist."""
        state = self._state(lock=True)
        if state is None:
            state = LogState(
                id=1,
                origin=self.signer.origin,
                hash_algorithm="sha256",
                signature_algorithm="ed25519",
                public_key=self.signer.public_key,
                tree_size=0,
                root_hash=empty_root(),
            )
            self.session.add(state)
            self.session.flush()
            self._sign(0, state.root_hash, utcnow())
        self._check_identity(state)
        return state

    def _check_identity(self, state: LogState) -> None:
        if bytes(state.public_key) != self.signer.public_key or state.origin != self.signer.origin:
            raise Conflict(
                "the configured log key or origin differs from the one the log was created "
                "with; restore the original key file",
                code="log_key_mismatch",
            )

    def _sign(self, size: int, root: bytes, at: datetime) -> LogCheckpoint:
        body = format_checkpoint(self.signer.origin, size, root)
        note = sign_note(body, self.signer.origin, self.signer.private_key)
        row = LogCheckpoint(tree_size=size, root_hash=root, timestamp=at, note=note)
        self.session.add(row)
        self.session.flush()
        return row

    def tree_size(self) -> int:
        """Current number of leaves (0 before initialisation)."""
        state = self._state(lock=False)
        return int(state.tree_size) if state else 0

    # -- append --------------------------------------------------------------------------
    def append(self, events: Sequence[Mapping[str, Any]]) -> list[int]:
        """Append events (JSON objects with a ``type``) and return their leaf indices.

        Each event may carry ``org_id`` (whose organisation may read it) and ``subject``
        (an identifier to find it by, e.g. a report id); an ``at``
        timestamp (UTC ISO 8601) is added when absent. The leaf is
        ``SHA-256(0x00 || RFC 8785 canonical JSON of the event)``.
        """
        if not events:
            return []
        now = utcnow()
        stamp = now.isoformat()
        state = self.ensure_initialised()
        size = int(state.tree_size)
        # Raw inserts bypass SQLAlchemy's type processing: SQLite gets its DATETIME text
        # format (naive UTC, as SQLAlchemy writes it), PostgreSQL the aware datetime.
        is_sqlite = self.session.get_bind().dialect.name == "sqlite"
        stamp_db: Any = now.replace(tzinfo=None).isoformat(sep=" ") if is_sqlite else now
        leaf_rows: list[tuple[Any, ...]] = []
        hashes: list[bytes] = []
        for n, event in enumerate(events):
            etype = event.get("type")
            if not isinstance(etype, str) or not etype:
                raise Invalid(
                    "an audit event needs a non-empty string 'type'", code="invalid_event"
                )
            body = dict(event) if "at" in event else {**event, "at": stamp}
            try:
                data = canonical_json(body)
            except ValueError as exc:
                raise Invalid(f"event is not canonical JSON: {exc}", code="invalid_event") from exc
            h = leaf_hash(data)
            hashes.append(h)
            org, subject = event.get("org_id"), event.get("subject")
            leaf_rows.append(
                (
                    size + n,
                    h,
                    etype[:64],
                    org if isinstance(org, str) else None,
                    subject[:80] if isinstance(subject, str) else None,
                    data.decode(),
                    stamp_db,
                )
            )
        result = append_leaves(size, hashes, self.store)
        self._insert_many(LogLeaf.__table__, _LEAF_COLUMNS, leaf_rows)
        inner = [(lvl, i, h) for lvl, i, h in result.nodes if lvl > 0]
        self._insert_many(LogNode.__table__, ("level", "idx", "hash"), inner)
        state.tree_size = result.tree_size
        state.root_hash = result.root
        self._sign(result.tree_size, result.root, now)
        return [size + n for n in range(len(events))]

    def _insert_many(self, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Bulk insert through the driver's executemany (the ORM bulk path costs ~3x)."""
        if not rows:
            return
        conn = self.session.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        conn.exec_driver_sql(sql, rows)

    # -- reads ---------------------------------------------------------------------------
    def checkpoint(self, tree_size: int | None = None) -> Checkpoint:
        """The latest signed checkpoint, or the one signed at ``tree_size``."""
        stmt = select(LogCheckpoint)
        if tree_size is None:
            stmt = stmt.order_by(LogCheckpoint.tree_size.desc()).limit(1)
        else:
            stmt = stmt.where(LogCheckpoint.tree_size == tree_size)
        row = self.session.scalar(stmt)
        if row is None:
            raise NotFound(
                "no signed checkpoint (log not initialised, or no such size)",
                code="checkpoint_not_found",
            )
        return Checkpoint(
            self.signer.origin, int(row.tree_size), bytes(row.root_hash), row.timestamp, row.note
        )

    def _check_size(self, tree_size: int, name: str = "tree_size") -> None:
        current = self.tree_size()
        if not 0 <= tree_size <= current:
            raise Invalid(
                f"{name} must be between 0 and the log size {current}", code="invalid_tree_size"
            )

    def root(self, tree_size: int) -> bytes:
        """Root hash of the tree of the first ``tree_size`` leaves (any earlier size)."""
        self._check_size(tree_size)
        return root_at(self.store, tree_size)

    def inclusion(self, leaf_index: int, tree_size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of ``leaf_index`` in the tree of size ``tree_size``."""
        self._check_size(tree_size)
        if not 0 <= leaf_index < tree_size:
            raise Invalid("leaf_index must be below tree_size", code="invalid_leaf_index")
        return inclusion_proof(self.store, leaf_index, tree_size)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """RFC 9162 consistency proof between two tree sizes."""
        self._check_size(second, "second")
        if not 0 <= first <= second:
            raise Invalid("need 0 <= first <= second", code="invalid_tree_size")
        return consistency_proof(self.store, first, second)

    def leaves(self, start: int, end: int) -> list[LogLeaf]:
        """Leaves ``[start, end)`` (end exclusive), at most :data:`MAX_LEAVES_PER_READ`."""
        if not 0 <= start <= end:
            raise Invalid("need 0 <= start <= end", code="invalid_range")
        if end - start > MAX_LEAVES_PER_READ:
            raise Invalid(f"at most {MAX_LEAVES_PER_READ} leaves per request", code="invalid_range")
        stmt = select(LogLeaf).where(LogLeaf.idx >= start, LogLeaf.idx < end).order_by(LogLeaf.idx)
        return list(self.session.scalars(stmt))

    def leaf(self, index: int) -> LogLeaf:
        """One leaf by index."""
        row = self.session.get(LogLeaf, index)
        if row is None:
            raise NotFound(f"no leaf {index}", code="leaf_not_found")
        return row

    def by_subject(self, subject: str) -> list[LogLeaf]:
        """Every leaf about ``subject`` (e.g. a report or a serial block), oldest first."""
        stmt = select(LogLeaf).where(LogLeaf.subject == subject).order_by(LogLeaf.idx)
        return list(self.session.scalars(stmt))

    def bundle(self, index: int) -> dict[str, Any]:
        """A self-contained receipt bundle for offline verification of one leaf.

        Contains the event, its leaf hash, an inclusion proof against the latest signed
        checkpoint, that checkpoint and the log's public key. Check it with
        ``greencircle audit verify BUNDLE.json``.
        """
        leaf = self.leaf(index)
        cp = self.checkpoint()
        proof = self.inclusion(index, cp.tree_size)
        return {
            "format": BUNDLE_FORMAT,
            "origin": cp.origin,
            "leaf_index": index,
            "tree_size": cp.tree_size,
            "event": json.loads(leaf.data),
            "leaf_hash": bytes(leaf.leaf_hash).hex(),
            "inclusion_proof": [h.hex() for h in proof],
            "checkpoint": cp.note,
            "algorithm": "ed25519",
            "public_key": base64.b64encode(self.signer.public_key).decode(),
        }
