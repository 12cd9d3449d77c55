"""The console's navigation: one list, so every page shows the same menu."""

from __future__ import annotations

from dataclasses import dataclass

from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm


@dataclass(frozen=True)
class NavItem:
    """A menu entry: link, catalog key of its label, and the permission it needs."""

    href: str
    label_key: str
    perm: Perm | None = None


NAV: list[NavItem] = [
    NavItem("/console", "nav.dashboard"),
    NavItem("/console/organisations", "nav.organisations", Perm.ORG_READ),
    NavItem("/console/facilities", "nav.facilities", Perm.FACILITY_READ),
    NavItem("/console/jurisdictions", "nav.jurisdictions", Perm.DIRECTORY_READ),
    NavItem("/console/mrv", "nav.mrv", Perm.MRV_READ),
    NavItem("/console/registry", "nav.registry", Perm.REGISTRY_READ),
    NavItem("/console/exchange", "nav.exchange", Perm.EXCHANGE_READ),
    NavItem("/console/exchange/surveillance", "nav.surveillance", Perm.EXCHANGE_SURVEIL),
    NavItem("/console/exchange/settlement", "nav.settlement", Perm.EXCHANGE_FX),
    NavItem("/console/energy", "nav.energy", Perm.ENERGY_READ),
    NavItem("/console/audit", "nav.audit_log"),
    NavItem("/console/users", "nav.users", Perm.USER_MANAGE),
    NavItem("/console/access-log", "nav.access_log", Perm.ACCESS_LOG_READ),
    NavItem("/console/account", "nav.account"),
]


def nav_for(actor: Actor) -> list[NavItem]:
    """The entries ``actor`` may open."""
    return [item for item in NAV if item.perm is None or item.perm in actor.perms]
