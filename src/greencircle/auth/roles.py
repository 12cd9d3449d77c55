"""Organisation types, roles and the permission matrix (data, not scattered ``if``s)."""

from __future__ import annotations

from enum import StrEnum


class OrgType(StrEnum):
    """Kinds of organisation on the platform."""

    PLATFORM = "platform"  # platform secretariat / operator of the platform itself
    REGULATOR = "regulator"  # ecology & environment bureaus
    ENTERPRISE = "enterprise"  # key emitting units and other companies
    VERIFIER = "verifier"  # third-party verification bodies
    EXCHANGE_OPERATOR = "exchange_operator"
    SETTLEMENT_BANK = "settlement_bank"
    FINANCIAL_INSTITUTION = "financial_institution"
    INDIVIDUAL = "individual"  # citizens (carbon inclusion)


class Role(StrEnum):
    """Roles a user can hold within its organisation."""

    PLATFORM_ADMIN = "platform_admin"
    ORG_ADMIN = "org_admin"  # manages its own organisation's users and profile
    REGULATOR = "regulator"
    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_REPORTER = "enterprise_reporter"
    VERIFIER = "verifier"
    EXCHANGE_OPERATOR = "exchange_operator"
    SETTLEMENT_BANK = "settlement_bank"
    FINANCIAL_INSTITUTION = "financial_institution"
    INDIVIDUAL = "individual"


#: Which organisation types may hold each role.
ROLE_ORG_TYPES: dict[Role, frozenset[OrgType]] = {
    Role.PLATFORM_ADMIN: frozenset({OrgType.PLATFORM}),
    Role.ORG_ADMIN: frozenset(OrgType),
    Role.REGULATOR: frozenset({OrgType.REGULATOR}),
    Role.ENTERPRISE_ADMIN: frozenset({OrgType.ENTERPRISE}),
    Role.ENTERPRISE_REPORTER: frozenset({OrgType.ENTERPRISE}),
    Role.VERIFIER: frozenset({OrgType.VERIFIER}),
    Role.EXCHANGE_OPERATOR: frozenset({OrgType.EXCHANGE_OPERATOR}),
    Role.SETTLEMENT_BANK: frozenset({OrgType.SETTLEMENT_BANK}),
    Role.FINANCIAL_INSTITUTION: frozenset({OrgType.FINANCIAL_INSTITUTION}),
    Role.INDIVIDUAL: frozenset({OrgType.INDIVIDUAL}),
}


class Perm(StrEnum):
    """Permissions checked by endpoints. Scope (own org, jurisdiction) is checked apart."""

    DIRECTORY_READ = "directory.read"
    ORG_READ = "org.read"
    ORG_CREATE = "org.create"
    ORG_UPDATE = "org.update"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    FACILITY_READ = "facility.read"
    FACILITY_MANAGE = "facility.manage"
    ACCESS_LOG_READ = "access_log.read"
    # registry (issue #4): holdings, movements, compliance, supervision
    REGISTRY_READ = "registry.read"  # own accounts, balances, serials, proofs
    REGISTRY_TRANSFER = "registry.transfer"  # transfer / approve own organisation's transfers
    REGISTRY_SURRENDER = "registry.surrender"  # surrender for compliance
    REGISTRY_RETIRE = "registry.retire"  # voluntary retirement
    REGISTRY_PLEDGE = "registry.pledge"  # pledge (pledgor) / release, enforce (pledgee)
    REGISTRY_SUPERVISE = "registry.supervise"  # read accounts in jurisdiction, pledge register
    REGISTRY_ALLOCATE = "registry.allocate"  # allocation plans (four-eyes)
    REGISTRY_ISSUE = "registry.issue"  # issue offsets and other rights
    REGISTRY_FREEZE = "registry.freeze"  # freeze / unfreeze with a reason
    REGISTRY_HOLD = "registry.hold"  # exchange: reserve, post, void, settle DvP
    REGISTRY_CASH = "registry.cash"  # settlement bank: deposits and withdrawals
    MRV_READ = "mrv.read"  # activity data, reports, findings (scope-checked)
    MRV_SUBMIT = "mrv.submit"  # upload activity data, open and submit reports
    MRV_VERIFY = "mrv.verify"  # verify, adjust or return an assigned report
    MRV_SUPERVISE = "mrv.supervise"  # assign verifiers, lock verified reports
    ENERGY_READ = "energy.read"  # microgrid sites and studies
    ENERGY_MANAGE = "energy.manage"  # create sites, run studies
    EXCHANGE_READ = "exchange.read"  # own orders and trades (market data is public)
    EXCHANGE_TRADE = "exchange.trade"  # enter, amend and cancel own orders
    EXCHANGE_OPERATE = "exchange.operate"  # operate the exchange (all orders, cancels)
    EXCHANGE_AUCTION = "exchange.auction"  # an authority's own auctions (create, run)
    EXCHANGE_SURVEIL = "exchange.surveil"  # market surveillance alerts (own jurisdiction)
    EXCHANGE_FX = "exchange.fx"  # record FX rate snapshots, settlement reports


_EVERYONE = {Perm.DIRECTORY_READ, Perm.ORG_READ}

