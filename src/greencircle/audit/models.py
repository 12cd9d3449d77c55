"""Tables of the transparency log: leaves, perfect-subtree nodes, signed checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.storage.base import Base


class LogState(Base):
    """The log's head (one row): size, root and the identity of its signing key."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(200))
    hash_algorithm: Mapped[str] = mapped_column(String(16))
    signature_algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogLeaf(Base):
    """One appended event (level-0 node of the tree)."""

    __tablename__ = "log_leaves"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    org_id: Mapped[str | None] = mapped_column(String(26), index=True)
    subject: Mapped[str | None] = mapped_column(String(80), index=True)
    data: Mapped[str] = mapped_column(Text)  # RFC 8785 canonical JSON of the event
    appended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LogNode(Base):
    """Hash of a perfect, aligned subtree of level >= 1 (leaves [i·2^L, (i+1)·2^L))."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogCheckpoint(Base):
    """A signed tree head (C2SP tlog-checkpoint as a signed note)."""

    __tablename__ = "log_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text)
