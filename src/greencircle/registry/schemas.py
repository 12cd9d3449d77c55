"""Pydantic request bodies of the registry API (``/v1/registry``).

Responses are the service's result records (:mod:`greencircle.registry.results`, frozen
dataclasses, rendered by FastAPI with their schema in OpenAPI). Quantities are integers
in the instrument's minor unit (``quantity_minor = quantity × 10^scale``); money is in
currency minor units (CNY: fen). ``instrument`` fields take an instrument id or its code
(``CN-CQ:CQEA:2025``). Quantities and amounts are strict JSON integers
(``"10"``, ``true``, ``1.0`` and ``1E2`` are 422 ``validation_error``) bounded by
``ledger.MAX_AMOUNT`` (10^15 minor units); positivity is checked by the service so that
every rejection carries its registry code (``invalid_quantity``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StrictInt

from greencircle.auth.schemas import In, PageOut
from greencircle.registry.ledger import MAX_AMOUNT

__all__ = [
    "AllocationLineIn",
    "AllocationPlanIn",
    "CancelIn",
    "CashIn",
    "FreezeIn",
    "IssueIn",
    "OpenAccountIn",
    "PageOut",
    "PledgeIn",
    "PostHoldIn",
    "ReasonIn",
    "ReserveCashIn",
    "ReserveUnitsIn",
    "RetireIn",
    "SettleIn",
    "SurrenderIn",
    "TransferIn",
    "TrueUpIn",
    "TrustedAccountIn",
    "VoidHoldIn",
]

#: A quantity [instrument minor units] or money amount [currency minor units]: a JSON
#: integer (no strings, booleans, floats or exponents) of at most ``MAX_AMOUNT`` (10^15);
#: positivity is checked by the service (``invalid_quantity``).
Quantity = Annotated[
    StrictInt, Field(le=MAX_AMOUNT, description="integer minor units, at most 10^15")
]
Year = Annotated[StrictInt, Field(ge=1990, le=2200)]
IdStr = Annotated[str, Field(min_length=1, max_length=26)]
InstrumentRef = Annotated[str, Field(min_length=1, max_length=160, description="id or code")]
AccountNo = Annotated[
    str, Field(min_length=1, max_length=120, description="account number: CN-CQ.CQ-CEM-01")
]


class OpenAccountIn(In):
    """Open (or return) a holding account; ``org_id`` defaults to the caller's."""

    market_code: str = Field(min_length=1, max_length=24)
    org_id: str | None = Field(default=None, max_length=26)


class IssueIn(In):
    """Issue offsets, pollutant, water or energy-use rights to a holder (regulator)."""

    market_code: str = Field(min_length=1, max_length=24)
    product: str = Field(min_length=1, max_length=24)
    vintage: Year
    to_org_id: IdStr
    quantity: Quantity
    project_id: str | None = Field(default=None, max_length=60)
    region: str | None = Field(default=None, max_length=60)
    pollutant: str | None = Field(default=None, max_length=16)
    reference: str | None = Field(default=None, max_length=80)


class CancelIn(In):
    """Cancel available units of a holding, irreversibly, with a reason (regulator)."""

    account_number: AccountNo
    instrument: InstrumentRef
    quantity: Quantity
    reason: str = Field(min_length=1, max_length=400)


class AllocationLineIn(In):
    """One organisation's line: ``benchmark`` (activity = output, with sector and
    benchmark key) or ``grandfathering`` (activity = baseline emissions [tCO2e])."""

    org_id: IdStr
    method: Literal["benchmark", "grandfathering"]
    activity: Decimal = Field(ge=0, le=10**12, description="output [unit] or tCO2e")
    factor: Decimal = Field(default=Decimal(1), ge=0, le=10)
    sector: str | None = Field(default=None, max_length=40)
    benchmark_key: str | None = Field(default=None, max_length=60)


class AllocationPlanIn(In):
    """A yearly allocation plan for the regulator's jurisdiction (four-eyes approval)."""

    market_code: str = Field(min_length=1, max_length=24)
    year: Year
    product: str = Field(min_length=1, max_length=24)
    pre_share_bp: StrictInt = Field(
        default=10_000, ge=0, le=10_000, description="share issued first [basis points]"
    )
    lines: list[AllocationLineIn] = Field(min_length=1, max_length=5000)


class TrueUpIn(In):
    """Verified activity (output or baseline) per organisation id for the true-up."""

    activities: dict[str, Decimal] = Field(default_factory=dict)


class TransferIn(In):
    """Move units between holding accounts of one market (the sender's holder)."""

    from_account: AccountNo
    to_account: AccountNo
    instrument: InstrumentRef
    quantity: Quantity
    note: str | None = Field(default=None, max_length=200)


class ReasonIn(In):
    """A reason (rejections, lifting a freeze)."""

    reason: str = Field(default="", max_length=400)


class TrustedAccountIn(In):
    """An account to which transfers need no second approval."""

    account_number: AccountNo


class CashIn(In):
    """A deposit or withdrawal booked by the settlement bank [currency minor units]."""

    org_id: IdStr
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    amount_minor: Quantity
    reference: str = Field(min_length=1, max_length=80)


class SurrenderIn(In):
    """Surrender allowances or offsets for a compliance year (the obligated organisation;
    ``org_id`` defaults to the caller's)."""

    market_code: str = Field(min_length=1, max_length=24)
    year: Year
    instrument: InstrumentRef
    quantity: Quantity
    org_id: str | None = Field(default=None, max_length=26)


class RetireIn(In):
    """Retire units for a named beneficiary, purpose and period (ISO dates)."""

    account_number: AccountNo
    instrument: InstrumentRef
    quantity: Quantity
    beneficiary: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=400)
    period_start: str = Field(min_length=10, max_length=10, examples=["2025-10-01"])
    period_end: str = Field(min_length=10, max_length=10, examples=["2025-10-05"])


class PledgeIn(In):
    """Encumber units in favour of a financial institution."""

    account_number: AccountNo
    instrument: InstrumentRef
    quantity: Quantity
    pledgee_org_id: IdStr
    reference: str = Field(min_length=1, max_length=80, description="loan or contract reference")


class FreezeIn(In):
    """Freeze units of an account (default: all available) with a reason (regulator)."""

    account_number: AccountNo
    instrument: InstrumentRef
    reason: str = Field(min_length=1, max_length=400)
    quantity: Quantity | None = None


class ReserveUnitsIn(In):
    """Reserve a participant's units for an order (exchange operator)."""

    org_id: IdStr
    instrument: InstrumentRef
    quantity: Quantity
    reference: str | None = Field(default=None, max_length=80)


class ReserveCashIn(In):
    """Reserve a participant's money for a buy order (exchange operator)."""

    org_id: IdStr
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    amount_minor: Quantity
    reference: str | None = Field(default=None, max_length=80)


class PostHoldIn(In):
    """Post (part of) a hold to an organisation's account (default: what remains)."""

    to_org_id: IdStr
    amount: Quantity | None = None


class VoidHoldIn(In):
    """Release (part of) a hold (default: what remains)."""

    amount: Quantity | None = None


class SettleIn(In):
    """Delivery versus payment of a unit hold against a cash hold."""

    unit_hold_id: IdStr
    cash_hold_id: IdStr
    quantity: Quantity
    cash_amount_minor: Quantity
    reference: str | None = Field(default=None, max_length=80)
