"""All SQL of the registry.

Locking protocol (PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``).
Rows are locked ``FOR NO KEY UPDATE``. An operation locks, in this order: (1) its own
record rows (hold, transfer, pledge, freeze, plan; the holding account row for a
surrender), (2) the balance rows it touches, one by one in ascending
``(account_id, instrument_id)`` order, (3) an instrument row when it issues new serials,
and (4) the transparency-log head (inside :meth:`AuditLog.append`, always last). Every
writer takes locks in this global order, so writers never deadlock. Serial blocks of an
``(account, instrument)`` are only touched under that balance row's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from greencircle.auth.models import Jurisdiction, Organisation
from greencircle.registry.errors import RegistryNotFound
from greencircle.registry.models import (
    RegAccount,
    RegBalance,
    RegHold,
    RegInstrument,
    RegJournal,
    RegSerialBlock,
    RegSerialMove,
    RegTransaction,
)
from greencircle.storage.base import Base

M = TypeVar("M", bound=Base)
BLOCK_PAGE = 200


class RegistryRepo:
    """Queries and row-level locking for the registry tables."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # -- generic ---------------------------------------------------------------------------
    def insert_ignore(self, model: type[Base], values: dict[str, Any], keys: Sequence[str]) -> None:
        """``INSERT ... ON CONFLICT (keys) DO NOTHING`` on PostgreSQL and SQLite."""
        ins = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = ins(model).values(**values).on_conflict_do_nothing(index_elements=keys)
        self.session.execute(stmt)

    def locked(self, model: type[M], key: Any) -> M | None:
        """The row with primary key ``key``, locked and refreshed.

        PostgreSQL: ``FOR NO KEY UPDATE``, which does not conflict with the ``KEY SHARE``
        locks that foreign-key checks of concurrent inserts take on the same row (a plain
        ``FOR UPDATE`` would, and deadlock against writers of the journal).
        """
        return self.session.get(
            model, key, with_for_update={"key_share": True}, populate_existing=True
        )

    def require_locked(self, model: type[M], key: Any, what: str) -> M:
        """Like :meth:`locked` but raise ``not_found``."""
        row = self.locked(model, key)
        if row is None:
            raise RegistryNotFound(f"{what} {key!r} not found")
        return row

    def get(self, model: type[M], key: Any) -> M | None:
        """A row by primary key (no lock)."""
        return self.session.get(model, key)

    def scalars(self, stmt: Select[Any]) -> list[Any]:
        """All rows of ``stmt``."""
        return list(self.session.scalars(stmt))

    # -- organisations ---------------------------------------------------------------------
    def org(self, org_id: str) -> Organisation:
        """The organisation ``org_id`` (``not_found``)."""
        org = self.session.get(Organisation, org_id)
        if org is None:
            raise RegistryNotFound(f"organisation {org_id!r} not found")
        return org

    def jurisdiction_path(self, code: str) -> str:
        """The tree path of jurisdiction ``code`` (``/CN/CN-CQ/``)."""
        j = self.session.get(Jurisdiction, code)
        if j is None:
            raise RegistryNotFound(f"jurisdiction {code!r} not found")
        return j.path

    def orgs_under(self, path: str) -> list[Organisation]:
        """Organisations whose jurisdiction lies under ``path``."""
        stmt = (
            select(Organisation)
            .join(Jurisdiction, Organisation.jurisdiction_code == Jurisdiction.code)
            .where(Jurisdiction.path.startswith(path, autoescape=True))
        )
        return list(self.session.scalars(stmt))

    # -- instruments and accounts -----------------------------------------------------------
    def instrument_by_code(self, code: str) -> RegInstrument | None:
        """The instrument with this code."""
        return self.session.scalar(select(RegInstrument).where(RegInstrument.code == code))

    def ensure_instrument(self, values: dict[str, Any]) -> RegInstrument:
        """Create the instrument ``values['code']`` unless it exists; return it."""
        row = self.instrument_by_code(values["code"])
        if row is None:
            from greencircle.kit.ids import new_id

            self.insert_ignore(RegInstrument, {"id": new_id(), **values}, ["code"])
            row = self.instrument_by_code(values["code"])
        assert row is not None
        return row

    def account_by_number(self, number: str) -> RegAccount | None:
        """The account with this number."""
        return self.session.scalar(select(RegAccount).where(RegAccount.number == number))

    def ensure_account(self, values: dict[str, Any]) -> RegAccount:
        """Create the account ``values['number']`` unless it exists; return it."""
        row = self.account_by_number(values["number"])
        if row is None:
            from greencircle.kit.ids import new_id

            self.insert_ignore(RegAccount, {"id": new_id(), **values}, ["number"])
            row = self.account_by_number(values["number"])
        assert row is not None
        return row

    def accounts_of(self, org_id: str) -> list[RegAccount]:
        """Every account of an organisation."""
        stmt = select(RegAccount).where(RegAccount.org_id == org_id).order_by(RegAccount.number)
        return list(self.session.scalars(stmt))

    # -- balances ----------------------------------------------------------------------------
    def lock_balances(
        self, keys: Iterable[tuple[str, str]], allow_negative: dict[str, bool]
    ) -> dict[tuple[str, str], RegBalance]:
        """Lock (creating when missing) the balance rows ``(account_id, instrument_id)``.

        Rows are locked one at a time in ascending key order (the global lock order).
        """
        out: dict[tuple[str, str], RegBalance] = {}
        for key in sorted(set(keys)):
            row = self.locked(RegBalance, key)
            if row is None:
                self.insert_ignore(
                    RegBalance,
                    {
                        "account_id": key[0],
                        "instrument_id": key[1],
                        "posted": 0,
                        "held": 0,
                        "pledged": 0,
                        "frozen": 0,
                        "allow_negative": allow_negative.get(key[0], False),
                    },
                    ["account_id", "instrument_id"],
                )
                row = self.locked(RegBalance, key)
            assert row is not None
            out[key] = row
        return out

    def balance(self, account_id: str, instrument_id: str) -> RegBalance | None:
        """A balance row (no lock)."""
        return self.session.get(RegBalance, (account_id, instrument_id))

    def balances_of(self, account_ids: Sequence[str]) -> list[tuple[RegBalance, RegInstrument]]:
        """Balances of accounts with their instruments."""
        if not account_ids:
            return []
        stmt = (
            select(RegBalance, RegInstrument)
            .join(RegInstrument, RegBalance.instrument_id == RegInstrument.id)
            .where(RegBalance.account_id.in_(account_ids))
            .order_by(RegBalance.account_id, RegInstrument.code)
        )
        return [(b, i) for b, i in self.session.execute(stmt)]

    # -- serial blocks -------------------------------------------------------------------------
    def lowest_blocks(
        self, account_id: str, instrument_id: str, quantity: int
    ) -> list[RegSerialBlock]:
        """The account's lowest blocks of the instrument covering at least ``quantity``."""
        out: list[RegSerialBlock] = []
        covered = 0
        last = -1
        while covered < quantity:
            stmt = (
                select(RegSerialBlock)
                .where(
                    RegSerialBlock.account_id == account_id,
                    RegSerialBlock.instrument_id == instrument_id,
                    RegSerialBlock.start_serial > last,
                )
                .order_by(RegSerialBlock.start_serial)
                .limit(BLOCK_PAGE)
            )
            page = list(self.session.scalars(stmt))
            if not page:
                break
            for block in page:
                out.append(block)
                covered += block.end_serial - block.start_serial + 1
                last = block.start_serial
                if covered >= quantity:
                    break
        return out

    def blocks_of(self, account_id: str, instrument_id: str | None = None) -> list[RegSerialBlock]:
        """All current blocks of an account (optionally of one instrument)."""
        stmt = select(RegSerialBlock).where(RegSerialBlock.account_id == account_id)
        if instrument_id is not None:
            stmt = stmt.where(RegSerialBlock.instrument_id == instrument_id)
        return list(
            self.session.scalars(
                stmt.order_by(RegSerialBlock.instrument_id, RegSerialBlock.start_serial)
            )
        )

    def blocks_overlapping(self, instrument_id: str, start: int, end: int) -> list[RegSerialBlock]:
        """Current blocks intersecting ``[start, end]``."""
        stmt = (
            select(RegSerialBlock)
            .where(
                RegSerialBlock.instrument_id == instrument_id,
                RegSerialBlock.start_serial <= end,
                RegSerialBlock.end_serial >= start,
            )
            .order_by(RegSerialBlock.start_serial)
        )
        return list(self.session.scalars(stmt))

    def moves_overlapping(self, instrument_id: str, start: int, end: int) -> list[RegSerialMove]:
        """Serial history rows intersecting ``[start, end]``, oldest first."""
        stmt = (
            select(RegSerialMove)
            .where(
                RegSerialMove.instrument_id == instrument_id,
                RegSerialMove.start_serial <= end,
                RegSerialMove.end_serial >= start,
            )
            .order_by(RegSerialMove.seq)
        )
        return list(self.session.scalars(stmt))

    # -- journal -------------------------------------------------------------------------------
    def account_journal(
        self, account_id: str, instrument_id: str
    ) -> list[tuple[RegJournal, RegTransaction]]:
        """Every leg of ``instrument_id`` into or out of ``account_id``, oldest first."""
        stmt = (
            select(RegJournal, RegTransaction)
            .join(RegTransaction, RegJournal.tx_id == RegTransaction.id)
            .where(
                RegJournal.instrument_id == instrument_id,
                (RegJournal.debit_account_id == account_id)
                | (RegJournal.credit_account_id == account_id),
            )
            .order_by(RegJournal.seq)
        )
        return [(j, t) for j, t in self.session.execute(stmt)]

    def journal(self) -> list[RegJournal]:
        """Every journal leg in order (for replay checks)."""
        return list(self.session.scalars(select(RegJournal).order_by(RegJournal.seq)))

    def transaction(self, tx_id: str) -> RegTransaction:
        """A transaction (``not_found``)."""
        tx = self.session.get(RegTransaction, tx_id)
        if tx is None:
            raise RegistryNotFound(f"transaction {tx_id!r} not found")
        return tx

    def legs(self, tx_id: str) -> list[RegJournal]:
        """Legs of a transaction."""
        stmt = select(RegJournal).where(RegJournal.tx_id == tx_id).order_by(RegJournal.seq)
        return list(self.session.scalars(stmt))

    def moves_of_tx(self, tx_id: str) -> list[RegSerialMove]:
        """Serial moves of a transaction."""
        stmt = select(RegSerialMove).where(RegSerialMove.tx_id == tx_id).order_by(RegSerialMove.seq)
        return list(self.session.scalars(stmt))

    def pending_holds(self, account_id: str) -> list[RegHold]:
        """Pending holds on an account."""
        stmt = select(RegHold).where(RegHold.account_id == account_id, RegHold.status == "pending")
        return list(self.session.scalars(stmt))

    def count(self, model: type[Base]) -> int:
        """Row count of a table."""
        return int(self.session.scalar(select(func.count()).select_from(model)) or 0)