#: The permission matrix: role -> permissions. Tests walk this table.
ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.PLATFORM_ADMIN: frozenset(Perm),
    Role.ORG_ADMIN: frozenset(
        _EVERYONE
        | {Perm.ORG_UPDATE, Perm.USER_READ, Perm.USER_MANAGE, Perm.FACILITY_READ}
        | {Perm.ACCESS_LOG_READ}
    ),
    Role.REGULATOR: frozenset(
        _EVERYONE
        | {Perm.ORG_CREATE, Perm.ORG_UPDATE, Perm.USER_READ, Perm.FACILITY_READ}
        | {Perm.FACILITY_MANAGE, Perm.ACCESS_LOG_READ, Perm.ENERGY_READ}
    ),
    Role.ENTERPRISE_ADMIN: frozenset(
        _EVERYONE
        | {Perm.ORG_UPDATE, Perm.USER_READ, Perm.USER_MANAGE, Perm.FACILITY_READ}
        | {Perm.FACILITY_MANAGE, Perm.ENERGY_READ, Perm.ENERGY_MANAGE}
    ),
    Role.ENTERPRISE_REPORTER: frozenset(_EVERYONE | {Perm.FACILITY_READ, Perm.ENERGY_READ}),
    Role.VERIFIER: frozenset(_EVERYONE | {Perm.FACILITY_READ}),
    Role.EXCHANGE_OPERATOR: frozenset(_EVERYONE),
    Role.SETTLEMENT_BANK: frozenset(_EVERYONE),
    Role.FINANCIAL_INSTITUTION: frozenset(_EVERYONE),
    Role.INDIVIDUAL: frozenset(_EVERYONE),
}


#: Registry permissions per role (issue #4), merged into :data:`ROLE_PERMS`.
_REGISTRY_ROLE_PERMS: dict[Role, set[Perm]] = {
    Role.REGULATOR: {
        Perm.REGISTRY_READ,
        Perm.REGISTRY_SUPERVISE,
        Perm.REGISTRY_ALLOCATE,
        Perm.REGISTRY_ISSUE,
        Perm.REGISTRY_FREEZE,
    },
    Role.ENTERPRISE_ADMIN: {
        Perm.REGISTRY_READ,
        Perm.REGISTRY_TRANSFER,
        Perm.REGISTRY_SURRENDER,
        Perm.REGISTRY_RETIRE,
        Perm.REGISTRY_PLEDGE,
    },
    Role.ENTERPRISE_REPORTER: {Perm.REGISTRY_READ},
    Role.EXCHANGE_OPERATOR: {Perm.REGISTRY_HOLD},
    Role.SETTLEMENT_BANK: {Perm.REGISTRY_CASH},
    Role.FINANCIAL_INSTITUTION: {
        Perm.REGISTRY_READ,
        Perm.REGISTRY_TRANSFER,
        Perm.REGISTRY_RETIRE,
        Perm.REGISTRY_PLEDGE,
    },
    Role.INDIVIDUAL: {Perm.REGISTRY_READ, Perm.REGISTRY_RETIRE},
}
ROLE_PERMS.update({r: ROLE_PERMS[r] | p for r, p in _REGISTRY_ROLE_PERMS.items()})

_MRV_ROLE_PERMS: dict[Role, set[Perm]] = {
    Role.REGULATOR: {Perm.MRV_READ, Perm.MRV_SUPERVISE},
    Role.ENTERPRISE_ADMIN: {Perm.MRV_READ, Perm.MRV_SUBMIT},
    Role.ENTERPRISE_REPORTER: {Perm.MRV_READ, Perm.MRV_SUBMIT},
    Role.VERIFIER: {Perm.MRV_READ, Perm.MRV_VERIFY},
}
ROLE_PERMS.update({r: ROLE_PERMS[r] | p for r, p in _MRV_ROLE_PERMS.items()})

_EXCHANGE_ROLE_PERMS: dict[Role, set[Perm]] = {
    Role.ENTERPRISE_ADMIN: {Perm.EXCHANGE_READ, Perm.EXCHANGE_TRADE},
    Role.FINANCIAL_INSTITUTION: {Perm.EXCHANGE_READ, Perm.EXCHANGE_TRADE},
    Role.EXCHANGE_OPERATOR: {
        Perm.EXCHANGE_READ,
        Perm.EXCHANGE_OPERATE,
        Perm.EXCHANGE_SURVEIL,
        Perm.EXCHANGE_FX,
    },
    Role.REGULATOR: {Perm.EXCHANGE_READ, Perm.EXCHANGE_AUCTION, Perm.EXCHANGE_SURVEIL},
    Role.SETTLEMENT_BANK: {Perm.EXCHANGE_FX},
}
ROLE_PERMS.update({r: ROLE_PERMS[r] | p for r, p in _EXCHANGE_ROLE_PERMS.items()})


def perms_for(roles: frozenset[Role]) -> frozenset[Perm]:
    """Union of the permissions of ``roles``."""
    out: set[Perm] = set()
    for role in roles:
        out |= ROLE_PERMS[role]
    return frozenset(out)
