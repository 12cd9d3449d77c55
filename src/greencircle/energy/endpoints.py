"""HTTP routes of the energy domain (``/v1/energy``).

``POST /v1/energy/microgrid/optimize`` takes the SPEC as its body and answers with the
RESULT, exactly as ``greencircle energy microgrid optimize SPEC.json --out RESULT.json``
reads and writes them. Heavy runs (more than
:data:`~greencircle.energy.service.ASYNC_THRESHOLD_STEPS` steps, or ``?async=true``)
answer ``202`` with a job to poll at ``/v1/jobs/{id}``; its ``result`` is the RESULT.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse

from greencircle.api.deps import CurrentActor, JobsDep, PageDep, SessionDep
from greencircle.audit.keys import LogSigner
from greencircle.auth.roles import Perm
from greencircle.energy.models import EnergyStudy
from greencircle.energy.schemas import (
    CompareOut,
    JobAcceptedOut,
    KpiRow,
    PageOut,
    SiteIn,
    SiteOut,
    StudyDetailOut,
    StudyOut,
)
from greencircle.energy.service import (
    ASYNC_THRESHOLD_STEPS,
    SYNC_MAX_STEPS,
    EnergyService,
    check_api_spec,
    headline_kpis,
    join_result,
    run_weight,
)
from greencircle.errors import Conflict, Invalid

router = APIRouter(prefix="/v1/energy", tags=["energy"])

SPEC_EXAMPLE: dict[str, Any] = {
    "timestep_hours": 1,
    "load_kw": [800, 820, 900, 1200],
    "pv": {"profile_kw_per_kwp": [0, 0.2, 0.6, 0.4], "cost_cny_per_kwp_year": 220},
    "battery": {
        "energy_cost_cny_per_kwh_year": 110,
        "power_cost_cny_per_kw_year": 45,
        "charge_efficiency": 0.922,
        "discharge_efficiency": 0.922,
    },
    "grid": {"import_price_cny_per_kwh": [0.3, 0.6, 0.9, 0.9], "import_limit_kw": 2000},
    "carbon": {"grid_tco2_per_mwh": {"grid_code": "CN-SW", "year": 2023}},
    "unserved_energy_cost_cny_per_kwh": 20,
}


def _signer(request: Request) -> LogSigner:
    signer: LogSigner = request.app.state.log_signer
    return signer


def study_out(study: EnergyStudy) -> StudyOut:
    """A study row as a listing item."""
    return StudyOut.model_validate(study).model_copy(update={"kpis": headline_kpis(study.summary)})


def study_detail(study: EnergyStudy) -> StudyDetailOut:
    """A study row with SPEC and RESULT summary."""
    base = study_out(study).model_dump()
    return StudyDetailOut(**base, spec=study.spec, result=study.summary, error=study.error)


@router.get("/sites", response_model=PageOut[SiteOut])
def list_sites(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    organisation_id: Annotated[str | None, Query(max_length=26)] = None,
) -> PageOut[SiteOut]:
    """Microgrid sites I may read (my organisation's; a regulator's: in its jurisdiction)."""
    result = EnergyService(session, actor).list_sites(
        organisation_id=organisation_id,
        sort=page.sort or "code",
        limit=page.limit,
        offset=page.offset,
    )
    return PageOut[SiteOut](
        items=[SiteOut.model_validate(s) for s in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post("/sites", response_model=SiteOut, status_code=201)
def create_site(body: SiteIn, actor: CurrentActor, session: SessionDep) -> SiteOut:
    """Register a microgrid site of my organisation (``energy.manage``)."""
    return SiteOut.model_validate(EnergyService(session, actor).create_site(body))


@router.get("/sites/{site_id}", response_model=SiteOut)
def get_site(site_id: str, actor: CurrentActor, session: SessionDep) -> SiteOut:
    """One site."""
    return SiteOut.model_validate(EnergyService(session, actor).get_site(site_id))


@router.post(
    "/microgrid/optimize",
    responses={
        200: {"description": "the RESULT (with `study_id` when saved to a site)"},
        202: {"model": JobAcceptedOut, "description": "started as a job; poll `poll`"},
        422: {"description": '`{"error": "energy.spec_invalid", "detail": [{loc, message}]}`'},
    },
)
def optimize(
    request: Request,
    actor: CurrentActor,
    session: SessionDep,
    jobs: JobsDep,
    spec: Annotated[dict[str, Any], Body(examples=[SPEC_EXAMPLE])],
    site_id: Annotated[
        str | None, Query(max_length=26, description="save the run as a study of this site")
    ] = None,
    label: Annotated[str | None, Query(max_length=200)] = None,
    label_en: Annotated[
        str | None, Query(max_length=200, description="title in English (saved studies)")
    ] = None,
    label_zh: Annotated[
        str | None, Query(max_length=200, description="title in Chinese (saved studies)")
    ] = None,
    run_async: Annotated[
        bool | None,
        Query(
            alias="async",
            description=f"true: always a job; false: answer now (up to {SYNC_MAX_STEPS} "
            f"steps); unset: a job above {ASYNC_THRESHOLD_STEPS} steps",
        ),
    ] = None,
    time_limit_s: Annotated[float, Query(ge=1, le=3600, description="solver limit [s]")] = 600,
) -> Any:
    """Size and dispatch a microgrid from a SPEC; the body is the SPEC, the answer the RESULT."""
    service = EnergyService(session, actor)
    if site_id is None:
        actor.require(Perm.ENERGY_READ)  # before looking at the body
    site = service.site_for_run(site_id) if site_id else None
    spec = service.effective_spec(spec, site)
    parsed = check_api_spec(spec)
    weight = run_weight(parsed)
    if run_async is False and len(parsed.load_kw) > SYNC_MAX_STEPS:
        raise Invalid(
            f"{len(parsed.load_kw)} steps is too large to answer synchronously "
            f"(at most {SYNC_MAX_STEPS}); omit async=false",
            code="energy.sync_too_large",
        )
    if run_async or (run_async is None and weight > ASYNC_THRESHOLD_STEPS):
        job, study_id = service.start_job(
            jobs,
            spec,
            signer=_signer(request),
            site=site,
            label=label,
            time_limit_s=time_limit_s,
            titles=(label_en, label_zh),
        )
        accepted = JobAcceptedOut(
            job_id=job.id,
            status=job.status,
            poll=f"/v1/jobs/{job.id}",
            study_id=study_id,
            n_steps=len(parsed.load_kw),
        )
        return JSONResponse(
            accepted.model_dump(), status_code=202, headers={"Location": accepted.poll}
        )
    result = service.run(
        spec,
        signer=_signer(request),
        site=site,
        label=label,
        time_limit_s=time_limit_s,
        titles=(label_en, label_zh),
    )
    headers = (
        {"Location": f"/v1/energy/studies/{result['study_id']}"} if "study_id" in result else {}
    )
    return JSONResponse(result, headers=headers)


@router.get("/studies", response_model=PageOut[StudyOut])
def list_studies(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    site_id: Annotated[str | None, Query(max_length=26)] = None,
    status: Annotated[str | None, Query(pattern="^(queued|running|succeeded|failed)$")] = None,
) -> PageOut[StudyOut]:
    """Studies I may read, newest first (sort: created_at, label, status, solver_status,
    finished_at; ``-`` for descending)."""
    result = EnergyService(session, actor).list_studies(
        site_id=site_id,
        status=status,
        sort=page.sort or "-created_at",
        limit=page.limit,
        offset=page.offset,
    )
    return PageOut[StudyOut](
        items=[study_out(s) for s in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.get("/studies/compare", response_model=CompareOut)
def compare_studies(
    actor: CurrentActor,
    session: SessionDep,
    ids: Annotated[list[str], Query(description="two to ten study ids (repeat or comma-join)")],
) -> CompareOut:
    """Side-by-side headline KPIs of two or more studies."""
    flat = [part.strip() for value in ids for part in value.split(",") if part.strip()]
    studies, rows = EnergyService(session, actor).compare(flat)
    return CompareOut(studies=[study_out(s) for s in studies], kpis=[KpiRow(**r) for r in rows])


@router.get("/studies/{study_id}", response_model=StudyDetailOut)
def get_study(study_id: str, actor: CurrentActor, session: SessionDep) -> StudyDetailOut:
    """One study: SPEC, RESULT summary (no series), digests and log index."""
    return study_detail(EnergyService(session, actor).get_study(study_id))


@router.get("/studies/{study_id}/result")
def get_study_result(study_id: str, actor: CurrentActor, session: SessionDep) -> Response:
    """The study's full RESULT with its series, exactly as produced (its RFC 8785 SHA-256 is
    the study's ``result_sha256``); 409 ``energy.study_not_finished`` before it finishes."""
    study = EnergyService(session, actor).get_study(study_id)
    if study.status != "succeeded":
        raise Conflict(f"study is {study.status}", code="energy.study_not_finished")
    return JSONResponse(join_result(study.summary, study.series))
