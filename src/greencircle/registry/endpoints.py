"""HTTP routes of the registry (``/v1/registry``).

Every route is a thin wrapper around :class:`~greencircle.registry.service.RegistryService`
with the same permission and scope checks as the CLI and the console. Rejections are
``{"error": code, "detail": ...}`` with the registry's stable codes
(:mod:`greencircle.registry.errors`): 422 for requests that cannot be accepted
(``insufficient_available``, ``units_pledged``, ``frozen``, ``offset_cap_exceeded``,
``wrong_market``, ``after_deadline``, ...), 403 for who may do it (``not_holder``,
``out_of_jurisdiction``, ``jurisdiction_not_eligible``, ``four_eyes_required``,
``not_pledgee``, ``permission_denied``), 404 ``not_found``, 409 ``invalid_state``.
Listings are pages (``limit``, ``offset``, ``sort`` = field or ``-field``). Mutating calls
accept ``Idempotency-Key`` (handled by the unit-of-work middleware).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from greencircle.api.deps import CurrentActor, PageDep, PageParams, SessionDep
from greencircle.audit.keys import LogSigner
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import Forbidden, Invalid
from greencircle.exchange.pricesource import ExchangePrices
from greencircle.mrv.verified import DbVerifiedEmissions
from greencircle.registry.ledger import MAX_OUTSTANDING
from greencircle.registry.markets import Market
from greencircle.registry.results import (
    AccountView,
    AllocationPlanView,
    BalanceView,
    CashResult,
    ComplianceStatus,
    FreezeView,
    HoldResult,
    HoldView,
    InstrumentView,
    PledgeView,
    RegionCompliance,
    RetirementResult,
    SerialBlockView,
    SerialSearchResult,
    SettlementResult,
    ShortfallReport,
    SurrenderResult,
    SurrenderView,
    TransferResult,
    TxResult,
)
from greencircle.registry.schemas import (
    AllocationPlanIn,
    CancelIn,
    CashIn,
    FreezeIn,
    IssueIn,
    OpenAccountIn,
    PageOut,
    PledgeIn,
    PostHoldIn,
    ReasonIn,
    ReserveCashIn,
    ReserveUnitsIn,
    RetireIn,
    SettleIn,
    SurrenderIn,
    TransferIn,
    TrueUpIn,
    TrustedAccountIn,
    VoidHoldIn,
)
from greencircle.registry.service import AllocationInput, RegistryService

router = APIRouter(prefix="/v1/registry", tags=["registry"])

T = TypeVar("T")

#: Any of these lets a user read something of the registry (a verifier holds none).
READ_PERMS = frozenset(
    {
        Perm.REGISTRY_READ,
        Perm.REGISTRY_SUPERVISE,
        Perm.REGISTRY_CASH,
        Perm.REGISTRY_HOLD,
    }
)


def service_for(session: Session, signer: LogSigner) -> RegistryService:
    """The registry service with verified emissions from MRV and prices from the exchange
    (API, CLI, console, demo)."""
    return RegistryService(
        session, signer, emissions=DbVerifiedEmissions(session), prices=ExchangePrices(session)
    )


def registry_service(request: Request, session: SessionDep) -> RegistryService:
    """The registry service of the request's unit of work."""
    signer: LogSigner = request.app.state.log_signer
    return service_for(session, signer)


RegistryDep = Annotated[RegistryService, Depends(registry_service)]
Year = Annotated[int, Query(ge=2000, le=2200)]
MarketQ = Annotated[str, Query(min_length=1, max_length=24, alias="market")]


def require_registry_reader(actor: Actor) -> None:
    """403 ``permission_denied`` for users without any registry permission."""
    if not (actor.perms & READ_PERMS) and not actor.is_platform_admin:
        raise Forbidden("no registry permission", code="permission_denied")


