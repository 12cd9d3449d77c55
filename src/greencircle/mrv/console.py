"""Console pages of MRV: overview and upload, reports with workflow and proofs, factors."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from greencircle.api.deps import SessionDep
from greencircle.auth.models import Facility, Organisation
from greencircle.auth.roles import OrgType, Perm
from greencircle.errors import Invalid, PlatformError
from greencircle.kit import fmt
from greencircle.mrv.factors import METHOD_FUEL, load_library, search
from greencircle.mrv.models import REPORT_STATES
from greencircle.mrv.quality import Finding
from greencircle.mrv.service import MrvService
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import catalog, translate

router = APIRouter(include_in_schema=False)
CATEGORIES = ("fuel", "electricity", "heat")


def _svc(request: Request, session: Any, actor: Any) -> MrvService:
    return MrvService(session, actor, request.app.state.log_signer)


def _chart(svc: MrvService, org_id: str | None, year: int, lang: str) -> dict[str, Any]:
    """Chart data: one enterprise (with intensity), or the actor's whole scope."""
    monthly = svc.monthly_by_source(org_id, year) if org_id else svc.region_monthly(year)
    periods = [f"{year}-{m:02d}" for m in range(1, 13)]
    series = {
        c: [float(Decimal(monthly.get(p, {}).get(c, "0"))) for p in periods] for c in CATEGORIES
    }
    intensity = svc.intensity(org_id, year) if org_id else []
    by_fac: dict[str, dict[str, float]] = {}
    units: dict[str, str] = {}
    for row in intensity:
        by_fac.setdefault(row["facility_id"], {})[row["period"]] = float(row["intensity"])
        units[row["facility_id"]] = row["unit"]
    codes = {
        f.id: f.code
        for f in svc.session.scalars(select(Facility).where(Facility.id.in_(list(by_fac))))
    }
    return {
        "periods": periods,
        "series": series,
        "intensity": {
            codes.get(fid, fid): [vals.get(p) for p in periods] for fid, vals in by_fac.items()
        },
        "intensity_units": {codes.get(fid, fid): fmt.unit_label(u) for fid, u in units.items()},
        "lang": lang,
        "labels": {
            "monthly": translate(lang, "mrv.chart.monthly"),
            "intensity": translate(lang, "mrv.chart.intensity"),
            "tco2": fmt.unit_label("tCO2"),
            **{c: translate(lang, f"mrv.category.{c}") for c in CATEGORIES},
        },
    }


#: Finding parameters that are numbers, and the parameter giving their unit (if any).
_NUMBER_PARAMS = {
    "value": "unit",
    "previous": "unit",
    "low": "unit",
    "high": "unit",
    "intensity": "",
    "p05": "",
    "p95": "",
}


def finding_text(finding: Finding, lang: str) -> str:
    """A plausibility finding in the page's language, numbers and units formatted.

    The message comes from the catalog key ``mrv.finding.text.<key>``; codes among its
    parameters (category, direction, status, sector, fuel) are translated too.
    """
    params = dict(finding.params)
    words = catalog(lang)
    for name, unit_param in _NUMBER_PARAMS.items():
        if params.get(name):
            unit = params.get(unit_param, "") if unit_param else ""
            places = fmt.places_for(unit) if name in ("value", "previous") and unit else None
            params[name] = fmt.number(params[name], lang, places=places)
    if params.get("unit"):
        params["unit"] = fmt.unit_label(params["unit"])
    for name, prefix in (
        ("category", "mrv.category."),
        ("direction", "mrv.direction."),
        ("status", "mrv.status."),
        ("sector", "sector."),
    ):
        if params.get(name):
            params[name] = words.get(prefix + params[name], params[name])
    if params.get("item") and lang != "en":
        params["item"] = _fuel_names().get(params["item"], params["item"])
    key = f"mrv.finding.text.{finding.key or finding.code}"
    return translate(lang, key, **params) if key in words else finding.message


def _fuel_names() -> dict[str, str]:
    lib = load_library()
    return {
        item: lib.lookup(METHOD_FUEL, item).factor.name_zh or item
        for item in lib.items(METHOD_FUEL)
    }


@lru_cache(maxsize=4)
def _item_names(lang: str) -> dict[str, str]:
    """Fuel names of the factor library in ``lang`` (the record's ``item`` is its code);
    grid regions and other items keep their codes, which are their published names."""
    lib = load_library()
    names: dict[str, str] = {}
    for item in lib.items(METHOD_FUEL):
        factor = lib.lookup(METHOD_FUEL, item).factor
        names[item] = (factor.description if lang == "en" else factor.name_zh) or item
    return names


