"""Console pages of the registry: holdings, serial blocks and search, compliance,
retirements with certificates, the pledge register, and forms to transfer and retire.

Pages call :class:`~greencircle.registry.service.RegistryService` (through
:func:`~greencircle.registry.endpoints.service_for`) with the same scope checks as the
API; forms carry the session's CSRF token. Words come from the ``registry.*`` catalog
keys; codes (account numbers, serial ranges, instrument codes) are shown as they are.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.api.deps import SessionDep
from greencircle.auth.models import Jurisdiction, Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import OrgType, Perm
from greencircle.errors import Forbidden, NotFound, PlatformError
from greencircle.kit import fmt
from greencircle.kit.export import csv_text, safe_row
from greencircle.kit.quantity import from_minor
from greencircle.kit.timeutil import to_local
from greencircle.registry import ledger
from greencircle.registry.endpoints import service_for
from greencircle.registry.errors import InvalidQuantity, RegistryNotFound
from greencircle.registry.markets import Market, default_catalog
from greencircle.registry.results import ComplianceStatus
from greencircle.registry.service import AllocationInput, RegistryService
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import translate

router = APIRouter(include_in_schema=False)

#: Compliance statuses, transfer statuses, pledge and freeze statuses (catalog suffixes).
COMPLIANCE_STATUSES = tuple(s.value for s in ledger.ComplianceState)
TRANSFER_STATUSES = tuple(s.value for s in ledger.TransferState)
PLEDGE_STATUSES = tuple(s.value for s in ledger.PledgeState)
FREEZE_STATUSES = tuple(s.value for s in ledger.FreezeState)
PLAN_STATUSES = tuple(s.value for s in ledger.PlanState)
#: Tabs ``(href, catalog key, permission needed or None)``.
TAB_PERMS: tuple[tuple[str, str, Perm | None], ...] = (
    ("/console/registry", "registry.tab.holdings", None),
    ("/console/registry/serials", "registry.tab.serials", None),
    ("/console/registry/compliance", "registry.tab.compliance", None),
    ("/console/registry/retirements", "registry.tab.retirements", None),
    ("/console/registry/pledges", "registry.tab.pledges", None),
    ("/console/registry/freezes", "registry.tab.freezes", None),
    ("/console/registry/plans", "registry.tab.plans", Perm.REGISTRY_ALLOCATE),
)
TABS = tuple((href, key) for href, key, _perm in TAB_PERMS)
PAGE_SIZE = 25
#: Done messages of the forms (``registry.done.<key>``).
DONE_KEYS = (*TRANSFER_STATUSES, "surrendered", "pledged", "frozen", "lifted", "plan_created")
DONE_KEYS += ("plan_approved", "plan_issued")


def qty(value: int | None, unit: str, scale: int = 0, lang: str = "en") -> str:
    """A quantity in minor units as people read it, with its unit: ``"1,234 tCO₂e"``
    (cash: ``"1,234.00 CNY"``).

    ``value`` is in minor units (``quantity × 10^scale``); no digit is lost.
    """
    if value is None:
        return "–"
    if unit in default_catalog().currencies:  # a cash balance: money, all its decimals
        return fmt.money(value, unit, scale, lang)
    return fmt.quantity(Decimal(value).scaleb(-scale), unit, lang, places=scale)


def tabs_for(actor: Actor) -> list[tuple[str, str]]:
    """The tabs the actor may open."""
    return [
        (href, key)
        for href, key, perm in TAB_PERMS
        if perm is None or perm in actor.perms or actor.is_platform_admin
    ]


def _page(request: Request, template: str, actor: Actor, **context: Any) -> HTMLResponse:
    """Render a registry page with its tabs, the ``qty`` formatter of the page's language
    and the ``done`` / ``error`` message of the last form."""
    lang = page_lang(request)
    done = request.query_params.get("done", "")
    error = request.query_params.get("error", "")
    context.setdefault(
        "done_text", translate(lang, f"registry.done.{done}") if done in DONE_KEYS else ""
    )
    return render(
        request,
        template,
        actor=actor,
        tabs=tabs_for(actor),
        qty=partial(qty, lang=lang),
        error_text=error_text(lang, error) if error else "",
        **context,
    )


def error_text(lang: str, code: str) -> str:
    """The message of a rejection code (``registry.error.<code>``, else the generic one)."""
    from greencircle.web.i18n import catalog

    key = f"registry.error.{code}"
    if key in catalog(lang):
        return translate(lang, key)
    return translate(lang, "error.generic", code=code[:60])


def _back(url: str, exc: PlatformError) -> RedirectResponse:
    """Back to the form's page with the rejection's code (the page shows its message)."""
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}{urlencode({'error': exc.code})}", status_code=303)


def _attempt(session: Session, back: str, action: Callable[[], str]) -> RedirectResponse:
    """Run a form's action in a savepoint and redirect.

    Success goes to the URL ``action`` returns; a rejection rolls the savepoint back (no
    partial write) and returns to ``back`` with its code, which the page shows as a message.
    """
    try:
        with session.begin_nested():
            target = action()
    except PlatformError as exc:
        return _back(back, exc)
    return RedirectResponse(target, status_code=303)


def _int(value: str) -> int:
    """A quantity typed in a form: digits only (no sign, decimals or exponent)."""
    text = value.strip().replace(",", "")
    if not text.isdigit() or not text.isascii():
        raise InvalidQuantity(f"not a whole number: {value[:40]!r}")
    return int(text)


def svc_of(request: Request, session: Session) -> RegistryService:
    """The registry service of the page's unit of work."""
    return service_for(session, request.app.state.log_signer)