def paged(
    items: Sequence[T],
    page: PageParams,
    *,
    default: str,
    key: Callable[[T, str], Any] | None = None,
) -> PageOut[T]:
    """Sort ``items`` by ``page.sort`` (a field, ``-`` for descending) and cut a page.

    An unknown field is 422 ``invalid_sort``.
    """
    sort = page.sort or default
    field = sort.lstrip("-")
    getter = key or (lambda item, name: getattr(item, name))
    if items:
        try:
            getter(items[0], field)
        except (AttributeError, KeyError):
            raise Invalid(f"cannot sort by {field!r}", code="invalid_sort") from None

    def order(item: T) -> tuple[bool, Any]:
        value = getter(item, field)
        return (value is None, value if value is not None else 0)

    rows = sorted(items, key=order, reverse=sort.startswith("-"))
    return PageOut[T](
        items=rows[page.offset : page.offset + page.limit],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
    )


def market_dict(m: Market) -> dict[str, Any]:
    """A market with its products and every rule with its status and source."""
    return {
        "code": m.code,
        "name_en": m.name_en,
        "name_zh": m.name_zh,
        "timezone": m.timezone,
        "authority_jurisdiction": m.authority_jurisdiction,
        "compliance_enabled": m.compliance_enabled,
        "products": [
            {"code": p.code, "class": p.class_code, "status": p.status, "source": p.source}
            for p in m.products.values()
        ],
        "rules": {k: f.to_dict() for k, f in m.facts().items()},
    }


def _inst(svc: RegistryService, ref: str) -> str:
    return svc.resolve_instrument(ref).id


# ==========================================================================================
# reference data
# ==========================================================================================
@router.get("/markets")
def list_markets(svc: RegistryDep) -> list[dict[str, Any]]:
    """Markets with products and rules (each rule with ``status`` and ``source``)."""
    return [market_dict(m) for m in svc.catalog.markets.values()]


@router.get("/markets/{market_code}")
def get_market(market_code: str, svc: RegistryDep) -> dict[str, Any]:
    """One market (404 ``unknown_market``)."""
    return market_dict(svc.catalog.market(market_code))


@router.get("/instruments", response_model=PageOut[InstrumentView])
def list_instruments(
    svc: RegistryDep,
    page: PageDep,
    market_code: Annotated[str | None, Query(alias="market", max_length=24)] = None,
    product: Annotated[str | None, Query(max_length=24)] = None,
) -> PageOut[InstrumentView]:
    """Instrument series issued so far (sort: code, vintage, product, issued...)."""
    items = svc.instruments(market_code=market_code, product=product)
    return paged(items, page, default="code")


@router.get("/instruments/{ref}", response_model=InstrumentView)
def get_instrument(ref: str, svc: RegistryDep) -> InstrumentView:
    """One instrument by id or code."""
    return svc.resolve_instrument(ref)


# ==========================================================================================
# accounts, balances, serial blocks, holding proofs
# ==========================================================================================
def org_scope(actor: Actor, svc: RegistryService, org_id: str | None) -> str:
    """The organisation a listing is about: the caller's, or one it supervises."""
    require_registry_reader(actor)
    if org_id is None or org_id == actor.org_id:
        return actor.org_id
    if Perm.REGISTRY_CASH in actor.perms or svc.supervises_org(actor, org_id):
        return org_id
    raise Forbidden("this organisation is outside your jurisdiction", code="out_of_jurisdiction")


@router.get("/accounts", response_model=PageOut[AccountView])
def list_accounts(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    org_id: Annotated[str | None, Query(max_length=26)] = None,
) -> PageOut[AccountView]:
    """Accounts of my organisation (regulators: of one in their jurisdiction)."""
    oid = org_scope(actor, svc, org_id)
    return paged(svc.accounts(actor, oid), page, default="number")


@router.post("/accounts", response_model=AccountView, status_code=201)
def open_account(body: OpenAccountIn, actor: CurrentActor, svc: RegistryDep) -> AccountView:
    """Open (or return) a holding account on a market (403 ``jurisdiction_not_eligible``
    or ``org_type_not_eligible`` when the market does not admit the organisation)."""
    return svc.open_holding_account(actor, body.org_id or actor.org_id, body.market_code)


@router.get("/balances", response_model=PageOut[BalanceView])
def list_balances(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    org_id: Annotated[str | None, Query(max_length=26)] = None,
    market_code: Annotated[str | None, Query(alias="market", max_length=24)] = None,
) -> PageOut[BalanceView]:
    """Balances (posted = available + held + pledged + frozen) of my organisation's
    accounts, or of an organisation I supervise (sort: account_number, instrument_code,
    posted, available...)."""
    oid = org_scope(actor, svc, org_id)
    items = svc.balances(actor, oid)
    if market_code:
        items = [b for b in items if b.account_number.startswith(f"{market_code}.")]
    return paged(items, page, default="account_number")


