"""Registry tables: instruments, accounts, balances, journal, serial blocks, holds and the
records of every operation (transfers, allocation, surrenders, retirements, pledges,
freezes). All quantities are integers in minor units (see :mod:`greencircle.registry.ledger`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.storage.base import Base, created_at_column, id_column

#: 64-bit autoincrement key that is SQLite's rowid alias on SQLite.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class RegInstrument(Base):
    """One instrument series: market + product + vintage (+ project / region / pollutant).

    Cash is an instrument too (``market_code='CASH'``, ``product=currency``), so units and
    money share the same journal, balances and holds.
    """

    __tablename__ = "reg_instruments"

    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(160), unique=True)
    market_code: Mapped[str] = mapped_column(String(24), index=True)
    product: Mapped[str] = mapped_column(String(24))
    instrument_class: Mapped[str] = mapped_column(String(24))
    vintage: Mapped[int | None] = mapped_column(Integer)
    project_id: Mapped[str | None] = mapped_column(String(60))
    region: Mapped[str | None] = mapped_column(String(60))
    pollutant: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(16))
    scale: Mapped[int] = mapped_column(Integer)
    serialised: Mapped[bool] = mapped_column(Boolean)
    next_serial: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime] = created_at_column()


class RegAccount(Base):
    """A registry account (holding, cash or system)."""

    __tablename__ = "reg_accounts"

    id: Mapped[str] = id_column()
    number: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    market_code: Mapped[str] = mapped_column(String(24), index=True)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    currency: Mapped[str | None] = mapped_column(String(3))
    is_system: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = created_at_column()


class RegBalance(Base):
    """Derived balance of one account in one instrument (re-derivable from the journal)."""

    __tablename__ = "reg_balances"
    __table_args__ = (
        CheckConstraint(
            "allow_negative OR (held >= 0 AND pledged >= 0 AND frozen >= 0 "
            "AND posted - held - pledged - frozen >= 0)",
            name="non_negative",
        ),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"), primary_key=True)
    instrument_id: Mapped[str] = mapped_column(
        ForeignKey("reg_instruments.id"), primary_key=True, index=True
    )
    posted: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    pledged: Mapped[int] = mapped_column(BigInteger, default=0)
    frozen: Mapped[int] = mapped_column(BigInteger, default=0)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)


class RegTransaction(Base):
    """One posted operation (its legs are in :class:`RegJournal`) and its log leaf."""

    __tablename__ = "reg_transactions"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(24), index=True)
    market_code: Mapped[str] = mapped_column(String(24))
    actor_user_id: Mapped[str | None] = mapped_column(String(26))
    actor_org_id: Mapped[str | None] = mapped_column(String(26), index=True)
    reference: Mapped[str | None] = mapped_column(String(80), index=True)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class RegJournal(Base):
    """One leg: ``amount`` of an instrument from ``debit_account`` to ``credit_account``."""

    __tablename__ = "reg_journal"
    __table_args__ = (CheckConstraint("amount > 0", name="positive_amount"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    tx_id: Mapped[str] = mapped_column(ForeignKey("reg_transactions.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"), index=True)
    debit_account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"), index=True)
    credit_account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class RegSerialBlock(Base):
    """Where a range of serials is now. Rows split on partial moves; serials never change."""

    __tablename__ = "reg_serial_blocks"
    __table_args__ = (
        Index("ix_reg_serial_blocks_holding", "account_id", "instrument_id", "start_serial"),
        Index("ix_reg_serial_blocks_range", "instrument_id", "start_serial"),
        CheckConstraint("end_serial >= start_serial", name="ordered"),
    )

    id: Mapped[str] = id_column()
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"))
    start_serial: Mapped[int] = mapped_column(BigInteger)
    end_serial: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(String(60))
    last_tx_id: Mapped[str] = mapped_column(ForeignKey("reg_transactions.id"))


class RegSerialMove(Base):
    """Append-only history: a serial range moved by a journal leg."""

    __tablename__ = "reg_serial_moves"
    __table_args__ = (Index("ix_reg_serial_moves_range", "instrument_id", "start_serial"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    journal_seq: Mapped[int] = mapped_column(ForeignKey("reg_journal.seq"), index=True)
    tx_id: Mapped[str] = mapped_column(ForeignKey("reg_transactions.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    start_serial: Mapped[int] = mapped_column(BigInteger)
    end_serial: Mapped[int] = mapped_column(BigInteger)
    from_account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"))
    to_account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"))
    origin: Mapped[str] = mapped_column(String(60))


class RegHold(Base):
    """A two-phase reservation (pending → posted / voided), e.g. for an exchange order."""

    __tablename__ = "reg_holds"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    posted_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    voided_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(80), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegTransfer(Base):
    """A transfer request between accounts (completed at once or after approval)."""

    __tablename__ = "reg_transfers"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    from_account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"))
    to_account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"))
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), index=True)
    hold_id: Mapped[str | None] = mapped_column(String(26))
    tx_id: Mapped[str | None] = mapped_column(String(26))
    initiated_by: Mapped[str] = mapped_column(String(26))
    approved_by: Mapped[str | None] = mapped_column(String(26))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegTrustedAccount(Base):
    """An account on an organisation's trusted list (no four-eyes to it)."""

    __tablename__ = "reg_trusted_accounts"

    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[datetime] = created_at_column()


