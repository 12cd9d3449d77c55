"""Result records returned by :class:`~greencircle.registry.service.RegistryService`.

Frozen dataclasses with ``to_dict()`` (Decimals as strings), so an HTTP endpoint or CLI
command is a thin wrapper: call the service, return ``result.to_dict()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from greencircle.registry.errors import RegistryError, rejection


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


class Record:
    """Mixin: JSON-friendly ``to_dict``."""

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types."""
        out = _plain(self)
        assert isinstance(out, dict)
        return out


@dataclass(frozen=True)
class AccountView(Record):
    """An account."""

    id: str
    number: str
    kind: str
    market_code: str
    org_id: str | None
    currency: str | None


@dataclass(frozen=True)
class BalanceView(Record):
    """One balance line: posted = available + held + pledged + frozen [minor units]."""

    account_id: str
    account_number: str
    instrument_id: str
    instrument_code: str
    unit: str
    scale: int
    posted: int
    held: int
    pledged: int
    frozen: int
    available: int
    encumbered: int


@dataclass(frozen=True)
class LegView(Record):
    """One posted leg with the serial ranges it moved (readable format)."""

    instrument_code: str
    from_account: str
    to_account: str
    amount: int
    serials: list[str] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class TxResult(Record):
    """A posted registry transaction and its transparency-log leaf."""

    tx_id: str
    kind: str
    market_code: str
    leaf_index: int | None
    legs: list[LegView]


@dataclass(frozen=True)
class TransferResult(Record):
    """Outcome of a transfer request: ``completed`` or ``pending_approval``."""

    transfer_id: str
    status: str
    quantity: int
    from_account: str
    to_account: str
    instrument_code: str
    four_eyes: bool
    tx: TxResult | None
    replayed: bool = False
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class HoldResult(Record):
    """Outcome of a reservation. Rejections are result codes, not exceptions (hot path)."""

    status: str  # reserved | rejected
    hold_id: str | None
    account_number: str
    instrument_code: str
    amount: int
    code: str | None = None
    detail: str | None = None
    replayed: bool = False
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``

    @property
    def ok(self) -> bool:
        """Whether the units or money are reserved."""
        return self.status == "reserved"

    def error(self) -> RegistryError | None:
        """The rejection as an error (``None`` when reserved)."""
        if self.code is None:
            return None
        return rejection(self.code, self.detail or self.code)

    def raise_for_status(self) -> HoldResult:
        """Raise the rejection, or return self."""
        err = self.error()
        if err is not None:
            raise err
        return self


@dataclass(frozen=True)
class HoldView(Record):
    """A hold's state."""

    hold_id: str
    account_number: str
    instrument_code: str
    amount: int
    posted_amount: int
    voided_amount: int
    remaining: int
    status: str
    purpose: str
    reference: str | None
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class SettlementResult(Record):
    """A delivery-versus-payment settlement: units and cash moved in one transaction."""

    tx: TxResult
    unit_hold: HoldView
    cash_hold: HoldView
    replayed: bool = False


@dataclass(frozen=True)
class AllocationLineView(Record):
    """One organisation's allocation."""

    org_id: str
    method: str
    sector: str | None
    benchmark_key: str | None
    benchmark_value: str | None
    benchmark_status: str | None
    activity: str
    factor: str
    deduction: int
    quantity: int
    pre_quantity: int
    final_quantity: int | None
    issued: int
    owed: int


@dataclass(frozen=True)
class AllocationPlanView(Record):
    """An allocation plan and its lines."""

    plan_id: str
    market_code: str
    year: int
    jurisdiction_code: str
    product: str
    instrument_code: str
    pre_share_bp: int
    status: str
    created_by: str
    approved_by: str | None
    total_quantity: int
    lines: list[AllocationLineView]
    tx_ids: list[str] = field(default_factory=list)
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class SurrenderResult(Record):
    """A surrender for compliance."""

    surrender_id: str
    org_id: str
    compliance_year: int
    kind: str
    quantity: int
    tx: TxResult
    status: ComplianceStatus
    unit: str = ""  # unit of the quantity (the instrument class's)
    scale: int = 0


@dataclass(frozen=True)
class ComplianceStatus(Record):
    """Compliance position of one organisation for one market and year [units]."""

    org_id: str
    org_code: str
    jurisdiction_code: str
    market_code: str
    year: int
    verified_emissions_tco2: Decimal | None
    obligation: int | None
    allocation_owed: int
    surrendered_allowances: int
    surrendered_offsets: int
    offset_cap: int | None
    remaining: int | None
    deadline: datetime
    status: str  # not_covered | not_verified | open | compliant | shortfall
    unit: str  # unit of obligation, allowances and offsets (allowance class)
    covered_by: str | None  # the one market whose obligation this year is (None: none)