def default_year() -> int:
    """The compliance year being settled: last calendar year."""
    return date.today().year - 1


def _org_by_code(session: Session, code: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise NotFound(f"no organisation {code!r}", code="unknown_organisation")
    return org


def _orgs(session: Session, ids: set[str]) -> dict[str, Organisation]:
    if not ids:
        return {}
    rows = session.scalars(select(Organisation).where(Organisation.id.in_(ids)))
    return {o.id: o for o in rows}


def _require_reader(actor: Actor) -> None:
    if Perm.REGISTRY_READ not in actor.perms and not actor.is_platform_admin:
        raise Forbidden("no registry permission", code="permission_denied")


def _supervised_holders(session: Session, svc: RegistryService, actor: Actor) -> list[Any]:
    """Organisations with registry accounts that a supervisor may inspect."""
    from greencircle.registry.models import RegAccount

    if Perm.REGISTRY_SUPERVISE not in actor.perms and not actor.is_platform_admin:
        return []
    ids = set(session.scalars(select(RegAccount.org_id).where(RegAccount.org_id.is_not(None))))
    orgs = _orgs(session, {i for i in ids if i})
    return sorted(
        (o for o in orgs.values() if o.id != actor.org_id and svc.supervises_org(actor, o.id)),
        key=lambda o: o.code,
    )


def _sorted_page(rows: list[dict[str, Any]], sort: str, page: int) -> list[dict[str, Any]]:
    key = sort.lstrip("-")
    rows = sorted(
        rows, key=lambda r: (r.get(key) is None, r.get(key) or 0), reverse=sort.startswith("-")
    )
    return rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]


