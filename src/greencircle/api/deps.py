"""FastAPI dependencies: the request's session, the acting principal, paging."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from greencircle.auth.policy import Actor
from greencircle.auth.service import AuthService, TokenCodec
from greencircle.config import Settings
from greencircle.errors import Unauthorized
from greencircle.jobs.runner import JobRunner
from greencircle.kit.paging import DEFAULT_LIMIT, Limit, Offset

SESSION_COOKIE = "gc_session"


def get_session(request: Request) -> Session:
    """The request's session, opened and committed by :class:`UnitOfWorkMiddleware`."""
    session: Session = request.state.session
    return session


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_codec(request: Request) -> TokenCodec:
    """The app's token codec."""
    codec: TokenCodec = request.app.state.codec
    return codec


@lru_cache(maxsize=8)
def _networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _is_trusted(address: str, trusted: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(trusted))


def client_address(request: Request) -> str:
    """The client's address, believing ``X-Forwarded-For`` only from trusted proxies.

    When the TCP peer is one of ``Settings.trusted_proxies``, the forwarded chain is read
    from the right (the hop the proxy itself appended) and the first address that is not
    a trusted proxy is the client. Otherwise the header is ignored, so a client cannot
    pick its own address to escape throttling.
    """
    peer = request.client.host if request.client else "unknown"
    trusted = tuple(request.app.state.settings.trusted_proxies)
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed chain: fall back to the proxy itself
    return peer


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CodecDep = Annotated[TokenCodec, Depends(get_codec)]


def auth_service(session: SessionDep, codec: CodecDep, settings: SettingsDep) -> AuthService:
    """An :class:`AuthService` bound to the request."""
    return AuthService(
        session,
        codec,
        max_failures=settings.login_max_failures,
        window_s=settings.login_window_seconds,
    )


AuthServiceDep = Annotated[AuthService, Depends(auth_service)]


def credential_from_request(request: Request) -> str | None:
    """The bearer token, API key or console session cookie sent with the request."""
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'", code="invalid_token")
        return value.strip()
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    return request.cookies.get(SESSION_COOKIE)


def current_actor(request: Request, service: AuthServiceDep) -> Actor:
    """The authenticated actor; 401 ``not_authenticated`` when no credential is sent."""
    token = credential_from_request(request)
    if not token:
        raise Unauthorized("authentication required", code="not_authenticated")
    actor = service.actor_from_token(token)
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


class PageParams:
    """``limit``, ``offset`` and ``sort`` query parameters shared by listings."""

    def __init__(
        self,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        sort: Annotated[str | None, Query(max_length=40, description="field or -field")] = None,
    ) -> None:
        self.limit = limit
        self.offset = offset
        self.sort = sort


PageDep = Annotated[PageParams, Depends()]


def get_jobs(request: Request) -> JobRunner:
    """The app's background job runner."""
    runner: JobRunner = request.app.state.jobs
    return runner


JobsDep = Annotated[JobRunner, Depends(get_jobs)]