@router.get("/console/mrv", response_class=HTMLResponse)
def overview(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    year: Annotated[int, Query(ge=2000, le=2100)] = 2025,
    status: Annotated[str | None, Query(max_length=24)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """My reports and uploads (enterprise) or the regional summary (others)."""
    actor.require(Perm.MRV_READ)
    svc = _svc(request, session, actor)
    reports = svc.reports(year=year, status=status or None)
    orgs = {
        o.id: o
        for o in session.scalars(
            select(Organisation).where(Organisation.id.in_({r.org_id for r in reports}))
        )
    }
    ctx: dict[str, Any] = {
        "year": year,
        "reports": reports,
        "orgs": orgs,
        "status": status or "",
        "states": REPORT_STATES,
        "error": error,
    }
    if actor.org_type == OrgType.ENTERPRISE:
        ctx["uploads"] = svc.uploads(actor.org_id)[:10]
        ctx["chart"] = _chart(svc, actor.org_id, year, page_lang(request))
        ctx["has_data"] = bool(svc.records(actor.org_id, year))
    else:
        ctx["summary"] = svc.region_summary(year)
        ctx["chart"] = _chart(svc, None, year, page_lang(request))
    return render(request, "mrv/overview.html", actor=actor, **ctx)


@router.post("/console/mrv/upload")
async def upload(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
) -> Response:
    """Upload a CSV/XLSX/JSON file from the console; errors are shown on the page."""
    check_csrf(request, csrf)
    name = file.filename or "upload"
    fmt = name.rsplit(".", 1)[-1].lower()
    content = await file.read()
    svc = _svc(request, session, actor)
    try:
        if fmt not in {"csv", "xlsx", "json"}:
            raise Invalid("file must end in .csv, .xlsx or .json", code="mrv.format")
        result = svc.ingest(actor.org_id, name, content, fmt)
    except PlatformError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
        return render(
            request,
            "mrv/upload_result.html",
            actor=actor,
            ok=False,
            code=exc.code,
            detail=detail,
            result=None,
            status_code=exc.status_code,
        )
    return render(
        request,
        "mrv/upload_result.html",
        actor=actor,
        ok=True,
        code="",
        detail={},
        result=result,
        status_code=201,
    )


@router.post("/console/mrv/reports")
def create_report(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    year: Annotated[int, Form(ge=2000, le=2100)],
) -> RedirectResponse:
    """Open the draft report of my enterprise."""
    check_csrf(request, csrf)
    report = _svc(request, session, actor).create_report(actor.org_id, year)
    return RedirectResponse(f"/console/mrv/reports/{report.id}", status_code=303)


@router.get("/console/mrv/reports/{report_id}", response_class=HTMLResponse)
def report_page(
    request: Request, report_id: str, actor: ConsoleActor, session: SessionDep
) -> HTMLResponse:
    """A report: totals, workflow actions, records with proofs, history, findings, charts."""
    svc = _svc(request, session, actor)
    report = svc.report(report_id)
    org = session.get(Organisation, report.org_id)
    records = svc.records(report.org_id, report.year)
    verifiers = list(
        session.scalars(
            select(Organisation)
            .where(Organisation.org_type == OrgType.VERIFIER)
            .order_by(Organisation.code)
        )
    )
    verifier = session.get(Organisation, report.verifier_org_id) if report.verifier_org_id else None
    lang = page_lang(request)
    findings = svc.findings(report.org_id, report.year)
    return render(
        request,
        "mrv/report.html",
        actor=actor,
        report=report,
        org=org,
        records=records,
        item_names=_item_names(lang),
        adjusted_count=sum(1 for r in records if r.adjusted_inputs is not None),
        adjusted_difference=(
            Decimal(report.adjusted_tco2) - Decimal(report.reported_tco2)
            if report.adjusted_tco2
            else None
        ),
        events=svc.events(report_id),
        findings=[(f, finding_text(f, lang)) for f in findings],
        verifiers=verifiers,
        verifier=verifier,
        chart=_chart(svc, report.org_id, report.year, lang),
        can_submit=Perm.MRV_SUBMIT in actor.perms and actor.org_id == report.org_id,
        can_verify=Perm.MRV_VERIFY in actor.perms and actor.org_id == report.verifier_org_id,
        can_supervise=Perm.MRV_SUPERVISE in actor.perms,
    )


@router.post("/console/mrv/reports/{report_id}/{action}")
def report_action(
    request: Request,
    report_id: str,
    action: str,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    comment: Annotated[str, Form(max_length=2000)] = "",
    verifier_org_id: Annotated[str, Form(max_length=40)] = "",
    record_id: Annotated[str, Form(max_length=80)] = "",
    quantity: Annotated[str, Form(max_length=40)] = "",
    unit: Annotated[str, Form(max_length=20)] = "",
) -> RedirectResponse:
    """Workflow buttons: submit, assign, adjust, verify, return, lock."""
    check_csrf(request, csrf)
    svc = _svc(request, session, actor)
    if action == "submit":
        svc.submit(report_id, comment)
    elif action == "assign":
        svc.assign(report_id, verifier_org_id)
    elif action == "adjust":
        changes = {"quantity": quantity, **({"unit": unit} if unit.strip() else {})}
        svc.adjust(report_id, record_id, changes, comment)
    elif action == "verify":
        svc.verify(report_id, comment)
    elif action == "return":
        svc.return_report(report_id, comment)
    elif action == "lock":
        svc.lock(report_id, comment)
    else:
        raise Invalid(f"unknown action {action!r}", code="mrv.invalid_transition")
    return RedirectResponse(f"/console/mrv/reports/{report_id}", status_code=303)


@router.get("/console/mrv/factors", response_class=HTMLResponse)
def factors_page(
    request: Request,
    actor: ConsoleActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    method: Annotated[str | None, Query(max_length=20)] = None,
    region: Annotated[str | None, Query(max_length=24)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """The emission factor library: search by fuel, region, year, source, status."""
    limit = 25
    result = search(
        q or None,
        method=method or None,
        region=region or None,
        year=year,
        source=source or None,
        status=status or None,
        offset=(page - 1) * limit,
        limit=limit,
    )
    return render(
        request,
        "mrv/factors.html",
        actor=actor,
        result=result,
        q=q or "",
        method=method or "",
        region=region or "",
        year=year or "",
        source=source or "",
        status=status or "",
        page=page,
        pages=pages(result.total, limit),
        status_labels=status_labels(page_lang(request)),
    )


def status_labels(lang: str) -> dict[str, str]:
    """Value statuses of reference data (``confirmed``, ``recall``, ...) in ``lang``."""
    words = catalog(lang)
    prefix = "mrv.status."
    return {k[len(prefix) :]: v for k, v in words.items() if k.startswith(prefix)}