# ==========================================================================================
# holdings
# ==========================================================================================
@router.get("/console/registry", response_class=HTMLResponse)
def holdings_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    org: Annotated[str | None, Query(max_length=40)] = None,
    sort: Annotated[str, Query(pattern="^-?(account|instrument|posted|available)$")] = "account",
    page: Annotated[int, Query(ge=1)] = 1,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Balances per account and instrument (available, held, encumbered), with links to
    serial blocks and proof bundles; transfer and retirement forms for the holder."""
    _require_reader(actor)
    svc = svc_of(request, session)
    target = _org_by_code(session, org) if org else session.get(Organisation, actor.org_id)
    assert target is not None
    if target.id != actor.org_id and not svc.supervises_org(actor, target.id):
        raise Forbidden(
            "this organisation is outside your jurisdiction", code="out_of_jurisdiction"
        )
    balances = [b for b in svc.balances(actor, target.id) if b.posted or b.held]
    rows = [
        {
            "account": b.account_number,
            "instrument": b.instrument_code,
            "instrument_id": b.instrument_id,
            "unit": b.unit,
            "posted": b.posted,
            "available": b.available,
            "held": b.held,
            "encumbered": b.encumbered,
            "pledged": b.pledged,
            "frozen": b.frozen,
            "scale": b.scale,
            "cash": b.account_number.startswith("CASH."),
        }
        for b in balances
    ]
    own = target.id == actor.org_id
    holdings = [r for r in rows if not r["cash"]]
    return _page(
        request,
        "registry/holdings.html",
        actor,
        target=target,
        own=own,
        rows=_sorted_page(rows, sort, page),
        sort=sort,
        page=page,
        pages=pages(len(rows), PAGE_SIZE),
        holders=_supervised_holders(session, svc, actor),
        can_transfer=own and Perm.REGISTRY_TRANSFER in actor.perms and bool(holdings),
        can_retire=own and Perm.REGISTRY_RETIRE in actor.perms and bool(holdings),
        accounts=sorted({r["account"] for r in holdings}),
        instruments=sorted({r["instrument"] for r in holdings}),
        today=date.today().isoformat(),
    )


@router.post("/console/registry/transfer")
def transfer_submit(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    from_account: Annotated[str, Form(max_length=120)],
    to_account: Annotated[str, Form(max_length=120)],
    instrument: Annotated[str, Form(max_length=160)],
    quantity: Annotated[str, Form(max_length=24)],
    note: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    """Transfer from the holdings page (a rejection comes back as its message)."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)

    def act() -> str:
        result = svc.transfer(
            actor,
            from_account=from_account,
            to_account=to_account.strip(),
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=_int(quantity),
            note=note or None,
        )
        return f"/console/registry?done={result.status}"

    return _attempt(session, "/console/registry", act)