@router.get("/accounts/{number}/balance", response_model=BalanceView)
def get_balance(
    number: str,
    actor: CurrentActor,
    svc: RegistryDep,
    instrument: Annotated[str, Query(max_length=160, description="instrument id or code")],
) -> BalanceView:
    """One balance line of an account."""
    return svc.balance(actor, number, _inst(svc, instrument))


@router.get("/accounts/{number}/blocks", response_model=PageOut[SerialBlockView])
def list_blocks(
    number: str,
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    instrument: Annotated[str | None, Query(max_length=160)] = None,
) -> PageOut[SerialBlockView]:
    """Current serial blocks of an account (sort: start, instrument_code, quantity)."""
    inst = _inst(svc, instrument) if instrument else None
    return paged(svc.serial_blocks(actor, number, inst), page, default="instrument_code")


@router.get("/accounts/{number}/proofs")
def holding_proofs(
    number: str,
    actor: CurrentActor,
    svc: RegistryDep,
    instrument: Annotated[str, Query(max_length=160, description="instrument id or code")],
) -> dict[str, Any]:
    """Receipt bundles (``/v1/audit/bundle`` format) of the transactions that brought the
    account's current serial blocks there; verify with ``greencircle audit verify``."""
    inst = svc.resolve_instrument(instrument)
    return {
        "account_number": number,
        "instrument_code": inst.code,
        "bundles": svc.holding_proofs(actor, number, inst.id),
    }


@router.post("/trusted-accounts", response_model=AccountView, status_code=201)
def add_trusted_account(
    body: TrustedAccountIn, actor: CurrentActor, svc: RegistryDep
) -> AccountView:
    """Trust an account: transfers to it need no second approval."""
    return svc.add_trusted_account(actor, body.account_number)


# ==========================================================================================
# issuance and cancellation (regulator)
# ==========================================================================================
@router.post("/issuances", response_model=TxResult, status_code=201)
def issue(body: IssueIn, actor: CurrentActor, svc: RegistryDep) -> TxResult:
    """Issue offsets or other rights (allowances go through allocation plans)."""
    return svc.issue(
        actor,
        market_code=body.market_code,
        product=body.product,
        vintage=body.vintage,
        to_org_id=body.to_org_id,
        quantity=body.quantity,
        project_id=body.project_id,
        region=body.region,
        pollutant=body.pollutant,
        reference=body.reference,
    )


@router.post("/cancellations", response_model=TxResult, status_code=201)
def cancel(body: CancelIn, actor: CurrentActor, svc: RegistryDep) -> TxResult:
    """Cancel available units of a holding with a reason (regulator)."""
    return svc.cancel(
        actor,
        account_number=body.account_number,
        instrument_id=_inst(svc, body.instrument),
        quantity=body.quantity,
        reason=body.reason,
    )


