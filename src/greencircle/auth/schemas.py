"""Pydantic models for identity and access (API in and out). Unknown fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from greencircle.auth.roles import OrgType, Role
from greencircle.kit.text import SafeText

T = TypeVar("T")

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"


class In(BaseModel):
    """Base of request bodies: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Patch(In):
    """Base of partial updates: omitted fields stay as they are; ``null`` is refused (422)
    except for the fields in ``nullable``, which it clears."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_nullable(self) -> Self:
        for name in sorted(self.model_fields_set - self.nullable):
            if getattr(self, name) is None:
                raise ValueError(f"{name} may be omitted but not null")
        return self


class Out(BaseModel):
    """Base of responses, built from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    """A page of a listing."""

    items: list[T]
    total: int
    limit: int
    offset: int


class TokenOut(BaseModel):
    """OAuth2 token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class JurisdictionOut(Out):
    code: str
    parent_code: str | None
    level: str
    name_en: str
    name_zh: str
    sco_member: bool


class OrganisationOut(Out):
    id: str
    code: str
    org_type: OrgType
    name_en: str
    name_zh: str
    jurisdiction_code: str
    sector: str | None
    registration_no: str | None
    is_active: bool
    created_at: datetime


class OrganisationIn(In):
    code: str = Field(pattern=CODE_PATTERN)
    org_type: OrgType
    name_en: SafeText = Field(min_length=1, max_length=200)
    name_zh: SafeText = Field(min_length=1, max_length=200)
    jurisdiction_code: SafeText = Field(min_length=2, max_length=24)
    sector: SafeText | None = Field(default=None, max_length=40)
    registration_no: SafeText | None = Field(default=None, max_length=40)


class OrganisationPatch(Patch):
    nullable = frozenset({"sector", "registration_no"})

    name_en: Annotated[SafeText, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    name_zh: Annotated[SafeText, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    sector: SafeText | None = Field(default=None, max_length=40)
    registration_no: SafeText | None = Field(default=None, max_length=40)
    is_active: StrictBool | SkipJsonSchema[None] = None


class FacilityOut(Out):
    id: str
    organisation_id: str
    code: str
    name_en: str
    name_zh: str
    sector: str
    jurisdiction_code: str
    latitude_deg: float | None
    longitude_deg: float | None


class FacilityIn(In):
    code: str = Field(pattern=CODE_PATTERN)
    name_en: SafeText = Field(min_length=1, max_length=200)
    name_zh: SafeText = Field(min_length=1, max_length=200)
    sector: SafeText = Field(min_length=1, max_length=40)
    jurisdiction_code: SafeText = Field(min_length=2, max_length=24)
    latitude_deg: float | None = Field(default=None, ge=-90, le=90)
    longitude_deg: float | None = Field(default=None, ge=-180, le=180)


class UserOut(Out):
    id: str
    username: str
    display_name: str
    email: str | None
    organisation_id: str
    locale: str
    is_active: bool
    roles: list[str]
    created_at: datetime


class UserIn(In):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{2,63}$")
    display_name: SafeText = Field(min_length=1, max_length=120)
    password: str = Field(min_length=10, max_length=200)
    roles: list[Role] = Field(min_length=1)
    email: EmailStr | None = None
    locale: str = Field(default="zh-CN", pattern=r"^(zh-CN|en)$")


class UserPatch(Patch):
    nullable = frozenset({"email"})

    display_name: (
        Annotated[SafeText, Field(min_length=1, max_length=120)] | SkipJsonSchema[None]
    ) = None
    roles: Annotated[list[Role], Field(min_length=1)] | SkipJsonSchema[None] = None
    is_active: StrictBool | SkipJsonSchema[None] = None
    email: EmailStr | None = None
    locale: Annotated[str, Field(pattern=r"^(zh-CN|en)$")] | SkipJsonSchema[None] = None


class PasswordChangeIn(In):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class ApiKeyIn(In):
    name: SafeText = Field(min_length=1, max_length=80)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class ApiKeyOut(Out):
    id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The secret; shown once, store it now.")


class AccessEventOut(Out):
    id: str
    at: datetime
    actor_user_id: str | None
    actor_username: str | None = Field(default=None, description="login name of the actor")
    actor_org_id: str | None
    action: str
    target_type: str
    target_id: str
    target_org_id: str | None
    detail: dict[str, Any]


class MeOut(BaseModel):
    user_id: str
    username: str
    display_name: str
    locale: str
    organisation: OrganisationOut
    organisation_type: str
    jurisdiction_code: str
    roles: list[str]
    permissions: list[str]
    auth_method: str