@dataclass(frozen=True)
class RegionCompliance(Record):
    """Compliance of all covered organisations of a region."""

    market_code: str
    year: int
    jurisdiction_code: str
    entities: int
    compliant: int
    open: int
    shortfall: int
    not_verified: int
    obligation: int
    surrendered: int
    items: list[ComplianceStatus]
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class ShortfallLine(Record):
    """A shortfall after the deadline and the penalty the market's rule gives."""

    org_id: str
    org_code: str
    shortfall: int
    currency: str
    fine_min_minor: int | None
    fine_max_minor: int | None
    average_price_minor: Decimal | None
    deduction_units: int
    rule_kind: str
    rule_status: str
    rule_source: str
    note: str
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class ShortfallReport(Record):
    """Shortfalls of a market and year, with the penalty rule's status and window."""

    market_code: str
    year: int
    deadline: datetime
    price_window: tuple[datetime, datetime] | None
    lines: list[ShortfallLine]
    alternative_rule: dict[str, Any] | None


@dataclass(frozen=True)
class RetirementResult(Record):
    """A voluntary retirement and its log leaf (for the certificate and proof)."""

    retirement_id: str
    org_id: str
    instrument_code: str
    quantity: int
    unit: str
    scale: int
    beneficiary: str
    purpose: str
    period_start: str
    period_end: str
    serials: list[str]
    tx_id: str
    leaf_index: int | None
    created_at: datetime


@dataclass(frozen=True)
class PledgeView(Record):
    """A pledge in the register."""

    pledge_id: str
    pledgor_org_id: str
    pledgee_org_id: str
    account_number: str
    instrument_code: str
    quantity: int
    status: str
    reference: str
    release_requested: bool
    tx_id: str | None
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class FreezeView(Record):
    """A freeze by a regulator."""

    freeze_id: str
    account_number: str
    instrument_code: str
    quantity: int
    reason: str
    status: str
    regulator_org_id: str
    lift_reason: str | None
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class SerialMoveView(Record):
    """One step in the history of a serial range."""

    tx_id: str
    kind: str
    at: datetime
    serials: str
    start: int
    end: int
    from_account: str
    to_account: str
    leaf_index: int | None


@dataclass(frozen=True)
class SerialSearchResult(Record):
    """Where every unit of a serial range is now and how it got there."""

    instrument_code: str
    start: int
    end: int
    current: list[tuple[str, str]]  # (serial range, account number)
    history: list[SerialMoveView]
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class CashResult(Record):
    """A deposit or withdrawal booked by the settlement bank."""

    tx: TxResult
    account_number: str
    currency: str
    amount_minor: int
    balance_minor: int
    replayed: bool = False
    scale: int = 2  # amounts are integers x 10^scale of the currency (CNY: fen)


@dataclass(frozen=True)
class InstrumentView(Record):
    """One instrument series (reference data, public)."""

    id: str
    code: str
    market_code: str
    product: str
    instrument_class: str
    vintage: int | None
    project_id: str | None
    region: str | None
    pollutant: str | None
    unit: str
    scale: int
    issued: int  # serials issued so far (next_serial - 1)


@dataclass(frozen=True)
class SerialBlockView(Record):
    """A current serial block of a holding (immutable range, readable form)."""

    account_number: str
    instrument_id: str
    instrument_code: str
    start: int
    end: int
    quantity: int
    serials: str
    last_tx_id: str
    leaf_index: int | None
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class SurrenderView(Record):
    """A past surrender for compliance."""

    surrender_id: str
    org_id: str
    market_code: str
    compliance_year: int
    instrument_code: str
    kind: str
    quantity: int
    tx_id: str
    leaf_index: int | None
    created_at: datetime
    unit: str = ""  # unit of the quantities: the instrument class's (or the currency)
    scale: int = 0  # quantities are integers x 10^scale of ``unit``


@dataclass(frozen=True)
class StatementLine(Record):
    """One movement of an account statement [minor units of the instrument]."""

    seq: int
    tx_id: str
    kind: str
    at: datetime
    counterparty: str  # the other account of the leg
    credit: int  # into the account
    debit: int  # out of the account
    balance: int  # posted balance after this movement
    reference: str | None
    leaf_index: int | None


@dataclass(frozen=True)
class AccountStatement(Record):
    """Movements of one account and instrument with the running posted balance."""

    account_number: str
    instrument_code: str
    unit: str
    scale: int
    lines: list[StatementLine]
    closing: int  # = the account's posted balance now