# ==========================================================================================
# allocation plans (four-eyes)
# ==========================================================================================
@router.get("/allocation-plans", response_model=PageOut[AllocationPlanView])
def list_plans(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    market_code: Annotated[str | None, Query(alias="market", max_length=24)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
) -> PageOut[AllocationPlanView]:
    """Allocation plans of my jurisdiction (sort: year, market_code, status...)."""
    items = svc.allocation_plans(actor, market_code=market_code, year=year)
    return paged(items, page, default="-year")


@router.post("/allocation-plans", response_model=AllocationPlanView, status_code=201)
def create_plan(
    body: AllocationPlanIn, actor: CurrentActor, svc: RegistryDep
) -> AllocationPlanView:
    """Draft a plan; a second regulator user approves it."""
    return svc.create_allocation_plan(
        actor,
        market_code=body.market_code,
        year=body.year,
        product=body.product,
        pre_share_bp=body.pre_share_bp,
        lines=[
            AllocationInput(
                ln.org_id, ln.method, ln.activity, ln.factor, ln.sector, ln.benchmark_key
            )
            for ln in body.lines
        ],
    )


@router.get("/allocation-plans/{plan_id}", response_model=AllocationPlanView)
def get_plan(plan_id: str, actor: CurrentActor, svc: RegistryDep) -> AllocationPlanView:
    """One plan with its lines."""
    return svc.allocation_plan(actor, plan_id)


@router.post("/allocation-plans/{plan_id}/approve", response_model=AllocationPlanView)
def approve_plan(plan_id: str, actor: CurrentActor, svc: RegistryDep) -> AllocationPlanView:
    """Approve a draft plan (403 ``four_eyes_required`` for its author)."""
    return svc.approve_allocation_plan(actor, plan_id)


@router.post("/allocation-plans/{plan_id}/issue", response_model=AllocationPlanView)
def issue_plan(plan_id: str, actor: CurrentActor, svc: RegistryDep) -> AllocationPlanView:
    """Issue the pre-allocation share of an approved plan."""
    return svc.issue_allocation(actor, plan_id)


@router.post("/allocation-plans/{plan_id}/true-up", response_model=AllocationPlanView)
def submit_true_up(
    plan_id: str, body: TrueUpIn, actor: CurrentActor, svc: RegistryDep
) -> AllocationPlanView:
    """Propose final allocations from verified activity."""
    return svc.submit_true_up(actor, plan_id, body.activities)


@router.post("/allocation-plans/{plan_id}/true-up/approve", response_model=AllocationPlanView)
def approve_true_up(plan_id: str, actor: CurrentActor, svc: RegistryDep) -> AllocationPlanView:
    """Approve the true-up (second regulator); the difference is issued or owed."""
    return svc.approve_true_up(actor, plan_id)


# ==========================================================================================
# transfers
# ==========================================================================================
@router.get("/transfers", response_model=PageOut[TransferResult])
def list_transfers(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    status: Annotated[
        str | None, Query(pattern="^(pending_approval|completed|rejected|cancelled)$")
    ] = None,
) -> PageOut[TransferResult]:
    """Transfers sent or received by my organisation (supervisors: in jurisdiction)."""
    require_registry_reader(actor)
    return paged(svc.transfers(actor, status=status), page, default="transfer_id")


@router.post("/transfers", response_model=TransferResult, status_code=201)
def transfer(
    body: TransferIn, actor: CurrentActor, svc: RegistryDep, response: Response
) -> TransferResult:
    """Transfer units (201 ``completed``; 202 ``pending_approval`` at or above the
    market's four-eyes threshold unless the destination is trusted)."""
    result = svc.transfer(
        actor,
        from_account=body.from_account,
        to_account=body.to_account,
        instrument_id=_inst(svc, body.instrument),
        quantity=body.quantity,
        note=body.note,
    )
    if result.status == "pending_approval":
        response.status_code = 202
    return result


@router.get("/transfers/{transfer_id}", response_model=TransferResult)
def get_transfer(transfer_id: str, actor: CurrentActor, svc: RegistryDep) -> TransferResult:
    """One transfer."""
    return svc.transfer_status(actor, transfer_id)


@router.post("/transfers/{transfer_id}/approve", response_model=TransferResult)
def approve_transfer(transfer_id: str, actor: CurrentActor, svc: RegistryDep) -> TransferResult:
    """A second user of the sender approves (403 ``four_eyes_required`` for the initiator)."""
    return svc.approve_transfer(actor, transfer_id)


@router.post("/transfers/{transfer_id}/reject", response_model=TransferResult)
def reject_transfer(
    transfer_id: str, body: ReasonIn, actor: CurrentActor, svc: RegistryDep
) -> TransferResult:
    """Reject (second user) or cancel (initiator) a pending transfer."""
    return svc.reject_transfer(actor, transfer_id, body.reason)


# ==========================================================================================
# holds and delivery versus payment (exchange operator)
# ==========================================================================================
def _hold_or_raise(result: HoldResult) -> HoldResult:
    return result.raise_for_status()


@router.post("/holds/units", response_model=HoldResult, status_code=201)
def reserve_units(body: ReserveUnitsIn, actor: CurrentActor, svc: RegistryDep) -> HoldResult:
    """Reserve a participant's units (exchange operator); a rejection is 422 with its code."""
    return _hold_or_raise(
        svc.reserve_units(
            actor,
            org_id=body.org_id,
            instrument_id=_inst(svc, body.instrument),
            quantity=body.quantity,
            reference=body.reference,
        )
    )


@router.post("/holds/cash", response_model=HoldResult, status_code=201)
def reserve_cash(body: ReserveCashIn, actor: CurrentActor, svc: RegistryDep) -> HoldResult:
    """Reserve a participant's money [minor units] (exchange operator)."""
    return _hold_or_raise(
        svc.reserve_cash(
            actor,
            org_id=body.org_id,
            currency=body.currency,
            amount_minor=body.amount_minor,
            reference=body.reference,
        )
    )


@router.get("/holds/{hold_id}", response_model=HoldView)
def get_hold(hold_id: str, actor: CurrentActor, svc: RegistryDep) -> HoldView:
    """A hold (the exchange, the holder, supervisors)."""
    require_registry_reader(actor)
    return svc.hold(actor, hold_id)


@router.post("/holds/{hold_id}/post", response_model=TxResult)
def post_hold(hold_id: str, body: PostHoldIn, actor: CurrentActor, svc: RegistryDep) -> TxResult:
    """Post (part of) a hold to an organisation's account."""
    return svc.post_hold(actor, hold_id, to_org_id=body.to_org_id, amount=body.amount)


@router.post("/holds/{hold_id}/void", response_model=HoldView)
def void_hold(hold_id: str, body: VoidHoldIn, actor: CurrentActor, svc: RegistryDep) -> HoldView:
    """Release (part of) a hold."""
    return svc.void_hold(actor, hold_id, body.amount)


@router.post("/settlements", response_model=SettlementResult, status_code=201)
def settle(body: SettleIn, actor: CurrentActor, svc: RegistryDep) -> SettlementResult:
    """Delivery versus payment: both legs post in one transaction or neither does."""
    return svc.settle_dvp(
        actor,
        unit_hold_id=body.unit_hold_id,
        cash_hold_id=body.cash_hold_id,
        quantity=body.quantity,
        cash_amount_minor=body.cash_amount_minor,
        reference=body.reference,
    )


# ==========================================================================================
# cash (settlement bank)
# ==========================================================================================
@router.post("/cash/deposits", response_model=CashResult, status_code=201)
def deposit(body: CashIn, actor: CurrentActor, svc: RegistryDep) -> CashResult:
    """Book money received for a participant (settlement bank)."""
    return svc.deposit(
        actor,
        org_id=body.org_id,
        currency=body.currency,
        amount_minor=body.amount_minor,
        reference=body.reference,
    )


@router.post("/cash/withdrawals", response_model=CashResult, status_code=201)
def withdraw(body: CashIn, actor: CurrentActor, svc: RegistryDep) -> CashResult:
    """Book money paid out to a participant (settlement bank); only available money."""
    return svc.withdraw(
        actor,
        org_id=body.org_id,
        currency=body.currency,
        amount_minor=body.amount_minor,
        reference=body.reference,
    )


# ==========================================================================================
# compliance
# ==========================================================================================
@router.post("/surrenders", response_model=SurrenderResult, status_code=201)
def surrender(body: SurrenderIn, actor: CurrentActor, svc: RegistryDep) -> SurrenderResult:
    """Surrender allowances or offsets for a compliance year (422 ``offset_cap_exceeded``,
    ``vintage_not_eligible``, ``after_deadline``, ``surrender_exceeds_obligation``,
    ``emissions_not_verified``, ``units_pledged``...)."""
    return svc.surrender(
        actor,
        org_id=body.org_id or actor.org_id,
        market_code=body.market_code,
        year=body.year,
        instrument_id=_inst(svc, body.instrument),
        quantity=body.quantity,
    )


@router.get("/surrenders", response_model=PageOut[SurrenderView])
def list_surrenders(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    org_id: Annotated[str | None, Query(max_length=26)] = None,
    market_code: Annotated[str | None, Query(alias="market", max_length=24)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
) -> PageOut[SurrenderView]:
    """Surrenders of my organisation (regulators: of one in their jurisdiction)."""
    items = svc.surrenders(actor, org_id=org_id or actor.org_id, market_code=market_code, year=year)
    return paged(items, page, default="created_at")


@router.get("/compliance/status", response_model=ComplianceStatus)
def compliance_status(
    actor: CurrentActor,
    svc: RegistryDep,
    market_code: MarketQ,
    year: Year,
    org_id: Annotated[str | None, Query(max_length=26)] = None,
) -> ComplianceStatus:
    """Obligation (verified emissions from MRV + owed), surrenders and status
    (``not_covered`` when this market does not cover the organisation that year (see
    ``covered_by``), ``not_verified``, ``open``, ``compliant``, ``shortfall``) of one
    organisation; quantities in ``unit``."""
    return svc.compliance_status(actor, org_id or actor.org_id, market_code, year)


@router.get("/compliance/regions/{jurisdiction_code}", response_model=RegionCompliance)
def region_compliance(
    jurisdiction_code: str,
    actor: CurrentActor,
    svc: RegistryDep,
    market_code: MarketQ,
    year: Year,
) -> RegionCompliance:
    """Counts and totals over the covered organisations of a region (regulators)."""
    return svc.region_compliance(actor, market_code, year, jurisdiction_code)


@router.get("/compliance/shortfalls", response_model=ShortfallReport)
def shortfalls(
    actor: CurrentActor, svc: RegistryDep, market_code: MarketQ, year: Year
) -> ShortfallReport:
    """Shortfalls after the deadline and the penalty of the market's rule (regulators)."""
    return svc.shortfall_report(actor, market_code, year)


# ==========================================================================================
# retirement and certificates
# ==========================================================================================
@router.post("/retirements", response_model=RetirementResult, status_code=201)
def retire(body: RetireIn, request: Request, actor: CurrentActor, svc: RegistryDep) -> JSONResponse:
    """Retire units irreversibly; the answer links the certificate and the proof."""
    r = svc.retire(
        actor,
        account_number=body.account_number,
        instrument_id=_inst(svc, body.instrument),
        quantity=body.quantity,
        beneficiary=body.beneficiary,
        purpose=body.purpose,
        period_start=body.period_start,
        period_end=body.period_end,
    )
    location = f"/v1/registry/retirements/{r.retirement_id}"
    return JSONResponse(r.to_dict(), status_code=201, headers={"Location": location})


@router.get("/retirements", response_model=PageOut[RetirementResult])
def list_retirements(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    org_id: Annotated[str | None, Query(max_length=26)] = None,
) -> PageOut[RetirementResult]:
    """Retirements of my organisation (supervisors: in jurisdiction); newest first."""
    require_registry_reader(actor)
    return paged(svc.retirements(actor, org_id=org_id), page, default="-created_at")


@router.get("/retirements/{retirement_id}", response_model=RetirementResult)
def get_retirement(retirement_id: str, actor: CurrentActor, svc: RegistryDep) -> RetirementResult:
    """One retirement."""
    return svc.retirement(actor, retirement_id)


@router.get("/retirements/{retirement_id}/proof")
def retirement_proof(retirement_id: str, actor: CurrentActor, svc: RegistryDep) -> dict[str, Any]:
    """The receipt bundle (``/v1/audit/bundle`` format) of the retirement's log leaf."""
    return svc.retirement_proof(actor, retirement_id)


@router.get(
    "/retirements/{retirement_id}/certificate",
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "the certificate, citing every serial range and the proof URL",
        }
    },
)
def retirement_certificate(
    retirement_id: str,
    request: Request,
    actor: CurrentActor,
    svc: RegistryDep,
    lang: Annotated[str, Query(pattern="^(zh|zh-CN|en)$")] = "zh",
    fmt: Annotated[str, Query(alias="format", pattern="^(html|pdf)$")] = "html",
    download: bool = False,
) -> Response:
    """The retirement certificate in HTML or PDF, Chinese or English, linking to the
    receipt bundle that proves the retirement (``/v1/audit/bundle/{leaf_index}``)."""
    base = str(request.base_url).rstrip("/")
    cert = svc.retirement_certificate(
        actor,
        retirement_id,
        lang="en" if lang == "en" else "zh",
        fmt=fmt,
        proof_url_template=base + "/v1/audit/bundle/{leaf_index}",
    )
    disposition = "attachment" if download else "inline"
    return Response(
        cert.content,
        media_type=cert.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{cert.filename}"'},
    )


