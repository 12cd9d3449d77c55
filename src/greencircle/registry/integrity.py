"""Ledger integrity checks: every invariant of the registry, re-derived from the tables.

Used by the tests (state machine, concurrency) and by operators (a nightly check):
``verify_ledger(session)`` returns a list of violations, empty when all hold.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greencircle.registry import ledger
from greencircle.registry.models import (
    RegAccount,
    RegBalance,
    RegFreeze,
    RegHold,
    RegInstrument,
    RegJournal,
    RegPledge,
    RegSerialBlock,
)


def verify_ledger(session: Session) -> list[str]:
    """Check the invariants; return human-readable violations (empty list when sound).

    1. Per instrument the posted balances sum to zero (double entry).
    2. Replaying the journal reproduces every posted balance.
    3. No participant or sink balance is negative; available >= 0 outside source accounts.
    4. issued (= −issuance balance) = held by participants + surrendered + retired +
       cancelled.
    5. Serial blocks never overlap; the blocks of each account sum to its posted balance;
       all blocks of an instrument cover exactly the serials issued (1..next_serial−1).
    6. Pending holds, active pledges and active freezes sum to the balance's held, pledged
       and frozen amounts.
    """
    out: list[str] = []
    accounts = {a.id: a for a in session.scalars(select(RegAccount))}
    instruments = {i.id: i for i in session.scalars(select(RegInstrument))}
    balances = {(b.account_id, b.instrument_id): b for b in session.scalars(select(RegBalance))}

    sums: dict[str, int] = defaultdict(int)
    for (_acc, inst), b in balances.items():
        sums[inst] += int(b.posted)
    out += [f"instrument {instruments[i].code}: balances sum to {s}" for i, s in sums.items() if s]

    journal = session.execute(
        select(
            RegJournal.instrument_id,
            RegJournal.debit_account_id,
            RegJournal.credit_account_id,
            RegJournal.amount,
        )
    )
    replayed = ledger.replay((i, d, c, int(a)) for i, d, c, a in journal)
    for key in set(replayed) | set(balances):
        want = replayed.get(key, 0)
        got = int(balances[key].posted) if key in balances else 0
        if want != got:
            out.append(f"balance {key}: posted {got}, journal replay {want}")

    issued: dict[str, int] = defaultdict(int)
    located: dict[str, int] = defaultdict(int)
    for (acc_id, inst), b in balances.items():
        acc = accounts[acc_id]
        s = ledger.BalanceState(int(b.posted), int(b.held), int(b.pledged), int(b.frozen))
        if acc.kind in ledger.NEGATIVE_KINDS:
            issued[inst] -= s.posted
            continue
        located[inst] += s.posted
        if min(s.posted, s.held, s.pledged, s.frozen, s.available) < 0:
            out.append(f"balance {acc.number}/{instruments[inst].code} negative: {s}")
    for inst in set(issued) | set(located):
        if issued[inst] != located[inst]:
            out.append(
                f"instrument {instruments[inst].code}: issued {issued[inst]} != "
                f"located {located[inst]}"
            )

    blocks: dict[str, list[tuple[int, int]]] = defaultdict(list)
    per_account: dict[tuple[str, str], int] = defaultdict(int)
    for blk in session.scalars(select(RegSerialBlock)):
        r = (int(blk.start_serial), int(blk.end_serial))
        blocks[blk.instrument_id].append(r)
        per_account[(blk.account_id, blk.instrument_id)] += ledger.range_size(r)
    for inst_id, ins in instruments.items():
        if not ins.serialised:
            continue
        ranges = blocks.get(inst_id, [])
        if bad := ledger.overlapping(ranges):
            out.append(f"instrument {ins.code}: overlapping serial blocks {bad[:3]}")
        total = sum(ledger.range_size(r) for r in ranges)
        if total != int(ins.next_serial) - 1 or total != issued.get(inst_id, 0):
            out.append(
                f"instrument {ins.code}: blocks cover {total}, next_serial "
                f"{ins.next_serial}, issued {issued.get(inst_id, 0)}"
            )
        for (acc_id, i2), b in balances.items():
            own = i2 == inst_id and accounts[acc_id].kind not in ledger.NEGATIVE_KINDS
            if own and per_account.get((acc_id, i2), 0) != int(b.posted):
                out.append(
                    f"{accounts[acc_id].number}/{ins.code}: blocks "
                    f"{per_account.get((acc_id, i2), 0)} != posted {b.posted}"
                )

    def check(label: str, rows: dict[tuple[str, str], int], attr: str) -> None:
        for key, b in balances.items():
            if rows.get(key, 0) != int(getattr(b, attr)):
                out.append(f"{accounts[key[0]].number}: {label} {rows.get(key, 0)} != {attr}")

    held = {
        (a, i): int(s or 0)
        for a, i, s in session.execute(
            select(
                RegHold.account_id,
                RegHold.instrument_id,
                func.sum(RegHold.amount - RegHold.posted_amount - RegHold.voided_amount),
            )
            .where(RegHold.status == "pending")
            .group_by(RegHold.account_id, RegHold.instrument_id)
        )
    }
    pledged = {
        (a, i): int(s or 0)
        for a, i, s in session.execute(
            select(RegPledge.account_id, RegPledge.instrument_id, func.sum(RegPledge.quantity))
            .where(RegPledge.status == "active")
            .group_by(RegPledge.account_id, RegPledge.instrument_id)
        )
    }
    frozen = {
        (a, i): int(s or 0)
        for a, i, s in session.execute(
            select(RegFreeze.account_id, RegFreeze.instrument_id, func.sum(RegFreeze.quantity))
            .where(RegFreeze.status == "active")
            .group_by(RegFreeze.account_id, RegFreeze.instrument_id)
        )
    }
    check("pending holds", held, "held")
    check("active pledges", pledged, "pledged")
    check("active freezes", frozen, "frozen")
    return out
