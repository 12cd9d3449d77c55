"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from greencircle import __version__
from greencircle.api.deps import SessionDep
from greencircle.api.errors import install_error_handlers
from greencircle.api.middleware import UnitOfWorkMiddleware
from greencircle.api.openapi import install_openapi
from greencircle.audit.endpoints import router as audit_router
from greencircle.audit.keys import LogSigner, signer_from
from greencircle.audit.service import AuditLog
from greencircle.auth.endpoints import router as auth_router
from greencircle.auth.service import TokenCodec
from greencircle.config import Settings, get_settings
from greencircle.energy.console import router as energy_console_router
from greencircle.energy.endpoints import router as energy_router
from greencircle.exchange.agreement_console import router as agreement_console_router
from greencircle.exchange.agreement_endpoints import router as agreement_router
from greencircle.exchange.auction_console import router as auction_console_router
from greencircle.exchange.auction_endpoints import router as auction_router
from greencircle.exchange.console import router as exchange_console_router
from greencircle.exchange.endpoints import router as exchange_router
from greencircle.exchange.fx_endpoints import router as fx_router
from greencircle.exchange.settlement_console import router as settlement_console_router
from greencircle.exchange.surveillance_console import router as surveillance_console_router
from greencircle.exchange.surveillance_endpoints import router as surveillance_router
from greencircle.jobs.endpoints import router as jobs_router
from greencircle.jobs.runner import JobRunner
from greencircle.mrv.console import router as mrv_console_router
from greencircle.mrv.endpoints import router as mrv_router
from greencircle.mrv.service import publish_factor_sets
from greencircle.registry.console import router as registry_console_router
from greencircle.registry.endpoints import router as registry_router
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
from greencircle.storage.migrate import current_revision
from greencircle.web.apidocs import mount_api_docs
from greencircle.web.console import STATIC_DIR, console_error, install_console_not_found
from greencircle.web.console import router as console_router

log = logging.getLogger("greencircle.api")
meta = APIRouter(prefix="/v1", tags=["meta"])


@meta.get("/health")
def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


@meta.get("/version")
def version(request: Request, session: SessionDep) -> dict[str, Any]:
    """Package version, API version, database backend and schema revision."""
    engine = session.get_bind()
    return {
        "version": __version__,
        "api": "v1",
        "database_backend": engine.dialect.name,
        "schema_revision": current_revision(session.connection()),
    }


def _initialise_log(factory: sessionmaker[Session], signer: LogSigner) -> None:
    """Create the transparency log head if the database has none yet."""
    try:
        with unit_of_work(factory) as session:
            AuditLog(session, signer).ensure_initialised()
            publish_factor_sets(session, signer)
    except OperationalError as exc:  # schema not migrated yet
        log.warning("transparency log not initialised (run `greencircle db upgrade`): %s", exc)


def _recover_jobs(jobs: JobRunner) -> None:
    try:
        if n := jobs.recover():
            log.warning("%d job(s) were interrupted by the last stop and marked failed", n)
    except OperationalError as exc:  # schema not migrated yet
        log.warning("jobs table missing (run `greencircle db upgrade`): %s", exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application: API under ``/v1``, console under ``/``.

    Parameters
    ----------
    settings
        Defaults to :func:`greencircle.config.get_settings` (environment).
    """
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    secret = settings.resolved_secret_key()
    signer = signer_from(settings)
    jobs = JobRunner(factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_initialise_log, factory, signer)
        await anyio.to_thread.run_sync(_recover_jobs, jobs)
        yield
        await anyio.to_thread.run_sync(jobs.shutdown)
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="greencircle",
        version=__version__,
        description=(
            "Open platform for regional green development: MRV, transparency log, registry "
            "of environmental rights, exchange, microgrids. Errors are "
            '`{"error": code, "detail": ...}`; mutating calls accept `Idempotency-Key`.'
        ),
        openapi_url="/openapi.json",
        docs_url=None,  # served from packaged assets by mount_api_docs (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.codec = TokenCodec(secret, settings.token_ttl_minutes)
    app.state.log_signer = signer
    app.state.jobs = jobs
    install_error_handlers(app, html_prefix="/console", html_error=console_error)
    install_console_not_found(app)  # after the error handlers: it wraps theirs
    app.include_router(meta)
    app.include_router(auth_router)
    app.include_router(audit_router)
    app.include_router(jobs_router)
    app.include_router(energy_router)
    app.include_router(registry_router)
    app.include_router(exchange_router)
    app.include_router(agreement_router)
    app.include_router(auction_router)
    app.include_router(fx_router)
    app.include_router(surveillance_router)
    app.include_router(mrv_router)
    app.include_router(console_router)
    app.include_router(energy_console_router)
    app.include_router(registry_console_router)
    app.include_router(mrv_console_router)
    app.include_router(exchange_console_router)
    app.include_router(settlement_console_router)
    app.include_router(agreement_console_router)
    app.include_router(auction_console_router)
    app.include_router(surveillance_console_router)
    install_openapi(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    mount_api_docs(app)
    app.add_middleware(
        UnitOfWorkMiddleware,
        session_factory=factory,
        max_body_bytes=settings.max_body_bytes,
        token_secret=secret,
    )
    return app
