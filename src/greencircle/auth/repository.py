"""All SQL for identity and access."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import delete, func, or_, select

from greencircle.auth.models import (
    AccessEvent,
    ApiKey,
    Facility,
    Jurisdiction,
    LoginAttempt,
    Organisation,
    RevokedToken,
    User,
)
from greencircle.auth.policy import Actor, org_scope_clause
from greencircle.storage.repository import Page, Repository


class JurisdictionRepo(Repository[Jurisdiction]):
    """Region tree."""

    model = Jurisdiction

    def list(self, parent_code: str | None = None, level: str | None = None) -> list[Jurisdiction]:
        """All jurisdictions, optionally the children of ``parent_code`` or one level."""
        stmt = select(Jurisdiction).order_by(Jurisdiction.path)
        if parent_code is not None:
            stmt = stmt.where(Jurisdiction.parent_code == parent_code)
        if level is not None:
            stmt = stmt.where(Jurisdiction.level == level)
        return list(self.session.scalars(stmt))


class OrganisationRepo(Repository[Organisation]):
    """Organisations, always filtered by what the actor may see."""

    def by_ids(self, org_ids: set[str]) -> dict[str, Organisation]:
        """``{id: organisation}`` for the given ids (one query; no scope filter)."""
        if not org_ids:
            return {}
        stmt = select(Organisation).where(Organisation.id.in_(org_ids))
        return {o.id: o for o in self.session.scalars(stmt)}

    model = Organisation
    SORTABLE: ClassVar[dict[str, Any]] = {
        "code": Organisation.code,
        "name_en": Organisation.name_en,
        "name_zh": Organisation.name_zh,
        "org_type": Organisation.org_type,
        "jurisdiction_code": Organisation.jurisdiction_code,
        "created_at": Organisation.created_at,
    }

    def by_code(self, code: str) -> Organisation | None:
        """Organisation with business code ``code``."""
        return self.session.scalar(select(Organisation).where(Organisation.code == code))

    def search(
        self,
        actor: Actor,
        *,
        org_type: str | None = None,
        jurisdiction_path: str | None = None,
        sector: str | None = None,
        q: str | None = None,
        sort: str | None = "code",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Organisation]:
        """Visible organisations matching the filters, one page."""
        stmt = select(Organisation).where(org_scope_clause(actor))
        if org_type:
            stmt = stmt.where(Organisation.org_type == org_type)
        if sector:
            stmt = stmt.where(Organisation.sector == sector)
        if jurisdiction_path:
            stmt = stmt.where(
                Organisation.jurisdiction_code.in_(
                    select(Jurisdiction.code).where(
                        Jurisdiction.path.startswith(jurisdiction_path, autoescape=True)
                    )
                )
            )
        if q:
            # a substring, not a pattern: ``%`` and ``_`` in ``q`` match themselves
            low = q.lower()
            stmt = stmt.where(
                or_(
                    func.lower(Organisation.name_en).contains(low, autoescape=True),
                    Organisation.name_zh.contains(q, autoescape=True),
                    func.lower(Organisation.code).contains(low, autoescape=True),
                )
            )
        return self.paginate(stmt, limit=limit, offset=offset, sort=sort, sortable=self.SORTABLE)


class FacilityRepo(Repository[Facility]):
    """Facilities of organisations."""

    model = Facility
    SORTABLE: ClassVar[dict[str, Any]] = {
        "code": Facility.code,
        "name_en": Facility.name_en,
        "sector": Facility.sector,
        "jurisdiction_code": Facility.jurisdiction_code,
    }

    def by_code(self, organisation_id: str, code: str) -> Facility | None:
        """Facility ``code`` of one organisation."""
        stmt = select(Facility).where(
            Facility.organisation_id == organisation_id, Facility.code == code
        )
        return self.session.scalar(stmt)

    def search(
        self,
        actor: Actor,
        *,
        organisation_id: str | None = None,
        sector: str | None = None,
        sort: str | None = "code",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Facility]:
        """Facilities of organisations the actor may see."""
        visible = select(Organisation.id).where(org_scope_clause(actor))
        stmt = select(Facility).where(Facility.organisation_id.in_(visible))
        if organisation_id:
            stmt = stmt.where(Facility.organisation_id == organisation_id)
        if sector:
            stmt = stmt.where(Facility.sector == sector)
        return self.paginate(stmt, limit=limit, offset=offset, sort=sort, sortable=self.SORTABLE)


class UserRepo(Repository[User]):
    """Users and their roles."""

    model = User
    SORTABLE: ClassVar[dict[str, Any]] = {"username": User.username, "created_at": User.created_at}

    def by_username(self, username: str) -> User | None:
        """User with login name ``username``."""
        return self.session.scalar(select(User).where(User.username == username))

    def names(self, user_ids: set[str]) -> dict[str, tuple[str, str]]:
        """``{user id: (username, display name)}`` for the given ids (one query)."""
        if not user_ids:
            return {}
        stmt = select(User.id, User.username, User.display_name).where(User.id.in_(user_ids))
        return {uid: (username, name) for uid, username, name in self.session.execute(stmt)}

    def of_org(
        self, org_id: str, *, sort: str | None = "username", limit: int = 50, offset: int = 0
    ) -> Page[User]:
        """Users of one organisation."""
        stmt = select(User).where(User.organisation_id == org_id)
        return self.paginate(stmt, limit=limit, offset=offset, sort=sort, sortable=self.SORTABLE)


class CredentialRepo(Repository[ApiKey]):
    """API keys, revoked tokens and login attempts."""

    model = ApiKey

    def key_by_prefix(self, prefix: str) -> ApiKey | None:
        """API key with public prefix ``prefix``."""
        return self.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))

    def keys_of(self, user_id: str) -> list[ApiKey]:
        """All API keys of a user, newest first."""
        stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc())
        return list(self.session.scalars(stmt))

    def revoke_keys_of(self, user_id: str, now: datetime) -> int:
        """Revoke every unrevoked API key of a user; return how many."""
        keys = [k for k in self.keys_of(user_id) if k.revoked_at is None]
        for key in keys:
            key.revoked_at = now
        self.session.flush()
        return len(keys)

    def is_revoked(self, jti: str) -> bool:
        """Whether the token ``jti`` was revoked."""
        return self.session.get(RevokedToken, jti) is not None

    def revoke(self, jti: str, expires_at: datetime) -> None:
        """Record a revoked token (idempotent)."""
        if not self.is_revoked(jti):
            self.session.add(RevokedToken(jti=jti, expires_at=expires_at))
            self.session.flush()

    def purge_revoked(self, now: datetime) -> int:
        """Drop revocations of tokens that have expired anyway."""
        result = self.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
        return int(getattr(result, "rowcount", 0) or 0)

    def record_login(self, username: str, client_ip: str, succeeded: bool) -> None:
        """Store one login attempt."""
        self.session.add(LoginAttempt(username=username, client_ip=client_ip, succeeded=succeeded))
        self.session.flush()

    def recent_failures(self, username: str, client_key: str, since: datetime) -> tuple[int, int]:
        """Failed logins since ``since``: of this account from everywhere, and from this client.

        Returns
        -------
        tuple of int
            ``(account, account_from_client)``.
        """
        base = (
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.at >= since,
                LoginAttempt.succeeded.is_(False),
            )
        )
        by_account = self.session.scalar(base) or 0
        from_client = self.session.scalar(base.where(LoginAttempt.client_ip == client_key)) or 0
        return int(by_account), int(from_client)


class AccessEventRepo(Repository[AccessEvent]):
    """The administrative audit trail."""

    model = AccessEvent
    SORTABLE: ClassVar[dict[str, Any]] = {"at": AccessEvent.at, "action": AccessEvent.action}

    def search(
        self,
        actor: Actor,
        *,
        action: str | None = None,
        sort: str | None = "-at",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[AccessEvent]:
        """Events about organisations the actor may see (or done by its own org)."""
        stmt = select(AccessEvent)
        if not actor.is_platform_admin:
            visible = select(Organisation.id).where(org_scope_clause(actor))
            stmt = stmt.where(
                or_(
                    AccessEvent.target_org_id.in_(visible),
                    AccessEvent.actor_org_id == actor.org_id,
                )
            )
        if action:
            stmt = stmt.where(AccessEvent.action == action)
        return self.paginate(stmt, limit=limit, offset=offset, sort=sort, sortable=self.SORTABLE)