@router.post("/console/registry/retire")
def retire_submit(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    account: Annotated[str, Form(max_length=120)],
    instrument: Annotated[str, Form(max_length=160)],
    quantity: Annotated[str, Form(max_length=24)],
    beneficiary: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=400)],
    period_start: Annotated[str, Form(max_length=10)],
    period_end: Annotated[str, Form(max_length=10)],
) -> RedirectResponse:
    """Retire from the holdings page, then show the retirement with its certificates."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)

    def act() -> str:
        r = svc.retire(
            actor,
            account_number=account,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=_int(quantity),
            beneficiary=beneficiary,
            purpose=purpose,
            period_start=period_start,
            period_end=period_end,
        )
        return f"/console/registry/retirements?done={r.retirement_id}"

    return _attempt(session, "/console/registry", act)


# ==========================================================================================
# serial blocks and serial search
# ==========================================================================================
@router.get("/console/registry/blocks", response_class=HTMLResponse)
def blocks_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    account: Annotated[str, Query(max_length=120)],
    instrument: Annotated[str | None, Query(max_length=160)] = None,
) -> HTMLResponse:
    """Current serial blocks of an account, each linked to its history and its proof."""
    _require_reader(actor)
    svc = svc_of(request, session)
    inst = svc.resolve_instrument(instrument) if instrument else None
    blocks = svc.serial_blocks(actor, account, inst.id if inst else None)
    return _page(
        request,
        "registry/blocks.html",
        actor,
        account=account,
        instrument=inst,
        blocks=blocks,
    )


@router.get("/console/registry/serials", response_class=HTMLResponse)
def serials_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    instrument: Annotated[str | None, Query(max_length=160)] = None,
    start: Annotated[int | None, Query(ge=1, le=ledger.MAX_OUTSTANDING)] = None,
    end: Annotated[int | None, Query(ge=1, le=ledger.MAX_OUTSTANDING)] = None,
) -> HTMLResponse:
    """Serial search: where each unit of a range is now and its whole history."""
    _require_reader(actor)
    svc = svc_of(request, session)
    result = None
    hidden = False
    if instrument and start is not None:
        inst = svc.resolve_instrument(instrument)
        try:
            result = svc.serial_search(actor, inst.id, start, end if end is not None else start)
        except RegistryNotFound:
            hidden = True  # nothing of the range touched the actor's accounts
    lang = page_lang(request)
    kinds = {
        h.tx_id: translate(lang, f"registry.kind.{h.kind}")
        for h in (result.history if result else [])
    }
    return _page(
        request,
        "registry/serials.html",
        actor,
        instrument=instrument or "",
        start=start or "",
        end=end or "",
        result=result,
        hidden=hidden,
        kinds=kinds,
        instruments=[i.code for i in svc.instruments() if i.issued > 0],
    )


# ==========================================================================================
# compliance
# ==========================================================================================
def _status_row(st: ComplianceStatus, lang: str) -> dict[str, Any]:
    return {
        "st": st,
        "status": translate(lang, f"registry.status.{st.status}"),
        "surrendered": st.surrendered_allowances + st.surrendered_offsets,
    }


def _compliance_markets(svc: RegistryService) -> list[Market]:
    return [m for m in svc.catalog.markets.values() if m.compliance_enabled]


@router.get("/console/registry/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    market: Annotated[str | None, Query(max_length=24)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
) -> HTMLResponse:
    """Enterprise: its status per market. Regulator: its region (counts, obligation,
    surrendered, shortfalls) and the status of every covered enterprise, by district."""
    _require_reader(actor)
    svc = svc_of(request, session)
    lang = page_lang(request)
    year = year or default_year()
    markets = _compliance_markets(svc)
    supervisor = Perm.REGISTRY_SUPERVISE in actor.perms or actor.is_platform_admin
    ctx: dict[str, Any] = {"own": [], "region": None, "districts": [], "shortfalls": None}
    if supervisor:
        jur_code = actor.org_jurisdiction_code
        authority_first = sorted(
            markets, key=lambda m: (m.authority_jurisdiction != jur_code, m.code)
        )
        chosen = svc.catalog.market(market) if market else authority_first[0]
        region = svc.region_compliance(actor, chosen.code, year, jur_code)
        districts: dict[str, dict[str, Any]] = {}
        for st in region.items:
            d = districts.setdefault(
                st.jurisdiction_code,
                {"code": st.jurisdiction_code, "entities": 0, "obligation": 0, "remaining": 0}
                | dict.fromkeys(COMPLIANCE_STATUSES, 0),
            )
            d["entities"] += 1
            d[st.status] += 1
            d["obligation"] += st.obligation or 0
            d["remaining"] += st.remaining or 0
        names = {
            j.code: j
            for j in session.scalars(select(Jurisdiction).where(Jurisdiction.code.in_(districts)))
        }
        orgs = _orgs(session, {st.org_id for st in region.items})
        ctx.update(
            region=region,
            region_rows=[_status_row(st, lang) for st in region.items],
            districts=[{**d, "j": names.get(d["code"])} for _c, d in sorted(districts.items())],
            orgs=orgs,
            shortfalls=svc.shortfall_report(actor, chosen.code, year),
            currency_scale=svc.catalog.currency(chosen.currency.value).scale,
            market=chosen,
            rule_status=translate(lang, f"registry.data_status.{chosen.penalty.status}"),
        )
    else:
        ctx["own"] = [
            {**_status_row(st, lang), "market": svc.catalog.market(st.market_code)}
            for st in svc.obligations(actor, actor.org_id, year)
        ]
        ctx["surrenders"] = svc.surrenders(actor, org_id=actor.org_id, year=year)
        if Perm.REGISTRY_SURRENDER in actor.perms:
            ctx["surrender_options"] = {
                r["market"].code: _own_holdings(svc, actor, r["market"].code) for r in ctx["own"]
            }
        ctx["market"] = None
    return _page(
        request,
        "registry/compliance.html",
        actor,
        supervisor=supervisor,
        markets=markets,
        year=year,
        deadline=lambda d: to_local(d).strftime("%Y-%m-%d %H:%M") + " (UTC+8)",
        status_keys=COMPLIANCE_STATUSES,
        **ctx,
    )


# ==========================================================================================
# retirements
# ==========================================================================================
@router.get("/console/registry/retirements", response_class=HTMLResponse)
def retirements_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
    done: Annotated[str | None, Query(max_length=26)] = None,
) -> HTMLResponse:
    """Retirements with certificate links (HTML and PDF, Chinese and English) and proofs."""
    _require_reader(actor)
    svc = svc_of(request, session)
    items = svc.retirements(actor)
    orgs = _orgs(session, {r.org_id for r in items})
    return _page(
        request,
        "registry/retirements.html",
        actor,
        items=items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        orgs=orgs,
        page=page,
        pages=max(1, math.ceil(len(items) / PAGE_SIZE)),
        done=done,
    )


# ==========================================================================================
# pledge register
# ==========================================================================================
@router.get("/console/registry/pledges", response_class=HTMLResponse)
def pledges_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(active|released|enforced)$")] = None,
) -> HTMLResponse:
    """The pledge register: regulators (their jurisdiction's pledgors), banks (pledges in
    their favour) and holders (their own); release and enforce for the pledgee."""
    _require_reader(actor)
    svc = svc_of(request, session)
    lang = page_lang(request)
    items = svc.pledge_register(actor, status=status)
    orgs = _orgs(session, {p.pledgor_org_id for p in items} | {p.pledgee_org_id for p in items})
    rows = [
        {"p": p, "status": translate(lang, f"registry.pledge_status.{p.status}")} for p in items
    ]
    return _page(
        request,
        "registry/pledges.html",
        actor,
        rows=rows,
        orgs=orgs,
        status=status or "",
        statuses=[(s, translate(lang, f"registry.pledge_status.{s}")) for s in PLEDGE_STATUSES],
        can_pledge=Perm.REGISTRY_PLEDGE in actor.perms,
        pledgeable=(_own_holdings(svc, actor, None) if Perm.REGISTRY_PLEDGE in actor.perms else []),
        pledgees=sorted(
            session.scalars(
                select(Organisation).where(Organisation.org_type == OrgType.FINANCIAL_INSTITUTION)
            ),
            key=lambda o: o.code,
        ),
    )


@router.post("/console/registry/pledges/{pledge_id}/{action}")
def pledge_action(
    request: Request,
    pledge_id: str,
    action: str,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Request release (pledgor), release or enforce (pledgee)."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)
    actions = {
        "request-release": svc.request_pledge_release,
        "release": svc.release_pledge,
        "enforce": svc.enforce_pledge,
    }
    if action not in actions:
        raise NotFound(f"no action {action!r}")
    actions[action](actor, pledge_id)
    return RedirectResponse("/console/registry/pledges", status_code=303)


def _own_holdings(svc: RegistryService, actor: Actor, market_code: str | None) -> list[Any]:
    """The actor's organisation's unit balances with something available (on one market)."""
    return [
        b
        for b in svc.balances(actor, actor.org_id)
        if b.available > 0
        and not b.account_number.startswith("CASH.")
        and (market_code is None or b.account_number.startswith(f"{market_code}."))
    ]


# ==========================================================================================
# compliance surrender
# ==========================================================================================
@router.post("/console/registry/surrender")
def surrender_submit(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    market: Annotated[str, Form(max_length=24)],
    year: Annotated[int, Form(ge=2000, le=2200)],
    instrument: Annotated[str, Form(max_length=160)],
    quantity: Annotated[str, Form(max_length=24)],
) -> RedirectResponse:
    """Surrender allowances or offsets for the organisation's obligation."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)
    back = f"/console/registry/compliance?year={year}"

    def act() -> str:
        svc.surrender(
            actor,
            org_id=actor.org_id,
            market_code=market,
            year=year,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=_int(quantity),
        )
        return f"{back}&done=surrendered"

    return _attempt(session, back, act)


