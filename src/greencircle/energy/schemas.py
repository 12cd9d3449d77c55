"""Pydantic models of the energy API (sites, studies, comparisons).

The optimise endpoint takes the SPEC itself as its body (:class:`~greencircle.energy.spec.
MicrogridSpec`) and answers with the RESULT dict, exactly as the CLI reads and writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from greencircle.auth.schemas import CODE_PATTERN, In, Out, PageOut

__all__ = [
    "GRID_CODE_PATTERN",
    "CompareOut",
    "JobAcceptedOut",
    "KpiRow",
    "PageOut",
    "SiteIn",
    "SiteOut",
    "StudyDetailOut",
    "StudyOut",
]

GRID_CODE_PATTERN = r"^[A-Za-z]{2}(-[A-Za-z0-9]{1,20}){0,3}$"


class SiteIn(In):
    """A new microgrid site. ``organisation_id`` defaults to the caller's organisation."""

    code: str = Field(pattern=CODE_PATTERN)
    name_en: str = Field(min_length=1, max_length=200)
    name_zh: str = Field(min_length=1, max_length=200)
    jurisdiction_code: str = Field(min_length=2, max_length=24)
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    grid_code: str = Field(
        pattern=GRID_CODE_PATTERN,
        max_length=24,
        description="grid of the emission factor: CN-SW, CN-51, CN-CQ, CN ...",
    )
    timezone: str = Field(default="Asia/Shanghai", max_length=40)
    organisation_id: str | None = Field(default=None, max_length=26)


class SiteOut(Out):
    """A site as returned by the API."""

    id: str
    organisation_id: str
    code: str
    name_en: str
    name_zh: str
    jurisdiction_code: str
    latitude_deg: float
    longitude_deg: float
    grid_code: str
    timezone: str
    created_at: datetime


class StudyOut(Out):
    """A study in listings: identity, state, digests and headline KPIs."""

    id: str
    site_id: str
    organisation_id: str
    label: str
    label_en: str | None = None
    label_zh: str | None = None
    status: str
    solver_status: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    spec_sha256: str
    result_sha256: str | None
    log_index: int | None
    job_id: str | None
    kpis: dict[str, float | None] = Field(default_factory=dict)


class StudyDetailOut(StudyOut):
    """A study with its SPEC, RESULT summary (no series) and error, if any."""

    spec: dict[str, Any]
    result: dict[str, Any] | None
    error: dict[str, Any] | None


class JobAcceptedOut(BaseModel):
    """202 answer of a run started as a background job."""

    job_id: str
    status: str
    poll: str
    study_id: str | None = None
    n_steps: int


class KpiRow(BaseModel):
    """One KPI across the compared studies (``values`` in the order of ``studies``)."""

    key: str
    unit: str
    values: list[float | None]


class CompareOut(BaseModel):
    """Side-by-side KPIs of two or more studies."""

    studies: list[StudyOut]
    kpis: list[KpiRow]