# ==========================================================================================
# pledges
# ==========================================================================================
@router.post("/pledges", response_model=PledgeView, status_code=201)
def pledge(body: PledgeIn, actor: CurrentActor, svc: RegistryDep) -> PledgeView:
    """Pledge units to a financial institution (the holder)."""
    return svc.pledge(
        actor,
        account_number=body.account_number,
        instrument_id=_inst(svc, body.instrument),
        quantity=body.quantity,
        pledgee_org_id=body.pledgee_org_id,
        reference=body.reference,
    )


@router.get("/pledges", response_model=PageOut[PledgeView])
def pledge_register(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(active|released|enforced)$")] = None,
) -> PageOut[PledgeView]:
    """The pledge register: regulators see their jurisdiction's pledgors, a financial
    institution its pledges as pledgee, a holder its own."""
    require_registry_reader(actor)
    return paged(svc.pledge_register(actor, status=status), page, default="pledge_id")


@router.post("/pledges/{pledge_id}/request-release", response_model=PledgeView)
def request_release(pledge_id: str, actor: CurrentActor, svc: RegistryDep) -> PledgeView:
    """The pledgor asks the pledgee to release."""
    return svc.request_pledge_release(actor, pledge_id)


@router.post("/pledges/{pledge_id}/release", response_model=PledgeView)
def release(pledge_id: str, actor: CurrentActor, svc: RegistryDep) -> PledgeView:
    """The pledgee releases (403 ``not_pledgee`` for anyone else)."""
    return svc.release_pledge(actor, pledge_id)


