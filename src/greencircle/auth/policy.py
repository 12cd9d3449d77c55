"""Who may do what: the acting principal and scope checks (organisation, jurisdiction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true

from greencircle.auth.models import Jurisdiction, Organisation
from greencircle.auth.roles import OrgType, Perm, Role, perms_for
from greencircle.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """The authenticated principal of a request or CLI command.

    Attributes
    ----------
    user_id, username
        The user.
    org_id, org_type, org_jurisdiction_code, org_jurisdiction_path
        The user's organisation and where it sits in the region tree.
    roles
        Roles held; ``perms`` is derived from them through :data:`ROLE_PERMS`.
    token_id
        ``jti`` of the bearer token used, or the API key id.
    """

    user_id: str
    username: str
    org_id: str
    org_type: OrgType
    org_jurisdiction_code: str
    org_jurisdiction_path: str
    roles: frozenset[Role]
    auth_method: str = "token"
    token_id: str = ""
    perms: frozenset[Perm] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "perms", perms_for(self.roles))

    @property
    def is_platform_admin(self) -> bool:
        """Holds the platform-wide administrator role."""
        return Role.PLATFORM_ADMIN in self.roles

    @property
    def is_regulator(self) -> bool:
        """Holds the regulator role (scope: its organisation's jurisdiction subtree)."""
        return Role.REGULATOR in self.roles

    def require(self, perm: Perm) -> None:
        """Raise :class:`Forbidden` unless the actor holds ``perm``."""
        if perm not in self.perms:
            raise Forbidden(
                f"role(s) {sorted(self.roles)} lack permission {perm.value}",
                code="permission_denied",
            )

    def covers_path(self, jurisdiction_path: str) -> bool:
        """Whether ``jurisdiction_path`` lies in the actor's regulatory scope."""
        if self.is_platform_admin:
            return True
        return self.is_regulator and jurisdiction_path.startswith(self.org_jurisdiction_path)


def org_scope_clause(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on :class:`Organisation` selecting the organisations ``actor`` may see.

    Platform administrators see all; regulators see organisations in their jurisdiction
    subtree; everybody else sees only their own organisation. Later capabilities widen
    this through explicit relations (a verifier's assignments, a bank's clients).
    """
    if actor.is_platform_admin:
        return true()
    own = Organisation.id == actor.org_id
    if actor.is_regulator:
        in_scope = Organisation.jurisdiction_code.in_(
            select(Jurisdiction.code).where(
                Jurisdiction.path.startswith(actor.org_jurisdiction_path, autoescape=True)
            )
        )
        return or_(own, in_scope)
    return own


def can_see_org(actor: Actor, org: Organisation) -> bool:
    """Python mirror of :func:`org_scope_clause` for one loaded organisation."""
    if actor.is_platform_admin or org.id == actor.org_id:
        return True
    return actor.is_regulator and org.jurisdiction.path.startswith(actor.org_jurisdiction_path)


def can_manage_org(actor: Actor, org: Organisation) -> bool:
    """Whether ``actor`` may change ``org``'s profile, users or facilities.

    Platform admins: any. Regulators: organisations in their jurisdiction other than
    regulators. Organisation and enterprise admins: their own organisation.
    """
    if actor.is_platform_admin:
        return True
    if actor.is_regulator and org.org_type != OrgType.REGULATOR and can_see_org(actor, org):
        return True
    own_admin = {Role.ORG_ADMIN, Role.ENTERPRISE_ADMIN} & actor.roles
    return bool(own_admin) and org.id == actor.org_id


def require_org_visible(actor: Actor, org: Organisation) -> None:
    """Raise :class:`Forbidden` (``org_out_of_scope``) if ``actor`` may not see ``org``."""
    if not can_see_org(actor, org):
        raise Forbidden("this organisation is outside your scope", code="org_out_of_scope")


def require_org_manageable(actor: Actor, org: Organisation) -> None:
    """Raise :class:`Forbidden` (``org_out_of_scope``) if ``actor`` may not manage ``org``."""
    if not can_manage_org(actor, org):
        raise Forbidden("you may not change this organisation", code="org_out_of_scope")


def actor_summary(actor: Actor) -> dict[str, Any]:
    """JSON-friendly description of an actor (for ``/v1/auth/me`` and the console)."""
    return {
        "user_id": actor.user_id,
        "username": actor.username,
        "organisation_id": actor.org_id,
        "organisation_type": actor.org_type.value,
        "jurisdiction_code": actor.org_jurisdiction_code,
        "roles": sorted(r.value for r in actor.roles),
        "permissions": sorted(p.value for p in actor.perms),
        "auth_method": actor.auth_method,
    }
