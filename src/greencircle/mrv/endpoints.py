"""HTTP routes of MRV (``/v1/mrv/...``): factors, calculation, intake, reports."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from greencircle.api.deps import CurrentActor, JobsDep, PageDep, SessionDep
from greencircle.api.openapi import file_response
from greencircle.audit.keys import LogSigner
from greencircle.auth.policy import Actor
from greencircle.errors import Invalid, NotFound
from greencircle.jobs.runner import JobContext
from greencircle.mrv.errors import FactorNotFoundError
from greencircle.mrv.factors import Factor, load_library, lookup, search
from greencircle.mrv.models import ActivityRecord
from greencircle.mrv.report_export import report_csv, report_xlsx
from greencircle.mrv.service import IngestResult, MrvService
from greencircle.mrv.template import build_template
from greencircle.storage.engine import unit_of_work

router = APIRouter(prefix="/v1/mrv", tags=["mrv"])

#: Uploads larger than this run as a background job (202 + /v1/jobs/{id}) [bytes].
ASYNC_UPLOAD_BYTES = 2 * 1024 * 1024
FORMATS = {"csv": "csv", "xlsx": "xlsx", "json": "json"}


def service(request: Request, session: SessionDep, actor: CurrentActor) -> MrvService:
    """An :class:`MrvService` for this request."""
    return MrvService(session, actor, request.app.state.log_signer)


ServiceDep = Annotated[MrvService, Depends(service)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CalculateIn(In):
    records: list[dict[str, Any]] = Field(max_length=10000)


class RecordsIn(In):
    org_id: str = Field(min_length=1, max_length=40)
    records: list[dict[str, Any]] = Field(min_length=1, max_length=50000)


class ReportIn(In):
    org_id: str = Field(min_length=1, max_length=40)
    year: int = Field(ge=2000, le=2100)


class CommentIn(In):
    comment: str = Field(default="", max_length=2000)


class AssignIn(In):
    verifier_org_id: str = Field(min_length=1, max_length=40)


class AdjustIn(In):
    record_id: str = Field(min_length=1, max_length=80)
    changes: dict[str, str] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=2000)


def factor_out(f: Factor) -> dict[str, Any]:
    """A factor as JSON (decimals as strings)."""
    return {
        "factor_id": f.factor_id,
        "factor_set": f.factor_set,
        "version": f.version,
        "method": f.method,
        "item": f.item,
        "description": f.description,
        "name_zh": f.name_zh,
        "jurisdiction": f.jurisdiction,
        "years": f.years,
        "value": str(f.value),
        "unit": f.unit,
        "per_unit": f.per_unit,
        "source": f.source,
        "status": f.status,
        "note": f.note,
        "parameters": {
            p.name: {"value": str(p.value), "unit": p.unit, "source": p.source, "status": p.status}
            for p in f.parameters
        },
    }


def ingest_out(r: IngestResult) -> dict[str, Any]:
    """Upload outcome as JSON."""
    return {
        "upload_id": r.upload.id,
        "duplicate": r.duplicate,
        "filename": r.upload.filename,
        "content_sha256": r.upload.content_sha256,
        "rows_total": r.upload.rows_total,
        "new": r.new,
        "corrected": r.corrected,
        "unchanged": r.unchanged,
        "production": r.production,
        "emissions_tco2": str(r.total_emissions_tco2),
        "years": r.years,
    }


def record_out(r: ActivityRecord) -> dict[str, Any]:
    """A record as JSON: the enterprise's reported figures and, beside them, an adjustment.

    ``quantity``, ``unit``, ``emissions_tco2``, ``receipt_sha256`` and ``leaf_index`` are
    as reported; ``adjusted`` is the verifier's correction (None when there is none);
    ``effective_tco2`` is what the record counts at.
    """
    adjusted = None
    if r.adjusted_inputs is not None:
        adjusted = {
            "quantity": r.adjusted_inputs.get("quantity", ""),
            "unit": r.adjusted_inputs.get("unit", ""),
            "inputs": r.adjusted_inputs,
            "emissions_tco2": r.adjusted_emissions_tco2,
            "method": r.adjusted_method,
            "factor_ids": r.adjusted_factor_ids,
            "receipt_sha256": r.adjusted_receipt_sha256,
            "leaf_index": r.adjusted_leaf_index,
            "by_user_id": r.adjusted_by,
            "at": r.adjusted_at,
            "reason": r.adjustment_reason,
        }
    return {
        "id": r.id,
        "record_id": r.record_id,
        "facility_id": r.facility_id,
        "period": r.period,
        "category": r.category,
        "item": r.item,
        "direction": r.direction,
        "quantity": r.quantity,
        "unit": r.unit,
        "emissions_tco2": r.emissions_tco2,
        "method": r.method,
        "factor_ids": r.factor_ids,
        "receipt_sha256": r.receipt_sha256,
        "leaf_index": r.leaf_index,
        "adjusted": adjusted,
        "effective_tco2": r.effective_emissions_tco2,
    }


def report_out(rep: Any) -> dict[str, Any]:
    """A report as JSON."""
    return {
        "id": rep.id,
        "org_id": rep.org_id,
        "year": rep.year,
        "status": rep.status,
        "verifier_org_id": rep.verifier_org_id,
        "reported_tco2": rep.reported_tco2,
        "adjusted_tco2": rep.adjusted_tco2,
        "verified_tco2": rep.verified_tco2,
        "records": rep.records,
        "submitted_at": rep.submitted_at,
        "verified_at": rep.verified_at,
        "locked_at": rep.locked_at,
    }


@router.get("/factors")
def list_factors(
    actor: CurrentActor,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    method: Annotated[str | None, Query(max_length=20)] = None,
    item: Annotated[str | None, Query(max_length=40)] = None,
    region: Annotated[str | None, Query(max_length=24)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """Browse the factor library (search by fuel, region, year, source, status)."""
    result = search(
        q,
        method=method,
        item=item,
        region=region,
        year=year,
        source=source,
        status=status,
        offset=page.offset,
        limit=page.limit,
    )
    return {
        "items": [factor_out(f) for f in result.items],
        "total": result.total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get("/factor-sets")
def factor_sets(actor: CurrentActor) -> list[dict[str, Any]]:
    """Published, immutable factor sets with their content hashes."""
    lib = load_library()
    return [
        {
            "factor_set": fs.factor_set,
            "version": fs.version,
            "published": fs.published,
            "sha256": fs.sha256,
            "file": fs.file,
            "title": fs.title,
            "status": fs.status,
            "source": fs.source,
        }
        for fs in lib.sets
    ]


@router.get("/factors/lookup")
def factor_lookup(
    actor: CurrentActor,
    method: Annotated[str, Query(max_length=20)],
    item: Annotated[str, Query(max_length=40)],
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    jurisdiction: Annotated[str | None, Query(max_length=24)] = None,
) -> dict[str, Any]:
    """Explicit lookup by (method, item, jurisdiction, year); says when it fell back."""
    try:
        match = lookup(method, item, year, jurisdiction=jurisdiction)
    except FactorNotFoundError as exc:
        raise NotFound(str(exc), code=exc.code) from exc
    return {
        "factor": factor_out(match.factor),
        "requested_year": year,
        "fallback": match.fallback or None,
    }


@router.post("/calculate")
def calculate(body: CalculateIn, svc: ServiceDep) -> dict[str, Any]:
    """Calculate records without storing them (same rules as ``greencircle mrv calculate``)."""
    return svc.calculate(body.records)


@router.get(
    "/template.xlsx",
    responses=file_response(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        description="the monthly template",
    ),
)
def template(actor: CurrentActor) -> Response:
    """The monthly reporting template (MEE-style) to fill and upload."""
    return Response(
        build_template(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="greencircle-mrv-monthly.xlsx"'},
    )


def _upload_job(
    factory: Any, signer: LogSigner, actor: Actor, org_id: str, name: str, content: bytes, fmt: str
) -> Any:
    def run(ctx: JobContext) -> dict[str, Any]:
        with unit_of_work(factory) as session:
            result = MrvService(session, actor, signer).ingest(
                org_id, name, content, fmt, ctx.progress
            )
            return ingest_out(result)

    return run


@router.post("/uploads")
async def upload(
    request: Request,
    jobs: JobsDep,
    actor: CurrentActor,
    org_id: Annotated[str, Query(max_length=40)],
    file: Annotated[UploadFile, File(description="CSV, XLSX template or JSON")],
) -> Response:
    """Upload a file of monthly activity data (all rows valid, or nothing is stored).

    Large files are processed as a background job: the answer is 202 with the job to
    poll at ``/v1/jobs/{id}``.
    """
    name = file.filename or "upload"
    fmt = FORMATS.get(name.rsplit(".", 1)[-1].lower())
    if fmt is None:
        raise Invalid("file must end in .csv, .xlsx or .json", code="mrv.format")
    content = await file.read()
    state = request.app.state
    if len(content) > ASYNC_UPLOAD_BYTES:
        session = request.state.session
        job = jobs.submit(
            actor,
            "mrv.upload",
            {"org_id": org_id, "filename": name},
            _upload_job(state.session_factory, state.log_signer, actor, org_id, name, content, fmt),
            session=session,
        )
        return JSONResponse(
            {"job_id": job.id, "poll": f"/v1/jobs/{job.id}"},
            status_code=202,
            headers={"Location": f"/v1/jobs/{job.id}"},
        )
    svc = MrvService(request.state.session, actor, state.log_signer)
    result = svc.ingest(org_id, name, content, fmt)
    return JSONResponse(ingest_out(result), status_code=200 if result.duplicate else 201)


@router.post("/records", status_code=201)
def post_records(body: RecordsIn, svc: ServiceDep) -> dict[str, Any]:
    """Submit monthly activity records as JSON (all valid, or nothing is stored)."""
    content = json.dumps({"records": body.records}, sort_keys=True).encode()
    return ingest_out(svc.ingest(body.org_id, "api.json", content, "json"))


@router.get("/records")
def list_records(
    svc: ServiceDep,
    page: PageDep,
    org_id: Annotated[str, Query(max_length=40)],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """Activity records with their emissions and receipt leaf (paged, by period)."""
    rows = svc.records(org_id, year)
    items = rows[page.offset : page.offset + page.limit]
    return {
        "items": [record_out(r) for r in items],
        "total": len(rows),
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get("/uploads")
def list_uploads(
    svc: ServiceDep, org_id: Annotated[str, Query(max_length=40)]
) -> list[dict[str, Any]]:
    """Uploads of an organisation, newest first."""
    return [
        {
            "id": u.id,
            "filename": u.filename,
            "fmt": u.fmt,
            "sha256": u.content_sha256,
            "rows_total": u.rows_total,
            "rows_new": u.rows_new,
            "rows_unchanged": u.rows_unchanged,
            "created_at": u.created_at,
        }
        for u in svc.uploads(org_id)
    ]


@router.get("/findings")
def findings(
    svc: ServiceDep,
    org_id: Annotated[str, Query(max_length=40)],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> list[dict[str, Any]]:
    """Plausibility findings of an organisation-year (findings, not silent fixes)."""
    return [asdict(f) for f in svc.findings(org_id, year)]


@router.get("/summary")
def summary(
    svc: ServiceDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    org_id: Annotated[str | None, Query(max_length=40)] = None,
    jurisdiction: Annotated[str | None, Query(max_length=24)] = None,
) -> dict[str, Any]:
    """Per-region summary, or one enterprise's monthly emissions by source and intensity."""
    if org_id:
        return {
            "year": year,
            "org_id": org_id,
            "monthly_by_source": svc.monthly_by_source(org_id, year),
            "intensity": svc.intensity(org_id, year),
        }
    return svc.region_summary(year, jurisdiction)


