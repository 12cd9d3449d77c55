"""Console pages of the registry: holdings, serial blocks and search, compliance,
retirements with certificates, the pledge register, and forms to transfer and retire.

Pages call :class:`~greencircle.registry.service.RegistryService` (through
:func:`~greencircle.registry.endpoints.service_for`) with the same scope checks as the
API; forms carry the session's CSRF token. Words come from the ``registry.*`` catalog
keys; codes (account numbers, serial ranges, instrument codes) are shown as they are.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.api.deps import SessionDep
from greencircle.auth.models import Jurisdiction, Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import Forbidden, NotFound
from greencircle.kit.quantity import format_minor
from greencircle.kit.timeutil import to_local
from greencircle.registry.endpoints import service_for
from greencircle.registry.errors import RegistryNotFound
from greencircle.registry.markets import Market
from greencircle.registry.results import ComplianceStatus
from greencircle.registry.service import RegistryService
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import translate

router = APIRouter(include_in_schema=False)

#: Compliance statuses, transfer statuses, pledge and freeze statuses (catalog suffixes).
COMPLIANCE_STATUSES = ("not_verified", "open", "compliant", "shortfall")
TRANSFER_STATUSES = ("pending_approval", "completed", "rejected", "cancelled")
PLEDGE_STATUSES = ("active", "released", "enforced")
TABS = (
    ("/console/registry", "registry.tab.holdings"),
    ("/console/registry/serials", "registry.tab.serials"),
    ("/console/registry/compliance", "registry.tab.compliance"),
    ("/console/registry/retirements", "registry.tab.retirements"),
    ("/console/registry/pledges", "registry.tab.pledges"),
)
PAGE_SIZE = 25


def qty(value: int | None, scale: int = 0) -> str:
    """A quantity in minor units for display (thousands separators; ``–`` if absent)."""
    if value is None:
        return "–"
    if scale == 0:
        return f"{value:,}"
    whole, _, frac = format_minor(value, scale).partition(".")
    return f"{int(whole):,}.{frac}" if frac else f"{int(whole):,}"


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
    return render(
        request,
        "registry/holdings.html",
        actor=actor,
        tabs=TABS,
        target=target,
        own=own,
        rows=_sorted_page(rows, sort, page),
        sort=sort,
        page=page,
        pages=pages(len(rows), PAGE_SIZE),
        qty=qty,
        holders=_supervised_holders(session, svc, actor),
        can_transfer=own and Perm.REGISTRY_TRANSFER in actor.perms and bool(holdings),
        can_retire=own and Perm.REGISTRY_RETIRE in actor.perms and bool(holdings),
        accounts=sorted({r["account"] for r in holdings}),
        instruments=sorted({r["instrument"] for r in holdings}),
        done_text=(
            translate(page_lang(request), f"registry.done.{done}")
            if done in TRANSFER_STATUSES
            else ""
        ),
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
    quantity: Annotated[int, Form()],
    note: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    """Transfer from the holdings page (errors render with their code)."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)
    result = svc.transfer(
        actor,
        from_account=from_account,
        to_account=to_account.strip(),
        instrument_id=svc.resolve_instrument(instrument).id,
        quantity=quantity,
        note=note or None,
    )
    return RedirectResponse(f"/console/registry?done={result.status}", status_code=303)


@router.post("/console/registry/retire")
def retire_submit(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    account: Annotated[str, Form(max_length=120)],
    instrument: Annotated[str, Form(max_length=160)],
    quantity: Annotated[int, Form()],
    beneficiary: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=400)],
    period_start: Annotated[str, Form(max_length=10)],
    period_end: Annotated[str, Form(max_length=10)],
) -> RedirectResponse:
    """Retire from the holdings page, then show the retirement with its certificates."""
    check_csrf(request, csrf)
    svc = svc_of(request, session)
    r = svc.retire(
        actor,
        account_number=account,
        instrument_id=svc.resolve_instrument(instrument).id,
        quantity=quantity,
        beneficiary=beneficiary,
        purpose=purpose,
        period_start=period_start,
        period_end=period_end,
    )
    return RedirectResponse(
        f"/console/registry/retirements?done={r.retirement_id}", status_code=303
    )


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
    return render(
        request,
        "registry/blocks.html",
        actor=actor,
        tabs=TABS,
        account=account,
        instrument=inst,
        blocks=blocks,
        qty=qty,
    )


@router.get("/console/registry/serials", response_class=HTMLResponse)
def serials_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    instrument: Annotated[str | None, Query(max_length=160)] = None,
    start: Annotated[int | None, Query(ge=1)] = None,
    end: Annotated[int | None, Query(ge=1)] = None,
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
    return render(
        request,
        "registry/serials.html",
        actor=actor,
        tabs=TABS,
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
            market=chosen,
            rule_status=translate(lang, f"registry.data_status.{chosen.penalty.status}"),
        )
    else:
        ctx["own"] = [
            {**_status_row(st, lang), "market": svc.catalog.market(st.market_code)}
            for st in svc.obligations(actor, actor.org_id, year)
        ]
        ctx["surrenders"] = svc.surrenders(actor, org_id=actor.org_id, year=year)
        ctx["market"] = None
    return render(
        request,
        "registry/compliance.html",
        actor=actor,
        tabs=TABS,
        supervisor=supervisor,
        markets=markets,
        year=year,
        qty=qty,
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
    return render(
        request,
        "registry/retirements.html",
        actor=actor,
        tabs=TABS,
        items=items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        orgs=orgs,
        page=page,
        pages=max(1, math.ceil(len(items) / PAGE_SIZE)),
        qty=qty,
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
    return render(
        request,
        "registry/pledges.html",
        actor=actor,
        tabs=TABS,
        rows=rows,
        orgs=orgs,
        status=status or "",
        statuses=[(s, translate(lang, f"registry.pledge_status.{s}")) for s in PLEDGE_STATUSES],
        qty=qty,
        can_pledge=Perm.REGISTRY_PLEDGE in actor.perms,
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