@router.post("/pledges/{pledge_id}/enforce", response_model=PledgeView)
def enforce(pledge_id: str, actor: CurrentActor, svc: RegistryDep) -> PledgeView:
    """The pledgee enforces: the units move to its holding account."""
    return svc.enforce_pledge(actor, pledge_id)


# ==========================================================================================
# freezes
# ==========================================================================================
@router.post("/freezes", response_model=FreezeView, status_code=201)
def freeze(body: FreezeIn, actor: CurrentActor, svc: RegistryDep) -> FreezeView:
    """Freeze units of an account in my jurisdiction, with a reason (regulator)."""
    return svc.freeze(
        actor,
        account_number=body.account_number,
        instrument_id=_inst(svc, body.instrument),
        reason=body.reason,
        quantity=body.quantity,
    )


@router.get("/freezes", response_model=PageOut[FreezeView])
def list_freezes(
    actor: CurrentActor,
    svc: RegistryDep,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(active|lifted)$")] = None,
) -> PageOut[FreezeView]:
    """Freezes on my accounts (regulators: on accounts in their jurisdiction)."""
    require_registry_reader(actor)
    return paged(svc.freezes(actor, status=status), page, default="freeze_id")


@router.post("/freezes/{freeze_id}/lift", response_model=FreezeView)
def unfreeze(freeze_id: str, body: ReasonIn, actor: CurrentActor, svc: RegistryDep) -> FreezeView:
    """Lift a freeze with a reason (regulator)."""
    return svc.unfreeze(actor, freeze_id, body.reason)


@router.get("/transactions/{tx_id}/proof")
def transaction_proof(tx_id: str, actor: CurrentActor, svc: RegistryDep) -> dict[str, Any]:
    """The receipt bundle (``/v1/audit/bundle`` format) of a registry transaction that
    moved units of an account I may see (e.g. a step in a serial history)."""
    return svc.transaction_proof(actor, tx_id)


# ==========================================================================================
# serials
# ==========================================================================================
@router.get("/serials", response_model=SerialSearchResult)
def serial_search(
    actor: CurrentActor,
    svc: RegistryDep,
    instrument: Annotated[str, Query(max_length=160, description="instrument id or code")],
    start: Annotated[int, Query(ge=1, le=MAX_OUTSTANDING)],
    end: Annotated[int, Query(ge=1, le=MAX_OUTSTANDING)],
) -> SerialSearchResult:
    """Where each unit of ``[start, end]`` is now and every step it took."""
    return svc.serial_search(actor, _inst(svc, instrument), start, end)
