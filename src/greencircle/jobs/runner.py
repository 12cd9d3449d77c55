"""Runs jobs on a small thread pool inside the API process, recording progress.

A job function receives a :class:`JobContext`; it reports progress through
``ctx.progress(fraction, message)`` and returns a JSON-serialisable result.

Progress lives in the runner's memory while the job runs and is read from there by
``GET /v1/jobs/{id}`` (:meth:`JobRunner.live`); the ``jobs`` row is written only when the
job starts and when it ends. A job usually reports progress from inside its own write
transaction (an upload being stored); on SQLite a second writer at that moment would wait
for that very transaction and fail with ``database is locked``, so progress never needs
one. Expected failures
(:class:`~greencircle.errors.PlatformError`) are stored with their code; unexpected ones
as ``internal_error``. Jobs left ``running`` by a stopped process are marked failed at the
next start, never silently resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from threading import Lock
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session, sessionmaker

from greencircle.auth.policy import Actor
from greencircle.errors import Forbidden, NotFound, PlatformError
from greencircle.jobs.models import Job
from greencircle.kit.timeutil import utcnow
from greencircle.storage.engine import unit_of_work

log = logging.getLogger("greencircle.jobs")

ProgressFn = Callable[[float, str], None]


@dataclass
class JobContext:
    """What a running job may use: its id, a session factory and a progress reporter."""

    job_id: str
    session_factory: sessionmaker[Session]
    progress: ProgressFn


JobFn = Callable[[JobContext], dict[str, Any]]


class JobRunner:
    """A thread pool executing :class:`Job` rows.

    Parameters
    ----------
    session_factory
        Sessions for status updates (each update is its own short transaction).
    workers
        Concurrent jobs; 1 keeps CPU-heavy solves from competing on a 2-core machine.
    """

    def __init__(self, session_factory: sessionmaker[Session], workers: int = 1) -> None:
        self.session_factory = session_factory
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gc-job")
        self.futures: dict[str, Future[None]] = {}
        self._live: dict[str, tuple[float, str]] = {}
        self._lock = Lock()
        # Jobs staged in a caller's session start when it commits, vanish on rollback.
        event.listen(session_factory, "after_commit", self._start_pending)
        event.listen(session_factory, "after_rollback", self._drop_pending)

    def recover(self) -> int:
        """Mark jobs interrupted by a previous process stop as failed; return how many."""
        with unit_of_work(self.session_factory) as session:
            result = session.execute(
                update(Job)
                .where(Job.status.in_(["queued", "running"]))
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    error={"error": "interrupted", "detail": "the server stopped"},
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def submit(
        self,
        actor: Actor,
        kind: str,
        params: dict[str, Any],
        fn: JobFn,
        *,
        session: Session | None = None,
    ) -> Job:
        """Record a queued job and start it.

        Parameters
        ----------
        session
            The caller's unit of work, made by this runner's session factory (e.g. the
            request's session). The job row is added
            to it and the job starts only **after that transaction commits**, so the job
            sees everything the caller wrote and nothing starts if the caller rolls back.
            Without it, the row is committed at once in its own transaction (CLI use).
        """
        job = Job(
            kind=kind,
            owner_user_id=actor.user_id,
            owner_org_id=actor.org_id,
            status="queued",
            progress=0.0,
            params=params,
        )
        if session is None:
            with unit_of_work(self.session_factory) as own:
                own.add(job)
            self._start(job.id, fn)
            return job
        session.add(job)
        session.flush()
        session.info.setdefault("pending_jobs", []).append((job.id, fn))
        return job

    def _start(self, job_id: str, fn: JobFn) -> None:
        self.futures[job_id] = self.pool.submit(self._run, job_id, fn)

    def _start_pending(self, session: Session) -> None:
        for job_id, fn in session.info.pop("pending_jobs", []):
            self._start(job_id, fn)
        self._unlisten(session)

    def _drop_pending(self, session: Session) -> None:
        session.info.pop("pending_jobs", None)
        self._unlisten(session)

    def _unlisten(self, session: Session) -> None:
        for name, fn in (
            ("after_commit", self._start_pending),
            ("after_rollback", self._drop_pending),
        ):
            if event.contains(session, name, fn):
                event.remove(session, name, fn)

    def _update(self, job_id: str, **values: Any) -> None:
        with unit_of_work(self.session_factory) as session:
            session.execute(update(Job).where(Job.id == job_id).values(**values))

    def live(self, job_id: str) -> tuple[float, str] | None:
        """``(progress, message)`` of a job running in this process, else None."""
        with self._lock:
            return self._live.get(job_id)

    def _run(self, job_id: str, fn: JobFn) -> None:
        self._update(job_id, status="running", started_at=utcnow(), message="started")
        with self._lock:
            self._live[job_id] = (0.0, "started")

        def progress(fraction: float, message: str) -> None:
            with self._lock:
                self._live[job_id] = (max(0.0, min(1.0, fraction)), message[:200])

        try:
            self._finish(job_id, fn, progress)
        finally:
            with self._lock:
                self._live.pop(job_id, None)

    def _finish(self, job_id: str, fn: JobFn, progress: ProgressFn) -> None:
        try:
            result = fn(JobContext(job_id, self.session_factory, progress))
        except PlatformError as exc:
            self._update(
                job_id, status="failed", finished_at=utcnow(), error=exc.to_dict(), message=exc.code
            )
        except Exception as exc:
            log.exception("job %s failed", job_id)
            self._update(
                job_id,
                status="failed",
                finished_at=utcnow(),
                error={"error": "internal_error", "detail": str(exc)[:500]},
                message="internal_error",
            )
        else:
            self._update(
                job_id,
                status="succeeded",
                finished_at=utcnow(),
                progress=1.0,
                result=result,
                message="done",
            )

    def wait(self, job_id: str, timeout_s: float | None = None) -> None:
        """Block until a job submitted by this runner finishes (tests, CLI)."""
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout_s)

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for running ones."""
        self.pool.shutdown(wait=True)


def get_job(session: Session, actor: Actor, job_id: str) -> Job:
    """A job visible to ``actor``: its owner's organisation, or a platform admin."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} not found", code="job_not_found")
    if job.owner_org_id != actor.org_id and not actor.is_platform_admin:
        raise Forbidden("this job belongs to another organisation", code="org_out_of_scope")
    return job
