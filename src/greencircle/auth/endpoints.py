"""HTTP routes for authentication, jurisdictions, organisations, users and facilities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm

from greencircle.api.deps import (
    AuthServiceDep,
    CurrentActor,
    PageDep,
    SessionDep,
    client_address,
    credential_from_request,
)
from greencircle.auth.repository import (
    AccessEventRepo,
    CredentialRepo,
    JurisdictionRepo,
    UserRepo,
)
from greencircle.auth.roles import OrgType, Perm
from greencircle.auth.schemas import (
    AccessEventOut,
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    FacilityIn,
    FacilityOut,
    JurisdictionOut,
    MeOut,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    PageOut,
    PasswordChangeIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from greencircle.auth.service import DirectoryService
from greencircle.kit.text import SafeText

router = APIRouter(prefix="/v1")


@router.post("/auth/token", response_model=TokenOut, tags=["auth"])
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    service: AuthServiceDep,
) -> TokenOut:
    """OAuth2 password flow: exchange a username and password for a bearer token."""
    issued, _user = service.login(form.username, form.password, client_address(request))
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in_s)


@router.post("/auth/revoke", tags=["auth"])
def revoke(request: Request, actor: CurrentActor, service: AuthServiceDep) -> dict[str, bool]:
    """Revoke the bearer token used for this request (log out)."""
    if actor.auth_method == "token":
        token = credential_from_request(request)
        assert token is not None
        service.revoke_token(token)
    return {"revoked": actor.auth_method == "token"}


@router.get("/auth/me", response_model=MeOut, tags=["auth"])
def me(actor: CurrentActor, service: AuthServiceDep) -> MeOut:
    """Who am I: user, organisation, jurisdiction, roles and permissions."""
    user = service.users.require(actor.user_id)
    return MeOut(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        locale=user.locale,
        organisation=OrganisationOut.model_validate(user.organisation),
        organisation_type=actor.org_type.value,
        jurisdiction_code=actor.org_jurisdiction_code,
        roles=sorted(r.value for r in actor.roles),
        permissions=sorted(p.value for p in actor.perms),
        auth_method=actor.auth_method,
    )


@router.post("/auth/password", tags=["auth"])
def change_password(
    body: PasswordChangeIn, actor: CurrentActor, service: AuthServiceDep
) -> dict[str, bool]:
    """Change my password; every token issued before stops working."""
    service.change_password(actor, body.current_password, body.new_password)
    return {"changed": True}


@router.get("/auth/api-keys", response_model=list[ApiKeyOut], tags=["auth"])
def list_api_keys(actor: CurrentActor, session: SessionDep) -> list[ApiKeyOut]:
    """My API keys (secrets are never shown again)."""
    return [ApiKeyOut.model_validate(k) for k in CredentialRepo(session).keys_of(actor.user_id)]


@router.post("/auth/api-keys", response_model=ApiKeyCreatedOut, status_code=201, tags=["auth"])
def create_api_key(
    body: ApiKeyIn, actor: CurrentActor, service: AuthServiceDep
) -> ApiKeyCreatedOut:
    """Create an API key for machine clients, acting as me. The secret is returned once."""
    row, key = service.create_api_key(actor, body.name, body.expires_in_days)
    return ApiKeyCreatedOut(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.delete("/auth/api-keys/{key_id}", response_model=ApiKeyOut, tags=["auth"])
def revoke_api_key(key_id: str, actor: CurrentActor, service: AuthServiceDep) -> ApiKeyOut:
    """Revoke one of my API keys."""
    return ApiKeyOut.model_validate(service.revoke_api_key(actor, key_id))


@router.get("/jurisdictions", response_model=list[JurisdictionOut], tags=["directory"])
def list_jurisdictions(
    actor: CurrentActor,
    session: SessionDep,
    parent: Annotated[SafeText | None, Query(max_length=24)] = None,
    level: Annotated[str | None, Query(pattern="^(country|province|city|district)$")] = None,
) -> list[JurisdictionOut]:
    """The region tree (public within the platform)."""
    actor.require(Perm.DIRECTORY_READ)
    rows = JurisdictionRepo(session).list(parent, level)
    return [JurisdictionOut.model_validate(j) for j in rows]


@router.get("/jurisdictions/{code}", response_model=JurisdictionOut, tags=["directory"])
def get_jurisdiction(code: str, actor: CurrentActor, session: SessionDep) -> JurisdictionOut:
    """One jurisdiction."""
    actor.require(Perm.DIRECTORY_READ)
    return JurisdictionOut.model_validate(JurisdictionRepo(session).require(code))


@router.get("/organisations", response_model=PageOut[OrganisationOut], tags=["directory"])
def list_organisations(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    org_type: Annotated[OrgType | None, Query(alias="type")] = None,
    jurisdiction: Annotated[SafeText | None, Query(max_length=24)] = None,
    sector: Annotated[SafeText | None, Query(max_length=40)] = None,
    q: Annotated[SafeText | None, Query(max_length=100)] = None,
) -> PageOut[OrganisationOut]:
    """Organisations visible to me, filtered, sorted and paged."""
    actor.require(Perm.ORG_READ)
    service = DirectoryService(session)
    path = None
    if jurisdiction:
        path = service.jurisdictions.require(jurisdiction).path
    result = service.orgs.search(
        actor,
        org_type=org_type.value if org_type else None,
        jurisdiction_path=path,
        sector=sector,
        q=q,
        sort=page.sort or "code",
        limit=page.limit,
        offset=page.offset,
    )
    return PageOut[OrganisationOut](
        items=[OrganisationOut.model_validate(o) for o in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post("/organisations", response_model=OrganisationOut, status_code=201, tags=["directory"])
def create_organisation(
    body: OrganisationIn, actor: CurrentActor, session: SessionDep
) -> OrganisationOut:
    """Register an organisation (platform admin; regulators within their jurisdiction)."""
    org = DirectoryService(session).create_org(actor, body.model_dump())
    return OrganisationOut.model_validate(org)


@router.get("/organisations/{org_id}", response_model=OrganisationOut, tags=["directory"])
def get_organisation(org_id: str, actor: CurrentActor, session: SessionDep) -> OrganisationOut:
    """One organisation, if it is in my scope."""
    return OrganisationOut.model_validate(DirectoryService(session).get_org(actor, org_id))


@router.patch("/organisations/{org_id}", response_model=OrganisationOut, tags=["directory"])
def update_organisation(
    org_id: str, body: OrganisationPatch, actor: CurrentActor, session: SessionDep
) -> OrganisationOut:
    """Change an organisation's profile."""
    changes = body.model_dump(exclude_unset=True)
    return OrganisationOut.model_validate(
        DirectoryService(session).update_org(actor, org_id, changes)
    )


