"""Console pages of the energy domain: sites, studies (with charts), comparisons.

Pages call :class:`~greencircle.energy.service.EnergyService` with the same scope checks as
the API. Charts are drawn by ``/static/energy.js`` (Apache ECharts) from a JSON script tag
that carries the data and the chart labels in the page's language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from greencircle.api.deps import JobsDep, SessionDep
from greencircle.auth.models import Organisation
from greencircle.auth.roles import Perm
from greencircle.energy.errors import MicrogridSpecInvalid
from greencircle.energy.forms import (
    LOAD_PROFILES,
    PV_PRESETS,
    STUDY_DEFAULTS,
    study_spec_from_form,
)
from greencircle.energy.grid_factors import grid_regions
from greencircle.energy.models import EnergySite, EnergyStudy
from greencircle.energy.schemas import SiteIn
from greencircle.energy.service import (
    ASYNC_THRESHOLD_STEPS,
    KPI_TABLE,
    EnergyService,
    check_api_spec,
    headline_kpis,
    run_weight,
)
from greencircle.energy.tariffs import available_tariffs, load_tariff, tariffs_for_province
from greencircle.errors import PlatformError
from greencircle.kit import fmt as fmt_kit
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import catalog, translate

router = APIRouter(include_in_schema=False)

#: Display of each KPI unit: (divisor, screen unit code, decimals). Energies per year are
#: shown in MWh; the API and the RESULT keep the exact kWh values.
DISPLAY_UNITS: dict[str, tuple[float, str, int]] = {
    "kWp": (1.0, "kWp", 0),
    "kWh": (1.0, "kWh", 0),
    "kW": (1.0, "kW", 0),
    "kWh/yr": (1000.0, "MWh/yr", 1),
    "CNY/yr": (1.0, "CNY/yr", 0),
    "tCO2/yr": (1.0, "tCO2/yr", 1),
    "yr": (1.0, "yr", 1),
    "-": (0.01, "%", 1),
}
#: Cost breakdown lines shown on the study page, in order.
COST_KEYS = (
    "pv_capital_cny",
    "battery_energy_capital_cny",
    "battery_power_capital_cny",
    "genset_fixed_cny",
    "grid_energy_cny",
    "grid_carbon_cny",
    "export_revenue_cny",
    "unserved_cny",
    "genset_fuel_cny",
    "genset_carbon_cny",
    "capital_cny",
    "operating_cny",
    "total_cny",
)
#: Series sent to the charts (rounded to 0.1 kW / kWh).
CHART_SERIES = (
    "load_kw",
    "pv_used_kw",
    "pv_curtailed_kw",
    "import_kw",
    "export_kw",
    "charge_kw",
    "discharge_kw",
    "genset_kw",
    "unserved_kw",
    "soc_kwh",
)
STATUSES = ("queued", "running", "succeeded", "failed")
#: KPIs in the study listing of a site page, in :data:`KPI_TABLE` order.
SITE_KPIS = (
    "pv_kwp",
    "battery_kwh",
    "objective_cny",
    "self_sufficiency_ratio",
    "avoided_emissions_tco2",
)
CHART_LABEL_KEYS = (
    "dispatch",
    "soc",
    "monthly",
    "power_kw",
    "energy_kwh",
    "energy_mwh",
    "load",
    "pv",
    "pv_curtailed",
    "import",
    "export",
    "charge",
    "discharge",
    "genset",
    "unserved",
    "soc_kwh",
    "capacity",
    "time",
    "month",
)


def data_status(lang: str, status: object) -> str:
    """A reference-data status (``confirmed``, ``recall`` ...) in the page's language."""
    key = f"energy.data_status.{status}"
    return translate(lang, key) if key in catalog(lang) else str(status or "")


def unit_text(lang: str, unit: str) -> str:
    """A unit as shown in ``lang`` (``CNY/yr`` → ``元/年``; ``tCO2`` → ``tCO₂``)."""
    key = f"energy.unit.{unit}"
    return translate(lang, key) if key in catalog(lang) else fmt_kit.unit_label(unit)


