"""Business rules of the energy domain: sites, studies, runs and comparisons.

Access
------
* read (``energy.read``): the site's organisation, platform admins, and regulators whose
  jurisdiction contains the site; anybody else gets 403 ``org_out_of_scope``;
* create sites and run studies on them (``energy.manage``): the site's organisation and
  platform admins;
* an unsaved optimisation (no site) needs ``energy.read`` only.

Every saved study is appended to the transparency log as an ``energy.study`` event naming
the site's organisation and the SHA-256 digests of the SPEC and of the RESULT (both in
RFC 8785 canonical JSON), in the same transaction as the study row. The service never
commits: the request or CLI command (or, for background runs, each step of the job) is
the unit of work.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, sessionmaker

from greencircle.audit.keys import LogSigner
from greencircle.audit.merkle import canonical_json
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Jurisdiction, Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.auth.service import record_event
from greencircle.energy import optimize_spec
from greencircle.energy.errors import MicrogridSpecInvalid
from greencircle.energy.grid_factors import resolve_grid_factor
from greencircle.energy.models import EnergySite, EnergyStudy
from greencircle.energy.repository import SiteRepo, StudyRepo
from greencircle.energy.schemas import SiteIn
from greencircle.energy.spec import MicrogridSpec, check_spec, parse_spec
from greencircle.errors import Conflict, Forbidden, Invalid, NotFound, PlatformError
from greencircle.jobs.models import Job
from greencircle.jobs.runner import JobContext, JobRunner
from greencircle.kit.timeutil import utcnow
from greencircle.storage.engine import unit_of_work
from greencircle.storage.repository import Page

__all__ = [
    "ASYNC_THRESHOLD_STEPS",
    "EVENT_TYPE",
    "JOB_KIND",
    "KPI_TABLE",
    "MAX_STEPS",
    "SYNC_MAX_STEPS",
    "EnergyService",
    "KpiDef",
    "Titles",
    "check_api_spec",
    "headline_kpis",
    "join_result",
    "run_weight",
    "sha256_json",
    "split_result",
]

#: Runs heavier than this (steps × MILP weight) answer 202 and run as a background job.
ASYNC_THRESHOLD_STEPS = 2208
#: Largest run that may be forced to answer synchronously (``?async=false``).
SYNC_MAX_STEPS = 8784
#: Largest horizon accepted over the API (a leap year at 15-minute steps).
MAX_STEPS = 35136
#: A genset with a minimum load makes the model a MILP; it counts this much heavier.
MILP_WEIGHT = 20
JOB_KIND = "energy.microgrid.optimize"
EVENT_TYPE = "energy.study"

ProgressFn = Callable[[str, float], None]
#: A study's title per language: (English, Chinese); ``None`` where not given.
Titles = tuple[str | None, str | None]


@dataclass(frozen=True, slots=True)
class KpiDef:
    """A headline KPI: key, unit and where it sits in the RESULT."""

    key: str
    unit: str
    path: tuple[str, ...]


#: Headline KPIs shown in listings and comparisons (taken from the RESULT, not recomputed).
KPI_TABLE: tuple[KpiDef, ...] = (
    KpiDef("pv_kwp", "kWp", ("pv_kwp",)),
    KpiDef("battery_kwh", "kWh", ("battery_kwh",)),
    KpiDef("battery_kw", "kW", ("battery_kw",)),
    KpiDef("objective_cny", "CNY/yr", ("objective_cny",)),
    KpiDef("capital_cny", "CNY/yr", ("cost_breakdown_cny", "capital_cny")),
    KpiDef("operating_cny", "CNY/yr", ("cost_breakdown_cny", "operating_cny")),
    KpiDef("import_kwh", "kWh/yr", ("import_kwh",)),
    KpiDef("export_kwh", "kWh/yr", ("export_kwh",)),
    KpiDef("unserved_kwh", "kWh/yr", ("unserved_kwh",)),
    KpiDef("self_consumption_ratio", "-", ("kpis", "self_consumption_ratio")),
    KpiDef("self_sufficiency_ratio", "-", ("kpis", "self_sufficiency_ratio")),
    KpiDef("emissions_tco2", "tCO2/yr", ("emissions_tco2",)),
    KpiDef("avoided_emissions_tco2", "tCO2/yr", ("kpis", "avoided_emissions_tco2")),
    KpiDef("annual_savings_cny", "CNY/yr", ("kpis", "annual_savings_cny")),
    KpiDef("simple_payback_years", "yr", ("kpis", "simple_payback_years")),
)


def _dig(data: Mapping[str, Any] | None, path: tuple[str, ...]) -> float | None:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def headline_kpis(summary: Mapping[str, Any] | None) -> dict[str, float | None]:
    """The :data:`KPI_TABLE` values of a RESULT (``None`` where absent)."""
    return {k.key: _dig(summary, k.path) for k in KPI_TABLE}


def sha256_json(value: Any) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def split_result(result: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """RESULT → (summary without ``series``, series)."""
    summary = {k: v for k, v in result.items() if k != "series"}
    series = result.get("series")
    return summary, dict(series) if isinstance(series, Mapping) else None


def join_result(summary: Mapping[str, Any] | None, series: Mapping[str, Any] | None) -> Any:
    """Inverse of :func:`split_result` (the RESULT exactly as produced)."""
    return {**(summary or {}), "series": dict(series) if series is not None else None}


def run_weight(spec: MicrogridSpec) -> int:
    """Size of a run for the sync/async decision: steps, × :data:`MILP_WEIGHT` for a MILP."""
    milp = spec.genset is not None and spec.genset.min_load_fraction > 0
    return len(spec.load_kw) * (MILP_WEIGHT if milp else 1)


def check_api_spec(spec_dict: Any) -> MicrogridSpec:
    """Validate a SPEC received over the network.

    Besides the SPEC rules: server-side files (``pv.site.weather_csv``) cannot be named,
    the horizon is at most :data:`MAX_STEPS`, and a grid-factor reference must resolve.

    Raises
    ------
    MicrogridSpecInvalid
    """
    if not isinstance(spec_dict, dict):
        raise MicrogridSpecInvalid([{"loc": "", "message": "the SPEC must be a JSON object"}])
    spec = check_spec(spec_dict)
    if spec.pv is not None and spec.pv.site is not None and spec.pv.site.weather_csv:
        raise MicrogridSpecInvalid(
            [
                {
                    "loc": "pv.site.weather_csv",
                    "message": "server files cannot be named over the API; send "
                    "pv.profile_kw_per_kwp, or run the CLI with a local weather CSV",
                }
            ]
        )
    if len(spec.load_kw) > MAX_STEPS:
        raise MicrogridSpecInvalid(
            [
                {
                    "loc": "load_kw",
                    "message": f"{len(spec.load_kw)} steps; at most {MAX_STEPS} over the API",
                }
            ]
        )
    return spec


def _default_label(spec: MicrogridSpec) -> str:
    return f"{len(spec.load_kw)}x{spec.timestep_hours:g}h {spec.start:%Y-%m-%d}"


def finish_study(
    session: Session,
    signer: LogSigner,
    study: EnergyStudy,
    *,
    result: Mapping[str, Any] | None = None,
    error: PlatformError | None = None,
) -> None:
    """Record the outcome of a run on ``study`` and append its ``energy.study`` event."""
    if result is not None:
        summary, series = split_result(result)
        study.summary = summary
        study.series = series
        study.status = "succeeded"
        study.solver_status = str(result.get("status"))
        study.result_sha256 = sha256_json(result)
        study.error = None
    else:
        study.status = "failed"
        study.error = (
            error.to_dict() if error is not None else {"error": "internal_error", "detail": None}
        )
    study.finished_at = utcnow()
    session.flush()
    event = {
        "type": EVENT_TYPE,
        "org_id": study.organisation_id,
        "subject": study.id,
        "site_id": study.site_id,
        "label": study.label,
        "status": study.status,
        "solver_status": study.solver_status,
        "spec_sha256": study.spec_sha256,
        "result_sha256": study.result_sha256,
        "error": study.error["error"] if study.error else None,
        "by": study.created_by,
    }
    (study.log_index,) = AuditLog(session, signer).append([event])


class EnergyService:
    """Sites and studies with the scope checks above, bound to one session and actor."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.sites = SiteRepo(session)
        self.studies = StudyRepo(session)

    # -- sites ---------------------------------------------------------------------------
    def _jurisdiction(self, code: str) -> Jurisdiction:
        jur = self.session.get(Jurisdiction, code)
        if jur is None:
            raise Invalid(f"unknown jurisdiction {code!r}", code="unknown_jurisdiction")
        return jur

    def can_read_site(self, site: EnergySite) -> bool:
        """Python mirror of :func:`~greencircle.energy.repository.site_scope_clause`."""
        a = self.actor
        if a.is_platform_admin or site.organisation_id == a.org_id:
            return True
        if not a.is_regulator:
            return False
        jur = self.session.get(Jurisdiction, site.jurisdiction_code)
        return jur is not None and jur.path.startswith(a.org_jurisdiction_path)

    def can_run_on(self, site: EnergySite) -> bool:
        """Whether the actor may run and save studies on ``site``."""
        a = self.actor
        return Perm.ENERGY_MANAGE in a.perms and (
            a.is_platform_admin or site.organisation_id == a.org_id
        )

    def list_sites(
        self,
        *,
        organisation_id: str | None = None,
        sort: str | None = "code",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[EnergySite]:
        """Sites the actor may read."""
        self.actor.require(Perm.ENERGY_READ)
        return self.sites.search(
            self.actor, organisation_id=organisation_id, sort=sort, limit=limit, offset=offset
        )

    def get_site(self, site_id: str) -> EnergySite:
        """One site the actor may read (404 ``energy.site_not_found``, 403 out of scope)."""
        self.actor.require(Perm.ENERGY_READ)
        site = self.sites.get(site_id)
        if site is None:
            raise NotFound(f"site {site_id!r} not found", code="energy.site_not_found")
        if not self.can_read_site(site):
            raise Forbidden("this site is outside your scope", code="org_out_of_scope")
        return site

    def site_for_run(self, site_id: str) -> EnergySite:
        """A site the actor may run studies on."""
        self.actor.require(Perm.ENERGY_MANAGE)
        site = self.sites.get(site_id)
        if site is None:
            raise NotFound(f"site {site_id!r} not found", code="energy.site_not_found")
        if not self.can_run_on(site):
            raise Forbidden(
                "only the site's organisation may run studies on it", code="org_out_of_scope"
            )
        return site

    def create_site(self, body: SiteIn) -> EnergySite:
        """Register a site of the actor's organisation (platform admins: of any)."""
        a = self.actor
        a.require(Perm.ENERGY_MANAGE)
        org_id = body.organisation_id or a.org_id
        if org_id != a.org_id and not a.is_platform_admin:
            raise Forbidden(
                "sites can only be created for your own organisation", code="org_out_of_scope"
            )
        if self.session.get(Organisation, org_id) is None:
            raise NotFound(f"organisation {org_id!r} not found", code="org_not_found")
        self._jurisdiction(body.jurisdiction_code)
        try:
            ZoneInfo(body.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid(f"unknown timezone {body.timezone!r}", code="invalid_timezone") from None
        resolve_grid_factor(body.grid_code, utcnow().year)  # raises energy.grid_factor_not_found
        if self.sites.by_code(org_id, body.code) is not None:
            raise Conflict(f"site code {body.code!r} exists", code="duplicate_code")
        data = body.model_dump(exclude={"organisation_id"})
        site = self.sites.add(EnergySite(organisation_id=org_id, created_by=a.user_id, **data))
        record_event(self.session, a, "energy.site.create", "energy_site", site.id, org_id)
        return site

    # -- studies -------------------------------------------------------------------------
    def list_studies(
        self,
        *,
        site_id: str | None = None,
        status: str | None = None,
        sort: str | None = "-created_at",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[EnergyStudy]:
        """Studies of the sites the actor may read."""
        self.actor.require(Perm.ENERGY_READ)
        if site_id:
            self.get_site(site_id)
        return self.studies.search(
            self.actor, site_id=site_id, status=status, sort=sort, limit=limit, offset=offset
        )

    def get_study(self, study_id: str) -> EnergyStudy:
        """One study of a site the actor may read.

        A study left ``queued``/``running`` by a job that failed or vanished (server stop)
        is reported ``failed`` (and stored so when the caller's unit of work commits).
        """
        self.actor.require(Perm.ENERGY_READ)
        study = self.studies.get(study_id)
        if study is None:
            raise NotFound(f"study {study_id!r} not found", code="energy.study_not_found")
        site = self.sites.require(study.site_id)
        if not self.can_read_site(site):
            raise Forbidden("this study is outside your scope", code="org_out_of_scope")
        if study.status in {"queued", "running"} and study.job_id:
            job = self.session.get(Job, study.job_id)
            if job is None or job.status == "failed":
                study.status = "failed"
                study.error = (job.error if job else None) or {
                    "error": "interrupted",
                    "detail": "the job running this study did not finish",
                }
                study.finished_at = utcnow()
        return study

    def compare(self, study_ids: list[str]) -> tuple[list[EnergyStudy], list[dict[str, Any]]]:
        """Two or more studies side by side: (studies, KPI rows in :data:`KPI_TABLE` order)."""
        ids = list(dict.fromkeys(study_ids))
        if not 2 <= len(ids) <= 10:
            raise Invalid("compare 2 to 10 distinct studies", code="energy.compare_count")
        studies = [self.get_study(i) for i in ids]
        values = [headline_kpis(s.summary) for s in studies]
        rows = [
            {"key": k.key, "unit": k.unit, "values": [v[k.key] for v in values]} for k in KPI_TABLE
        ]
        return studies, rows

    def effective_spec(self, spec_dict: dict[str, Any], site: EnergySite | None) -> dict[str, Any]:
        """The SPEC as run: with a site and no grid factor given, the site's grid and the
        SPEC's start year select the factor from the MRV library."""
        if site is None:
            return spec_dict
        carbon = spec_dict.get("carbon")
        if isinstance(carbon, dict) and "grid_tco2_per_mwh" in carbon:
            return spec_dict
        start = parse_spec(spec_dict).start
        ref = {"grid_code": site.grid_code, "year": start.year}
        return {**spec_dict, "carbon": {**(carbon or {}), "grid_tco2_per_mwh": ref}}

    def new_study(
        self,
        site: EnergySite,
        spec_dict: dict[str, Any],
        label: str | None,
        status: str,
        titles: Titles | None = None,
    ) -> EnergyStudy:
        """Stage a study row for a run of ``spec_dict`` on ``site``."""
        spec = parse_spec(spec_dict)
        title_en, title_zh = titles or (None, None)
        study = EnergyStudy(
            site_id=site.id,
            organisation_id=site.organisation_id,
            label=(label or title_en or title_zh or _default_label(spec))[:200],
            label_en=title_en[:200] if title_en else None,
            label_zh=title_zh[:200] if title_zh else None,
            status=status,
            spec=spec_dict,
            spec_sha256=sha256_json(spec_dict),
            created_by=self.actor.user_id,
        )
        return self.studies.add(study)

    def run(
        self,
        spec_dict: dict[str, Any],
        *,
        signer: LogSigner,
        site: EnergySite | None = None,
        label: str | None = None,
        time_limit_s: float = 600.0,
        mip_rel_gap: float = 1e-3,
        progress: ProgressFn | None = None,
        titles: Titles | None = None,
    ) -> dict[str, Any]:
        """Optimise now; with a site, save the study (and log it). Returns the RESULT.

        The RESULT gets a ``study_id`` key when saved. Invalid SPECs raise before any row
        is written; a run that fails after validation is saved as a ``failed`` study.
        """
        if site is None:
            self.actor.require(Perm.ENERGY_READ)
            return optimize_spec(
                spec_dict, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, progress=progress
            )
        study = self.new_study(site, spec_dict, label, "running", titles)
        # An expected failure (unknown grid code...) propagates: the caller's unit of work
        # rolls back, so no half-made study is left behind.
        result = optimize_spec(
            spec_dict, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, progress=progress
        )
        finish_study(self.session, signer, study, result=result)
        return {**result, "study_id": study.id}

    def start_job(
        self,
        runner: JobRunner,
        spec_dict: dict[str, Any],
        *,
        signer: LogSigner,
        site: EnergySite | None = None,
        label: str | None = None,
        time_limit_s: float = 600.0,
        titles: Titles | None = None,
    ) -> tuple[Job, str | None]:
        """Run in the background; returns the job (poll ``/v1/jobs/{id}``) and study id.

        With a site, a ``queued`` study row is staged in this session so that it can be
        listed while the job runs; the job records the outcome and its log event. The
        job row is staged in the same session and starts only once it commits.
        """
        n_steps = len(parse_spec(spec_dict).load_kw)
        study_id: str | None = None
        if site is None:
            self.actor.require(Perm.ENERGY_READ)
        else:
            study_id = self.new_study(site, spec_dict, label, "queued", titles).id
        params = {"site_id": site.id if site else None, "study_id": study_id, "n_steps": n_steps}
        fn = _study_job(runner.session_factory, signer, spec_dict, study_id, time_limit_s)
        return runner.submit(self.actor, JOB_KIND, params, fn, session=self.session), study_id


def _study_job(
    factory: sessionmaker[Session],
    signer: LogSigner,
    spec_dict: dict[str, Any],
    study_id: str | None,
    time_limit_s: float,
) -> Callable[[JobContext], dict[str, Any]]:
    """The background function of :meth:`EnergyService.start_job`."""

    def mark(ctx_job_id: str, **values: Any) -> None:
        if study_id is None:
            return
        with unit_of_work(factory) as s:
            study = s.get(EnergyStudy, study_id)
            if study is not None:
                study.job_id = ctx_job_id
                for k, v in values.items():
                    setattr(study, k, v)

    def finish(result: dict[str, Any] | None, error: PlatformError | None) -> None:
        if study_id is None:
            return
        with unit_of_work(factory) as s:
            study = s.get(EnergyStudy, study_id)
            if study is not None:
                finish_study(s, signer, study, result=result, error=error)

    def job(ctx: JobContext) -> dict[str, Any]:
        mark(ctx.job_id, status="running")

        def progress(stage: str, fraction: float) -> None:
            ctx.progress(fraction, stage)

        try:
            result = optimize_spec(spec_dict, time_limit_s=time_limit_s, progress=progress)
        except PlatformError as exc:
            finish(None, exc)
            raise
        except Exception:
            finish(None, PlatformError("the optimisation failed", code="internal_error"))
            raise
        finish(result, None)
        return {**result, "study_id": study_id} if study_id else result

    return job