@router.get("/verified-emissions")
def verified_emissions(
    svc: ServiceDep, year: Annotated[int, Query(ge=2000, le=2100)]
) -> list[dict[str, Any]]:
    """Verified annual emissions (what the registry uses for compliance obligations)."""
    return [
        {"org_id": r.org_id, "year": r.year, "verified_tco2": r.verified_tco2, "status": r.status}
        for r in svc.reports(year=year)
        if r.verified_tco2
    ]


@router.post("/reports", status_code=201)
def create_report(body: ReportIn, svc: ServiceDep) -> dict[str, Any]:
    """Open the draft annual report of an enterprise from its monthly data."""
    return report_out(svc.create_report(body.org_id, body.year))


@router.get("/reports")
def list_reports(
    svc: ServiceDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: Annotated[str | None, Query(max_length=24)] = None,
    org_id: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    """Reports visible to me."""
    return [report_out(r) for r in svc.reports(year=year, status=status, org_id=org_id)]


@router.get("/reports/{report_id}")
def get_report(report_id: str, svc: ServiceDep) -> dict[str, Any]:
    """A report with its full history (who changed what, when and why)."""
    rep = svc.report(report_id)
    return {
        **report_out(rep),
        "events": [
            {
                "at": e.at,
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "actor_user_id": e.actor_user_id,
                "actor_org_id": e.actor_org_id,
                "comment": e.comment,
                "detail": e.detail,
                "leaf_index": e.leaf_index,
            }
            for e in svc.events(report_id)
        ],
    }


@router.post("/reports/{report_id}/submit")
def submit(report_id: str, body: CommentIn, svc: ServiceDep) -> dict[str, Any]:
    """Enterprise submits the report for verification."""
    return report_out(svc.submit(report_id, body.comment))


@router.post("/reports/{report_id}/assign")
def assign(report_id: str, body: AssignIn, svc: ServiceDep) -> dict[str, Any]:
    """Regulator assigns a verification body."""
    return report_out(svc.assign(report_id, body.verifier_org_id))


@router.post("/reports/{report_id}/adjust")
def adjust(report_id: str, body: AdjustIn, svc: ServiceDep) -> dict[str, Any]:
    """Verifier corrects a record's inputs with a reason (kept in the history)."""
    rec = svc.adjust(report_id, body.record_id, body.changes, body.reason)
    return {**record_out(rec), "report": report_out(svc.report(report_id))}


@router.post("/reports/{report_id}/verify")
def verify(report_id: str, body: CommentIn, svc: ServiceDep) -> dict[str, Any]:
    """Verifier confirms the report: its total becomes the verified emissions."""
    return report_out(svc.verify(report_id, body.comment))


@router.post("/reports/{report_id}/return")
def return_report(report_id: str, body: CommentIn, svc: ServiceDep) -> dict[str, Any]:
    """Verifier returns the report with comments."""
    return report_out(svc.return_report(report_id, body.comment))


@router.post("/reports/{report_id}/lock")
def lock(report_id: str, body: CommentIn, svc: ServiceDep) -> dict[str, Any]:
    """Regulator locks a verified report."""
    return report_out(svc.lock(report_id, body.comment))


@router.get(
    "/reports/{report_id}/export",
    responses=file_response(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
        description="the annual report",
    ),
)
def export(
    report_id: str, svc: ServiceDep, format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx"
) -> Response:
    """The annual report as XLSX or CSV."""
    rep = svc.report(report_id)
    records = svc.records(rep.org_id, rep.year)
    events = svc.events(report_id)
    org = svc._org(rep.org_id)
    name = f"greencircle-{org.code}-{rep.year}"
    if format == "csv":
        return Response(
            report_csv(rep, records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        report_xlsx(org, rep, records, events),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
