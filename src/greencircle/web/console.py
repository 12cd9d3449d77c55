"""Server-rendered console: login, navigation, organisation and jurisdiction context.

Pages call the same services as the API, with the same scope checks. The session is an
HttpOnly, SameSite=Strict cookie holding the bearer token; state-changing forms also carry
a CSRF token bound to that token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from greencircle.api.deps import SESSION_COOKIE, AuthServiceDep, SessionDep, client_address
from greencircle.audit.models import LogLeaf
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor, org_scope_clause
from greencircle.auth.repository import (
    AccessEventRepo,
    CredentialRepo,
    JurisdictionRepo,
    OrganisationRepo,
    UserRepo,
)
from greencircle.auth.roles import OrgType, Perm
from greencircle.auth.schemas import UserIn
from greencircle.auth.service import AuthService, DirectoryService
from greencircle.errors import (
    Forbidden,
    Invalid,
    LoginRequired,
    NotFound,
    PlatformError,
    RateLimited,
    Unauthorized,
)
from greencircle.kit import fmt
from greencircle.kit.text import SafeText
from greencircle.kit.timeutil import to_local
from greencircle.web.i18n import LANGUAGES, negotiate, translate
from greencircle.web.nav import nav_for

logger = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
LANG_COOKIE = "gc_lang"

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
)
router = APIRouter(include_in_schema=False)


def csrf_token(request: Request, session_token: str) -> str:
    """A CSRF token bound to the session token (HMAC with the app's token secret)."""
    secret = request.app.state.codec.secret.encode()
    return hmac.new(secret, session_token.encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(request: Request, supplied: str) -> None:
    """Raise ``csrf_failed`` unless ``supplied`` matches the session's token."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or not hmac.compare_digest(csrf_token(request, token), supplied):
        raise Forbidden("form expired or forged; reload the page", code="csrf_failed")


def console_actor(request: Request, service: AuthServiceDep) -> Actor:
    """The actor of the console session; redirects to the login page when absent."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    try:
        actor = service.actor_from_token(token)
    except Unauthorized as exc:
        raise LoginRequired from exc
    request.state.actor = actor
    return actor


ConsoleActor = Annotated[Actor, Depends(console_actor)]


def page_lang(request: Request, actor_locale: str | None = None) -> str:
    """Language of this page."""
    return negotiate(
        request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"), actor_locale
    )


def render(
    request: Request,
    template: str,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` in the negotiated language with the common context."""
    lang = page_lang(request)

    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    def name(row: Any) -> str:
        return str(row.name_en if lang == "en" else row.name_zh)

    def local(value: Any) -> str:
        return to_local(value).strftime("%Y-%m-%d %H:%M:%S") + " (UTC+8)"

    def url_with(**changes: Any) -> str:
        params = dict(request.query_params)
        params.update({k: v for k, v in changes.items() if v is not None})
        return f"{request.url.path}?{urlencode(params)}"

    token = request.cookies.get(SESSION_COOKIE, "")
    # Error pages for unexpected exceptions are rendered after the unit of work has ended
    # (no session any more): they show no organisation rather than reopen the database.
    session = getattr(request.state, "session", None)
    org = session.get(Organisation, actor.org_id) if actor and session else None
    ctx = {
        "org_name": name(org) if org else "",
        "request": request,
        "lang": lang,
        "languages": LANGUAGES,
        "t": t,
        "name": name,
        "url_with": url_with,
        "local": local,
        # Numbers as people read them (kit/fmt.py): locale grouping, precision per unit.
        "fmt_num": lambda v, places=fmt.DEFAULT_PLACES: fmt.number(v, lang, places=places),
        "fmt_qty": lambda v, unit, places=None: fmt.quantity(v, unit, lang, places=places),
        "fmt_minor": lambda v, scale: fmt.minor(v, scale, lang),
        "fmt_money": lambda v, currency, scale=2: fmt.money(v, currency, scale, lang),
        "unit_label": fmt.unit_label,
        "actor": actor,
        "nav": nav_for(actor) if actor else [],
        "csrf": csrf_token(request, token) if token else "",
        "path": request.url.path,
        **context,
    }
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)


def pages(total: int, limit: int) -> int:
    """Number of pages for ``total`` rows at ``limit`` per page (at least 1)."""
    return max(1, math.ceil(total / limit))


@router.get("/")
def root() -> RedirectResponse:
    """The console is the landing page."""
    return RedirectResponse("/console", status_code=303)


@router.get("/console/lang/{lang}")
def switch_language(request: Request, lang: str, next: str = "/console") -> RedirectResponse:
    """Set the language cookie and go back to ``next`` (a local path only)."""
    target = next if next.startswith("/") and not next.startswith("//") else "/console"
    response = RedirectResponse(target, status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/console/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None, out: int = 0) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html", error=error, logged_out=bool(out))


@router.post("/console/login")
def login_submit(
    request: Request,
    service: AuthServiceDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    """Check the password, set the session cookie and open the dashboard."""
    try:
        issued, user = service.login(username, password, client_address(request))
    except RateLimited:
        return render(
            request, "login.html", error="login.throttled", logged_out=False, status_code=429
        )
    except Unauthorized:
        return render(
            request, "login.html", error="login.failed", logged_out=False, status_code=401
        )
    response = RedirectResponse("/console", status_code=303)
    secure = request.app.state.settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        issued.access_token,
        max_age=issued.expires_in_s,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    if LANG_COOKIE not in request.cookies:
        response.set_cookie(LANG_COOKIE, user.locale, max_age=365 * 86400, samesite="lax")
    return response


@router.post("/console/logout")
def logout(
    request: Request,
    actor: ConsoleActor,
    service: AuthServiceDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Revoke the session token and clear the cookie."""
    check_csrf(request, csrf)
    service.revoke_token(request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/console/login?out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/console", response_class=HTMLResponse)
def dashboard(request: Request, actor: ConsoleActor, session: SessionDep) -> HTMLResponse:
    """Who I am, where I act, what I may do."""
    directory = DirectoryService(session)
    me = directory.users.require(actor.user_id)
    orgs = directory.orgs.search(actor, limit=1)
    facilities_total = (
        directory.facilities.search(actor, limit=1).total
        if Perm.FACILITY_READ in actor.perms
        else 0
    )
    return render(
        request,
        "dashboard.html",
        actor=actor,
        me=me,
        orgs_total=orgs.total,
        facilities_total=facilities_total,
    )


@router.get("/console/organisations", response_class=HTMLResponse)
def organisations(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    q: Annotated[SafeText | None, Query(max_length=100)] = None,
    org_type: Annotated[OrgType | None, Query(alias="type")] = None,
    sort: Annotated[str, Query(max_length=40)] = "code",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Organisations in my scope, searchable, sortable and paged."""
    limit = 20
    result = DirectoryService(session).orgs.search(
        actor,
        org_type=org_type.value if org_type else None,
        q=q or None,
        sort=sort,
        limit=limit,
        offset=(page - 1) * limit,
    )
    return render(
        request,
        "organisations.html",
        actor=actor,
        result=result,
        q=q or "",
        org_type=org_type.value if org_type else "",
        sort=sort,
        page=page,
        pages=pages(result.total, limit),
        org_types=list(OrgType),
    )


@router.get("/console/organisations/{org_id}", response_class=HTMLResponse)
def organisation(
    request: Request, org_id: str, actor: ConsoleActor, session: SessionDep
) -> HTMLResponse:
    """One organisation with its users (if I may see them) and facilities."""
    directory = DirectoryService(session)
    org = directory.get_org(actor, org_id)
    users = directory.users.of_org(org.id, limit=200).items if Perm.USER_READ in actor.perms else []
    facilities = (
        directory.facilities.search(actor, organisation_id=org.id, limit=200).items
        if Perm.FACILITY_READ in actor.perms
        else []
    )
    return render(
        request, "organisation.html", actor=actor, org=org, users=users, facilities=facilities
    )


@router.get("/console/facilities", response_class=HTMLResponse)
def facilities(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
    sort: Annotated[str, Query(max_length=40)] = "code",
) -> HTMLResponse:
    """Facilities in my scope."""
    actor.require(Perm.FACILITY_READ)
    limit = 20
    result = DirectoryService(session).facilities.search(
        actor, sort=sort, limit=limit, offset=(page - 1) * limit
    )
    return render(
        request,
        "facilities.html",
        actor=actor,
        result=result,
        page=page,
        pages=pages(result.total, limit),
        sort=sort,
    )


@router.get("/console/jurisdictions", response_class=HTMLResponse)
def jurisdictions(request: Request, actor: ConsoleActor, session: SessionDep) -> HTMLResponse:
    """The region tree."""
    actor.require(Perm.DIRECTORY_READ)
    rows = JurisdictionRepo(session).list()
    return render(request, "jurisdictions.html", actor=actor, rows=rows)


@router.get("/console/account", response_class=HTMLResponse)
def account(
    request: Request, actor: ConsoleActor, session: SessionDep, created: str | None = None
) -> HTMLResponse:
    """My profile and API keys."""
    keys = CredentialRepo(session).keys_of(actor.user_id)
    return render(request, "account.html", actor=actor, keys=keys, created=created)


@router.post("/console/account/api-keys")
def account_create_key(
    request: Request,
    actor: ConsoleActor,
    service: AuthServiceDep,
    csrf: Annotated[str, Form(max_length=64)],
    name: Annotated[SafeText, Form(min_length=1, max_length=80)],
) -> HTMLResponse:
    """Create an API key and show its secret once."""
    check_csrf(request, csrf)
    _row, key = service.create_api_key(actor, name, 90)
    keys = CredentialRepo(service.session).keys_of(actor.user_id)
    return render(request, "account.html", actor=actor, keys=keys, created=key)


@router.post("/console/account/api-keys/{key_id}/revoke")
def account_revoke_key(
    request: Request,
    key_id: str,
    actor: ConsoleActor,
    service: AuthServiceDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Revoke one of my API keys."""
    check_csrf(request, csrf)
    service.revoke_api_key(actor, key_id)
    return RedirectResponse("/console/account", status_code=303)


# -- users of my organisation -------------------------------------------------------------
USER_DONE = ("created", "password_reset", "deactivated", "activated")
#: Error codes the users page explains in words (others show the code).
USER_ERRORS = (
    "duplicate_username",
    "weak_password",
    "role_not_allowed",
    "own_account",
    "permission_denied",
    "invalid_text",
    "invalid_field",
)
USER_FIELDS = ("username", "display_name", "password", "roles")


def _users_page(
    request: Request,
    actor: Actor,
    session: Session,
    *,
    done: str | None = None,
    error: PlatformError | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    actor.require(Perm.USER_MANAGE)
    directory = DirectoryService(session)
    org = directory.get_org(actor, actor.org_id)
    users = directory.users.of_org(org.id, limit=500).items
    return render(
        request,
        "users.html",
        actor=actor,
        org=org,
        users=users,
        roles=directory.roles_grantable(actor, org),
        done=done if done in USER_DONE else None,
        error=error,
        user_errors=USER_ERRORS,
        form=form or {},
        status_code=error.status_code if error else 200,
    )


@router.get("/console/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Users of my organisation: add, reset a password, (de)activate."""
    return _users_page(request, actor, session, done=done)


@router.post("/console/users", response_model=None)
def users_create(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Add a user to my organisation (roles fit for its type)."""
    check_csrf(request, csrf)
    form = {"username": username, "display_name": display_name, "roles": roles or []}
    try:
        body = _user_form(username, display_name, password, roles or [])
        DirectoryService(session).create_user(
            actor,
            actor.org_id,
            username=body.username,
            display_name=body.display_name,
            password=body.password,
            roles=body.roles,
            locale=page_lang(request),
        )
    except PlatformError as exc:
        return _users_page(request, actor, session, error=exc, form=form)
    return RedirectResponse("/console/users?done=created", status_code=303)


def _user_form(username: str, display_name: str, password: str, roles: list[str]) -> UserIn:
    """The console form as the API's :class:`UserIn`; field errors as ``invalid_field``."""
    try:
        return UserIn(username=username, display_name=display_name, password=password, roles=roles)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")} & set(USER_FIELDS))
        raise Invalid(fields, code="invalid_field") from exc


@router.post("/console/users/{user_id}/password", response_model=None)
def users_reset_password(
    request: Request,
    user_id: str,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Set a new password for a user of my organisation (not myself)."""
    check_csrf(request, csrf)
    try:
        DirectoryService(session).reset_password(actor, user_id, password)
    except PlatformError as exc:
        return _users_page(request, actor, session, error=exc)
    return RedirectResponse("/console/users?done=password_reset", status_code=303)


@router.post("/console/users/{user_id}/active", response_model=None)
def users_set_active(
    request: Request,
    user_id: str,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    active: Annotated[int, Form(ge=0, le=1)],
) -> Response:
    """Deactivate or reactivate a user of my organisation (never myself)."""
    check_csrf(request, csrf)
    try:
        DirectoryService(session).update_user(actor, user_id, {"is_active": bool(active)})
    except PlatformError as exc:
        return _users_page(request, actor, session, error=exc)
    done = "activated" if active else "deactivated"
    return RedirectResponse(f"/console/users?done={done}", status_code=303)


@router.get("/console/access-log", response_class=HTMLResponse)
def access_log(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Administrative audit trail within my scope."""
    actor.require(Perm.ACCESS_LOG_READ)
    limit = 50
    result = AccessEventRepo(session).search(actor, limit=limit, offset=(page - 1) * limit)
    users = UserRepo(session).names({e.actor_user_id for e in result.items if e.actor_user_id})
    orgs = OrganisationRepo(session).by_ids(
        {o for e in result.items for o in (e.actor_org_id, e.target_org_id) if o}
    )
    return render(
        request,
        "access_log.html",
        actor=actor,
        result=result,
        users=users,
        orgs=orgs,
        page=page,
        pages=pages(result.total, limit),
    )


@router.get("/console/audit", response_class=HTMLResponse)
def audit_page(request: Request, actor: ConsoleActor, session: SessionDep) -> HTMLResponse:
    """The log's signed head and the latest events the actor may read."""
    log = AuditLog(session, request.app.state.log_signer)
    cp = log.checkpoint()
    stmt = select(LogLeaf).order_by(LogLeaf.idx.desc()).limit(50)
    if not actor.is_platform_admin:
        visible = select(Organisation.id).where(org_scope_clause(actor))
        stmt = stmt.where(or_(LogLeaf.org_id.is_(None), LogLeaf.org_id.in_(visible)))
    leaves = list(session.scalars(stmt))
    key = base64.b64encode(log.signer.public_key).decode()
    return render(request, "audit.html", actor=actor, cp=cp, leaves=leaves, public_key=key)


def console_error(request: Request, exc: Exception) -> Response:
    """Render errors on console pages as HTML (login redirect for 401)."""
    if isinstance(exc, PlatformError) and exc.status_code == 401:
        return RedirectResponse("/console/login", status_code=303)
    code = exc.code if isinstance(exc, PlatformError) else "internal_error"
    status = exc.status_code if isinstance(exc, PlatformError) else 500
    return render(
        request,
        "error.html",
        actor=getattr(request.state, "actor", None),
        status_code=status,
        code=code,
        status=status,
    )


def _optional_actor(request: Request) -> Actor | None:
    """The console session's actor if there is a valid one (for pages outside any route)."""
    token = request.cookies.get(SESSION_COOKIE)
    session = getattr(request.state, "session", None)
    if not token or session is None:
        return None
    service = AuthService(session, request.app.state.codec)
    try:
        actor = service.actor_from_token(token)
    except Unauthorized:
        return None
    except SQLAlchemyError:
        # A busy database must not turn a 404 page into a 500: show it without the menu.
        logger.warning("console 404 page rendered without the session's actor", exc_info=True)
        return None
    request.state.actor = actor
    return actor


def install_console_not_found(app: FastAPI) -> None:
    """Console URLs that match no route (or not with this method) get the console's page.

    Wraps the app's handler for Starlette's ``HTTPException`` (install it after
    :func:`greencircle.api.errors.install_error_handlers`): paths under ``/console`` get
    the HTML error page, in the page language and with the menu when signed in; every
    other path keeps the JSON answer.
    """
    previous = app.exception_handlers[StarletteHTTPException]

    async def handler(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if isinstance(exc, StarletteHTTPException) and (
            path == "/console" or path.startswith("/console/")
        ):
            err: PlatformError = NotFound(str(exc.detail), code="not_found")
            if exc.status_code != 404:
                err = PlatformError(str(exc.detail), code="method_not_allowed")
            err.status_code = exc.status_code
            # The token check reads the database: in a worker thread, never on the event
            # loop (a blocked loop stalls the commit of whoever holds SQLite's write lock).
            await anyio.to_thread.run_sync(_optional_actor, request)
            return console_error(request, err)
        answer = previous(request, exc)
        return answer if isinstance(answer, Response) else await answer

    app.add_exception_handler(StarletteHTTPException, handler)