# ==========================================================================================
# allocation plans (four eyes: one regulator drafts, another approves, then issue)
# ==========================================================================================
def _require_allocator(actor: Actor) -> None:
    if Perm.REGISTRY_ALLOCATE not in actor.perms and not actor.is_platform_admin:
        raise Forbidden("allocation plans are for regulators", code="permission_denied")


def parse_plan_lines(session: Session, text: str) -> list[AllocationInput]:
    """Plan lines typed one per line: ``ORG-CODE, method, activity[, factor[, sector,
    benchmark_key]]`` (``method``: ``grandfathering`` with baseline tCO2e, or ``benchmark``
    with the output). A malformed line is 422 ``invalid_plan_line``."""
    from greencircle.errors import Invalid

    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split(",")]
        try:
            if len(parts) not in (3, 4, 6) or parts[1] not in ("grandfathering", "benchmark"):
                raise ValueError(raw)
            activity, factor = Decimal(parts[2]), Decimal(parts[3] if len(parts) > 3 else "1")
            if not (activity.is_finite() and factor.is_finite()) or min(activity, factor) < 0:
                raise ValueError(raw)
            if activity > 10**12 or factor > 10:
                raise ValueError(raw)
        except (ArithmeticError, ValueError):
            raise Invalid(f"line {n}: {raw[:80]!r}", code="invalid_plan_line") from None
        org = _org_by_code(session, parts[0])
        sector, key = (parts[4], parts[5]) if len(parts) == 6 else (None, None)
        out.append(AllocationInput(org.id, parts[1], activity, factor, sector, key))
    if not out:
        raise Invalid("a plan needs at least one line", code="invalid_plan_line")
    return out


