"""Pure core of the registry: balance checks, posting rules, serial blocks and the
arithmetic of allocation, compliance and penalties. No I/O, no database.

Conventions
-----------
* Quantities are integers in the instrument's minor unit (``quantity × 10**scale``); money
  is integer minor units of a currency (CNY: fen).
* A movement of ``amount`` from account A to account B *debits* A and *credits* B
  (TigerBeetle's convention); an account's posted balance is ``credits − debits``. Every
  movement has both legs on the same instrument, so the posted balances of an instrument
  sum to zero: the issuance account of a market goes negative by exactly what was issued.
* ``available = posted − held − pledged − frozen``; only system accounts may go negative.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from greencircle.registry.markets import PenaltyRule

Range = tuple[int, int]  # inclusive [start, end] serial range


class Reject(StrEnum):
    """Result codes of the pure checks (same strings as the error codes)."""

    INSUFFICIENT_AVAILABLE = "insufficient_available"
    UNITS_PLEDGED = "units_pledged"
    FROZEN = "frozen"
    INVALID_QUANTITY = "invalid_quantity"
    HOLD_EXCEEDED = "hold_exceeded"


class AccountKind(StrEnum):
    """Kinds of registry account."""

    HOLDING = "holding"  # per participant per market
    CASH = "cash"  # per participant per currency (minor units)
    ISSUANCE = "issuance"  # system: source of issued units (goes negative)
    COMPLIANCE = "compliance"  # system: surrendered units
    RETIREMENT = "retirement"  # system: voluntarily retired units
    CANCELLATION = "cancellation"  # system: cancelled units (true-up returns, corrections)
    CASH_EXTERNAL = "cash_external"  # system: money outside the platform (goes negative)


class TxKind(StrEnum):
    """Kinds of ledger transaction (journal, transparency log, serial history)."""

    ISSUE = "issue"
    CANCEL = "cancel"
    ALLOCATION = "allocation"
    TRANSFER = "transfer"
    HOLD_POST = "hold_post"
    SETTLE_DVP = "settle_dvp"
    SETTLE_DVP_PVP = "settle_dvp_pvp"
    SURRENDER = "surrender"
    RETIRE = "retire"
    PLEDGE_ENFORCE = "pledge_enforce"
    DEPOSIT = "deposit"
    WITHDRAW = "withdraw"


class ComplianceState(StrEnum):
    """Compliance status of one organisation, market and year."""

    NOT_COVERED = "not_covered"  # this market does not cover it (no obligation here)
    NOT_VERIFIED = "not_verified"  # covered; emissions not verified yet
    OPEN = "open"  # something remains due, before the deadline
    COMPLIANT = "compliant"
    SHORTFALL = "shortfall"  # something remains due after the deadline


class TransferState(StrEnum):
    """Statuses of a transfer."""

    PENDING_APPROVAL = "pending_approval"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PledgeState(StrEnum):
    """Statuses of a pledge."""

    ACTIVE = "active"
    RELEASED = "released"
    ENFORCED = "enforced"


class FreezeState(StrEnum):
    """Statuses of a freeze."""

    ACTIVE = "active"
    LIFTED = "lifted"


class PlanState(StrEnum):
    """Statuses of an allocation plan (four-eyes: draft -> approved -> issued)."""

    DRAFT = "draft"
    APPROVED = "approved"
    PRE_ISSUED = "pre_issued"
    ISSUED = "issued"
    TRUE_UP_PENDING = "true_up_pending"
    FINAL = "final"


class HoldState(StrEnum):
    """Statuses of a hold."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


SYSTEM_KINDS = frozenset(
    {
        AccountKind.ISSUANCE,
        AccountKind.COMPLIANCE,
        AccountKind.RETIREMENT,
        AccountKind.CANCELLATION,
        AccountKind.CASH_EXTERNAL,
    }
)
#: Accounts that may have a negative posted balance (sources of the double entry).
NEGATIVE_KINDS = frozenset({AccountKind.ISSUANCE, AccountKind.CASH_EXTERNAL})
#: Accounts units can never leave (irreversible sinks).
SINK_KINDS = frozenset({AccountKind.COMPLIANCE, AccountKind.RETIREMENT, AccountKind.CANCELLATION})


@dataclass(frozen=True)
class BalanceState:
    """One account's balance of one instrument."""

    posted: int = 0
    held: int = 0
    pledged: int = 0
    frozen: int = 0
    allow_negative: bool = False

    @property
    def available(self) -> int:
        """What can be moved, held, pledged or frozen now."""
        return self.posted - self.held - self.pledged - self.frozen

    @property
    def encumbered(self) -> int:
        """Pledged plus frozen."""
        return self.pledged + self.frozen