def fmt(value: float | None, unit: str = "-", lang: str = "en") -> str:
    """A KPI for display in ``lang``: locale grouping, precision and scale per unit
    (:data:`DISPLAY_UNITS`); ratios as percentages; ``–`` if absent."""
    if value is None or not math.isfinite(value):
        return "–"
    div, _, places = DISPLAY_UNITS.get(unit, (1.0, unit, 2))
    return fmt_kit.number(value / div, lang, places=places)


def display_unit(lang: str, unit: str) -> str:
    """The screen unit of a KPI unit, in ``lang``."""
    return unit_text(lang, DISPLAY_UNITS.get(unit, (1.0, unit, 2))[1])


def kpi_rows(summary: Mapping[str, Any] | None, lang: str = "en") -> list[dict[str, str]]:
    """The headline KPIs of a RESULT as display rows (catalog key, value, unit)."""
    values = headline_kpis(summary)
    return [
        {
            "key": k.key,
            "label_key": f"energy.kpi.{k.key}",
            "value": fmt(values[k.key], k.unit, lang),
            "unit": display_unit(lang, k.unit),
        }
        for k in KPI_TABLE
    ]


def study_title(study: EnergyStudy, lang: str) -> str:
    """A study's title in ``lang`` (its language-neutral ``label`` where none is stored)."""
    title = study.label_en if lang == "en" else study.label_zh
    return title or study.label


def solver_status(lang: str, status: object) -> str:
    """The solver's status (``optimal`` ...) in ``lang``."""
    key = f"energy.solver.{status}"
    return translate(lang, key) if key in catalog(lang) else str(status or "")


def site_province(site: EnergySite) -> str:
    """ISO 3166-2 province of a site from its jurisdiction (``CN-CQ-500115`` → ``CN-CQ``)."""
    return "-".join(site.jurisdiction_code.split("-")[:2])


def tariff_note(site: EnergySite, lang: str) -> str:
    """Which tariffs are shipped for the site's province, said plainly."""
    province = site_province(site)
    region = grid_regions().get(province)
    where = (region.name_en if lang == "en" else region.name_zh) if region else province
    codes = tariffs_for_province(province)
    if codes:
        return translate(lang, "energy.tariff.shipped", province=where, codes=", ".join(codes))
    return translate(lang, "energy.tariff.none_shipped", province=where)