@router.get("/console/registry/plans", response_class=HTMLResponse)
def plans_page(request: Request, actor: ConsoleActor, session: SessionDep) -> HTMLResponse:
    """Allocation plans of the regulator's jurisdiction: draft, approve (a second
    regulator), issue; with the lines and totals in the allowance unit."""
    _require_allocator(actor)
    svc = svc_of(request, session)
    lang = page_lang(request)
    plans = svc.allocation_plans(actor)
    orgs = _orgs(session, {ln.org_id for p in plans for ln in p.lines})
    markets = _compliance_markets(svc)
    products = {
        m.code: [p.code for p in m.products.values() if p.class_code == "allowance"]
        for m in markets
    }

    def activity_unit(market_code: str, year: int, method: str, sector: Any, key: Any) -> str:
        """Unit of a line's activity: baseline emissions, or the benchmark's output."""
        if method != "benchmark":
            return "tCO2e"
        return svc.catalog.benchmark(market_code, sector, key, year).output_unit

    return _page(
        request,
        "registry/plans.html",
        actor,
        activity_unit=activity_unit,
        methods={
            m: translate(lang, f"registry.plans.method_{m}")
            for m in ("grandfathering", "benchmark")
        },
        plans=[
            {"p": p, "status": translate(lang, f"registry.plan_status.{p.status}")} for p in plans
        ],
        orgs=orgs,
        markets=markets,
        products=products,
        year=default_year(),
    )


@router.post("/console/registry/plans")
def plan_create(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    market: Annotated[str, Form(max_length=24)],
    year: Annotated[int, Form(ge=2000, le=2200)],
    product: Annotated[str, Form(max_length=24)],
    lines: Annotated[str, Form(max_length=20_000)],
    pre_share_pct: Annotated[int, Form(ge=0, le=100)] = 100,
) -> RedirectResponse:
    """Draft a plan (it waits for a second regulator's approval)."""
    check_csrf(request, csrf)
    _require_allocator(actor)
    svc = svc_of(request, session)

    def act() -> str:
        svc.create_allocation_plan(
            actor,
            market_code=market,
            year=year,
            product=product,
            lines=parse_plan_lines(session, lines),
            pre_share_bp=pre_share_pct * 100,
        )
        return "/console/registry/plans?done=plan_created"

    return _attempt(session, "/console/registry/plans", act)


@router.post("/console/registry/plans/{plan_id}/{action}")
def plan_action(
    request: Request,
    plan_id: str,
    action: str,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Approve (a regulator other than the author) or issue a plan."""
    check_csrf(request, csrf)
    _require_allocator(actor)
    svc = svc_of(request, session)
    actions = {"approve": svc.approve_allocation_plan, "issue": svc.issue_allocation}
    if action not in actions:
        raise NotFound(f"no action {action!r}")

    def act() -> str:
        actions[action](actor, plan_id)
        done = "plan_approved" if action == "approve" else "plan_issued"
        return f"/console/registry/plans?done={done}"

    return _attempt(session, "/console/registry/plans", act)


# ==========================================================================================
# pledges (create) and freezes
# ==========================================================================================
@router.post("/console/registry/pledges")
def pledge_create(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    holding: Annotated[str, Form(max_length=290, description="ACCOUNT|INSTRUMENT")],
    quantity: Annotated[str, Form(max_length=24)],
    pledgee: Annotated[str, Form(max_length=40)],
    reference: Annotated[str, Form(min_length=1, max_length=80)],
) -> RedirectResponse:
    """Pledge units of the organisation's holding to a financial institution."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)
    account, _, instrument = holding.partition("|")

    def act() -> str:
        svc.pledge(
            actor,
            account_number=account,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=_int(quantity),
            pledgee_org_id=_org_by_code(session, pledgee).id,
            reference=reference,
        )
        return "/console/registry/pledges?done=pledged"

    return _attempt(session, "/console/registry/pledges", act)


@router.get("/console/registry/freezes", response_class=HTMLResponse)
def freezes_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(active|lifted)$")] = None,
) -> HTMLResponse:
    """Freezes on the organisation's accounts, or (regulators) in their jurisdiction, with
    the freeze and lift forms for regulators."""
    _require_reader(actor)
    svc = svc_of(request, session)
    lang = page_lang(request)
    items = svc.freezes(actor, status=status)
    return _page(
        request,
        "registry/freezes.html",
        actor,
        rows=[
            {"f": f, "status": translate(lang, f"registry.freeze_status.{f.status}")} for f in items
        ],
        status=status or "",
        statuses=[(s, translate(lang, f"registry.freeze_status.{s}")) for s in FREEZE_STATUSES],
        can_freeze=Perm.REGISTRY_FREEZE in actor.perms,
    )