#: Largest quantity or money amount of one operation [minor units]: 10^15 (CNY 10^13, ten
#: trillion yuan; 10^15 tCO2e). Together with :data:`MAX_OUTSTANDING` it keeps every sum
#: the registry forms (balances, holds, region totals) far inside signed 64 bits
#: (2^63 - 1 ~ 9.22 x 10^18).
MAX_AMOUNT = 10**15
#: Largest outstanding amount of one instrument [minor units]: 10^17. The issuance and
#: external-cash accounts (the only negative ones) may not go below ``-MAX_OUTSTANDING``, and
#: since an instrument's balances sum to zero, no balance, hold or total of it can exceed it.
MAX_OUTSTANDING = 10**17


def check_quantity(amount: int) -> Reject | None:
    """Quantities are integers in ``1 .. MAX_AMOUNT`` (``bool`` is refused)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        return Reject.INVALID_QUANTITY
    if amount <= 0 or amount > MAX_AMOUNT:
        return Reject.INVALID_QUANTITY
    return None


def outstanding_rejection(balance: BalanceState, amount: int) -> bool:
    """Whether debiting ``amount`` from a negative-allowed source account would take the
    instrument's outstanding amount beyond :data:`MAX_OUTSTANDING`."""
    return balance.allow_negative and balance.posted - amount < -MAX_OUTSTANDING


def debit_rejection(balance: BalanceState, amount: int) -> Reject | None:
    """Why ``amount`` cannot leave the available balance, or ``None`` if it can.

    The reason names the *binding* constraint: if the units exist but are pledged, the
    answer is ``units_pledged``; if they are frozen (and not pledged), ``frozen``.
    """
    if (bad := check_quantity(amount)) is not None:
        return bad
    if balance.allow_negative or amount <= balance.available:
        return None
    free_of_holds = balance.posted - balance.held
    if amount <= free_of_holds - balance.pledged:
        return Reject.FROZEN
    if amount <= free_of_holds:
        return Reject.UNITS_PLEDGED if balance.pledged > 0 else Reject.FROZEN
    return Reject.INSUFFICIENT_AVAILABLE


def reject_message(code: Reject, balance: BalanceState, amount: int) -> str:
    """A human explanation of a rejection with the figures that caused it."""
    return (
        f"{code.value}: requested {amount}, available {balance.available} "
        f"(posted {balance.posted}, held {balance.held}, pledged {balance.pledged}, "
        f"frozen {balance.frozen})"
    )


def replay(entries: Iterable[tuple[str, str, str, int]]) -> dict[tuple[str, str], int]:
    """Posted balances re-derived from journal legs.

    Parameters
    ----------
    entries
        ``(instrument_id, debit_account_id, credit_account_id, amount)`` per leg.

    Returns
    -------
    dict
        ``(account_id, instrument_id) -> credits − debits``.
    """
    out: dict[tuple[str, str], int] = {}
    for instrument, debit, credit, amount in entries:
        out[(debit, instrument)] = out.get((debit, instrument), 0) - amount
        out[(credit, instrument)] = out.get((credit, instrument), 0) + amount
    return out


# -- serial blocks -----------------------------------------------------------------------
def take_lowest(blocks: Sequence[Range], quantity: int) -> tuple[list[Range], list[Range]]:
    """Split ``blocks`` (sorted, disjoint) into the lowest ``quantity`` serials and the rest.

    A block straddling the cut is split in two; serials themselves never change.

    Returns
    -------
    (taken, kept)
        Both lists of inclusive ranges, sorted; ``sum(size(taken)) == quantity``.

    Raises
    ------
    ValueError
        If the blocks hold fewer than ``quantity`` serials.
    """
    taken: list[Range] = []
    kept: list[Range] = []
    left = quantity
    for start, end in blocks:
        size = end - start + 1
        if left <= 0:
            kept.append((start, end))
        elif size <= left:
            taken.append((start, end))
            left -= size
        else:
            taken.append((start, start + left - 1))
            kept.append((start + left, end))
            left = 0
    if left > 0:
        raise ValueError(f"blocks hold {quantity - left} serials, {quantity} requested")
    return taken, kept


def range_size(r: Range) -> int:
    """Number of serials in an inclusive range."""
    return r[1] - r[0] + 1


def overlapping(ranges: Iterable[Range]) -> list[tuple[Range, Range]]:
    """Pairs of overlapping ranges (empty when all are disjoint)."""
    ordered = sorted(ranges)
    return [(a, b) for a, b in itertools.pairwise(ordered) if b[0] <= a[1]]