def tariff_view(site: EnergySite, notes: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The study's tariff for display: name and sources in ``lang``, status, stand-in."""
    tariff = notes.get("tariff") or {}
    code = tariff.get("code")
    if not code:
        return {}
    name = tariff.get("description") if lang == "en" else tariff.get("description_zh")
    sources = tariff.get("sources_en") if lang == "en" else tariff.get("sources")
    province = tariff.get("province")
    if str(code) in available_tariffs():
        # Names and sources per language from the shipped data (studies saved before the
        # data carried both languages keep only the English name in their notes).
        shipped = load_tariff(str(code))
        name = shipped.description_en if lang == "en" else shipped.description_zh
        sources = shipped.sources_en if lang == "en" else shipped.sources
        province = shipped.province
    return {
        "code": code,
        "name": name or "",
        "sources": list(sources or []),
        "status": data_status(lang, tariff.get("status")),
        "flat_price": fmt_kit.number(tariff.get("flat_price_cny_per_kwh"), lang, places=4),
        "stand_in": bool(province) and province != site_province(site),
    }


def grid_factor_view(notes: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The grid factor for display (value, identity, status, fallback in ``lang``)."""
    gf = notes.get("grid_factor") or {}
    if "factor_id" not in gf:
        return {}
    fallback = ""
    if gf.get("fallback"):
        fallback = translate(
            lang,
            "energy.study.fallback_used",
            requested=gf.get("requested_code", ""),
            year=gf.get("requested_year", ""),
            used=gf.get("grid_code", ""),
            years=gf.get("years", ""),
        )
    return {
        "value": fmt_kit.number(gf.get("tco2_per_mwh"), lang, places=None),
        "unit": unit_text(lang, "tCO2/MWh"),
        "factor_id": gf["factor_id"],
        "status": data_status(lang, gf.get("status")),
        "fallback": fallback,
    }


def export_view(notes: Mapping[str, Any], lang: str) -> str:
    """The export rule of the run in ``lang``."""
    export = notes.get("export")
    if not isinstance(export, Mapping):
        return ""
    key = "battery" if export.get("battery_export") else "pv_only"
    return translate(lang, f"energy.study.export_rule.{key}")


def monthly_energy(
    series: Mapping[str, Sequence[float]], start: datetime, timestep_hours: float
) -> dict[str, list[Any]]:
    """Energy per calendar month [MWh] of load, PV used, grid import and export."""
    n = len(series.get("load_kw", ()))
    keys = {"load_kw": "load", "pv_used_kw": "pv", "import_kw": "import", "export_kw": "export"}
    months: list[str] = []
    sums: dict[str, list[float]] = {v: [] for v in keys.values()}
    for i in range(n):
        label = (start + timedelta(hours=i * timestep_hours)).strftime("%Y-%m")
        if not months or months[-1] != label:
            months.append(label)
            for v in sums.values():
                v.append(0.0)
        for src, dst in keys.items():
            sums[dst][-1] += float(series.get(src, [0.0] * n)[i]) * timestep_hours / 1000.0
    return {"months": months, **{k: [round(x, 3) for x in v] for k, v in sums.items()}}


def chart_payload(study: EnergyStudy, lang: str) -> dict[str, Any] | None:
    """Data and labels of the study page's charts (``None`` without series)."""
    summary, series = study.summary or {}, study.series
    if not series or not summary.get("start"):
        return None
    start = datetime.fromisoformat(str(summary["start"]))
    dt = float(summary.get("timestep_hours") or 1.0)
    soc_max = None
    battery = study.spec.get("battery") if isinstance(study.spec, dict) else None
    kwh = summary.get("battery_kwh") or 0.0
    if isinstance(battery, dict) and kwh:
        soc_max = round(float(battery.get("soc_max_fraction", 1.0)) * float(kwh), 1)
    return {
        "start": start.strftime("%Y-%m-%dT%H:%M:%S"),
        "step_hours": dt,
        "series": {
            k: [round(float(x), 1) for x in series.get(k) or []]
            for k in CHART_SERIES
            if series.get(k) is not None
        },
        "battery_kwh": kwh,
        "soc_max_kwh": soc_max,
        "monthly": monthly_energy(series, start, dt),
        "labels": {k: translate(lang, f"energy.chart.{k}") for k in CHART_LABEL_KEYS},
    }


def site_names(session: Any, studies: Sequence[EnergyStudy]) -> dict[str, EnergySite]:
    """Sites of ``studies`` by id."""
    ids = {s.site_id for s in studies}
    return {i: site for i in ids if (site := session.get(EnergySite, i)) is not None}


@router.get("/console/energy", response_class=HTMLResponse)
def sites_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
    sort: Annotated[str, Query(max_length=40)] = "code",
) -> HTMLResponse:
    """Microgrid sites in my scope with their number of studies."""
    service = EnergyService(session, actor)
    limit = 20
    result = service.list_sites(sort=sort, limit=limit, offset=(page - 1) * limit)
    counts = service.sites.study_counts([s.id for s in result.items])
    owners = {s.organisation_id: session.get(Organisation, s.organisation_id) for s in result.items}
    return render(
        request,
        "energy/sites.html",
        actor=actor,
        result=result,
        counts=counts,
        owners=owners,
        page=page,
        pages=pages(result.total, limit),
        sort=sort,
        can_manage=Perm.ENERGY_MANAGE in actor.perms,
    )


@router.get("/console/energy/sites/new", response_class=HTMLResponse)
def new_site_page(request: Request, actor: ConsoleActor) -> HTMLResponse:
    """Form: register a microgrid site of my organisation."""
    actor.require(Perm.ENERGY_MANAGE)
    defaults = dict.fromkeys(SITE_FIELDS, "") | {"timezone": "Asia/Shanghai"}
    return _site_form(request, actor, defaults, {})


@router.get("/console/energy/sites/{site_id}", response_class=HTMLResponse)
def site_page(
    request: Request,
    site_id: str,
    actor: ConsoleActor,
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
    sort: Annotated[str, Query(max_length=40)] = "-created_at",
) -> HTMLResponse:
    """One site and its studies (select two or more to compare)."""
    service = EnergyService(session, actor)
    site = service.get_site(site_id)
    limit = 20
    result = service.list_studies(
        site_id=site.id, sort=sort, limit=limit, offset=(page - 1) * limit
    )
    lang = page_lang(request)
    rows = [
        {
            "study": s,
            "title": study_title(s, lang),
            "status": translate(lang, f"energy.status.{s.status}"),
            "kpis": {r["key"]: r["value"] for r in kpi_rows(s.summary, lang)},
        }
        for s in result.items
    ]
    return render(
        request,
        "energy/site.html",
        actor=actor,
        site=site,
        owner=session.get(Organisation, site.organisation_id),
        result=result,
        rows=rows,
        kpi_heads=[
            {"label": translate(lang, f"energy.kpi.{k.key}"), "unit": display_unit(lang, k.unit)}
            for k in KPI_TABLE
            if k.key in SITE_KPIS
        ],
        tariff_note=tariff_note(site, lang),
        can_run=service.can_run_on(site),
        page=page,
        pages=pages(result.total, limit),
        sort=sort,
    )


@router.get("/console/energy/studies/{study_id}", response_class=HTMLResponse)
def study_page(
    request: Request, study_id: str, actor: ConsoleActor, session: SessionDep
) -> HTMLResponse:
    """A study: KPIs, cost breakdown, provenance and charts."""
    service = EnergyService(session, actor)
    study = service.get_study(study_id)
    site = service.get_site(study.site_id)
    lang = page_lang(request)
    summary = study.summary or {}
    costs = summary.get("cost_breakdown_cny") or {}
    notes = summary.get("notes") or {}
    return render(
        request,
        "energy/study.html",
        actor=actor,
        study=study,
        title=study_title(study, lang),
        site=site,
        status=translate(lang, f"energy.status.{study.status}"),
        solver=solver_status(lang, study.solver_status) if study.solver_status else "",
        kpis=kpi_rows(summary, lang),
        costs=[
            {"label_key": f"energy.cost.{k}", "value": fmt(costs.get(k), "CNY/yr", lang)}
            for k in COST_KEYS
            if k in costs
        ],
        cost_unit=display_unit(lang, "CNY/yr"),
        grid_factor=grid_factor_view(notes, lang),
        tariff=tariff_view(site, notes, lang),
        export_rule=export_view(notes, lang),
        chart=chart_payload(study, lang),
    )


@router.get("/console/energy/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    ids: Annotated[list[str], Query()],
) -> HTMLResponse:
    """Studies side by side."""
    flat = [part.strip() for value in ids for part in value.split(",") if part.strip()]
    studies, rows = EnergyService(session, actor).compare(flat)
    lang = page_lang(request)
    table = [
        {
            "label_key": f"energy.kpi.{r['key']}",
            "unit": display_unit(lang, r["unit"]),
            "values": [fmt(v, r["unit"], lang) for v in r["values"]],
        }
        for r in rows
    ]
    return render(
        request,
        "energy/compare.html",
        actor=actor,
        studies=studies,
        titles=[study_title(st, lang) for st in studies],
        sites=site_names(session, studies),
        table=table,
    )


# -- forms: new site, new study ---------------------------------------------------------
SITE_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "jurisdiction_code",
    "latitude_deg",
    "longitude_deg",
    "grid_code",
    "timezone",
)


