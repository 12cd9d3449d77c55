"""``GET /v1/jobs/{id}``: status, progress and result of a background job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from greencircle.api.deps import CurrentActor, JobsDep, SessionDep
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
def job_status(job_id: str, actor: CurrentActor, session: SessionDep, jobs: JobsDep) -> JobOut:
    """Poll a job: ``queued``, ``running`` (with ``progress`` 0–1), ``succeeded`` or ``failed``.

    While the job runs in this process, ``progress`` and ``message`` are its live values
    (kept in the runner's memory, never written while the job's own transaction is open).
    """
    out = JobOut.model_validate(get_job(session, actor, job_id))
    live = jobs.live(job_id)
    if live is not None and out.status == "running":
        out = out.model_copy(update={"progress": live[0], "message": live[1]})
    return out
