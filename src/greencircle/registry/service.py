"""Registry service: the public API of the registry (Python; HTTP and CLI wrap it).

Every operation takes the acting :class:`~greencircle.auth.policy.Actor`, checks its
permission and scope, applies the market's rules, posts balanced legs through the posting
engine and appends an event to the transparency log **in the caller's transaction**. The
service never commits: the request or CLI command is the unit of work.

Rejections raise the :mod:`greencircle.registry.errors` classes (stable codes). The
exchange's hot path (:meth:`RegistryService.reserve_units`, :meth:`reserve_cash`) returns
result codes in a :class:`~greencircle.registry.results.HoldResult` instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import OrgType, Perm
from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import as_utc, utcnow
from greencircle.registry import ledger
from greencircle.registry.certificate import Certificate
from greencircle.registry.certificate import render as render_certificate
from greencircle.registry.errors import (
    AfterDeadline,
    EmissionsNotVerified,
    FourEyesRequired,
    Frozen,
    HoldExceeded,
    IdempotencyConflict,
    InsufficientAvailable,
    InvalidInstrument,
    InvalidQuantity,
    InvalidState,
    JurisdictionNotEligible,
    NotCovered,
    NotEligibleForCompliance,
    NotHolder,
    NotPledgee,
    OffsetCapExceeded,
    OrgTypeNotEligible,
    OutOfJurisdiction,
    RegistryNotFound,
    SameAccount,
    SurrenderExceedsObligation,
    UnitsPledged,
    VintageNotEligible,
    WrongMarket,
)
from greencircle.registry.interfaces import (
    NoEmissions,
    NoPrices,
    PriceSource,
    VerifiedEmissionsSource,
)
from greencircle.registry.ledger import AccountKind
from greencircle.registry.markets import Catalog, Market, default_catalog
from greencircle.registry.models import (
    RegAccount,
    RegAllocationLine,
    RegAllocationPlan,
    RegBalance,
    RegFreeze,
    RegHold,
    RegIdempotency,
    RegInstrument,
    RegPledge,
    RegRetirement,
    RegSurrender,
    RegTransaction,
    RegTransfer,
    RegTrustedAccount,
)
from greencircle.registry.posting import Leg, Poster, state
from greencircle.registry.repository import RegistryRepo
from greencircle.registry.results import (
    AccountStatement,
    AccountView,
    AllocationLineView,
    AllocationPlanView,
    BalanceView,
    CashResult,
    ComplianceStatus,
    FreezeView,
    HoldResult,
    HoldView,
    InstrumentView,
    LegView,
    PledgeView,
    RegionCompliance,
    RetirementResult,
    SerialBlockView,
    SerialMoveView,
    SerialSearchResult,
    SettlementResult,
    ShortfallLine,
    ShortfallReport,
    StatementLine,
    SurrenderResult,
    SurrenderView,
    TransferResult,
    TxResult,
)

CASH_MARKET = "CASH"
_REJECT_ERRORS = {
    ledger.Reject.INSUFFICIENT_AVAILABLE: InsufficientAvailable,
    ledger.Reject.UNITS_PLEDGED: UnitsPledged,
    ledger.Reject.FROZEN: Frozen,
    ledger.Reject.INVALID_QUANTITY: InvalidQuantity,
    ledger.Reject.HOLD_EXCEEDED: HoldExceeded,
}


@dataclass(frozen=True)
class AllocationInput:
    """One organisation's line of an allocation plan.

    ``method='benchmark'``: ``activity`` is the output (e.g. MWh) and the benchmark comes
    from the table for ``(market, sector, benchmark_key, year)``; ``factor`` is the product
    of correction factors. ``method='grandfathering'``: ``activity`` is the baseline
    emissions [tCO2] and ``factor`` the reduction factor.
    """

    org_id: str
    method: str
    activity: Decimal
    factor: Decimal = Decimal(1)
    sector: str | None = None
    benchmark_key: str | None = None


def _raise_reject(code: ledger.Reject, bal: RegBalance, amount: int) -> None:
    raise _REJECT_ERRORS[code](ledger.reject_message(code, state(bal), amount))


def _request_hash(payload: Mapping[str, Any]) -> str:
    data = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


class RegistryService:
    """Operations of the registry for one database session.

    Parameters
    ----------
    session
        The unit of work (never committed here).
    signer
        Transparency-log signer (:func:`greencircle.audit.keys.signer_from`).
    emissions
        Verified emissions from MRV (obligations); defaults to none verified.
    prices
        Average prices from the exchange (penalties); defaults to none.
    catalog
        Markets and instruments; defaults to the packaged data.
    clock
        Current UTC time (injectable for deadline tests).
    """

    def __init__(
        self,
        session: Session,
        signer: LogSigner,
        *,
        emissions: VerifiedEmissionsSource | None = None,
        prices: PriceSource | None = None,
        catalog: Catalog | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session = session
        self.repo = RegistryRepo(session)
        self.catalog = catalog or default_catalog()
        self.poster = Poster(session, self.repo, signer, self.catalog)
        self.emissions: VerifiedEmissionsSource = emissions or NoEmissions()
        self.prices: PriceSource = prices or NoPrices()
        self.clock = clock

    # ======================================================================================
    # scope helpers
    # ======================================================================================
    def _org_path(self, org_id: str) -> str:
        return self.repo.org(org_id).jurisdiction.path

    def _market_regulator(self, actor: Actor, market: Market, org_id: str | None) -> None:
        """Regulators act for the market's authority, or (delegated, e.g. provincial bureaus
        in the national market) for organisations in their own jurisdiction."""
        if actor.is_platform_admin:
            return
        authority = self.repo.jurisdiction_path(market.authority_jurisdiction)
        if actor.is_regulator:
            if actor.covers_path(authority):
                return
            delegated = actor.org_jurisdiction_path.startswith(authority)
            if delegated and org_id is not None and actor.covers_path(self._org_path(org_id)):
                return
        raise OutOfJurisdiction(
            f"{actor.username} may not act for {'this organisation in ' if org_id else ''}"
            f"market {market.code}"
        )

    def _can_supervise_account(self, actor: Actor, account: RegAccount) -> bool:
        if actor.is_platform_admin:
            return True
        if Perm.REGISTRY_SUPERVISE not in actor.perms:
            return False
        if account.org_id is not None and actor.covers_path(self._org_path(account.org_id)):
            return True
        if account.market_code in self.catalog.markets:
            market = self.catalog.markets[account.market_code]
            return actor.covers_path(self.repo.jurisdiction_path(market.authority_jurisdiction))
        return False

    def _require_visible(self, actor: Actor, account: RegAccount) -> None:
        if account.org_id == actor.org_id and (
            Perm.REGISTRY_READ in actor.perms
            or (account.kind == AccountKind.CASH and Perm.REGISTRY_CASH in actor.perms)
        ):
            return
        if account.kind == AccountKind.CASH and Perm.REGISTRY_CASH in actor.perms:
            return  # the settlement bank sees cash accounts (not unit holdings)
        if self._can_supervise_account(actor, account):
            return
        raise RegistryNotFound(f"account {account.number} not found")

    @staticmethod
    def _require_holder(actor: Actor, account: RegAccount) -> None:
        if account.org_id is None or account.org_id != actor.org_id:
            raise NotHolder(f"only the holder of {account.number} may move its units")

    def _check_eligible(self, market: Market, org: Organisation) -> None:
        if org.org_type not in market.eligible_org_types.value:
            raise OrgTypeNotEligible(
                f"{org.code} ({org.org_type}) may not hold accounts on {market.code} "
                f"[{market.eligible_org_types.status}]"
            )
        if not market.admits_path(org.jurisdiction.path):
            raise JurisdictionNotEligible(
                f"{org.code} ({org.jurisdiction_code}) is not in a jurisdiction admitted to "
                f"{market.code}: {list(market.eligible_jurisdictions.value)} "
                f"[{market.eligible_jurisdictions.status}]"
            )

    # ======================================================================================
    # instruments and accounts
    # ======================================================================================
    def instrument(
        self,
        market_code: str,
        product: str,
        vintage: int,
        *,
        project_id: str | None = None,
        region: str | None = None,
        pollutant: str | None = None,
    ) -> RegInstrument:
        """The instrument series (created on first use) after validating its attributes."""
        market = self.catalog.market(market_code)
        prod = market.product(product)
        cls = self.catalog.instrument_class(prod.class_code)
        given = {"vintage": vintage, "project_id": project_id, "region": region}
        given["pollutant"] = pollutant
        missing = [k for k in cls.requires if given.get(k) in (None, "")]
        extra = [k for k, v in given.items() if v not in (None, "") and k not in cls.requires]
        if missing or extra:
            raise InvalidInstrument(
                f"{cls.code} needs {list(cls.requires)}; missing {missing}, unexpected {extra}"
            )
        if cls.pollutants and pollutant not in cls.pollutants:
            raise InvalidInstrument(f"pollutant must be one of {list(cls.pollutants)}")
        parts = [market_code, product, str(vintage)]
        parts += [p for p in (project_id, region, pollutant) if p]
        return self.repo.ensure_instrument(
            {
                "code": ":".join(parts),
                "market_code": market_code,
                "product": product,
                "instrument_class": cls.code,
                "vintage": vintage,
                "project_id": project_id,
                "region": region,
                "pollutant": pollutant,
                "unit": cls.unit,
                "scale": cls.scale,
                "serialised": True,
                "next_serial": 1,
            }
        )

    def cash_instrument(self, currency: str) -> RegInstrument:
        """The cash instrument of ``currency`` (minor units, scale from the currency table)."""
        cur = self.catalog.currency(currency)
        return self.repo.ensure_instrument(
            {
                "code": f"{CASH_MARKET}:{cur.code}",
                "market_code": CASH_MARKET,
                "product": cur.code,
                "instrument_class": "cash",
                "vintage": None,
                "project_id": None,
                "region": None,
                "pollutant": None,
                "unit": cur.code,
                "scale": cur.scale,
                "serialised": False,
                "next_serial": 1,
            }
        )

    def _units(self, inst: RegInstrument) -> dict[str, Any]:
        """``unit`` (from the instrument class, :meth:`Catalog.unit_of`) and ``scale`` of
        an instrument's quantities, as keyword arguments of the result records."""
        return {
            "unit": self.catalog.unit_of(inst.instrument_class, inst.product),
            "scale": int(inst.scale),
        }

    def _instrument(self, instrument_id: str) -> RegInstrument:
        inst = self.repo.get(RegInstrument, instrument_id)
        if inst is None:
            raise RegistryNotFound(f"instrument {instrument_id!r} not found")
        return inst

    def _account(self, number: str) -> RegAccount:
        acc = self.repo.account_by_number(number)
        if acc is None:
            raise RegistryNotFound(f"account {number} not found")
        return acc

    def _system_account(self, market_code: str, kind: AccountKind) -> RegAccount:
        return self.repo.ensure_account(
            {
                "number": f"{market_code}.SYS.{kind.value.upper()}",
                "kind": kind.value,
                "market_code": market_code,
                "org_id": None,
                "currency": None,
                "is_system": True,
            }
        )

    def _cash_external(self, currency: str) -> RegAccount:
        return self.repo.ensure_account(
            {
                "number": f"{CASH_MARKET}.{currency}.SYS.EXTERNAL",
                "kind": AccountKind.CASH_EXTERNAL.value,
                "market_code": CASH_MARKET,
                "org_id": None,
                "currency": currency,
                "is_system": True,
            }
        )

    def _holding(self, org_id: str, market_code: str) -> RegAccount:
        number = f"{market_code}.{self.repo.org(org_id).code}"
        acc = self.repo.account_by_number(number)
        if acc is not None:
            return acc
        market = self.catalog.market(market_code)
        self._check_eligible(market, self.repo.org(org_id))
        return self.repo.ensure_account(
            {
                "number": number,
                "kind": AccountKind.HOLDING.value,
                "market_code": market_code,
                "org_id": org_id,
                "currency": None,
                "is_system": False,
            }
        )

    def _cash_account(self, org_id: str, currency: str) -> RegAccount:
        self.catalog.currency(currency)
        return self.repo.ensure_account(
            {
                "number": f"{CASH_MARKET}.{currency}.{self.repo.org(org_id).code}",
                "kind": AccountKind.CASH.value,
                "market_code": CASH_MARKET,
                "org_id": org_id,
                "currency": currency,
                "is_system": False,
            }
        )

    @staticmethod
    def _account_view(acc: RegAccount) -> AccountView:
        return AccountView(acc.id, acc.number, acc.kind, acc.market_code, acc.org_id, acc.currency)

    def open_holding_account(self, actor: Actor, org_id: str, market_code: str) -> AccountView:
        """Open (or return) ``org_id``'s holding account on a market.

        The organisation itself, a regulator of it or of the market, or a platform admin.
        Raises ``jurisdiction_not_eligible`` / ``org_type_not_eligible``.
        """
        market = self.catalog.market(market_code)
        if actor.org_id != org_id:
            actor.require(Perm.REGISTRY_SUPERVISE)
            if not (actor.is_platform_admin or actor.covers_path(self._org_path(org_id))):
                self._market_regulator(actor, market, None)
        else:
            actor.require(Perm.REGISTRY_READ)
        existed = self.repo.account_by_number(f"{market_code}.{self.repo.org(org_id).code}")
        acc = self._holding(org_id, market_code)
        if existed is None:
            self.poster.append(
                {
                    "type": "registry.account.opened",
                    "org_id": org_id,
                    "subject": f"regacc:{acc.number}",
                    "account": acc.number,
                    "market": market_code,
                    "by": actor.user_id,
                }
            )
        return self._account_view(acc)

    def accounts(self, actor: Actor, org_id: str) -> list[AccountView]:
        """Accounts of an organisation visible to ``actor``."""
        out = []
        for acc in self.repo.accounts_of(org_id):
            try:
                self._require_visible(actor, acc)
            except RegistryNotFound:
                continue
            out.append(self._account_view(acc))
        return out

    def balances(self, actor: Actor, org_id: str) -> list[BalanceView]:
        """Balances of every account of ``org_id`` that ``actor`` may see."""
        accs = list(self.repo.accounts_of(org_id))
        visible: dict[str, RegAccount] = {}
        for acc in accs:
            try:
                self._require_visible(actor, acc)
            except RegistryNotFound:
                continue
            visible[acc.id] = acc
        return [
            self._balance_view(visible[b.account_id], b, i)
            for b, i in self.repo.balances_of(list(visible))
        ]

    def balance(self, actor: Actor, account_number: str, instrument_id: str) -> BalanceView:
        """One balance line (zeros when the account never held the instrument)."""
        acc = self._account(account_number)
        self._require_visible(actor, acc)
        inst = self._instrument(instrument_id)
        row = self.repo.balance(acc.id, inst.id) or RegBalance(
            account_id=acc.id, instrument_id=inst.id, posted=0, held=0, pledged=0, frozen=0
        )
        return self._balance_view(acc, row, inst)

    def _balance_view(self, acc: RegAccount, b: RegBalance, inst: RegInstrument) -> BalanceView:
        s = state(b)
        return BalanceView(
            acc.id,
            acc.number,
            inst.id,
            inst.code,
            self.catalog.unit_of(inst.instrument_class, inst.product),
            inst.scale,
            s.posted,
            s.held,
            s.pledged,
            s.frozen,
            s.available,
            s.encumbered,
        )

    # ======================================================================================
    # idempotency
    # ======================================================================================
    def _idem_lookup(
        self, scope: str, key: str | None, request: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Stored result of an earlier call with ``key`` (or claim the key and return None)."""
        if key is None:
            return None
        digest = _request_hash(request)
        row = self.repo.get(RegIdempotency, (scope, key))
        if row is None:
            try:
                with self.session.begin_nested():
                    self.session.add(
                        RegIdempotency(scope=scope, key=key, request_hash=digest, result=None)
                    )
                    self.session.flush()
                return None
            except IntegrityError:
                row = self.session.get(RegIdempotency, (scope, key), populate_existing=True)
                assert row is not None
        if row.request_hash != digest:
            raise IdempotencyConflict(f"idempotency key {key!r} was used with a different request")
        if row.result is None:
            raise IdempotencyConflict(f"a request with idempotency key {key!r} is in progress")
        return dict(row.result)

    def _idem_store(self, scope: str, key: str | None, result: dict[str, Any]) -> None:
        if key is None:
            return
        row = self.repo.get(RegIdempotency, (scope, key))
        assert row is not None
        row.result = result

    # ======================================================================================
    # issuance
    # ======================================================================================
    def issue(
        self,
        actor: Actor,
        *,
        market_code: str,
        product: str,
        vintage: int,
        to_org_id: str,
        quantity: int,
        project_id: str | None = None,
        region: str | None = None,
        pollutant: str | None = None,
        reference: str | None = None,
    ) -> TxResult:
        """Issue new units (offsets, pollutant, water, energy-use rights...) to a holder.

        Allowances are issued through allocation plans (four-eyes), not here.
        """
        actor.require(Perm.REGISTRY_ISSUE)
        market = self.catalog.market(market_code)
        if market.product(product).class_code == "allowance":
            raise InvalidState("allowances are issued through an approved allocation plan")
        self._market_regulator(actor, market, to_org_id)
        if (bad := ledger.check_quantity(quantity)) is not None:
            raise InvalidQuantity(f"{bad.value}: {quantity!r}")
        inst = self.instrument(
            market_code,
            product,
            vintage,
            project_id=project_id,
            region=region,
            pollutant=pollutant,
        )
        to = self._holding(to_org_id, market_code)
        origin = (project_id or reference or "ISS")[:40]
        leg = Leg(
            inst, self._system_account(market_code, AccountKind.ISSUANCE), to, quantity, origin
        )
        balances = self.poster.lock([leg])
        return self.poster.post(
            kind=ledger.TxKind.ISSUE,
            market_code=market_code,
            legs=[leg],
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=to_org_id,
            reference=reference,
        )

    def cancel(
        self,
        actor: Actor,
        *,
        account_number: str,
        instrument_id: str,
        quantity: int,
        reason: str,
    ) -> TxResult:
        """Cancel available units of a holding (a regulator's correction), irreversibly.

        The units go to the market's cancellation account; the reason is logged.
        """
        actor.require(Perm.REGISTRY_ISSUE)
        if not reason.strip():
            raise InvalidState("a cancellation needs a reason")
        acc = self._account(account_number)
        if acc.kind != AccountKind.HOLDING or not self._can_supervise_account(actor, acc):
            raise OutOfJurisdiction(f"{account_number} is outside your jurisdiction")
        inst = self._instrument(instrument_id)
        if inst.market_code != acc.market_code:
            raise WrongMarket(f"{inst.code} is not held on {acc.market_code}")
        sink = self._system_account(acc.market_code, AccountKind.CANCELLATION)
        leg = Leg(inst, acc, sink, quantity)
        balances = self.poster.lock([leg])
        bal = balances[(acc.id, inst.id)]
        if (code := ledger.debit_rejection(state(bal), quantity)) is not None:
            _raise_reject(code, bal, quantity)
        return self.poster.post(
            kind=ledger.TxKind.CANCEL,
            market_code=acc.market_code,
            legs=[leg],
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=acc.org_id,
            event={"reason": reason},
        )

    # ======================================================================================
    # allocation
    # ======================================================================================
    def create_allocation_plan(
        self,
        actor: Actor,
        *,
        market_code: str,
        year: int,
        product: str,
        lines: Sequence[AllocationInput],
        pre_share_bp: int = 10_000,
    ) -> AllocationPlanView:
        """Draft a yearly allocation plan for the regulator's jurisdiction.

        Benchmark lines use the market's benchmark table (status kept on the line);
        shortfalls of the previous year are deducted when the market's penalty rule says so.
        ``pre_share_bp`` (basis points) is issued first; the rest after the true-up.
        """
        actor.require(Perm.REGISTRY_ALLOCATE)
        market = self.catalog.market(market_code)
        if market.product(product).class_code != "allowance":
            raise WrongMarket(f"{product} is not an allowance product of {market_code}")
        if not 0 < pre_share_bp <= 10_000:
            raise InvalidQuantity("pre_share_bp must be in 1..10000")
        inst = self.instrument(market_code, product, year)
        plan = RegAllocationPlan(
            id=new_id(),
            market_code=market_code,
            year=year,
            jurisdiction_code=actor.org_jurisdiction_code,
            product=product,
            instrument_id=inst.id,
            pre_share_bp=pre_share_bp,
            status="draft",
            created_by=actor.user_id,
        )
        self.session.add(plan)
        seen: set[str] = set()
        for line in lines:
            if line.org_id in seen:
                raise InvalidState(f"organisation {line.org_id} appears twice in the plan")
            seen.add(line.org_id)
            self._market_regulator(actor, market, line.org_id)
            org = self.repo.org(line.org_id)
            if not actor.covers_path(org.jurisdiction.path):
                raise OutOfJurisdiction(f"{org.code} is outside {actor.org_jurisdiction_code}")
            self._check_eligible(market, org)
            quantity, bench = self._line_quantity(market, year, line, inst.scale)
            deduction = self._previous_shortfall(market, line.org_id, year - 1)
            quantity = max(0, quantity - deduction)
            self.session.add(
                RegAllocationLine(
                    id=new_id(),
                    plan_id=plan.id,
                    org_id=line.org_id,
                    method=line.method,
                    sector=line.sector,
                    benchmark_key=line.benchmark_key,
                    benchmark_value=str(bench.value) if bench else None,
                    benchmark_status=bench.status if bench else None,
                    activity=str(line.activity),
                    factor=str(line.factor),
                    deduction=deduction,
                    quantity=quantity,
                    pre_quantity=ledger.pre_allocation(quantity, pre_share_bp),
                    issued=0,
                    owed=0,
                )
            )
        self.session.flush()
        self._plan_event(plan, "created", actor)
        return self.allocation_plan(actor, plan.id)

    def _line_quantity(
        self, market: Market, year: int, line: AllocationInput, scale: int
    ) -> tuple[int, Any]:
        if line.activity < 0 or line.factor < 0:
            raise InvalidQuantity("activity and factor must not be negative")
        if line.method == "benchmark":
            if not line.sector or not line.benchmark_key:
                raise InvalidState("a benchmark line needs sector and benchmark_key")
            bench = self.catalog.benchmark(market.code, line.sector, line.benchmark_key, year)
            return ledger.benchmark_allocation(
                bench.value, line.activity, line.factor, scale
            ), bench
        if line.method == "grandfathering":
            return ledger.grandfathering_allocation(line.activity, line.factor, scale), None
        raise InvalidState(f"unknown allocation method {line.method!r}")

    def _previous_shortfall(self, market: Market, org_id: str, year: int) -> int:
        if not market.penalty.value.next_year_deduction:
            return 0
        st = self._status(market, org_id, year)
        return (st.remaining or 0) if st.status == "shortfall" else 0

    def _plan(self, plan_id: str, *, lock: bool) -> RegAllocationPlan:
        plan = (
            self.repo.locked(RegAllocationPlan, plan_id)
            if lock
            else self.repo.get(RegAllocationPlan, plan_id)
        )
        if plan is None:
            raise RegistryNotFound(f"allocation plan {plan_id!r} not found")
        return plan

    def _plan_lines(self, plan_id: str) -> list[RegAllocationLine]:
        stmt = (
            select(RegAllocationLine)
            .where(RegAllocationLine.plan_id == plan_id)
            .order_by(RegAllocationLine.org_id)
        )
        return self.repo.scalars(stmt)

    def _plan_actor(self, actor: Actor, plan: RegAllocationPlan) -> None:
        actor.require(Perm.REGISTRY_ALLOCATE)
        if not actor.covers_path(self.repo.jurisdiction_path(plan.jurisdiction_code)):
            raise OutOfJurisdiction(f"plan {plan.id} belongs to {plan.jurisdiction_code}")

    def _plan_event(self, plan: RegAllocationPlan, what: str, actor: Actor) -> None:
        self.poster.append(
            {
                "type": f"registry.allocation_plan.{what}",
                "org_id": actor.org_id,
                "subject": f"regplan:{plan.id}",
                "plan_id": plan.id,
                "market": plan.market_code,
                "year": plan.year,
                "jurisdiction": plan.jurisdiction_code,
                "status": plan.status,
                "by": actor.user_id,
                "lines": [
                    {"org_id": ln.org_id, "quantity": ln.quantity, "final": ln.final_quantity}
                    for ln in self._plan_lines(plan.id)
                ],
            }
        )

    def allocation_plan(self, actor: Actor, plan_id: str) -> AllocationPlanView:
        """A plan with its lines (regulators of its jurisdiction, platform admins)."""
        plan = self._plan(plan_id, lock=False)
        if not actor.is_platform_admin:
            actor.require(Perm.REGISTRY_SUPERVISE)
            if not actor.covers_path(self.repo.jurisdiction_path(plan.jurisdiction_code)):
                raise RegistryNotFound(f"allocation plan {plan_id!r} not found")
        lines = self._plan_lines(plan.id)
        inst = self._instrument(plan.instrument_id)
        txs: list[RegTransaction] = self.repo.scalars(
            select(RegTransaction)
            .where(RegTransaction.reference == f"plan:{plan.id}")
            .order_by(RegTransaction.created_at)
        )
        return AllocationPlanView(
            plan.id,
            plan.market_code,
            plan.year,
            plan.jurisdiction_code,
            plan.product,
            inst.code,
            plan.pre_share_bp,
            plan.status,
            plan.created_by,
            plan.approved_by,
            sum(
                int(ln.final_quantity if ln.final_quantity is not None else ln.quantity)
                for ln in lines
            ),
            [
                AllocationLineView(
                    ln.org_id,
                    ln.method,
                    ln.sector,
                    ln.benchmark_key,
                    ln.benchmark_value,
                    ln.benchmark_status,
                    ln.activity,
                    ln.factor,
                    int(ln.deduction),
                    int(ln.quantity),
                    int(ln.pre_quantity),
                    None if ln.final_quantity is None else int(ln.final_quantity),
                    int(ln.issued),
                    int(ln.owed),
                )
                for ln in lines
            ],
            [t.id for t in txs],
            **self._units(inst),
        )

    def approve_allocation_plan(self, actor: Actor, plan_id: str) -> AllocationPlanView:
        """Second regulator approves a draft plan (four-eyes: not its author)."""
        plan = self._plan(plan_id, lock=True)
        self._plan_actor(actor, plan)
        if plan.status != "draft":
            raise InvalidState(f"plan is {plan.status}, not draft")
        if actor.user_id == plan.created_by:
            raise FourEyesRequired("the plan's author may not approve it; a second regulator must")
        plan.approved_by = actor.user_id
        plan.status = "approved"
        self.session.flush()
        self._plan_event(plan, "approved", actor)
        return self.allocation_plan(actor, plan_id)

    def issue_allocation(self, actor: Actor, plan_id: str) -> AllocationPlanView:
        """Issue the pre-allocation share of an approved plan into the holders' accounts."""
        plan = self._plan(plan_id, lock=True)
        self._plan_actor(actor, plan)
        if plan.status != "approved":
            raise InvalidState(f"plan is {plan.status}; it must be approved first")
        lines = self._plan_lines(plan.id)
        amounts = {ln.org_id: int(ln.pre_quantity) for ln in lines}
        self._issue_lines(actor, plan, lines, amounts, "pre")
        plan.status = "pre_issued" if plan.pre_share_bp < 10_000 else "issued"
        self.session.flush()
        return self.allocation_plan(actor, plan_id)

    def _issue_lines(
        self,
        actor: Actor,
        plan: RegAllocationPlan,
        lines: Sequence[RegAllocationLine],
        amounts: Mapping[str, int],
        stage: str,
    ) -> None:
        inst = self._instrument(plan.instrument_id)
        source = self._system_account(plan.market_code, AccountKind.ISSUANCE)
        legs = []
        for ln in lines:
            amount = amounts.get(ln.org_id, 0)
            if amount > 0:
                origin = f"AL{plan.year}-{plan.jurisdiction_code}"
                legs.append(
                    Leg(inst, source, self._holding(ln.org_id, plan.market_code), amount, origin)
                )
                ln.issued = int(ln.issued) + amount
        if not legs:
            return
        balances = self.poster.lock(legs)
        self.poster.post(
            kind=ledger.TxKind.ALLOCATION,
            market_code=plan.market_code,
            legs=legs,
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=actor.org_id,
            reference=f"plan:{plan.id}",
            event={"plan_id": plan.id, "stage": stage, "year": plan.year},
        )

    def submit_true_up(
        self, actor: Actor, plan_id: str, activities: Mapping[str, Decimal]
    ) -> AllocationPlanView:
        """Propose final allocations from verified activity (output) after the year."""
        plan = self._plan(plan_id, lock=True)
        self._plan_actor(actor, plan)
        if plan.status not in {"pre_issued", "issued"}:
            raise InvalidState(f"plan is {plan.status}; issue the pre-allocation first")
        market = self.catalog.market(plan.market_code)
        inst = self._instrument(plan.instrument_id)
        for ln in self._plan_lines(plan.id):
            activity = activities.get(ln.org_id, Decimal(ln.activity))
            spec = AllocationInput(
                ln.org_id,
                ln.method,
                Decimal(activity),
                Decimal(ln.factor),
                ln.sector,
                ln.benchmark_key,
            )
            qty, _b = self._line_quantity(market, plan.year, spec, inst.scale)
            ln.true_up_activity = str(activity)
            ln.final_quantity = max(0, qty - int(ln.deduction))
        plan.true_up_by = actor.user_id
        plan.status = "true_up_pending"
        self.session.flush()
        self._plan_event(plan, "true_up_submitted", actor)
        return self.allocation_plan(actor, plan_id)

    def approve_true_up(self, actor: Actor, plan_id: str) -> AllocationPlanView:
        """Second regulator approves the true-up; the difference is issued.

        Where the final allocation is below what was pre-issued, the excess is ``owed``
        and added to the organisation's compliance obligation for the year.
        """
        plan = self._plan(plan_id, lock=True)
        self._plan_actor(actor, plan)
        if plan.status != "true_up_pending":
            raise InvalidState(f"plan is {plan.status}, not true_up_pending")
        if actor.user_id == plan.true_up_by:
            raise FourEyesRequired("the true-up's author may not approve it")
        lines = self._plan_lines(plan.id)
        amounts: dict[str, int] = {}
        for ln in lines:
            final = int(ln.final_quantity or 0)
            amounts[ln.org_id] = max(0, final - int(ln.issued))
            ln.owed = max(0, int(ln.issued) - final)
        self._issue_lines(actor, plan, lines, amounts, "true_up")
        plan.true_up_approved_by = actor.user_id
        plan.status = "final"
        self.session.flush()
        self._plan_event(plan, "true_up_approved", actor)
        return self.allocation_plan(actor, plan_id)

    # ======================================================================================
    # transfers
    # ======================================================================================
    def transfer(
        self,
        actor: Actor,
        *,
        from_account: str,
        to_account: str,
        instrument_id: str,
        quantity: int,
        idempotency_key: str | None = None,
        note: str | None = None,
    ) -> TransferResult:
        """Transfer units between holding accounts of the same market.

        Completes at once below the market's four-eyes threshold or to a trusted account;
        otherwise the units are held and the transfer waits for a second user of the same
        organisation (:meth:`approve_transfer`). Idempotent with ``idempotency_key``.
        """
        actor.require(Perm.REGISTRY_TRANSFER)
        request = {
            "op": "transfer",
            "from": from_account,
            "to": to_account,
            "instrument": instrument_id,
            "quantity": quantity,
            "note": note,
        }
        stored = self._idem_lookup(actor.org_id, idempotency_key, request)
        if stored is not None:
            return self._transfer_result(stored["transfer_id"], replayed=True)
        if (bad := ledger.check_quantity(quantity)) is not None:
            raise InvalidQuantity(f"{bad.value}: {quantity!r}")
        src = self._account(from_account)
        dst = self._account(to_account)
        self._require_holder(actor, src)
        inst = self._instrument(instrument_id)
        self._check_same_market(src, dst, inst)
        if dst.kind != AccountKind.HOLDING:
            raise WrongMarket(f"{to_account} is not a holding account")
        if src.id == dst.id:
            raise SameAccount("source and destination are the same account")
        market = self.catalog.market(src.market_code)
        trusted = self.repo.get(RegTrustedAccount, (actor.org_id, dst.id)) is not None
        four_eyes = quantity >= market.four_eyes_threshold.value and not trusted
        tr = RegTransfer(
            id=new_id(),
            org_id=actor.org_id,
            from_account_id=src.id,
            to_account_id=dst.id,
            instrument_id=inst.id,
            quantity=quantity,
            status="pending_approval" if four_eyes else "completed",
            initiated_by=actor.user_id,
            note=note,
        )
        self.session.add(tr)
        self.session.flush()
        tx: TxResult | None = None
        if four_eyes:
            hold = self._reserve(actor, src, inst, quantity, "transfer", f"transfer:{tr.id}")
            tr.hold_id = hold.id
            self.poster.append(
                {
                    "type": "registry.transfer.requested",
                    "org_id": actor.org_id,
                    "subject": f"regtransfer:{tr.id}",
                    "transfer_id": tr.id,
                    "from": src.number,
                    "to": dst.number,
                    "instrument": inst.code,
                    "quantity": quantity,
                    "threshold": market.four_eyes_threshold.value,
                    "by": actor.user_id,
                }
            )
        else:
            leg = Leg(inst, src, dst, quantity)
            balances = self.poster.lock([leg])
            if (
                code := ledger.debit_rejection(state(balances[(src.id, inst.id)]), quantity)
            ) is not None:
                _raise_reject(code, balances[(src.id, inst.id)], quantity)
            tx = self.poster.post(
                kind=ledger.TxKind.TRANSFER,
                market_code=src.market_code,
                legs=[leg],
                balances=balances,
                actor_user_id=actor.user_id,
                actor_org_id=actor.org_id,
                event_org_id=actor.org_id,
                reference=f"transfer:{tr.id}",
                event={"transfer_id": tr.id, "to_org_id": dst.org_id},
            )
            tr.tx_id = tx.tx_id
            tr.resolved_at = self.clock()
        self.session.flush()
        self._idem_store(actor.org_id, idempotency_key, {"transfer_id": tr.id})
        return self._transfer_result(tr.id, tx=tx)

    @staticmethod
    def _check_same_market(src: RegAccount, dst: RegAccount, inst: RegInstrument) -> None:
        if not (src.market_code == dst.market_code == inst.market_code):
            raise WrongMarket(
                f"{inst.code} moves only between accounts of market {inst.market_code} "
                f"({src.number} -> {dst.number})"
            )

    def _transfer_result(
        self, transfer_id: str, *, replayed: bool = False, tx: TxResult | None = None
    ) -> TransferResult:
        tr = self.repo.get(RegTransfer, transfer_id)
        if tr is None:
            raise RegistryNotFound(f"transfer {transfer_id!r} not found")
        src = self.repo.get(RegAccount, tr.from_account_id)
        dst = self.repo.get(RegAccount, tr.to_account_id)
        assert src is not None
        assert dst is not None
        return TransferResult(
            tr.id,
            tr.status,
            int(tr.quantity),
            src.number,
            dst.number,
            self._instrument(tr.instrument_id).code,
            tr.hold_id is not None,
            tx if tx is not None else (self.tx_result(tr.tx_id) if tr.tx_id else None),
            replayed,
            **self._units(self._instrument(tr.instrument_id)),
        )

    def transfer_status(self, actor: Actor, transfer_id: str) -> TransferResult:
        """A transfer of the actor's organisation (or in a supervisor's scope)."""
        tr = self.repo.get(RegTransfer, transfer_id)
        if tr is None:
            raise RegistryNotFound(f"transfer {transfer_id!r} not found")
        src = self.repo.get(RegAccount, tr.from_account_id)
        assert src is not None
        self._require_visible(actor, src)
        return self._transfer_result(transfer_id)

    def approve_transfer(self, actor: Actor, transfer_id: str) -> TransferResult:
        """A second user of the sending organisation approves a pending transfer."""
        actor.require(Perm.REGISTRY_TRANSFER)
        tr = self.repo.locked(RegTransfer, transfer_id)
        if tr is None or tr.org_id != actor.org_id:
            raise RegistryNotFound(f"transfer {transfer_id!r} not found")
        if tr.status != "pending_approval":
            raise InvalidState(f"transfer is {tr.status}")
        if tr.initiated_by == actor.user_id:
            raise FourEyesRequired("the initiator may not approve its own transfer")
        assert tr.hold_id is not None
        dst = self.repo.get(RegAccount, tr.to_account_id)
        assert dst is not None
        tx = self._post_hold(
            actor,
            tr.hold_id,
            dst,
            int(tr.quantity),
            "transfer",
            f"transfer:{tr.id}",
            {"transfer_id": tr.id, "approved_by": actor.user_id, "to_org_id": dst.org_id},
        )
        tr.status = "completed"
        tr.approved_by = actor.user_id
        tr.tx_id = tx.tx_id
        tr.resolved_at = self.clock()
        self.session.flush()
        return self._transfer_result(tr.id)

    def reject_transfer(self, actor: Actor, transfer_id: str, reason: str = "") -> TransferResult:
        """Reject (second user) or cancel (initiator) a pending transfer; releases the hold."""
        actor.require(Perm.REGISTRY_TRANSFER)
        tr = self.repo.locked(RegTransfer, transfer_id)
        if tr is None or tr.org_id != actor.org_id:
            raise RegistryNotFound(f"transfer {transfer_id!r} not found")
        if tr.status != "pending_approval":
            raise InvalidState(f"transfer is {tr.status}")
        assert tr.hold_id is not None
        self._void_hold(actor, tr.hold_id, None, log=False)
        tr.status = "cancelled" if tr.initiated_by == actor.user_id else "rejected"
        tr.resolved_at = self.clock()
        self.session.flush()
        self.poster.append(
            {
                "type": f"registry.transfer.{tr.status}",
                "org_id": actor.org_id,
                "subject": f"regtransfer:{tr.id}",
                "transfer_id": tr.id,
                "reason": reason,
                "by": actor.user_id,
            }
        )
        return self._transfer_result(tr.id)

    def add_trusted_account(self, actor: Actor, account_number: str) -> AccountView:
        """Put an account on the organisation's trusted list (no four-eyes towards it)."""
        actor.require(Perm.REGISTRY_TRANSFER)
        acc = self._account(account_number)
        if acc.kind != AccountKind.HOLDING:
            raise WrongMarket("only holding accounts can be trusted")
        if self.repo.get(RegTrustedAccount, (actor.org_id, acc.id)) is None:
            self.session.add(
                RegTrustedAccount(org_id=actor.org_id, account_id=acc.id, added_by=actor.user_id)
            )
            self.session.flush()
            self.poster.append(
                {
                    "type": "registry.trusted_account.added",
                    "org_id": actor.org_id,
                    "subject": f"regacc:{acc.number}",
                    "account": acc.number,
                    "by": actor.user_id,
                }
            )
        return self._account_view(acc)

    # ======================================================================================
    # holds (two-phase) and DvP settlement for the exchange
    # ======================================================================================
    def _reserve(
        self,
        actor: Actor,
        acc: RegAccount,
        inst: RegInstrument,
        amount: int,
        purpose: str,
        reference: str | None,
    ) -> RegHold:
        """Reserve ``amount`` (raises the rejection)."""
        bal = self.repo.lock_balances([(acc.id, inst.id)], {})[(acc.id, inst.id)]
        if (code := ledger.debit_rejection(state(bal), amount)) is not None:
            _raise_reject(code, bal, amount)
        bal.held = int(bal.held) + amount
        hold = RegHold(
            id=new_id(),
            account_id=acc.id,
            instrument_id=inst.id,
            amount=amount,
            posted_amount=0,
            voided_amount=0,
            status="pending",
            purpose=purpose,
            reference=reference,
            org_id=acc.org_id or actor.org_id,
            created_by=actor.user_id,
        )
        self.session.add(hold)
        self.session.flush()
        return hold

    def _hold_result(self, hold: RegHold, *, replayed: bool = False) -> HoldResult:
        acc = self.repo.get(RegAccount, hold.account_id)
        assert acc is not None
        return HoldResult(
            "reserved",
            hold.id,
            acc.number,
            self._instrument(hold.instrument_id).code,
            int(hold.amount),
            replayed=replayed,
            **self._units(self._instrument(hold.instrument_id)),
        )

    def _reserve_result(
        self,
        actor: Actor,
        acc: RegAccount,
        inst: RegInstrument,
        amount: int,
        reference: str | None,
        idempotency_key: str | None,
        request: dict[str, Any],
    ) -> HoldResult:
        stored = self._idem_lookup(actor.org_id, idempotency_key, request)
        if stored is not None:
            if stored.get("hold_id") is None:
                return HoldResult(
                    "rejected",
                    None,
                    acc.number,
                    inst.code,
                    amount,
                    stored["code"],
                    stored["detail"],
                    replayed=True,
                    **self._units(inst),
                )
            hold = self.repo.get(RegHold, stored["hold_id"])
            assert hold is not None
            return self._hold_result(hold, replayed=True)
        bal = self.repo.lock_balances([(acc.id, inst.id)], {})[(acc.id, inst.id)]
        code = ledger.debit_rejection(state(bal), amount)
        if code is not None:
            detail = ledger.reject_message(code, state(bal), amount)
            self._idem_store(
                actor.org_id,
                idempotency_key,
                {"hold_id": None, "code": code.value, "detail": detail},
            )
            return HoldResult(
                "rejected",
                None,
                acc.number,
                inst.code,
                amount,
                code.value,
                detail,
                **self._units(inst),
            )
        hold = self._reserve(actor, acc, inst, amount, "order", reference)
        self.poster.append(
            {
                "type": "registry.hold.reserved",
                "org_id": hold.org_id,
                "subject": f"reghold:{hold.id}",
                "hold_id": hold.id,
                "account": acc.number,
                "instrument": inst.code,
                "amount": amount,
                "reference": reference,
                "by": actor.user_id,
            }
        )
        self._idem_store(actor.org_id, idempotency_key, {"hold_id": hold.id})
        return self._hold_result(hold)

    def reserve_units(
        self,
        actor: Actor,
        *,
        org_id: str,
        instrument_id: str,
        quantity: int,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> HoldResult:
        """Reserve a participant's units for an order (exchange operator).

        Returns ``HoldResult(status='rejected', code=...)`` for insufficient, pledged or
        frozen units instead of raising (hot path).
        """
        actor.require(Perm.REGISTRY_HOLD)
        inst = self._instrument(instrument_id)
        acc = self._holding(org_id, inst.market_code)
        request = {
            "op": "reserve_units",
            "org": org_id,
            "instrument": instrument_id,
            "quantity": quantity,
            "reference": reference,
        }
        return self._reserve_result(actor, acc, inst, quantity, reference, idempotency_key, request)

    def reserve_cash(
        self,
        actor: Actor,
        *,
        org_id: str,
        currency: str,
        amount_minor: int,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> HoldResult:
        """Reserve a participant's money [minor units] for a buy order (exchange operator)."""
        actor.require(Perm.REGISTRY_HOLD)
        inst = self.cash_instrument(currency)
        acc = self._cash_account(org_id, currency)
        request = {
            "op": "reserve_cash",
            "org": org_id,
            "currency": currency,
            "amount": amount_minor,
            "reference": reference,
        }
        return self._reserve_result(
            actor, acc, inst, amount_minor, reference, idempotency_key, request
        )

    def _hold_view(self, hold: RegHold) -> HoldView:
        acc = self.repo.get(RegAccount, hold.account_id)
        assert acc is not None
        remaining = int(hold.amount) - int(hold.posted_amount) - int(hold.voided_amount)
        return HoldView(
            hold.id,
            acc.number,
            self._instrument(hold.instrument_id).code,
            int(hold.amount),
            int(hold.posted_amount),
            int(hold.voided_amount),
            remaining,
            hold.status,
            hold.purpose,
            hold.reference,
            **self._units(self._instrument(hold.instrument_id)),
        )

    def hold(self, actor: Actor, hold_id: str) -> HoldView:
        """A hold (the exchange, the holder, supervisors)."""
        hold = self.repo.get(RegHold, hold_id)
        if hold is None:
            raise RegistryNotFound(f"hold {hold_id!r} not found")
        if Perm.REGISTRY_HOLD not in actor.perms:
            acc = self.repo.get(RegAccount, hold.account_id)
            assert acc is not None
            self._require_visible(actor, acc)
        return self._hold_view(hold)

    def _consume_hold(self, hold: RegHold, amount: int, bal: RegBalance, *, voiding: bool) -> None:
        remaining = int(hold.amount) - int(hold.posted_amount) - int(hold.voided_amount)
        if hold.status != "pending":
            raise InvalidState(f"hold {hold.id} is {hold.status}")
        if (bad := ledger.check_quantity(amount)) is not None:
            raise InvalidQuantity(f"{bad.value}: {amount!r}")
        if amount > remaining:
            raise HoldExceeded(f"hold {hold.id} reserves {remaining} more, {amount} requested")
        bal.held = int(bal.held) - amount
        if voiding:
            hold.voided_amount = int(hold.voided_amount) + amount
        else:
            hold.posted_amount = int(hold.posted_amount) + amount
        if amount == remaining:
            hold.status = "posted" if int(hold.posted_amount) > 0 else "voided"
            hold.resolved_at = self.clock()

    def _post_hold(
        self,
        actor: Actor,
        hold_id: str,
        dst: RegAccount,
        amount: int,
        kind: str,
        reference: str | None,
        event: Mapping[str, Any],
    ) -> TxResult:
        hold = self.repo.require_locked(RegHold, hold_id, "hold")
        src = self.repo.get(RegAccount, hold.account_id)
        inst = self._instrument(hold.instrument_id)
        assert src is not None
        self._check_same_market(src, dst, inst)
        leg = Leg(inst, src, dst, amount)
        balances = self.poster.lock([leg])
        self._consume_hold(hold, amount, balances[(src.id, inst.id)], voiding=False)
        return self.poster.post(
            kind=kind,
            market_code=src.market_code,
            legs=[leg],
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=src.org_id,
            reference=reference,
            event={"hold_id": hold.id, **event},
        )

    def post_hold(
        self, actor: Actor, hold_id: str, *, to_org_id: str, amount: int | None = None
    ) -> TxResult:
        """Post (part of) a hold to ``to_org_id``'s account of the same market/currency.

        The hold stays pending until fully posted or voided (partial fills).
        """
        actor.require(Perm.REGISTRY_HOLD)
        hold = self.repo.require_locked(RegHold, hold_id, "hold")
        src = self.repo.get(RegAccount, hold.account_id)
        assert src is not None
        remaining = int(hold.amount) - int(hold.posted_amount) - int(hold.voided_amount)
        qty = remaining if amount is None else amount
        dst = (
            self._cash_account(to_org_id, src.currency)
            if src.kind == AccountKind.CASH and src.currency
            else self._holding(to_org_id, src.market_code)
        )
        return self._post_hold(
            actor,
            hold_id,
            dst,
            qty,
            ledger.TxKind.HOLD_POST,
            hold.reference,
            {"to_org_id": to_org_id},
        )

    def _void_hold(self, actor: Actor, hold_id: str, amount: int | None, *, log: bool) -> HoldView:
        hold = self.repo.require_locked(RegHold, hold_id, "hold")
        remaining = int(hold.amount) - int(hold.posted_amount) - int(hold.voided_amount)
        qty = remaining if amount is None else amount
        bal = self.repo.lock_balances([(hold.account_id, hold.instrument_id)], {})[
            (hold.account_id, hold.instrument_id)
        ]
        self._consume_hold(hold, qty, bal, voiding=True)
        self.session.flush()
        if log:
            self.poster.append(
                {
                    "type": "registry.hold.voided",
                    "org_id": hold.org_id,
                    "subject": f"reghold:{hold.id}",
                    "hold_id": hold.id,
                    "amount": qty,
                    "by": actor.user_id,
                }
            )
        return self._hold_view(hold)

    def extend_hold(self, actor: Actor, hold_id: str, extra: int) -> HoldResult:
        """Reserve ``extra`` more on a pending hold (an order amended upwards).

        Returns ``HoldResult(status='rejected', code=...)`` when the account's available
        balance cannot cover ``extra``; the hold is then unchanged.
        """
        actor.require(Perm.REGISTRY_HOLD)
        hold = self.repo.require_locked(RegHold, hold_id, "hold")
        if hold.status != "pending":
            raise InvalidState(f"hold {hold.id} is {hold.status}")
        if (bad := ledger.check_quantity(extra)) is not None:
            raise InvalidQuantity(f"{bad.value}: {extra!r}")
        acc = self.repo.get(RegAccount, hold.account_id)
        inst = self._instrument(hold.instrument_id)
        assert acc is not None
        bal = self.repo.lock_balances([(acc.id, inst.id)], {})[(acc.id, inst.id)]
        code = ledger.debit_rejection(state(bal), extra)
        if code is not None:
            detail = ledger.reject_message(code, state(bal), extra)
            return HoldResult(
                "rejected",
                None,
                acc.number,
                inst.code,
                extra,
                code.value,
                detail,
                **self._units(inst),
            )
        bal.held = int(bal.held) + extra
        hold.amount = int(hold.amount) + extra
        self.session.flush()
        self.poster.append(
            {
                "type": "registry.hold.extended",
                "org_id": hold.org_id,
                "subject": f"reghold:{hold.id}",
                "hold_id": hold.id,
                "amount": extra,
                "by": actor.user_id,
            }
        )
        return self._hold_result(hold)

    def void_hold(self, actor: Actor, hold_id: str, amount: int | None = None) -> HoldView:
        """Release (part of) a pending hold (order cancelled / expired)."""
        actor.require(Perm.REGISTRY_HOLD)
        return self._void_hold(actor, hold_id, amount, log=True)

    def _locked_holds(self, *hold_ids: str) -> list[tuple[RegHold, RegAccount]]:
        """Lock holds (in id order, the global lock order) and return each with its
        account, in the order asked."""
        for hid in sorted(set(hold_ids)):
            self.repo.require_locked(RegHold, hid, "hold")
        out = []
        for hid in hold_ids:
            hold = self.repo.get(RegHold, hid)
            assert hold is not None
            acc = self.repo.get(RegAccount, hold.account_id)
            assert acc is not None
            out.append((hold, acc))
        return out

    def settle_dvp(
        self,
        actor: Actor,
        *,
        unit_hold_id: str,
        cash_hold_id: str,
        quantity: int,
        cash_amount_minor: int,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> SettlementResult:
        """Delivery versus payment in one transaction: ``quantity`` units from the seller's
        unit hold to the buyer's holding account and ``cash_amount_minor`` from the buyer's
        cash hold to the seller's cash account. Both legs post or neither does."""
        actor.require(Perm.REGISTRY_HOLD)
        request = {
            "op": "settle_dvp",
            "u": unit_hold_id,
            "c": cash_hold_id,
            "q": quantity,
            "amount": cash_amount_minor,
            "reference": reference,
        }
        stored = self._idem_lookup(actor.org_id, idempotency_key, request)
        if stored is not None:
            return self._settlement_result(stored["tx_id"], unit_hold_id, cash_hold_id, True)
        (uh, seller_acc), (ch, buyer_cash) = self._locked_holds(unit_hold_id, cash_hold_id)
        if seller_acc.kind != AccountKind.HOLDING or buyer_cash.kind != AccountKind.CASH:
            raise InvalidState("settle_dvp needs a unit hold and a cash hold")
        inst = self._instrument(uh.instrument_id)
        cash_inst = self._instrument(ch.instrument_id)
        market = self.catalog.market(seller_acc.market_code)
        if buyer_cash.currency != market.currency.value:
            raise WrongMarket(f"{market.code} settles in {market.currency.value}")
        buyer_acc = self._holding(ch.org_id, seller_acc.market_code)
        assert buyer_cash.currency is not None
        seller_cash = self._cash_account(uh.org_id, buyer_cash.currency)
        legs = [
            Leg(inst, seller_acc, buyer_acc, quantity),
            Leg(cash_inst, buyer_cash, seller_cash, cash_amount_minor),
        ]
        balances = self.poster.lock(legs)
        self._consume_hold(uh, quantity, balances[(seller_acc.id, inst.id)], voiding=False)
        self._consume_hold(
            ch, cash_amount_minor, balances[(buyer_cash.id, cash_inst.id)], voiding=False
        )
        tx = self.poster.post(
            kind=ledger.TxKind.SETTLE_DVP,
            market_code=seller_acc.market_code,
            legs=legs,
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=uh.org_id,
            reference=reference,
            event={"unit_hold": uh.id, "cash_hold": ch.id, "buyer_org_id": ch.org_id},
        )
        self._idem_store(actor.org_id, idempotency_key, {"tx_id": tx.tx_id})
        return SettlementResult(tx, self._hold_view(uh), self._hold_view(ch))

    def settle_dvp_pvp(
        self,
        actor: Actor,
        *,
        unit_hold_id: str,
        cash_hold_id: str,
        fx_hold_id: str,
        quantity: int,
        pay_minor: int,
        payees: Sequence[tuple[str, int]],
        reference: str | None = None,
    ) -> SettlementResult:
        """Delivery versus payment with a payment-versus-payment FX leg, in one transaction.

        ``quantity`` units move from the seller's unit hold to the buyer's holding account;
        ``pay_minor`` of the buyer's funding currency moves from the buyer's cash hold
        (``cash_hold_id``) to the FX provider (the owner of ``fx_hold_id``); from the
        provider's hold in the market currency, each ``(org_id, amount)`` of ``payees``
        (the seller's proceeds, the exchange's fee) is paid. Every leg posts or none does.
        """
        actor.require(Perm.REGISTRY_HOLD)
        (uh, seller_acc), (ch, buyer_cash), (fh, fx_cash) = self._locked_holds(
            unit_hold_id, cash_hold_id, fx_hold_id
        )
        if (
            seller_acc.kind != AccountKind.HOLDING
            or buyer_cash.kind != AccountKind.CASH
            or fx_cash.kind != AccountKind.CASH
        ):
            raise InvalidState("settle_dvp_pvp needs a unit hold and two cash holds")
        market = self.catalog.market(seller_acc.market_code)
        if fx_cash.currency != market.currency.value:
            raise WrongMarket(f"{market.code} settles in {market.currency.value}")
        if buyer_cash.currency == fx_cash.currency or buyer_cash.currency is None:
            raise InvalidState("the FX leg needs two different currencies")
        inst = self._instrument(uh.instrument_id)
        fund_inst = self._instrument(ch.instrument_id)
        mkt_inst = self._instrument(fh.instrument_id)
        legs = [
            Leg(inst, seller_acc, self._holding(ch.org_id, seller_acc.market_code), quantity),
            Leg(
                fund_inst, buyer_cash, self._cash_account(fh.org_id, buyer_cash.currency), pay_minor
            ),
        ]
        legs += [
            Leg(mkt_inst, fx_cash, self._cash_account(org, market.currency.value), amount)
            for org, amount in payees
            if amount
        ]
        balances = self.poster.lock(legs)
        self._consume_hold(uh, quantity, balances[(seller_acc.id, inst.id)], voiding=False)
        self._consume_hold(ch, pay_minor, balances[(buyer_cash.id, fund_inst.id)], voiding=False)
        paid = sum(a for _o, a in payees)
        if paid:
            self._consume_hold(fh, paid, balances[(fx_cash.id, mkt_inst.id)], voiding=False)
        tx = self.poster.post(
            kind=ledger.TxKind.SETTLE_DVP_PVP,
            market_code=seller_acc.market_code,
            legs=legs,
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=uh.org_id,
            reference=reference,
            event={
                "unit_hold": uh.id,
                "cash_hold": ch.id,
                "fx_hold": fh.id,
                "buyer_org_id": ch.org_id,
                "fx_org_id": fh.org_id,
            },
        )
        return SettlementResult(tx, self._hold_view(uh), self._hold_view(ch))

    def _settlement_result(
        self, tx_id: str, uh_id: str, ch_id: str, replayed: bool
    ) -> SettlementResult:
        uh = self.repo.get(RegHold, uh_id)
        ch = self.repo.get(RegHold, ch_id)
        assert uh is not None
        assert ch is not None
        return SettlementResult(
            self.tx_result(tx_id), self._hold_view(uh), self._hold_view(ch), replayed
        )

    # ======================================================================================
    # cash (settlement bank)
    # ======================================================================================
    def _cash_move(
        self,
        actor: Actor,
        *,
        org_id: str,
        currency: str,
        amount_minor: int,
        reference: str,
        idempotency_key: str | None,
        deposit: bool,
    ) -> CashResult:
        actor.require(Perm.REGISTRY_CASH)
        kind = ledger.TxKind.DEPOSIT if deposit else ledger.TxKind.WITHDRAW
        request = {
            "op": kind,
            "org": org_id,
            "currency": currency,
            "amount": amount_minor,
            "reference": reference,
        }
        stored = self._idem_lookup(actor.org_id, idempotency_key, request)
        inst = self.cash_instrument(currency)
        acc = self._cash_account(org_id, currency)
        if stored is not None:
            bal = self.repo.balance(acc.id, inst.id)
            return CashResult(
                self.tx_result(stored["tx_id"]),
                acc.number,
                currency,
                amount_minor,
                int(bal.posted) if bal else 0,
                replayed=True,
                scale=int(inst.scale),
            )
        if (bad := ledger.check_quantity(amount_minor)) is not None:
            raise InvalidQuantity(f"{bad.value}: {amount_minor!r}")
        ext = self._cash_external(currency)
        leg = Leg(inst, ext, acc, amount_minor) if deposit else Leg(inst, acc, ext, amount_minor)
        balances = self.poster.lock([leg])
        bal = balances[(acc.id, inst.id)]
        if not deposit and (code := ledger.debit_rejection(state(bal), amount_minor)) is not None:
            _raise_reject(code, bal, amount_minor)
        tx = self.poster.post(
            kind=kind,
            market_code=CASH_MARKET,
            legs=[leg],
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=org_id,
            reference=reference,
        )
        self._idem_store(actor.org_id, idempotency_key, {"tx_id": tx.tx_id})
        return CashResult(
            tx, acc.number, currency, amount_minor, int(bal.posted), scale=int(inst.scale)
        )

    def deposit(
        self,
        actor: Actor,
        *,
        org_id: str,
        currency: str,
        amount_minor: int,
        reference: str,
        idempotency_key: str | None = None,
    ) -> CashResult:
        """Book money received for a participant (settlement bank)."""
        return self._cash_move(
            actor,
            org_id=org_id,
            currency=currency,
            amount_minor=amount_minor,
            reference=reference,
            idempotency_key=idempotency_key,
            deposit=True,
        )

    def withdraw(
        self,
        actor: Actor,
        *,
        org_id: str,
        currency: str,
        amount_minor: int,
        reference: str,
        idempotency_key: str | None = None,
    ) -> CashResult:
        """Book money paid out to a participant (settlement bank); only available money."""
        return self._cash_move(
            actor,
            org_id=org_id,
            currency=currency,
            amount_minor=amount_minor,
            reference=reference,
            idempotency_key=idempotency_key,
            deposit=False,
        )

    # ======================================================================================
    # compliance
    # ======================================================================================
    def deadline(self, market_code: str, year: int) -> datetime:
        """Surrender deadline of ``year`` on a market (UTC)."""
        market = self.catalog.market(market_code)
        return market.deadline.value.for_year(year, market.tz)

    def _surrendered(self, org_id: str, market_code: str, year: int) -> tuple[int, int]:
        rows = self.session.execute(
            select(RegSurrender.kind, func.sum(RegSurrender.quantity))
            .where(
                RegSurrender.org_id == org_id,
                RegSurrender.market_code == market_code,
                RegSurrender.compliance_year == year,
            )
            .group_by(RegSurrender.kind)
        )
        sums = {k: int(v or 0) for k, v in rows}
        return sums.get("allowance", 0), sums.get("offset", 0)

    def _owed(self, org_id: str, market_code: str, year: int) -> int:
        stmt = (
            select(func.sum(RegAllocationLine.owed))
            .join(RegAllocationPlan, RegAllocationLine.plan_id == RegAllocationPlan.id)
            .where(
                RegAllocationLine.org_id == org_id,
                RegAllocationPlan.market_code == market_code,
                RegAllocationPlan.year == year,
            )
        )
        return int(self.session.scalar(stmt) or 0)

    def _allowance_scale(self, market: Market) -> int:
        return self.catalog.instrument_class("allowance").scale

    def covering_market(self, org_id: str, year: int) -> str | None:
        """The one compliance market covering ``org_id`` in ``year`` (``None``: none).

        Coverage is market data (``data/coverage.toml``): the organisation's sector, its
        jurisdiction and the year's verified emissions against each market's threshold,
        the national market first (:meth:`~greencircle.registry.markets.Catalog.covering_market`).
        """
        org = self.repo.org(org_id)
        emissions = self.emissions.verified_emissions(org_id, year)
        return self.catalog.covering_market(org.sector, org.jurisdiction.path, year, emissions)

    def _status(self, market: Market, org_id: str, year: int) -> ComplianceStatus:
        org = self.repo.org(org_id)
        deadline = market.deadline.value.for_year(year, market.tz)
        emissions = self.emissions.verified_emissions(org_id, year)
        allowances, offsets = self._surrendered(org_id, market.code, year)
        owed = self._owed(org_id, market.code, year)
        unit = self.catalog.instrument_class("allowance").unit
        covered_by = self.catalog.covering_market(
            org.sector, org.jurisdiction.path, year, emissions
        )

        def status_of(
            obligation: int | None, cap: int | None, remaining: int | None, status: str
        ) -> ComplianceStatus:
            return ComplianceStatus(
                org_id,
                org.code,
                org.jurisdiction_code,
                market.code,
                year,
                emissions,
                obligation,
                owed,
                allowances,
                offsets,
                cap,
                remaining,
                deadline,
                status,
                unit,
                covered_by,
            )

        if covered_by != market.code:
            return status_of(None, None, None, ledger.ComplianceState.NOT_COVERED)
        if emissions is None:
            return status_of(None, None, None, ledger.ComplianceState.NOT_VERIFIED)
        obligation = ledger.obligation_units(emissions, self._allowance_scale(market)) + owed
        remaining = max(0, obligation - allowances - offsets)
        cap = ledger.offset_cap_units(obligation, market.offset_cap_pct.value)
        if remaining == 0:
            status = ledger.ComplianceState.COMPLIANT
        elif as_utc(self.clock()) > deadline:
            status = ledger.ComplianceState.SHORTFALL
        else:
            status = ledger.ComplianceState.OPEN
        return status_of(obligation, cap, remaining, status)

    def obligations(self, actor: Actor, org_id: str, year: int) -> list[ComplianceStatus]:
        """The organisation's obligation for ``year``: its status in the one market that
        covers it (empty when no market covers it). Own organisation or supervisors."""
        code = self.covering_market(org_id, year)
        if code is not None:
            return [self.compliance_status(actor, org_id, code, year)]
        if actor.org_id == org_id:
            actor.require(Perm.REGISTRY_READ)
        else:
            actor.require(Perm.REGISTRY_SUPERVISE)
            if not (actor.is_platform_admin or actor.covers_path(self._org_path(org_id))):
                raise RegistryNotFound(f"organisation {org_id!r} not found")
        return []

    def compliance_status(
        self, actor: Actor, org_id: str, market_code: str, year: int
    ) -> ComplianceStatus:
        """An organisation's obligation, surrenders and status (own org or supervisors)."""
        market = self.catalog.market(market_code)
        if actor.org_id == org_id:
            actor.require(Perm.REGISTRY_READ)
        else:
            actor.require(Perm.REGISTRY_SUPERVISE)
            if not (actor.is_platform_admin or actor.covers_path(self._org_path(org_id))):
                self._market_regulator(actor, market, None)
        return self._status(market, org_id, year)

    def surrender(
        self,
        actor: Actor,
        *,
        org_id: str,
        market_code: str,
        year: int,
        instrument_id: str,
        quantity: int,
    ) -> SurrenderResult:
        """Surrender allowances or offsets for a compliance year.

        Rules (from the market's data, statuses in the catalog): the instrument is an
        allowance of an eligible vintage or an eligible offset product of this market;
        the market covers the organisation that year (``not_covered``, see
        :meth:`covering_market`); offsets at most the offset cap of the obligation; nothing
        after the deadline; not
        more than the remaining obligation; only available (not pledged, frozen or held)
        units.
        """
        actor.require(Perm.REGISTRY_SURRENDER)
        market = self.catalog.market(market_code)
        if not market.compliance_enabled:
            raise NotEligibleForCompliance(f"{market_code} has no compliance obligations")
        if actor.org_id != org_id:
            raise NotHolder("only the obligated organisation surrenders its units")
        if (bad := ledger.check_quantity(quantity)) is not None:
            raise InvalidQuantity(f"{bad.value}: {quantity!r}")
        inst = self._instrument(instrument_id)
        if inst.market_code != market_code:
            raise WrongMarket(f"{inst.code} is not an instrument of {market_code}")
        if inst.instrument_class == "allowance":
            kind = "allowance"
            rule = market.vintage_rule
            if inst.vintage is None or not rule.value.eligible(inst.vintage, year):
                raise VintageNotEligible(
                    f"vintage {inst.vintage} may not be surrendered for {year} "
                    f"(rule {rule.value}, {rule.status})"
                )
        elif inst.instrument_class == "offset" and inst.product in market.offset_products.value:
            kind = "offset"
        else:
            raise NotEligibleForCompliance(f"{inst.code} cannot be surrendered on {market_code}")
        if (covered_by := self.covering_market(org_id, year)) != market_code:
            raise NotCovered(
                f"{market_code} does not cover this organisation for {year}"
                + (f" (covered by {covered_by})" if covered_by else "")
            )
        deadline = market.deadline.value.for_year(year, market.tz)
        if as_utc(self.clock()) > deadline:
            raise AfterDeadline(
                f"the {year} surrender deadline {deadline.isoformat()} has passed "
                f"[{market.deadline.status}]"
            )
        acc = self._holding(org_id, market_code)
        sink = self._system_account(market_code, AccountKind.COMPLIANCE)
        # The holding account row serialises one organisation's surrenders (cap checks).
        self.repo.require_locked(RegAccount, acc.id, "account")
        leg = Leg(inst, acc, sink, quantity)
        balances = self.poster.lock([leg])
        st = self._status(market, org_id, year)
        if st.obligation is None:
            raise EmissionsNotVerified(f"no verified emissions for {year} yet")
        assert st.remaining is not None
        assert st.offset_cap is not None
        if quantity > st.remaining:
            raise SurrenderExceedsObligation(f"remaining obligation is {st.remaining}")
        if kind == "offset" and st.surrendered_offsets + quantity > st.offset_cap:
            raise OffsetCapExceeded(
                f"offsets {st.surrendered_offsets} + {quantity} exceed the cap {st.offset_cap} "
                f"({market.offset_cap_pct.value}% of {st.obligation}, "
                f"{market.offset_cap_pct.status})"
            )
        bal = balances[(acc.id, inst.id)]
        if (code := ledger.debit_rejection(state(bal), quantity)) is not None:
            _raise_reject(code, bal, quantity)
        sid = new_id()
        tx = self.poster.post(
            kind=ledger.TxKind.SURRENDER,
            market_code=market_code,
            legs=[leg],
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=org_id,
            reference=f"surrender:{sid}",
            event={"compliance_year": year, "surrender_kind": kind},
        )
        self.session.add(
            RegSurrender(
                id=sid,
                org_id=org_id,
                market_code=market_code,
                compliance_year=year,
                instrument_id=inst.id,
                kind=kind,
                quantity=quantity,
                tx_id=tx.tx_id,
                created_by=actor.user_id,
            )
        )
        self.session.flush()
        return SurrenderResult(
            sid,
            org_id,
            year,
            kind,
            quantity,
            tx,
            self._status(market, org_id, year),
            **self._units(inst),
        )

    def _covered_orgs(self, market_code: str, year: int, path: str = "/") -> list[str]:
        """Ids of the organisations under ``path`` that ``market_code`` covers in ``year``
        (by the coverage data, whether or not they were allocated or surrendered)."""
        cov = self.catalog.coverage.get(market_code)
        if cov is None:
            return []
        out = []
        for org in self.repo.orgs_under(path):
            if org.sector not in cov.sectors.value:
                continue
            emissions = self.emissions.verified_emissions(org.id, year)
            if (
                self.catalog.covering_market(org.sector, org.jurisdiction.path, year, emissions)
                == market_code
            ):
                out.append(org.id)
        return sorted(out)

    def region_compliance(
        self, actor: Actor, market_code: str, year: int, jurisdiction_code: str
    ) -> RegionCompliance:
        """Compliance of every organisation of a region that the market covers that year
        (coverage data; allocated or not, verified or not)."""
        actor.require(Perm.REGISTRY_SUPERVISE)
        market = self.catalog.market(market_code)
        path = self.repo.jurisdiction_path(jurisdiction_code)
        if not actor.covers_path(path):
            raise OutOfJurisdiction(f"{jurisdiction_code} is outside your jurisdiction")
        items = [
            self._status(market, oid, year) for oid in self._covered_orgs(market_code, year, path)
        ]
        count = {str(s): sum(1 for i in items if i.status == s) for s in ledger.ComplianceState}
        return RegionCompliance(
            market_code,
            year,
            jurisdiction_code,
            len(items),
            count["compliant"],
            count["open"],
            count["shortfall"],
            count["not_verified"],
            sum(i.obligation or 0 for i in items),
            sum(i.surrendered_allowances + i.surrendered_offsets for i in items),
            items,
            unit=self.catalog.instrument_class("allowance").unit,
            scale=self._allowance_scale(market),
        )

    def price_window(self, market_code: str, year: int) -> tuple[datetime, datetime] | None:
        """``[start, end)`` of the average-price window of the penalty rule (UTC)."""
        market = self.catalog.market(market_code)
        rule = market.penalty.value
        if rule.kind != "multiple_of_average_price":
            return None
        local_deadline = self.deadline(market_code, year).astimezone(market.tz)
        end = local_deadline.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        months = end.year * 12 + (end.month - 1) - rule.window_months
        start = end.replace(year=months // 12, month=months % 12 + 1)
        return start.astimezone(UTC), end.astimezone(UTC)

    def shortfall_report(self, actor: Actor, market_code: str, year: int) -> ShortfallReport:
        """Shortfalls after the deadline and the penalty the market's rule gives.

        Fines use the average price from the exchange over the rule's window (the calendar
        months before the deadline month); the rule's status is on every line.
        """
        actor.require(Perm.REGISTRY_SUPERVISE)
        market = self.catalog.market(market_code)
        authority = self.repo.jurisdiction_path(market.authority_jurisdiction)
        whole_market = actor.covers_path(authority)
        if not whole_market and not actor.org_jurisdiction_path.startswith(authority):
            raise OutOfJurisdiction(f"{market_code} is outside your jurisdiction")
        window = self.price_window(market_code, year)
        scale = self._allowance_scale(market)
        allowance_product = next(
            p.code for p in market.products.values() if p.class_code == "allowance"
        )
        price = (
            self.prices.average_price(market_code, allowance_product, window[0], window[1])
            if window
            else None
        )
        currency = self.catalog.currency(market.currency.value)
        lines = []
        for oid in self._covered_orgs(market_code, year):
            if not whole_market and not actor.covers_path(self._org_path(oid)):
                continue
            st = self._status(market, oid, year)
            if st.status != "shortfall" or not st.remaining:
                continue
            pa = ledger.assess_penalty(
                market.penalty.value,
                st.remaining,
                unit_scale=scale,
                currency_scale=currency.scale,
                average_price_minor=price,
            )
            lines.append(
                ShortfallLine(
                    oid,
                    st.org_code,
                    st.remaining,
                    currency.code,
                    pa.fine_min_minor,
                    pa.fine_max_minor,
                    pa.average_price_minor,
                    pa.deduction_units,
                    pa.kind,
                    market.penalty.status,
                    market.penalty.source,
                    pa.note,
                    unit=st.unit,
                    scale=scale,
                )
            )
        alt = market.penalty_alternative.to_dict() if market.penalty_alternative else None
        return ShortfallReport(
            market_code, year, self.deadline(market_code, year), window, lines, alt
        )

    # ======================================================================================
    # retirement
    # ======================================================================================
    def retire(
        self,
        actor: Actor,
        *,
        account_number: str,
        instrument_id: str,
        quantity: int,
        beneficiary: str,
        purpose: str,
        period_start: str,
        period_end: str,
    ) -> RetirementResult:
        """Retire units irreversibly for a named beneficiary, purpose and period."""
        actor.require(Perm.REGISTRY_RETIRE)
        acc = self._account(account_number)
        self._require_holder(actor, acc)
        if acc.kind != AccountKind.HOLDING:
            raise WrongMarket("units are retired from a holding account")
        if (bad := ledger.check_quantity(quantity)) is not None:
            raise InvalidQuantity(f"{bad.value}: {quantity!r}")
        if not beneficiary.strip() or not purpose.strip():
            raise InvalidState("beneficiary and purpose are required")
        try:
            ps, pe = (
                datetime.fromisoformat(period_start).date(),
                datetime.fromisoformat(period_end).date(),
            )
        except ValueError as exc:
            raise InvalidState(f"period dates must be ISO 8601: {exc}") from exc
        if pe < ps:
            raise InvalidState("period_end is before period_start")
        inst = self._instrument(instrument_id)
        if inst.market_code != acc.market_code:
            raise WrongMarket(f"{inst.code} is not held on {acc.market_code}")
        leg = Leg(
            inst, acc, self._system_account(acc.market_code, AccountKind.RETIREMENT), quantity
        )
        balances = self.poster.lock([leg])
        bal = balances[(acc.id, inst.id)]
        if (code := ledger.debit_rejection(state(bal), quantity)) is not None:
            _raise_reject(code, bal, quantity)
        rid = new_id()
        tx = self.poster.post(
            kind=ledger.TxKind.RETIRE,
            market_code=acc.market_code,
            legs=[leg],
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=actor.org_id,
            reference=f"retirement:{rid}",
            event={
                "retirement_id": rid,
                "beneficiary": beneficiary,
                "purpose": purpose,
                "period": [ps.isoformat(), pe.isoformat()],
            },
        )
        row = RegRetirement(
            id=rid,
            org_id=actor.org_id,
            account_id=acc.id,
            instrument_id=inst.id,
            quantity=quantity,
            beneficiary=beneficiary,
            purpose=purpose,
            period_start=ps.isoformat(),
            period_end=pe.isoformat(),
            serials=[[s, e] for s, e in tx.legs[0].ranges],
            tx_id=tx.tx_id,
            leaf_index=tx.leaf_index,
            created_by=actor.user_id,
            created_at=self.clock(),
        )
        self.session.add(row)
        self.session.flush()
        return self._retirement_result(row)

    def _retirement_result(self, row: RegRetirement) -> RetirementResult:
        inst = self._instrument(row.instrument_id)
        moves = self.repo.moves_of_tx(row.tx_id)
        return RetirementResult(
            row.id,
            row.org_id,
            inst.code,
            int(row.quantity),
            self.catalog.unit_of(inst.instrument_class, inst.product),
            int(inst.scale),
            row.beneficiary,
            row.purpose,
            row.period_start,
            row.period_end,
            [
                Poster.serial_text(inst, m.origin, int(m.start_serial), int(m.end_serial))
                for m in moves
            ],
            row.tx_id,
            None if row.leaf_index is None else int(row.leaf_index),
            as_utc(row.created_at),
        )

    def retirement(self, actor: Actor, retirement_id: str) -> RetirementResult:
        """A retirement (public facts of a certificate; holder or supervisors see details)."""
        row = self.repo.get(RegRetirement, retirement_id)
        if row is None:
            raise RegistryNotFound(f"retirement {retirement_id!r} not found")
        acc = self.repo.get(RegAccount, row.account_id)
        assert acc is not None
        self._require_visible(actor, acc)
        return self._retirement_result(row)

    # ======================================================================================
    # pledges
    # ======================================================================================
    def _pledge_view(self, p: RegPledge) -> PledgeView:
        acc = self.repo.get(RegAccount, p.account_id)
        assert acc is not None
        return PledgeView(
            p.id,
            p.pledgor_org_id,
            p.pledgee_org_id,
            acc.number,
            self._instrument(p.instrument_id).code,
            int(p.quantity),
            p.status,
            p.reference,
            p.release_requested_by is not None,
            p.tx_id,
            **self._units(self._instrument(p.instrument_id)),
        )

    def _pledge_event(self, p: RegPledge, what: str, actor: Actor) -> None:
        self.poster.append(
            {
                "type": f"registry.pledge.{what}",
                "org_id": p.pledgor_org_id,
                "subject": f"regpledge:{p.id}",
                "pledge_id": p.id,
                "pledgee_org_id": p.pledgee_org_id,
                "quantity": int(p.quantity),
                "status": p.status,
                "by": actor.user_id,
            }
        )

    def pledge(
        self,
        actor: Actor,
        *,
        account_number: str,
        instrument_id: str,
        quantity: int,
        pledgee_org_id: str,
        reference: str,
    ) -> PledgeView:
        """Encumber units in favour of a financial institution (the holder)."""
        actor.require(Perm.REGISTRY_PLEDGE)
        acc = self._account(account_number)
        self._require_holder(actor, acc)
        if acc.kind != AccountKind.HOLDING:
            raise WrongMarket("only units on a holding account can be pledged")
        pledgee = self.repo.org(pledgee_org_id)
        if pledgee.org_type != OrgType.FINANCIAL_INSTITUTION.value:
            raise InvalidState(f"{pledgee.code} is not a financial institution")
        inst = self._instrument(instrument_id)
        if inst.market_code != acc.market_code:
            raise WrongMarket(f"{inst.code} is not held on {acc.market_code}")
        bal = self.repo.lock_balances([(acc.id, inst.id)], {})[(acc.id, inst.id)]
        if (code := ledger.debit_rejection(state(bal), quantity)) is not None:
            _raise_reject(code, bal, quantity)
        bal.pledged = int(bal.pledged) + quantity
        p = RegPledge(
            id=new_id(),
            pledgor_org_id=actor.org_id,
            pledgee_org_id=pledgee_org_id,
            account_id=acc.id,
            instrument_id=inst.id,
            quantity=quantity,
            status="active",
            reference=reference,
            created_by=actor.user_id,
        )
        self.session.add(p)
        self.session.flush()
        self._pledge_event(p, "created", actor)
        return self._pledge_view(p)

    def _pledge(self, pledge_id: str) -> RegPledge:
        p = self.repo.locked(RegPledge, pledge_id)
        if p is None:
            raise RegistryNotFound(f"pledge {pledge_id!r} not found")
        return p

    def request_pledge_release(self, actor: Actor, pledge_id: str) -> PledgeView:
        """The pledgor asks the pledgee to release (the pledgee must approve)."""
        actor.require(Perm.REGISTRY_PLEDGE)
        p = self._pledge(pledge_id)
        if p.pledgor_org_id != actor.org_id:
            raise NotHolder("only the pledgor may request a release")
        if p.status != "active":
            raise InvalidState(f"pledge is {p.status}")
        p.release_requested_by = actor.user_id
        self.session.flush()
        self._pledge_event(p, "release_requested", actor)
        return self._pledge_view(p)

    def release_pledge(self, actor: Actor, pledge_id: str) -> PledgeView:
        """The pledgee releases the pledge (its approval); units become available again."""
        actor.require(Perm.REGISTRY_PLEDGE)
        p = self._pledge(pledge_id)
        if p.pledgee_org_id != actor.org_id:
            raise NotPledgee("only the pledgee may release a pledge")
        if p.status != "active":
            raise InvalidState(f"pledge is {p.status}")
        bal = self.repo.lock_balances([(p.account_id, p.instrument_id)], {})[
            (p.account_id, p.instrument_id)
        ]
        bal.pledged = int(bal.pledged) - int(p.quantity)
        p.status = "released"
        p.resolved_by = actor.user_id
        p.resolved_at = self.clock()
        self.session.flush()
        self._pledge_event(p, "released", actor)
        return self._pledge_view(p)

    def enforce_pledge(self, actor: Actor, pledge_id: str) -> PledgeView:
        """The pledgee enforces: the pledged units move to the pledgee's holding account."""
        actor.require(Perm.REGISTRY_PLEDGE)
        p = self._pledge(pledge_id)
        if p.pledgee_org_id != actor.org_id:
            raise NotPledgee("only the pledgee may enforce a pledge")
        if p.status != "active":
            raise InvalidState(f"pledge is {p.status}")
        src = self.repo.get(RegAccount, p.account_id)
        assert src is not None
        inst = self._instrument(p.instrument_id)
        dst = self._holding(p.pledgee_org_id, src.market_code)
        leg = Leg(inst, src, dst, int(p.quantity))
        balances = self.poster.lock([leg])
        bal = balances[(src.id, inst.id)]
        bal.pledged = int(bal.pledged) - int(p.quantity)
        if (code := ledger.debit_rejection(state(bal), int(p.quantity))) is not None:
            _raise_reject(code, bal, int(p.quantity))  # e.g. frozen by a regulator meanwhile
        tx = self.poster.post(
            kind=ledger.TxKind.PLEDGE_ENFORCE,
            market_code=src.market_code,
            legs=[leg],
            balances=balances,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=p.pledgor_org_id,
            reference=f"pledge:{p.id}",
            event={"pledge_id": p.id, "pledgee_org_id": p.pledgee_org_id},
        )
        p.status = "enforced"
        p.tx_id = tx.tx_id
        p.resolved_by = actor.user_id
        p.resolved_at = self.clock()
        self.session.flush()
        return self._pledge_view(p)

    def pledge_register(self, actor: Actor, *, status: str | None = None) -> list[PledgeView]:
        """Pledges visible to ``actor``: supervisors see their jurisdiction's pledgors, a
        financial institution its pledges as pledgee, a holder its own."""
        stmt = select(RegPledge).order_by(RegPledge.created_at, RegPledge.id)
        if status:
            stmt = stmt.where(RegPledge.status == status)
        out = []
        rows: list[RegPledge] = self.repo.scalars(stmt)
        for p in rows:
            mine = actor.is_platform_admin or actor.org_id in (p.pledgor_org_id, p.pledgee_org_id)
            supervised = Perm.REGISTRY_SUPERVISE in actor.perms and actor.covers_path(
                self._org_path(p.pledgor_org_id)
            )
            if mine or supervised:
                out.append(self._pledge_view(p))
        return out

    # ======================================================================================
    # freeze
    # ======================================================================================
    def _freeze_view(self, f: RegFreeze) -> FreezeView:
        acc = self.repo.get(RegAccount, f.account_id)
        assert acc is not None
        return FreezeView(
            f.id,
            acc.number,
            self._instrument(f.instrument_id).code,
            int(f.quantity),
            f.reason,
            f.status,
            f.regulator_org_id,
            f.lift_reason,
            **self._units(self._instrument(f.instrument_id)),
        )

    def freeze(
        self,
        actor: Actor,
        *,
        account_number: str,
        instrument_id: str,
        reason: str,
        quantity: int | None = None,
    ) -> FreezeView:
        """Freeze units (default: all available) of an account, with a reason (regulator)."""
        actor.require(Perm.REGISTRY_FREEZE)
        if not reason.strip():
            raise InvalidState("a freeze needs a reason")
        acc = self._account(account_number)
        if acc.org_id is None or not self._can_supervise_account(actor, acc):
            raise OutOfJurisdiction(f"{account_number} is outside your jurisdiction")
        inst = self._instrument(instrument_id)
        bal = self.repo.lock_balances([(acc.id, inst.id)], {})[(acc.id, inst.id)]
        qty = state(bal).available if quantity is None else quantity
        if (code := ledger.debit_rejection(state(bal), qty)) is not None:
            _raise_reject(code, bal, qty)
        bal.frozen = int(bal.frozen) + qty
        f = RegFreeze(
            id=new_id(),
            account_id=acc.id,
            instrument_id=inst.id,
            quantity=qty,
            reason=reason,
            status="active",
            regulator_org_id=actor.org_id,
            created_by=actor.user_id,
        )
        self.session.add(f)
        self.session.flush()
        self.poster.append(
            {
                "type": "registry.freeze.created",
                "org_id": acc.org_id,
                "subject": f"regfreeze:{f.id}",
                "freeze_id": f.id,
                "account": acc.number,
                "instrument": inst.code,
                "quantity": qty,
                "reason": reason,
                "by": actor.user_id,
            }
        )
        return self._freeze_view(f)

    def unfreeze(self, actor: Actor, freeze_id: str, reason: str) -> FreezeView:
        """Lift a freeze with a reason (a regulator with scope over the account)."""
        actor.require(Perm.REGISTRY_FREEZE)
        f = self.repo.locked(RegFreeze, freeze_id)
        if f is None:
            raise RegistryNotFound(f"freeze {freeze_id!r} not found")
        acc = self.repo.get(RegAccount, f.account_id)
        assert acc is not None
        if not self._can_supervise_account(actor, acc):
            raise OutOfJurisdiction(f"{acc.number} is outside your jurisdiction")
        if f.status != "active":
            raise InvalidState(f"freeze is {f.status}")
        if not reason.strip():
            raise InvalidState("lifting a freeze needs a reason")
        bal = self.repo.lock_balances([(f.account_id, f.instrument_id)], {})[
            (f.account_id, f.instrument_id)
        ]
        bal.frozen = int(bal.frozen) - int(f.quantity)
        f.status = "lifted"
        f.lifted_by = actor.user_id
        f.lift_reason = reason
        f.lifted_at = self.clock()
        self.session.flush()
        self.poster.append(
            {
                "type": "registry.freeze.lifted",
                "org_id": acc.org_id,
                "subject": f"regfreeze:{f.id}",
                "freeze_id": f.id,
                "reason": reason,
                "by": actor.user_id,
            }
        )
        return self._freeze_view(f)

    # ======================================================================================
    # serials, transactions and proofs
    # ======================================================================================
    def tx_result(self, tx_id: str) -> TxResult:
        """A posted transaction with its legs and serials (no scope check; internal)."""
        tx = self.repo.transaction(tx_id)
        moves = self.repo.moves_of_tx(tx_id)
        legs = []
        for j in self.repo.legs(tx_id):
            inst = self._instrument(j.instrument_id)
            deb = self.repo.get(RegAccount, j.debit_account_id)
            cred = self.repo.get(RegAccount, j.credit_account_id)
            assert deb is not None
            assert cred is not None
            mine = [m for m in moves if m.journal_seq == j.seq]
            legs.append(
                LegView(
                    inst.code,
                    deb.number,
                    cred.number,
                    int(j.amount),
                    [
                        Poster.serial_text(inst, m.origin, int(m.start_serial), int(m.end_serial))
                        for m in mine
                    ],
                    [(int(m.start_serial), int(m.end_serial)) for m in mine],
                    **self._units(inst),
                )
            )
        return TxResult(
            tx.id,
            tx.kind,
            tx.market_code,
            None if tx.leaf_index is None else int(tx.leaf_index),
            legs,
        )

    def serial_search(
        self, actor: Actor, instrument_id: str, start: int, end: int
    ) -> SerialSearchResult:
        """Where each unit of ``[start, end]`` is and its full history.

        Supervisors of the market (or of the holders) see everything; a participant sees
        only the steps that touched its own accounts.
        """
        if end < start or start < 1:
            raise InvalidQuantity("need 1 <= start <= end")
        inst = self._instrument(instrument_id)
        supervisor = actor.is_platform_admin
        if (
            not supervisor
            and Perm.REGISTRY_SUPERVISE in actor.perms
            and inst.market_code in self.catalog.markets
        ):
            market = self.catalog.market(inst.market_code)
            authority = self.repo.jurisdiction_path(market.authority_jurisdiction)
            supervisor = actor.covers_path(authority)
        if not supervisor:
            actor.require(Perm.REGISTRY_READ)
        accounts: dict[str, RegAccount] = {}

        def acc(aid: str) -> RegAccount:
            if aid not in accounts:
                a = self.repo.get(RegAccount, aid)
                assert a is not None
                accounts[aid] = a
            return accounts[aid]

        def visible(aid: str) -> bool:
            a = acc(aid)
            return (
                supervisor
                or a.org_id == actor.org_id
                or (a.org_id is not None and self._can_supervise_account(actor, a))
            )

        current = [
            (
                Poster.serial_text(
                    inst, b.origin, max(int(b.start_serial), start), min(int(b.end_serial), end)
                ),
                acc(b.account_id).number,
            )
            for b in self.repo.blocks_overlapping(inst.id, start, end)
            if visible(b.account_id)
        ]
        history = []
        txs: dict[str, RegTransaction] = {}
        for m in self.repo.moves_overlapping(inst.id, start, end):
            if not (visible(m.from_account_id) or visible(m.to_account_id)):
                continue
            if m.tx_id not in txs:
                txs[m.tx_id] = self.repo.transaction(m.tx_id)
            tx = txs[m.tx_id]
            s, e = max(int(m.start_serial), start), min(int(m.end_serial), end)
            history.append(
                SerialMoveView(
                    tx.id,
                    tx.kind,
                    as_utc(tx.created_at),
                    Poster.serial_text(inst, m.origin, s, e),
                    s,
                    e,
                    acc(m.from_account_id).number,
                    acc(m.to_account_id).number,
                    None if tx.leaf_index is None else int(tx.leaf_index),
                )
            )
        if not supervisor and not history and not current:
            raise RegistryNotFound("no serials of this range are visible to you")
        return SerialSearchResult(inst.code, start, end, current, history, **self._units(inst))

    def holding_proofs(
        self, actor: Actor, account_number: str, instrument_id: str
    ) -> list[dict[str, Any]]:
        """Receipt bundles proving how the account's current serial blocks arrived there.

        One bundle per transaction that last moved a current block (inclusion proof against
        the latest signed checkpoint); verify offline with ``greencircle audit verify``.
        """
        acc = self._account(account_number)
        self._require_visible(actor, acc)
        leaves: set[int] = set()
        for b in self.repo.blocks_of(acc.id, instrument_id):
            tx = self.repo.transaction(b.last_tx_id)
            if tx.leaf_index is not None:
                leaves.add(int(tx.leaf_index))
        return [self.poster.log.bundle(i) for i in sorted(leaves)]

    def transaction_proof(self, actor: Actor, tx_id: str) -> dict[str, Any]:
        """The receipt bundle of a posted transaction, for anyone who may see one of the
        accounts it moved units from or to (holders, supervisors)."""
        tx = self.repo.get(RegTransaction, tx_id)
        if tx is None or tx.leaf_index is None:
            raise RegistryNotFound(f"transaction {tx_id!r} not found")
        for j in self.repo.legs(tx_id):
            for aid in (j.debit_account_id, j.credit_account_id):
                acc = self.repo.get(RegAccount, aid)
                assert acc is not None
                if acc.org_id is None and not actor.is_platform_admin:
                    continue
                try:
                    self._require_visible(actor, acc)
                except RegistryNotFound:
                    continue
                return self.poster.log.bundle(int(tx.leaf_index))
        raise RegistryNotFound(f"transaction {tx_id!r} not found")

    def retirement_proof(self, actor: Actor, retirement_id: str) -> dict[str, Any]:
        """The receipt bundle of a retirement's log leaf."""
        r = self.retirement(actor, retirement_id)
        if r.leaf_index is None:
            raise RegistryNotFound("retirement has no log leaf")
        return self.poster.log.bundle(r.leaf_index)

    def retirement_certificate(
        self,
        actor: Actor,
        retirement_id: str,
        *,
        lang: str = "zh",
        fmt: str = "html",
        proof_url_template: str = "/v1/audit/bundle/{leaf_index}",
    ) -> Certificate:
        """The retirement certificate (HTML or PDF, ``zh`` or ``en``) citing the serials and
        linking to the receipt bundle of the retirement's log leaf."""
        r = self.retirement(actor, retirement_id)
        org = self.repo.org(r.org_id)
        holder = org.name_zh if lang == "zh" else org.name_en
        proof_url = proof_url_template.format(leaf_index=r.leaf_index)
        return render_certificate(r, holder=holder, lang=lang, fmt=fmt, proof_url=proof_url)

    # ======================================================================================
    # listings (read-only views for the API, CLI and console; same scope rules)
    # ======================================================================================
    def _instrument_view(self, inst: RegInstrument) -> InstrumentView:
        return InstrumentView(
            inst.id,
            inst.code,
            inst.market_code,
            inst.product,
            inst.instrument_class,
            inst.vintage,
            inst.project_id,
            inst.region,
            inst.pollutant,
            self.catalog.unit_of(inst.instrument_class, inst.product),
            int(inst.scale),
            int(inst.next_serial) - 1,
        )

    def instruments(
        self, *, market_code: str | None = None, product: str | None = None
    ) -> list[InstrumentView]:
        """Instrument series created so far (public reference data), by code."""
        stmt = select(RegInstrument).order_by(RegInstrument.code)
        if market_code:
            stmt = stmt.where(RegInstrument.market_code == market_code)
        if product:
            stmt = stmt.where(RegInstrument.product == product)
        return [self._instrument_view(i) for i in self.repo.scalars(stmt)]

    def resolve_instrument(self, ref: str) -> InstrumentView:
        """An instrument by id or by code (``CN-CQ:CQEA:2025``); ``not_found``."""
        inst = self.repo.get(RegInstrument, ref) or self.repo.instrument_by_code(ref)
        if inst is None:
            raise RegistryNotFound(f"instrument {ref!r} not found")
        return self._instrument_view(inst)

    def serial_blocks(
        self, actor: Actor, account_number: str, instrument_id: str | None = None
    ) -> list[SerialBlockView]:
        """Current serial blocks of an account the actor may see (lowest first)."""
        acc = self._account(account_number)
        self._require_visible(actor, acc)
        out = []
        insts: dict[str, RegInstrument] = {}
        for b in self.repo.blocks_of(acc.id, instrument_id):
            if b.instrument_id not in insts:
                insts[b.instrument_id] = self._instrument(b.instrument_id)
            inst = insts[b.instrument_id]
            tx = self.repo.transaction(b.last_tx_id)
            start, end = int(b.start_serial), int(b.end_serial)
            out.append(
                SerialBlockView(
                    acc.number,
                    inst.id,
                    inst.code,
                    start,
                    end,
                    end - start + 1,
                    Poster.serial_text(inst, b.origin, start, end),
                    tx.id,
                    None if tx.leaf_index is None else int(tx.leaf_index),
                    **self._units(inst),
                )
            )
        return out

    def supervises_org(self, actor: Actor, org_id: str) -> bool:
        """Whether ``actor`` supervises ``org_id``'s registry accounts (jurisdiction)."""
        return actor.is_platform_admin or (
            Perm.REGISTRY_SUPERVISE in actor.perms and actor.covers_path(self._org_path(org_id))
        )

    def transfers(self, actor: Actor, *, status: str | None = None) -> list[TransferResult]:
        """Transfers sent or received by the actor's organisation, or (supervisors) by
        organisations in their jurisdiction; oldest first."""
        stmt = select(RegTransfer).order_by(RegTransfer.created_at, RegTransfer.id)
        if status:
            stmt = stmt.where(RegTransfer.status == status)
        own = {a.id for a in self.repo.accounts_of(actor.org_id)}
        out = []
        rows: list[RegTransfer] = self.repo.scalars(stmt)
        for tr in rows:
            dst = self.repo.get(RegAccount, tr.to_account_id)
            assert dst is not None
            mine = tr.org_id == actor.org_id or tr.to_account_id in own
            visible = (mine and Perm.REGISTRY_READ in actor.perms) or (
                self.supervises_org(actor, tr.org_id)
                or (dst.org_id is not None and self.supervises_org(actor, dst.org_id))
            )
            if visible:
                out.append(self._transfer_result(tr.id))
        return out

    def retirements(self, actor: Actor, *, org_id: str | None = None) -> list[RetirementResult]:
        """Retirements of the actor's organisation, or (supervisors) of organisations in
        their jurisdiction; newest first."""
        stmt = select(RegRetirement).order_by(
            RegRetirement.created_at.desc(), RegRetirement.id.desc()
        )
        if org_id:
            stmt = stmt.where(RegRetirement.org_id == org_id)
        rows: list[RegRetirement] = self.repo.scalars(stmt)
        return [
            self._retirement_result(r)
            for r in rows
            if (r.org_id == actor.org_id and Perm.REGISTRY_READ in actor.perms)
            or self.supervises_org(actor, r.org_id)
        ]

    def surrenders(
        self, actor: Actor, *, org_id: str, market_code: str | None = None, year: int | None = None
    ) -> list[SurrenderView]:
        """Surrenders of an organisation (itself or its supervisors); oldest first."""
        if org_id == actor.org_id:
            actor.require(Perm.REGISTRY_READ)
        elif not self.supervises_org(actor, org_id):
            raise OutOfJurisdiction("this organisation is outside your jurisdiction")
        stmt = (
            select(RegSurrender)
            .where(RegSurrender.org_id == org_id)
            .order_by(RegSurrender.created_at, RegSurrender.id)
        )
        if market_code:
            stmt = stmt.where(RegSurrender.market_code == market_code)
        if year is not None:
            stmt = stmt.where(RegSurrender.compliance_year == year)
        out = []
        rows: list[RegSurrender] = self.repo.scalars(stmt)
        for s in rows:
            tx = self.repo.transaction(s.tx_id)
            out.append(
                SurrenderView(
                    s.id,
                    s.org_id,
                    s.market_code,
                    int(s.compliance_year),
                    self._instrument(s.instrument_id).code,
                    s.kind,
                    int(s.quantity),
                    s.tx_id,
                    None if tx.leaf_index is None else int(tx.leaf_index),
                    as_utc(s.created_at),
                    **self._units(self._instrument(s.instrument_id)),
                )
            )
        return out

    def freezes(self, actor: Actor, *, status: str | None = None) -> list[FreezeView]:
        """Freezes on the actor's own accounts, or (supervisors) on accounts in scope."""
        stmt = select(RegFreeze).order_by(RegFreeze.created_at, RegFreeze.id)
        if status:
            stmt = stmt.where(RegFreeze.status == status)
        out = []
        rows: list[RegFreeze] = self.repo.scalars(stmt)
        for f in rows:
            acc = self.repo.get(RegAccount, f.account_id)
            assert acc is not None
            own = acc.org_id == actor.org_id and Perm.REGISTRY_READ in actor.perms
            if own or self._can_supervise_account(actor, acc):
                out.append(self._freeze_view(f))
        return out

    def statement(self, actor: Actor, account_number: str, instrument_id: str) -> AccountStatement:
        """Movements of an account in one instrument, oldest first, with the running
        posted balance (holder, or supervisors in scope; the settlement bank for cash)."""
        acc = self._account(account_number)
        self._require_visible(actor, acc)
        inst = self._instrument(instrument_id)
        numbers: dict[str, str] = {}

        def number(account_id: str) -> str:
            if account_id not in numbers:
                other = self.repo.get(RegAccount, account_id)
                numbers[account_id] = other.number if other is not None else account_id
            return numbers[account_id]

        lines = []
        balance = 0
        for j, tx in self.repo.account_journal(acc.id, inst.id):
            amount = int(j.amount)
            into = j.credit_account_id == acc.id
            balance += amount if into else -amount
            lines.append(
                StatementLine(
                    int(j.seq),
                    tx.id,
                    tx.kind,
                    as_utc(tx.created_at),
                    number(j.debit_account_id if into else j.credit_account_id),
                    amount if into else 0,
                    0 if into else amount,
                    balance,
                    tx.reference,
                    None if tx.leaf_index is None else int(tx.leaf_index),
                )
            )
        return AccountStatement(
            acc.number, inst.code, **self._units(inst), lines=lines, closing=balance
        )

    def allocation_plans(
        self, actor: Actor, *, market_code: str | None = None, year: int | None = None
    ) -> list[AllocationPlanView]:
        """Allocation plans of the regulator's jurisdiction (platform admins: all)."""
        if not actor.is_platform_admin:
            actor.require(Perm.REGISTRY_SUPERVISE)
        stmt = select(RegAllocationPlan).order_by(
            RegAllocationPlan.year.desc(), RegAllocationPlan.market_code, RegAllocationPlan.id
        )
        if market_code:
            stmt = stmt.where(RegAllocationPlan.market_code == market_code)
        if year is not None:
            stmt = stmt.where(RegAllocationPlan.year == year)
        rows: list[RegAllocationPlan] = self.repo.scalars(stmt)
        return [
            self.allocation_plan(actor, p.id)
            for p in rows
            if actor.covers_path(self.repo.jurisdiction_path(p.jurisdiction_code))
        ]