def _grid_choices(lang: str) -> list[dict[str, str]]:
    """Provinces (by ISO code) with their regional grid, for the site form."""
    seen: dict[str, dict[str, str]] = {}
    for region in grid_regions().values():
        if region.province_iso in seen:
            continue
        name = region.name_en if lang == "en" else region.name_zh
        seen[region.province_iso] = {
            "code": region.province_iso,
            "label": f"{name} · {region.regional_grid}",
        }
    return sorted(seen.values(), key=lambda c: c["code"])


def _site_form(
    request: Request,
    actor: Any,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    return render(
        request,
        "energy/site_form.html",
        actor=actor,
        values=values,
        errors=errors,
        grids=_grid_choices(lang),
        status_code=status_code,
    )


def _error_key(lang: str, code: str) -> str:
    """Catalog key of a service error code on a form (a generic one if not in the catalog)."""
    key = f"energy.form.err.{code}"
    return key if key in catalog(lang) else "energy.form.err.rejected"


@router.post("/console/energy/sites", response_class=HTMLResponse, response_model=None)
async def create_site_submit(
    request: Request, actor: ConsoleActor, session: SessionDep
) -> HTMLResponse | RedirectResponse:
    """Create a site from the form; errors are shown on the form (nothing is written)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    actor.require(Perm.ENERGY_MANAGE)
    values = {k: str(form.get(k, "") or "").strip() for k in SITE_FIELDS}
    lang = page_lang(request)
    try:
        body = SiteIn.model_validate(values)
    except ValidationError as exc:
        errors = {str(e["loc"][0]): "energy.form.err.invalid" for e in exc.errors()}
        return _site_form(request, actor, values, errors, status_code=422)
    try:
        site = EnergyService(session, actor).create_site(body)
    except PlatformError as exc:
        field = {
            "duplicate_code": "code",
            "unknown_jurisdiction": "jurisdiction_code",
            "invalid_timezone": "timezone",
            "energy.grid_factor_not_found": "grid_code",
        }.get(exc.code, "_form")
        errors = {field: _error_key(lang, exc.code)}
        return _site_form(request, actor, values, errors, status_code=exc.status_code)
    return RedirectResponse(f"/console/energy/sites/{site.id}", status_code=303)


def _study_form(
    request: Request,
    actor: Any,
    site: EnergySite,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    tariffs = []
    for code in available_tariffs():
        tariff = load_tariff(code)
        tariffs.append(
            {
                "code": code,
                "label": tariff.description_en if lang == "en" else tariff.description_zh,
                "status": data_status(lang, tariff.status),
            }
        )
    return render(
        request,
        "energy/study_form.html",
        actor=actor,
        site=site,
        values=values,
        errors=errors,
        tariffs=tariffs,
        tariff_note=tariff_note(site, lang),
        profiles=[
            {"value": p, "label": translate(lang, f"energy.form.profile.{p}")}
            for p in LOAD_PROFILES
        ],
        presets=[
            {"value": p, "label": translate(lang, f"energy.form.preset.{p}")} for p in PV_PRESETS
        ],
        status_code=status_code,
    )


@router.get("/console/energy/sites/{site_id}/studies/new", response_class=HTMLResponse)
def new_study_page(
    request: Request, site_id: str, actor: ConsoleActor, session: SessionDep
) -> HTMLResponse:
    """Form: build and run a study on a site (no JSON)."""
    site = EnergyService(session, actor).site_for_run(site_id)
    return _study_form(request, actor, site, STUDY_DEFAULTS, {})


@router.post(
    "/console/energy/sites/{site_id}/studies", response_class=HTMLResponse, response_model=None
)
async def run_study_submit(
    request: Request, site_id: str, actor: ConsoleActor, session: SessionDep, jobs: JobsDep
) -> HTMLResponse | RedirectResponse:
    """Build the SPEC from the form and run it (a background job for a full year)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    service = EnergyService(session, actor)
    site = service.site_for_run(site_id)
    values = {k: str(form.get(k, "") or "") for k in STUDY_DEFAULTS}
    upload = form.get("load_file")
    upload_text: str | None = None
    if upload is not None and not isinstance(upload, str):
        raw = await upload.read()
        if raw:
            try:
                upload_text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                return _study_form(
                    request,
                    actor,
                    site,
                    values,
                    {"load_file": "energy.form.err.load_value"},
                    status_code=422,
                )
    built = study_spec_from_form(values, upload_text)
    if built.spec is None:
        return _study_form(request, actor, site, values, built.errors, status_code=422)
    spec = service.effective_spec(built.spec, site)
    try:
        parsed = check_api_spec(spec)
    except MicrogridSpecInvalid as exc:
        locs = [str(d.get("loc", "")) for d in exc.detail] if isinstance(exc.detail, list) else []
        errors = {"_form": "energy.form.err.spec", "_locs": ", ".join(locs)}
        return _study_form(request, actor, site, values, errors, status_code=422)
    signer = request.app.state.log_signer
    titles = built.titles
    if run_weight(parsed) > ASYNC_THRESHOLD_STEPS:
        _, study_id = service.start_job(jobs, spec, signer=signer, site=site, titles=titles)
    else:
        study_id = service.run(spec, signer=signer, site=site, titles=titles).get("study_id")
    return RedirectResponse(f"/console/energy/studies/{study_id}", status_code=303)