@router.get("/organisations/{org_id}/users", response_model=PageOut[UserOut], tags=["directory"])
def list_users(
    org_id: str, actor: CurrentActor, session: SessionDep, page: PageDep
) -> PageOut[UserOut]:
    """Users of an organisation I manage or regulate."""
    actor.require(Perm.USER_READ)
    service = DirectoryService(session)
    org = service.get_org(actor, org_id)
    result = service.users.of_org(
        org.id, sort=page.sort or "username", limit=page.limit, offset=page.offset
    )
    return PageOut[UserOut](
        items=[UserOut.model_validate(u) for u in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/organisations/{org_id}/users", response_model=UserOut, status_code=201, tags=["directory"]
)
def create_user(org_id: str, body: UserIn, actor: CurrentActor, session: SessionDep) -> UserOut:
    """Add a user to an organisation I manage."""
    user = DirectoryService(session).create_user(
        actor,
        org_id,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        roles=body.roles,
        email=body.email,
        locale=body.locale,
    )
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut, tags=["directory"])
def update_user(user_id: str, body: UserPatch, actor: CurrentActor, session: SessionDep) -> UserOut:
    """Change a user's roles, name, locale or active flag."""
    changes = body.model_dump(exclude_unset=True)
    return UserOut.model_validate(DirectoryService(session).update_user(actor, user_id, changes))


@router.get("/facilities", response_model=PageOut[FacilityOut], tags=["directory"])
def list_facilities(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    organisation_id: Annotated[SafeText | None, Query(max_length=26)] = None,
    sector: Annotated[SafeText | None, Query(max_length=40)] = None,
) -> PageOut[FacilityOut]:
    """Facilities of organisations visible to me."""
    actor.require(Perm.FACILITY_READ)
    result = DirectoryService(session).facilities.search(
        actor,
        organisation_id=organisation_id,
        sector=sector,
        sort=page.sort or "code",
        limit=page.limit,
        offset=page.offset,
    )
    return PageOut[FacilityOut](
        items=[FacilityOut.model_validate(f) for f in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/organisations/{org_id}/facilities",
    response_model=FacilityOut,
    status_code=201,
    tags=["directory"],
)
def create_facility(
    org_id: str, body: FacilityIn, actor: CurrentActor, session: SessionDep
) -> FacilityOut:
    """Register a facility of an organisation I manage."""
    facility = DirectoryService(session).create_facility(actor, org_id, body.model_dump())
    return FacilityOut.model_validate(facility)


@router.get("/access-log", response_model=PageOut[AccessEventOut], tags=["audit"])
def access_log(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    action: Annotated[SafeText | None, Query(max_length=64)] = None,
) -> PageOut[AccessEventOut]:
    """Audit trail within my scope: administrative events and every successful mutating
    request (``action`` ``request.post`` ..., with method, route template, target ids and
    status in ``detail``), newest first; times are UTC."""
    actor.require(Perm.ACCESS_LOG_READ)
    result = AccessEventRepo(session).search(
        actor, action=action, sort=page.sort or "-at", limit=page.limit, offset=page.offset
    )
    names = UserRepo(session).names({e.actor_user_id for e in result.items if e.actor_user_id})
    return PageOut[AccessEventOut](
        items=[
            AccessEventOut.model_validate(e).model_copy(
                update={"actor_username": names.get(e.actor_user_id or "", (None,))[0]}
            )
            for e in result.items
        ],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )
