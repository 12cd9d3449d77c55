"""The posting engine: applies balanced legs to locked balances, moves serial blocks,
writes the journal and appends one transparency-log event per transaction.

Callers lock balances first (:meth:`RegistryRepo.lock_balances`), check the pure rules
(:func:`~greencircle.registry.ledger.debit_rejection`), then call :meth:`Poster.post`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.kit.ids import new_id
from greencircle.registry import ledger
from greencircle.registry.errors import InsufficientAvailable, InvalidQuantity, OutstandingLimit
from greencircle.registry.markets import Catalog, default_catalog
from greencircle.registry.models import (
    RegAccount,
    RegBalance,
    RegInstrument,
    RegJournal,
    RegSerialBlock,
    RegSerialMove,
    RegTransaction,
)
from greencircle.registry.repository import RegistryRepo
from greencircle.registry.results import LegView, TxResult


@dataclass(frozen=True)
class Leg:
    """``amount`` of ``instrument`` from ``debit`` to ``credit``."""

    instrument: RegInstrument
    debit: RegAccount
    credit: RegAccount
    amount: int
    origin: str = ""  # issuance reference for new serials


def state(b: RegBalance) -> ledger.BalanceState:
    """The pure view of a balance row."""
    return ledger.BalanceState(
        int(b.posted), int(b.held), int(b.pledged), int(b.frozen), bool(b.allow_negative)
    )


class Poster:
    """Posts balanced transactions and appends their log events."""

    def __init__(
        self,
        session: Session,
        repo: RegistryRepo,
        signer: LogSigner,
        catalog: Catalog | None = None,
    ) -> None:
        self.catalog = catalog or default_catalog()
        self.session = session
        self.repo = repo
        self.log = AuditLog(session, signer)

    def lock(
        self, legs: Sequence[Leg], extra: Sequence[tuple[RegAccount, RegInstrument]] = ()
    ) -> dict[tuple[str, str], RegBalance]:
        """Lock every balance row the legs (and ``extra`` pairs) touch, in global order."""
        keys: list[tuple[str, str]] = []
        allow: dict[str, bool] = {}
        for leg in legs:
            for acc in (leg.debit, leg.credit):
                keys.append((acc.id, leg.instrument.id))
                allow[acc.id] = acc.kind in ledger.NEGATIVE_KINDS
        for acc, inst in extra:
            keys.append((acc.id, inst.id))
            allow[acc.id] = acc.kind in ledger.NEGATIVE_KINDS
        return self.repo.lock_balances(keys, allow)

    def append(self, event: Mapping[str, Any]) -> int:
        """Append one event to the transparency log; return its leaf index."""
        return self.log.append([event])[0]

    def post(
        self,
        *,
        kind: str,
        market_code: str,
        legs: Sequence[Leg],
        balances: Mapping[tuple[str, str], RegBalance],
        actor_user_id: str | None,
        actor_org_id: str | None,
        event_org_id: str | None,
        reference: str | None = None,
        event: Mapping[str, Any] | None = None,
    ) -> TxResult:
        """Apply ``legs`` to the locked ``balances`` and record everything.

        Every leg must already have passed the caller's debit checks; the balance check
        constraint of the table is the last line of defence.
        """
        tx = RegTransaction(
            id=new_id(),
            kind=kind,
            market_code=market_code,
            actor_user_id=actor_user_id,
            actor_org_id=actor_org_id,
            reference=reference,
        )
        self.session.add(tx)
        self.session.flush()
        views: list[LegView] = []
        for leg in legs:
            deb = balances[(leg.debit.id, leg.instrument.id)]
            cred = balances[(leg.credit.id, leg.instrument.id)]
            if ledger.check_quantity(leg.amount) is not None:
                raise InvalidQuantity(
                    f"invalid_quantity: {leg.amount!r} (1 .. {ledger.MAX_AMOUNT} minor units)"
                )
            if ledger.outstanding_rejection(state(deb), leg.amount):
                raise OutstandingLimit(
                    f"{leg.instrument.code}: outstanding would exceed "
                    f"{ledger.MAX_OUTSTANDING} minor units"
                )
            if not deb.allow_negative and ledger.debit_rejection(state(deb), leg.amount):
                raise InsufficientAvailable(
                    ledger.reject_message(
                        ledger.Reject.INSUFFICIENT_AVAILABLE, state(deb), leg.amount
                    )
                )
            deb.posted = int(deb.posted) - leg.amount
            cred.posted = int(cred.posted) + leg.amount
            seq = self.session.execute(
                insert(RegJournal).returning(RegJournal.seq),
                [
                    {
                        "tx_id": tx.id,
                        "instrument_id": leg.instrument.id,
                        "debit_account_id": leg.debit.id,
                        "credit_account_id": leg.credit.id,
                        "amount": leg.amount,
                    }
                ],
            ).scalar_one()
            ranges = self._move_serials(leg, tx.id, int(seq)) if leg.instrument.serialised else []
            views.append(
                LegView(
                    instrument_code=leg.instrument.code,
                    from_account=leg.debit.number,
                    to_account=leg.credit.number,
                    amount=leg.amount,
                    serials=[self.serial_text(leg.instrument, o, s, e) for o, s, e in ranges],
                    ranges=[(s, e) for _o, s, e in ranges],
                    unit=self.catalog.unit_of(
                        leg.instrument.instrument_class, leg.instrument.product
                    ),
                    scale=int(leg.instrument.scale),
                )
            )
        self.session.flush()
        body: dict[str, Any] = {
            "type": f"registry.{kind}",
            "org_id": event_org_id,
            "subject": f"regtx:{tx.id}",
            "tx_id": tx.id,
            "market": market_code,
            "legs": [
                {
                    "instrument": v.instrument_code,
                    "from": v.from_account,
                    "to": v.to_account,
                    "amount": v.amount,
                    "unit": v.unit,
                    "serials": v.serials,
                }
                for v in views
            ],
        }
        if reference:
            body["reference"] = reference
        if event:
            body.update(event)
        tx.leaf_index = self.append(body)
        return TxResult(tx.id, kind, market_code, tx.leaf_index, views)

    @staticmethod
    def serial_text(inst: RegInstrument, origin: str, start: int, end: int) -> str:
        """Readable serial range of an instrument."""
        base = inst.product if inst.project_id is None else f"{inst.product}-{inst.project_id}"
        if inst.region:
            base = f"{base}-{inst.region}"
        if inst.pollutant:
            base = f"{base}-{inst.pollutant}"
        return ledger.format_serial(inst.market_code, base, inst.vintage, origin, start, end)

    def _move_serials(self, leg: Leg, tx_id: str, journal_seq: int) -> list[tuple[str, int, int]]:
        """Move (or create, on issuance) the serial blocks of a leg; record the history."""
        moved: list[tuple[str, int, int]] = []
        if leg.debit.kind == ledger.AccountKind.ISSUANCE:
            inst = self.repo.require_locked(RegInstrument, leg.instrument.id, "instrument")
            start = int(inst.next_serial)
            end = start + leg.amount - 1
            inst.next_serial = end + 1
            origin = leg.origin or "ISS"
            self.session.add(
                RegSerialBlock(
                    id=new_id(),
                    instrument_id=inst.id,
                    account_id=leg.credit.id,
                    start_serial=start,
                    end_serial=end,
                    origin=origin,
                    last_tx_id=tx_id,
                )
            )
            moved.append((origin, start, end))
        else:
            blocks = self.repo.lowest_blocks(leg.debit.id, leg.instrument.id, leg.amount)
            left = leg.amount
            for block in blocks:
                size = int(block.end_serial) - int(block.start_serial) + 1
                if size <= left:
                    block.account_id = leg.credit.id
                    block.last_tx_id = tx_id
                    moved.append((block.origin, int(block.start_serial), int(block.end_serial)))
                    left -= size
                else:
                    cut = int(block.start_serial) + left
                    self.session.add(
                        RegSerialBlock(
                            id=new_id(),
                            instrument_id=block.instrument_id,
                            account_id=leg.credit.id,
                            start_serial=int(block.start_serial),
                            end_serial=cut - 1,
                            origin=block.origin,
                            last_tx_id=tx_id,
                        )
                    )
                    moved.append((block.origin, int(block.start_serial), cut - 1))
                    block.start_serial = cut
                    left = 0
                if left == 0:
                    break
            if left:
                raise AssertionError(
                    f"serial blocks of account {leg.debit.number} do not cover its balance"
                )
        self.session.flush()
        self.session.execute(
            insert(RegSerialMove),
            [
                {
                    "journal_seq": journal_seq,
                    "tx_id": tx_id,
                    "instrument_id": leg.instrument.id,
                    "start_serial": s,
                    "end_serial": e,
                    "from_account_id": leg.debit.id,
                    "to_account_id": leg.credit.id,
                    "origin": o,
                }
                for o, s, e in moved
            ],
        )
        return moved
