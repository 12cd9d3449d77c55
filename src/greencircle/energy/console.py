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
from fastapi.responses import HTMLResponse

from greencircle.api.deps import SessionDep
from greencircle.auth.models import Organisation
from greencircle.energy.models import EnergySite, EnergyStudy
from greencircle.energy.service import KPI_TABLE, EnergyService, headline_kpis
from greencircle.web.console import ConsoleActor, page_lang, pages, render
from greencircle.web.i18n import catalog, translate

router = APIRouter(include_in_schema=False)

#: Digits shown per unit.
_DIGITS = {"kWp": 1, "kWh": 1, "kW": 1, "kWh/yr": 0, "CNY/yr": 0, "tCO2/yr": 1, "yr": 1, "-": 1}
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


def fmt(value: float | None, unit: str = "-") -> str:
    """A KPI for display: thousands separators; ratios as percentages; ``–`` if absent."""
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "-":
        return f"{value * 100:,.1f} %"
    return f"{value:,.{_DIGITS.get(unit, 2)}f}"


def kpi_rows(summary: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The headline KPIs of a RESULT as display rows (catalog key, value, unit)."""
    values = headline_kpis(summary)
    return [
        {
            "key": k.key,
            "label_key": f"energy.kpi.{k.key}",
            "value": fmt(values[k.key], k.unit),
            "unit": "" if k.unit == "-" else k.unit,
        }
        for k in KPI_TABLE
    ]


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
    )


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
            "status": translate(lang, f"energy.status.{s.status}"),
            "kpis": {r["key"]: r["value"] for r in kpi_rows(s.summary)},
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
        site=site,
        status=translate(lang, f"energy.status.{study.status}"),
        kpis=kpi_rows(summary),
        costs=[
            {"label_key": f"energy.cost.{k}", "value": fmt(costs.get(k), "CNY/yr")}
            for k in COST_KEYS
            if k in costs
        ],
        grid_factor=notes.get("grid_factor") or {},
        grid_status=data_status(lang, (notes.get("grid_factor") or {}).get("status")),
        tariff=notes.get("tariff") or {},
        tariff_status=data_status(lang, (notes.get("tariff") or {}).get("status")),
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
    table = [
        {
            "label_key": f"energy.kpi.{r['key']}",
            "unit": "" if r["unit"] == "-" else r["unit"],
            "values": [fmt(v, r["unit"]) for v in r["values"]],
        }
        for r in rows
    ]
    return render(
        request,
        "energy/compare.html",
        actor=actor,
        studies=studies,
        sites=site_names(session, studies),
        table=table,
    )