class RegIdempotency(Base):
    """First answer to an idempotent registry call, per organisation and key."""

    __tablename__ = "reg_idempotency"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = created_at_column()


class RegAllocationPlan(Base):
    """A yearly allocation plan of a market for one regulator's jurisdiction."""

    __tablename__ = "reg_allocation_plans"
    __table_args__ = (UniqueConstraint("market_code", "year", "jurisdiction_code"),)

    id: Mapped[str] = id_column()
    market_code: Mapped[str] = mapped_column(String(24))
    year: Mapped[int] = mapped_column(Integer)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    product: Mapped[str] = mapped_column(String(24))
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    pre_share_bp: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_by: Mapped[str] = mapped_column(String(26))
    approved_by: Mapped[str | None] = mapped_column(String(26))
    true_up_by: Mapped[str | None] = mapped_column(String(26))
    true_up_approved_by: Mapped[str | None] = mapped_column(String(26))
    created_at: Mapped[datetime] = created_at_column()


class RegAllocationLine(Base):
    """One organisation's allocation in a plan (decimals kept as exact strings)."""

    __tablename__ = "reg_allocation_lines"
    __table_args__ = (UniqueConstraint("plan_id", "org_id"),)

    id: Mapped[str] = id_column()
    plan_id: Mapped[str] = mapped_column(ForeignKey("reg_allocation_plans.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    sector: Mapped[str | None] = mapped_column(String(40))
    benchmark_key: Mapped[str | None] = mapped_column(String(60))
    benchmark_value: Mapped[str | None] = mapped_column(String(40))
    benchmark_status: Mapped[str | None] = mapped_column(String(12))
    activity: Mapped[str] = mapped_column(String(40))
    factor: Mapped[str] = mapped_column(String(40))
    deduction: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[int] = mapped_column(BigInteger)
    pre_quantity: Mapped[int] = mapped_column(BigInteger)
    true_up_activity: Mapped[str | None] = mapped_column(String(40))
    final_quantity: Mapped[int | None] = mapped_column(BigInteger)
    issued: Mapped[int] = mapped_column(BigInteger, default=0)
    owed: Mapped[int] = mapped_column(BigInteger, default=0)


class RegSurrender(Base):
    """Units surrendered by an organisation for a compliance year."""

    __tablename__ = "reg_surrenders"
    __table_args__ = (Index("ix_reg_surrenders_year", "market_code", "compliance_year"),)

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    market_code: Mapped[str] = mapped_column(String(24))
    compliance_year: Mapped[int] = mapped_column(Integer)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    kind: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[int] = mapped_column(BigInteger)
    tx_id: Mapped[str] = mapped_column(ForeignKey("reg_transactions.id"))
    created_by: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[datetime] = created_at_column()


class RegRetirement(Base):
    """A voluntary retirement for a named beneficiary (irreversible)."""

    __tablename__ = "reg_retirements"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"))
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    beneficiary: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(400))
    period_start: Mapped[str] = mapped_column(String(10))
    period_end: Mapped[str] = mapped_column(String(10))
    serials: Mapped[list[Any]] = mapped_column(JSON)
    tx_id: Mapped[str] = mapped_column(ForeignKey("reg_transactions.id"))
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[datetime] = created_at_column()


class RegPledge(Base):
    """Units encumbered in favour of a financial institution."""

    __tablename__ = "reg_pledges"

    id: Mapped[str] = id_column()
    pledgor_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    pledgee_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"))
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reference: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(26))
    release_requested_by: Mapped[str | None] = mapped_column(String(26))
    resolved_by: Mapped[str | None] = mapped_column(String(26))
    tx_id: Mapped[str | None] = mapped_column(String(26))
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegFreeze(Base):
    """Units frozen by a regulator, with the reason."""

    __tablename__ = "reg_freezes"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("reg_accounts.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("reg_instruments.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(12), index=True)
    regulator_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[str] = mapped_column(String(26))
    lifted_by: Mapped[str | None] = mapped_column(String(26))
    lift_reason: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = created_at_column()
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