def format_serial(
    market: str, product: str, vintage: int | None, origin: str, start: int, end: int
) -> str:
    """Readable serial range: ``CN-CQ-CQEA-2025-ALLOC-2025-CN-CQ-000000001-000005000``.

    ``origin`` is the project id (offsets) or the allocation / issuance reference.
    """
    v = "NA" if vintage is None else str(vintage)
    return f"{market}-{product}-{v}-{origin}-{start:09d}-{end:09d}"


# -- allocation --------------------------------------------------------------------------
def to_units(value_major: Decimal, scale: int, rounding: str = ROUND_HALF_EVEN) -> int:
    """Decimal quantity [unit] to integer minor units with the given rounding."""
    return int((value_major.scaleb(scale)).to_integral_value(rounding=rounding))


def benchmark_allocation(
    benchmark_tco2_per_unit: Decimal, output: Decimal, correction: Decimal, scale: int
) -> int:
    """Free allocation by benchmark: ``A = B × Q × F``.

    Parameters
    ----------
    benchmark_tco2_per_unit
        Benchmark B [tCO2 per unit of output] (e.g. tCO2/MWh of supplied electricity).
    output
        Output Q [unit] (e.g. MWh).
    correction
        Product of correction factors F [-] (cooling, load, heat-supply factors).
    scale
        Instrument scale; the result is rounded half-even to whole minor units.
    """
    return to_units(benchmark_tco2_per_unit * output * correction, scale)


def grandfathering_allocation(baseline_tco2: Decimal, factor: Decimal, scale: int) -> int:
    """Allocation by historical emissions: ``A = E_base × f`` (f: reduction factor)."""
    return to_units(baseline_tco2 * factor, scale)


def pre_allocation(total: int, share_bp: int) -> int:
    """Pre-allocated part of ``total`` for a share in basis points (floor)."""
    return total * share_bp // 10_000


# -- compliance --------------------------------------------------------------------------
def obligation_units(verified_tco2: Decimal, scale: int) -> int:
    """Units due for verified emissions, rounded up to whole minor units."""
    return to_units(verified_tco2, scale, ROUND_CEILING)


def offset_cap_units(obligation: int, cap_pct: Decimal) -> int:
    """Most offset units usable: ``floor(obligation × cap / 100)``."""
    return int((Decimal(obligation) * cap_pct / 100).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class PenaltyAssessment:
    """Fine range [currency minor units] and next-year deduction [units] for a shortfall."""

    kind: str
    fine_min_minor: int | None
    fine_max_minor: int | None
    deduction_units: int
    average_price_minor: Decimal | None
    note: str


def assess_penalty(
    rule: PenaltyRule,
    shortfall_units: int,
    *,
    unit_scale: int,
    currency_scale: int,
    average_price_minor: Decimal | None,
) -> PenaltyAssessment:
    """Apply a market's penalty rule to a shortfall.

    ``multiple_of_average_price``: ``fine = m × P × S`` with P the average price
    [currency minor units per whole unit] and S the shortfall in whole units
    (``shortfall_units / 10**unit_scale``), rounded half-even to minor units, for
    ``m = multiple_min`` and ``multiple_max``. ``fixed_range``: the range converted to
    minor units. No fine when there is no shortfall.
    """
    deduction = shortfall_units if rule.next_year_deduction else 0
    if shortfall_units <= 0 or rule.kind == "none":
        return PenaltyAssessment(rule.kind, 0, 0, 0, average_price_minor, "no shortfall")
    if rule.kind == "fixed_range":
        assert rule.min_major is not None
        assert rule.max_major is not None
        return PenaltyAssessment(
            rule.kind,
            to_units(rule.min_major, currency_scale),
            to_units(rule.max_major, currency_scale),
            deduction,
            None,
            "fixed fine range",
        )
    assert rule.multiple_min is not None
    assert rule.multiple_max is not None
    if average_price_minor is None:
        return PenaltyAssessment(
            rule.kind, None, None, deduction, None, "no average price for the window"
        )
    whole = Decimal(shortfall_units).scaleb(-unit_scale)

    def fine(m: Decimal) -> int:
        return to_units(m * average_price_minor * whole, 0)

    return PenaltyAssessment(
        rule.kind,
        fine(rule.multiple_min),
        fine(rule.multiple_max),
        deduction,
        average_price_minor,
        f"{rule.multiple_min}-{rule.multiple_max} x average price over "
        f"{rule.window_months} month(s) before the deadline",
    )
