"""Demo: the 2025 compliance cycle of the registry (Chongqing pilot and national market).

Obligations come from the MRV demo's verified 2025 reports through
:class:`~greencircle.mrv.verified.DbVerifiedEmissions`; an enterprise without a verified
report keeps its allocation but surrenders nothing (status ``not_verified``). Every
operation goes through :class:`~greencircle.registry.service.RegistryService` as a named
demo user, so it is checked, journaled and logged like any user's:

* **Chongqing market (CN-CQ, CQEA 2025)**: the non-power key emitters of Chongqing get a
  grandfathering allocation (baseline = the verified 2025 emissions, modelled as the
  historical baseline; reduction factor per enterprise), drafted by ``cq-eeb`` and
  approved by a second regulator user ``cq-eeb-2`` (four-eyes), then issued.
* **National market (CN-NATIONAL, CEA 2025)** for the Chongqing power plants: benchmark
  allocation (``coal_conventional_300mw_plus``, 0.8177 tCO2/MWh, an *estimate* carried
  forward from 2022) on a modelled output, 70 % pre-allocated, then trued up; each
  step approved by the second regulator (provincial bureaus act for their enterprises in
  the national market).
* CCER offsets (project ``CCER-CQ-FOR-0001``, vintage 2024) for ``CQ-CEM-02``, which
  covers its gap with them within the 8 % cap; ``CQ-ALU-01`` sells surplus allowances to
  ``CQ-STE-02`` and to the Sichuan enterprise ``SC-CHE-01`` (admitted to the Chongqing
  market), and retires units for the *2025 Chengdu–Chongqing Green Expo*; ``CQ-CHE-02``
  pledges its surplus to ``BANK-CQ-01``; ``CQ-STE-01`` surrenders too little and
  ``CQ-CEM-03`` nothing (shortfalls after the 31 August 2026 deadline, with the penalty
  rule's deduction); ``SETTLE-01`` books cash deposits.

Which market obliges whom is the coverage data (``registry/data/coverage.toml``): the
national market covers the power plants, the Chongqing pilot the other Chongqing industrial
emitters, so each enterprise has exactly one obligation for 2025.

Operations run with a fixed clock (30 June 2026, before the Chongqing deadline), so the
demo is the same whenever it is loaded; loading twice changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Organisation, User, UserRole
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Role
from greencircle.auth.service import actor_for_user, hash_password
from greencircle.demo.scenario import DEMO_PASSWORD
from greencircle.mrv.verified import DbVerifiedEmissions
from greencircle.registry.models import RegAllocationPlan
from greencircle.registry.service import AllocationInput, RegistryService

__all__ = [
    "BENEFICIARY",
    "CQ_FACTORS",
    "DEMO_CLOCK",
    "NATIONAL_RATIOS",
    "PLEDGE_REFERENCE",
    "SECOND_REGULATOR",
    "YEAR",
    "load_registry_demo",
]

YEAR = 2025
#: Clock of the demo's operations: before the CN-CQ 2025 deadline (31 Aug 2026).
DEMO_CLOCK = datetime(2026, 6, 30, 2, 0, tzinfo=UTC)
SECOND_REGULATOR = "cq-eeb-2"
BENEFICIARY = "2025 Chengdu–Chongqing Green Expo"
PLEDGE_REFERENCE = "LOAN-2025-CQ-0042"
OFFSET_PROJECT = "CCER-CQ-FOR-0001"

#: Chongqing pilot (grandfathering): reduction factor per enterprise.
CQ_FACTORS: dict[str, Decimal] = {
    "CQ-CEM-01": Decimal("1.02"),  # surplus; surrenders everything due
    "CQ-CEM-02": Decimal("0.96"),  # covers the gap with CCER offsets (cap 8 %)
    "CQ-CEM-03": Decimal("0.97"),  # surrenders nothing: shortfall
    "CQ-STE-01": Decimal("0.95"),  # surrenders what it holds: shortfall
    "CQ-STE-02": Decimal("0.98"),  # buys its gap from CQ-ALU-01
    "CQ-CHE-01": Decimal("1.00"),  # exactly covered
    "CQ-CHE-02": Decimal("1.06"),  # pledges its surplus to BANK-CQ-01
    "CQ-ALU-01": Decimal("1.10"),  # seller; retires units for the Green Expo
}
#: National market (benchmark): modelled output = verified / benchmark × ratio.
NATIONAL_RATIOS: dict[str, Decimal] = {
    "CQ-POW-01": Decimal("1.00"),  # compliant
    "CQ-POW-02": Decimal("1.03"),  # compliant with a surplus
    "CQ-POW-03": Decimal("0.98"),  # surrenders half: open until 31 Dec 2026
    "CQ-POW-04": Decimal("1.00"),  # surrenders nothing yet
}
POWER_BENCHMARK = ("power", "coal_conventional_300mw_plus", Decimal("0.8177"))
#: Baselines [tCO2e] when an enterprise has no verified report (modelled).
DEFAULT_BASELINE: dict[str, int] = {
    "power": 3_000_000,
    "cement": 900_000,
    "steel": 2_400_000,
    "chemicals": 600_000,
    "aluminium": 1_200_000,
}
DEPOSITS_FEN: dict[str, int] = {
    "CQ-ALU-01": 80_000_000_00,
    "CQ-STE-02": 50_000_000_00,
    "CQ-CEM-01": 20_000_000_00,
    "SC-CHE-01": 30_000_000_00,
}
SICHUAN_BUYER = "SC-CHE-01"
SICHUAN_QUANTITY = 20_000
RETIRE_QUANTITY = 1_200


@dataclass
class _Ctx:
    session: Session
    svc: RegistryService
    emissions: DbVerifiedEmissions
    orgs: dict[str, Organisation]
    users: dict[str, User]

    def org(self, code: str) -> Organisation:
        if code not in self.orgs:
            org = self.session.scalar(select(Organisation).where(Organisation.code == code))
            if org is None:
                raise LookupError(f"load the base demo first: organisation {code} missing")
            self.orgs[code] = org
        return self.orgs[code]

    def actor(self, username: str) -> Actor:
        if username not in self.users:
            user = self.session.scalar(select(User).where(User.username == username))
            if user is None:
                raise LookupError(f"load the base demo first: user {username} missing")
            self.users[username] = user
        return actor_for_user(self.users[username], auth_method="demo", token_id="")

    def verified(self, code: str) -> Decimal | None:
        return self.emissions.verified_emissions(self.org(code).id, YEAR)

    def obligation(self, code: str) -> int | None:
        v = self.verified(code)
        return None if v is None else math.ceil(v)


def _second_regulator(session: Session) -> bool:
    """Create ``cq-eeb-2`` (regulator of CQ-EEB) unless it exists; True if created."""
    if session.scalar(select(User).where(User.username == SECOND_REGULATOR)) is not None:
        return False
    org = session.scalar(select(Organisation).where(Organisation.code == "CQ-EEB"))
    if org is None:
        raise LookupError("load the base demo first: organisation CQ-EEB missing")
    session.add(
        User(
            username=SECOND_REGULATOR,
            display_name="Chongqing EEB second approver",
            password_hash=hash_password(DEMO_PASSWORD),
            organisation_id=org.id,
            locale="zh-CN",
            role_rows=[UserRole(role=Role.REGULATOR.value)],
        )
    )
    session.flush()
    return True


def _available(c: _Ctx, code: str, market: str, instrument_id: str) -> int:
    bal = c.svc.balance(c.actor("gc-secretariat"), f"{market}.{code}", instrument_id)
    return bal.available


def _remaining(c: _Ctx, code: str, market: str) -> int:
    st = c.svc.compliance_status(c.actor(code.lower()), c.org(code).id, market, YEAR)
    return st.remaining or 0


def _surrender(c: _Ctx, code: str, market: str, instrument_id: str, quantity: int) -> int:
    """Surrender up to ``quantity`` (bounded by what is available and still due)."""
    if c.verified(code) is None:
        return 0
    q = min(quantity, _available(c, code, market, instrument_id), _remaining(c, code, market))
    if q <= 0:
        return 0
    c.svc.surrender(
        c.actor(code.lower()),
        org_id=c.org(code).id,
        market_code=market,
        year=YEAR,
        instrument_id=instrument_id,
        quantity=q,
    )
    return 1


def _cq_market(c: _Ctx, counts: dict[str, int]) -> None:
    reg, second = c.actor("cq-eeb"), c.actor(SECOND_REGULATOR)
    baseline: dict[str, int] = {}
    for code in CQ_FACTORS:
        ob = c.obligation(code)
        sector = c.org(code).sector or "cement"
        baseline[code] = ob if ob is not None else DEFAULT_BASELINE[sector]
    plan = c.svc.create_allocation_plan(
        reg,
        market_code="CN-CQ",
        year=YEAR,
        product="CQEA",
        lines=[
            AllocationInput(c.org(code).id, "grandfathering", Decimal(baseline[code]), factor)
            for code, factor in CQ_FACTORS.items()
        ],
    )
    c.svc.approve_allocation_plan(second, plan.plan_id)
    plan = c.svc.issue_allocation(reg, plan.plan_id)
    counts["registry_plans"] += 1
    cqea = c.svc.instrument("CN-CQ", "CQEA", YEAR).id
    alloc = {ln.org_id: ln.issued for ln in plan.lines}

    def allocated(code: str) -> int:
        return alloc[c.org(code).id]

    # Offsets for CQ-CEM-02 (CCER, 2024 vintage, a forestry project).
    gap = max(0, (c.obligation("CQ-CEM-02") or baseline["CQ-CEM-02"]) - allocated("CQ-CEM-02"))
    offsets = c.svc.issue(
        reg,
        market_code="CN-CQ",
        product="CCER",
        vintage=YEAR - 1,
        to_org_id=c.org("CQ-CEM-02").id,
        quantity=max(gap + gap // 4, 1_000),
        project_id=OFFSET_PROJECT,
        reference="CCER issuance 2024 forestry",
    )
    ccer = c.svc.resolve_instrument(offsets.legs[0].instrument_code).id

    # Cash on the platform (settlement bank).
    bank = c.actor("settle-01")
    for code, amount in DEPOSITS_FEN.items():
        c.svc.deposit(
            bank,
            org_id=c.org(code).id,
            currency="CNY",
            amount_minor=amount,
            reference=f"DEP-{YEAR}-{code}",
        )
        counts["registry_deposits"] += 1

    # CQ-ALU-01 sells its surplus: a Sichuan enterprise and CQ-STE-02 buy.
    seller = c.actor("cq-alu-01")
    surplus = allocated("CQ-ALU-01") - (c.obligation("CQ-ALU-01") or allocated("CQ-ALU-01") // 2)
    retire_q = max(1, min(RETIRE_QUANTITY, surplus // 10))
    sc_q = max(1, min(SICHUAN_QUANTITY, surplus // 5))
    c.svc.open_holding_account(c.actor(SICHUAN_BUYER.lower()), c.org(SICHUAN_BUYER).id, "CN-CQ")
    ste_gap = max(0, (c.obligation("CQ-STE-02") or 0) - allocated("CQ-STE-02"))
    ste_q = max(0, min(ste_gap, surplus - retire_q - sc_q))
    for buyer, q in ((SICHUAN_BUYER, sc_q), ("CQ-STE-02", ste_q)):
        if q <= 0:
            continue
        c.svc.add_trusted_account(seller, f"CN-CQ.{buyer}")
        c.svc.transfer(
            seller,
            from_account="CN-CQ.CQ-ALU-01",
            to_account=f"CN-CQ.{buyer}",
            instrument_id=cqea,
            quantity=q,
            note=f"bilateral sale {YEAR} to {buyer}",
        )
        counts["registry_transfers"] += 1

    # A carbon-neutral event.
    c.svc.retire(
        seller,
        account_number="CN-CQ.CQ-ALU-01",
        instrument_id=cqea,
        quantity=retire_q,
        beneficiary=BENEFICIARY,
        purpose="Carbon-neutral event: venues, visitor travel and logistics of the expo",
        period_start="2025-10-01",
        period_end="2025-10-05",
    )
    counts["registry_retirements"] += 1

    # CQ-CHE-02 pledges its surplus to a bank (pledged units cannot be surrendered).
    che02 = allocated("CQ-CHE-02") - (c.obligation("CQ-CHE-02") or allocated("CQ-CHE-02"))
    pledge_q = che02 if che02 > 0 else allocated("CQ-CHE-02") // 10
    if pledge_q > 0:
        c.svc.pledge(
            c.actor("cq-che-02"),
            account_number="CN-CQ.CQ-CHE-02",
            instrument_id=cqea,
            quantity=pledge_q,
            pledgee_org_id=c.org("BANK-CQ-01").id,
            reference=PLEDGE_REFERENCE,
        )
        counts["registry_pledges"] += 1

    # Surrenders (CQ-CEM-03 surrenders nothing).
    full = ("CQ-CEM-01", "CQ-CEM-02", "CQ-STE-02", "CQ-CHE-01", "CQ-CHE-02", "CQ-ALU-01")
    for code in full:
        counts["registry_surrenders"] += _surrender(c, code, "CN-CQ", cqea, 10**12)
    counts["registry_surrenders"] += _surrender(c, "CQ-CEM-02", "CN-CQ", ccer, gap)
    # CQ-STE-01 surrenders what it holds, short of its obligation.
    counts["registry_surrenders"] += _surrender(
        c, "CQ-STE-01", "CN-CQ", cqea, allocated("CQ-STE-01")
    )


def _national_market(c: _Ctx, counts: dict[str, int]) -> None:
    reg, second = c.actor("cq-eeb"), c.actor(SECOND_REGULATOR)
    sector, key, bench = POWER_BENCHMARK
    output: dict[str, Decimal] = {}
    for code, ratio in NATIONAL_RATIOS.items():
        v = c.verified(code)
        base = Decimal(DEFAULT_BASELINE["power"]) if v is None else v
        output[code] = (base / bench * ratio).quantize(Decimal(1))
    plan = c.svc.create_allocation_plan(
        reg,
        market_code="CN-NATIONAL",
        year=YEAR,
        product="CEA",
        pre_share_bp=7_000,
        lines=[
            AllocationInput(c.org(code).id, "benchmark", output[code], Decimal(1), sector, key)
            for code in NATIONAL_RATIOS
        ],
    )
    c.svc.approve_allocation_plan(second, plan.plan_id)
    c.svc.issue_allocation(reg, plan.plan_id)
    c.svc.submit_true_up(reg, plan.plan_id, {c.org(k).id: v for k, v in output.items()})
    c.svc.approve_true_up(second, plan.plan_id)
    counts["registry_plans"] += 1
    cea = c.svc.instrument("CN-NATIONAL", "CEA", YEAR).id
    for code in ("CQ-POW-01", "CQ-POW-02"):
        counts["registry_surrenders"] += _surrender(c, code, "CN-NATIONAL", cea, 10**12)
    half = (c.obligation("CQ-POW-03") or 0) // 2
    counts["registry_surrenders"] += _surrender(c, "CQ-POW-03", "CN-NATIONAL", cea, half)


def load_registry_demo(session: Session, signer: LogSigner) -> dict[str, int]:
    """Run the 2025 compliance cycle of the demo (the caller commits). Idempotent.

    Needs the base demo (organisations and users); reads verified 2025 emissions from
    MRV (load the MRV demo first for obligations). Returns counts of what was added.
    """
    counts = {
        "registry_users": 0,
        "registry_plans": 0,
        "registry_deposits": 0,
        "registry_transfers": 0,
        "registry_retirements": 0,
        "registry_pledges": 0,
        "registry_surrenders": 0,
    }
    done = session.scalar(
        select(RegAllocationPlan.id).where(
            RegAllocationPlan.market_code == "CN-CQ",
            RegAllocationPlan.year == YEAR,
            RegAllocationPlan.jurisdiction_code == "CN-CQ",
        )
    )
    if done is not None:
        return counts
    counts["registry_users"] += int(_second_regulator(session))
    emissions = DbVerifiedEmissions(session)
    svc = RegistryService(session, signer, emissions=emissions, clock=lambda: DEMO_CLOCK)
    ctx = _Ctx(session, svc, emissions, {}, {})
    _cq_market(ctx, counts)
    _national_market(ctx, counts)
    return counts
