"""``GET /v1/jobs/{id}``: status, progress and result of a background job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from greencircle.api.deps import CurrentActor, SessionDep
from greencircle.jobs.runner import get_job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


class JobOut(BaseModel):
    """A job as seen by its owner."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: str
    progress: float
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None


@router.get("/{job_id}", response_model=JobOut)
def job_status(job_id: str, actor: CurrentActor, session: SessionDep) -> JobOut:
    """Poll a job: ``queued``, ``running`` (with ``progress`` 0–1), ``succeeded`` or ``failed``."""
    return JobOut.model_validate(get_job(session, actor, job_id))