@router.post("/console/registry/freezes")
def freeze_create(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    account: Annotated[str, Form(max_length=120)],
    instrument: Annotated[str, Form(max_length=160)],
    reason: Annotated[str, Form(max_length=400)],
    quantity: Annotated[str, Form(max_length=24)] = "",
) -> RedirectResponse:
    """Freeze units of an account in the regulator's jurisdiction (empty: all available)."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)

    def act() -> str:
        svc.freeze(
            actor,
            account_number=account.strip(),
            instrument_id=svc.resolve_instrument(instrument).id,
            reason=reason,
            quantity=_int(quantity) if quantity.strip() else None,
        )
        return "/console/registry/freezes?done=frozen"

    return _attempt(session, "/console/registry/freezes", act)


@router.post("/console/registry/freezes/{freeze_id}/lift")
def freeze_lift(
    request: Request,
    freeze_id: str,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=400)] = "",
) -> RedirectResponse:
    """Lift a freeze, with a reason."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)

    def act() -> str:
        svc.unfreeze(actor, freeze_id, reason)
        return "/console/registry/freezes?done=lifted"

    return _attempt(session, "/console/registry/freezes", act)


# ==========================================================================================
# account statement
# ==========================================================================================
STATEMENT_COLUMNS = (
    "seq",
    "time_beijing",
    "kind",
    "counterparty",
    "credit",
    "debit",
    "balance",
    "unit",
    "reference",
    "tx_id",
    "leaf_index",
)


@router.get("/console/registry/statement", response_model=None)
def statement_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    account: Annotated[str | None, Query(max_length=120)] = None,
    instrument: Annotated[str | None, Query(max_length=160)] = None,
    format: Annotated[str, Query(pattern="^(html|csv|xlsx)$")] = "html",
) -> Response:
    """Movements of one account and instrument with the running balance; CSV and XLSX
    exports carry exact decimal amounts in the instrument's unit (CNY, not fen) with the
    unit on every row and times in Beijing time with their offset. Without an account the
    holdings page is shown, where each holding links to its statement."""
    _require_reader(actor)
    if not account or not instrument:
        return RedirectResponse("/console/registry", status_code=303)
    svc = svc_of(request, session)
    st = svc.statement(actor, account, svc.resolve_instrument(instrument).id)
    name = f"statement-{st.account_number}-{st.instrument_code}".replace(":", "_")
    exact = partial(from_minor, scale=st.scale)
    rows = [
        (
            ln.seq,
            to_local(ln.at).isoformat(timespec="seconds"),
            ln.kind,
            ln.counterparty,
            exact(ln.credit),
            exact(ln.debit),
            exact(ln.balance),
            st.unit,
            ln.reference or "",
            ln.tx_id,
            ln.leaf_index,
        )
        for ln in st.lines
    ]
    if format == "csv":
        return Response(
            csv_text(STATEMENT_COLUMNS, rows).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "statement"
        ws.append(safe_row(STATEMENT_COLUMNS))
        for row in rows:
            ws.append(safe_row(row))
        buf = io.BytesIO()
        wb.save(buf)
        return Response(
            buf.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    lang = page_lang(request)
    return _page(
        request,
        "registry/statement.html",
        actor,
        st=st,
        kinds={ln.tx_id: translate(lang, f"registry.kind.{ln.kind}") for ln in st.lines},
        query=urlencode({"account": account, "instrument": instrument}),
    )
