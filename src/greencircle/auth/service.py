"""Business rules for identity and access. Services never commit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from greencircle.auth.models import AccessEvent, ApiKey, Facility, Organisation, User, UserRole
from greencircle.auth.policy import (
    Actor,
    require_org_manageable,
    require_org_visible,
)
from greencircle.auth.repository import (
    CredentialRepo,
    FacilityRepo,
    JurisdictionRepo,
    OrganisationRepo,
    UserRepo,
)
from greencircle.auth.roles import ROLE_ORG_TYPES, OrgType, Perm, Role
from greencircle.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import as_utc, utcnow

TOKEN_ISSUER = "greencircle"
API_KEY_PREFIX = "gck_"
_hasher = PasswordHasher()
# A hash verified when the username is unknown, so timing does not reveal which users exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (RFC 9106 parameters of argon2-cffi)."""
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    """Reject passwords shorter than 10 characters or made of one character class."""
    if len(password) < 10:
        raise Invalid("password must have at least 10 characters", code="weak_password")
    if password.isalpha() or password.isdigit():
        raise Invalid("password must mix letters and digits or symbols", code="weak_password")


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token and its lifetime."""

    access_token: str
    expires_at: datetime
    expires_in_s: int
    jti: str


class TokenCodec:
    """Signs and verifies HS256 bearer tokens (JWT, RFC 7519)."""

    def __init__(self, secret: str, ttl_minutes: int) -> None:
        self.secret = secret
        self.ttl = timedelta(minutes=ttl_minutes)

    def issue(self, user_id: str, epoch: int = 0, now: datetime | None = None) -> IssuedToken:
        """Issue a token for ``user_id`` valid for the configured TTL.

        ``epoch`` is the user's token epoch; raising it (password change) invalidates
        every token issued before.
        """
        now = now or utcnow()
        exp = now + self.ttl
        jti = new_id()
        claims = {
            "sub": user_id,
            "jti": jti,
            "iat": now,
            "exp": exp,
            "iss": TOKEN_ISSUER,
            "ep": epoch,
        }
        token = jwt.encode(claims, self.secret, algorithm="HS256")
        return IssuedToken(token, exp, int(self.ttl.total_seconds()), jti)

    def decode(self, token: str) -> dict[str, Any]:
        """Verify signature, expiry and issuer; return the claims.

        Raises
        ------
        Unauthorized
            ``token_expired`` or ``invalid_token``.
        """
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                issuer=TOKEN_ISSUER,
                options={"require": ["sub", "jti", "exp", "iat", "ep"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token has expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("token is not valid", code="invalid_token") from exc
        return claims


def actor_for_user(user: User, *, auth_method: str, token_id: str) -> Actor:
    """Build the :class:`Actor` of an active user."""
    org = user.organisation
    roles = frozenset(Role(r) for r in user.roles)
    return Actor(
        user_id=user.id,
        username=user.username,
        org_id=org.id,
        org_type=OrgType(org.org_type),
        org_jurisdiction_code=org.jurisdiction_code,
        org_jurisdiction_path=org.jurisdiction.path,
        roles=roles,
        auth_method=auth_method,
        token_id=token_id,
    )


class AuthService:
    """Login, tokens, API keys, and resolving credentials to an actor."""

    def __init__(
        self,
        session: Session,
        codec: TokenCodec,
        *,
        max_failures: int = 5,
        window_s: int = 900,
    ) -> None:
        self.session = session
        self.codec = codec
        self.users = UserRepo(session)
        self.creds = CredentialRepo(session)
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_s)

    # -- password login -------------------------------------------------------------
    def login(self, username: str, password: str, client_key: str) -> tuple[IssuedToken, User]:
        """Check a password and issue a token, throttling repeated failures.

        The attempt is recorded in its own short transaction, committed even when the
        login fails (the request's own transaction is rolled back on errors).

        Throttling is per account, never per address alone: many people share one address
        behind a NAT or a reverse proxy, and one of them guessing must not lock out the
        others. One client (``client_key``, the proxy-aware address from
        :func:`greencircle.api.deps.client_address`) gets ``max_failures`` failures per
        account and window; all clients together get four times as many per account.

        Raises
        ------
        RateLimited
            ``login_throttled`` when either limit is reached for this account (checked
            before the password, so a correct password does not bypass the lock).
        Unauthorized
            ``invalid_credentials`` for an unknown user, wrong password or inactive user.
        """
        now = utcnow()
        with Session(bind=self.session.get_bind(), expire_on_commit=False) as own, own.begin():
            creds = CredentialRepo(own)
            by_account, from_client = creds.recent_failures(username, client_key, now - self.window)
            if from_client >= self.max_failures or by_account >= self.max_failures * 4:
                raise RateLimited(
                    "too many failed logins; try again later",
                    code="login_throttled",
                    retry_after_s=int(self.window.total_seconds()),
                )
            user = UserRepo(own).by_username(username)
            ok: bool
            try:
                ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                ok = False
            ok = ok and user is not None and user.is_active and user.organisation.is_active
            creds.record_login(username, client_key, ok)
            if ok and user is not None and _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
        if not ok or user is None:
            raise Unauthorized("wrong username or password", code="invalid_credentials")
        return self.codec.issue(user.id, user.token_epoch, now), user

    def revoke_token(self, token: str) -> None:
        """Revoke a bearer token until its expiry (logout)."""
        claims = self.codec.decode(token)
        self.creds.revoke(str(claims["jti"]), datetime.fromtimestamp(int(claims["exp"]), UTC))

    # -- resolving credentials ---------------------------------------------------------
    def actor_from_token(self, token: str) -> Actor:
        """Resolve a bearer token (JWT or API key) to an active actor.

        Raises
        ------
        Unauthorized
            ``invalid_token``, ``token_expired``, ``token_revoked``, ``invalid_api_key``,
            ``api_key_revoked`` or ``user_inactive``.
        """
        if token.startswith(API_KEY_PREFIX):
            return self.actor_from_api_key(token)
        claims = self.codec.decode(token)
        jti = str(claims["jti"])
        if self.creds.is_revoked(jti):
            raise Unauthorized("token has been revoked", code="token_revoked")
        user = self.users.get(str(claims["sub"]))
        if user is None or not user.is_active or not user.organisation.is_active:
            raise Unauthorized("user is not active", code="user_inactive")
        if claims["ep"] != user.token_epoch:
            raise Unauthorized("token predates a password change", code="token_revoked")
        return actor_for_user(user, auth_method="token", token_id=jti)

    def actor_from_api_key(self, key: str) -> Actor:
        """Resolve an API key ``gck_<prefix>_<secret>`` to its user's actor."""
        parts = key.split("_")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise Unauthorized("API key is malformed", code="invalid_api_key")
        row = self.creds.key_by_prefix(parts[1])
        digest = hashlib.sha256(key.encode()).hexdigest()
        if row is None or not hmac.compare_digest(row.key_sha256, digest):
            raise Unauthorized("API key is not valid", code="invalid_api_key")
        now = utcnow()
        if row.revoked_at is not None or (
            row.expires_at is not None and as_utc(row.expires_at) <= now
        ):
            raise Unauthorized("API key is revoked or expired", code="api_key_revoked")
        user = self.users.require(row.user_id)
        if not user.is_active or not user.organisation.is_active:
            raise Unauthorized("user is not active", code="user_inactive")
        row.last_used_at = now
        return actor_for_user(user, auth_method="api_key", token_id=row.id)

    # -- API keys ----------------------------------------------------------------------
    def create_api_key(
        self, actor: Actor, name: str, expires_in_days: int | None
    ) -> tuple[ApiKey, str]:
        """Create an API key for the actor's own user; the secret is returned once."""
        prefix = secrets.token_hex(6)
        key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32).replace('_', 'A')}"
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        row = ApiKey(
            user_id=actor.user_id,
            name=name,
            prefix=prefix,
            key_sha256=hashlib.sha256(key.encode()).hexdigest(),
            expires_at=expires,
        )
        self.creds.add(row)
        record_event(self.session, actor, "api_key.create", "api_key", row.id, actor.org_id)
        return row, key

    def revoke_api_key(self, actor: Actor, key_id: str) -> ApiKey:
        """Revoke one of the actor's own API keys (platform admins: anyone's)."""
        row = self.creds.get(key_id)
        if row is None or (row.user_id != actor.user_id and not actor.is_platform_admin):
            raise NotFound(f"API key {key_id!r} not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            record_event(self.session, actor, "api_key.revoke", "api_key", row.id, actor.org_id)
        return row

    def change_password(self, actor: Actor, current: str, new: str) -> None:
        """Change the actor's own password; older tokens and all API keys stop working."""
        user = self.users.require(actor.user_id)
        try:
            _hasher.verify(user.password_hash, current)
        except (VerificationError, InvalidHashError) as exc:
            raise Unauthorized("current password is wrong", code="invalid_credentials") from exc
        revoked = set_password(self.session, user, new)
        record_event(
            self.session,
            actor,
            "user.password_change",
            "user",
            user.id,
            actor.org_id,
            {"api_keys_revoked": revoked},
        )


def set_password(session: Session, user: User, new: str) -> int:
    """Set ``user``'s password and end every credential issued under the old one.

    Tokens stop working through the token epoch; API keys are revoked, since a key made
    by whoever knew the old password (the reason for a change is often that someone
    else did) would otherwise outlive it.

    Returns
    -------
    int
        Number of API keys revoked.
    """
    check_password_policy(new)
    now = utcnow()
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    user.token_epoch += 1
    return CredentialRepo(session).revoke_keys_of(user.id, now)


def record_event(
    session: Session,
    actor: Actor | None,
    action: str,
    target_type: str,
    target_id: str,
    target_org_id: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one row to the administrative audit trail (same transaction as the change)."""
    session.add(
        AccessEvent(
            actor_user_id=actor.user_id if actor else None,
            actor_org_id=actor.org_id if actor else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_org_id=target_org_id,
            detail=detail or {},
        )
    )


class DirectoryService:
    """Organisations, users and facilities, with scope checks."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.orgs = OrganisationRepo(session)
        self.users = UserRepo(session)
        self.facilities = FacilityRepo(session)
        self.jurisdictions = JurisdictionRepo(session)

    def get_org(self, actor: Actor, org_id: str) -> Organisation:
        """One organisation the actor may see.

        Out-of-scope organisations raise ``org_out_of_scope`` (403): identifiers are
        not secret, contents are.
        """
        actor.require(Perm.ORG_READ)
        org = self.orgs.require(org_id)
        require_org_visible(actor, org)
        return org

    def create_org(self, actor: Actor, data: dict[str, Any]) -> Organisation:
        """Create an organisation (platform admin anywhere; regulator in its jurisdiction)."""
        actor.require(Perm.ORG_CREATE)
        jur = self.jurisdictions.get(data["jurisdiction_code"])
        if jur is None:
            raise Invalid(
                f"unknown jurisdiction {data['jurisdiction_code']!r}", code="unknown_jurisdiction"
            )
        if not actor.covers_path(jur.path):
            raise Forbidden("jurisdiction is outside your scope", code="jurisdiction_out_of_scope")
        if not actor.is_platform_admin and data["org_type"] in {
            OrgType.REGULATOR,
            OrgType.PLATFORM,
        }:
            raise Forbidden(
                "only platform administrators create regulators", code="permission_denied"
            )
        if self.orgs.by_code(data["code"]) is not None:
            raise Conflict(f"organisation code {data['code']!r} exists", code="duplicate_code")
        org = self.orgs.add(Organisation(**data))
        record_event(
            self.session, actor, "org.create", "organisation", org.id, org.id, {"code": org.code}
        )
        return org

    def update_org(self, actor: Actor, org_id: str, changes: dict[str, Any]) -> Organisation:
        """Change an organisation's names, sector or status within the actor's scope."""
        actor.require(Perm.ORG_UPDATE)
        org = self.get_org(actor, org_id)
        require_org_manageable(actor, org)
        if "is_active" in changes:
            # Deactivating an organisation locks out all of its users at once (for a
            # bureau: its four-eyes second approver too), so only platform administrators
            # may do it, and never to their own organisation.
            if not actor.is_platform_admin:
                raise Forbidden(
                    "only platform administrators may (de)activate organisations",
                    code="permission_denied",
                )
            if org.id == actor.org_id:
                raise Forbidden(
                    "nobody may (de)activate their own organisation", code="own_organisation"
                )
        for key, value in changes.items():
            setattr(org, key, value)
        record_event(
            self.session,
            actor,
            "org.update",
            "organisation",
            org.id,
            org.id,
            {"fields": sorted(changes)},
        )
        return org

    def create_user(
        self,
        actor: Actor,
        org_id: str,
        *,
        username: str,
        display_name: str,
        password: str,
        roles: list[Role],
        email: str | None = None,
        locale: str = "zh-CN",
    ) -> User:
        """Create a user in ``org_id`` with roles valid for that organisation's type."""
        actor.require(Perm.USER_MANAGE)
        org = self.get_org(actor, org_id)
        require_org_manageable(actor, org)
        check_roles_fit(org, roles)
        if Role.PLATFORM_ADMIN in roles and not actor.is_platform_admin:
            raise Forbidden(
                "only platform administrators grant that role", code="permission_denied"
            )
        check_password_policy(password)
        if self.users.by_username(username) is not None:
            raise Conflict(f"username {username!r} is taken", code="duplicate_username")
        user = User(
            username=username,
            display_name=display_name,
            email=email,
            password_hash=hash_password(password),
            organisation_id=org.id,
            locale=locale,
            role_rows=[UserRole(role=r.value) for r in sorted(set(roles))],
        )
        self.users.add(user)
        record_event(
            self.session,
            actor,
            "user.create",
            "user",
            user.id,
            org.id,
            {"username": username, "roles": sorted(r.value for r in roles)},
        )
        return user

    def update_user(self, actor: Actor, user_id: str, changes: dict[str, Any]) -> User:
        """Change a user's roles, display name or active flag."""
        actor.require(Perm.USER_MANAGE)
        user = self.users.require(user_id)
        org = self.get_org(actor, user.organisation_id)
        require_org_manageable(actor, org)
        if user.id == actor.user_id and {"is_active", "roles"} & changes.keys():
            raise Forbidden(
                "nobody may deactivate themselves or change their own roles",
                code="own_account",
            )
        if "roles" in changes:
            roles = [Role(r) for r in changes.pop("roles")]
            check_roles_fit(org, roles)
            if Role.PLATFORM_ADMIN in roles and not actor.is_platform_admin:
                raise Forbidden(
                    "only platform administrators grant that role", code="permission_denied"
                )
            user.role_rows = [UserRole(role=r.value) for r in sorted(set(roles))]
            changes["roles"] = sorted(r.value for r in roles)
        for key in ("display_name", "is_active", "email", "locale"):
            if key in changes:
                setattr(user, key, changes[key])
        self.session.flush()
        record_event(
            self.session, actor, "user.update", "user", user.id, org.id, {"fields": sorted(changes)}
        )
        return user

    def reset_password(self, actor: Actor, user_id: str, new: str) -> User:
        """Set another user's password (an administrator's reset).

        The user's tokens and API keys stop working (:func:`set_password`). One's own
        password is changed with the current one instead (:meth:`AuthService.change_password`).
        """
        actor.require(Perm.USER_MANAGE)
        user = self.users.require(user_id)
        org = self.get_org(actor, user.organisation_id)
        require_org_manageable(actor, org)
        if user.id == actor.user_id:
            raise Forbidden("change your own password on your account page", code="own_account")
        revoked = set_password(self.session, user, new)
        record_event(
            self.session,
            actor,
            "user.password_reset",
            "user",
            user.id,
            org.id,
            {"api_keys_revoked": revoked},
        )
        return user

    def roles_grantable(self, actor: Actor, org: Organisation) -> list[Role]:
        """Roles ``actor`` may give to users of ``org`` (fit for its type; the platform
        administrator role only from a platform administrator)."""
        return [
            r
            for r in Role
            if OrgType(org.org_type) in ROLE_ORG_TYPES[r]
            and (r != Role.PLATFORM_ADMIN or actor.is_platform_admin)
        ]

    def create_facility(self, actor: Actor, org_id: str, data: dict[str, Any]) -> Facility:
        """Register a facility of ``org_id`` in a jurisdiction."""
        actor.require(Perm.FACILITY_MANAGE)
        org = self.get_org(actor, org_id)
        require_org_manageable(actor, org)
        if self.jurisdictions.get(data["jurisdiction_code"]) is None:
            raise Invalid(
                f"unknown jurisdiction {data['jurisdiction_code']!r}", code="unknown_jurisdiction"
            )
        if self.facilities.by_code(org.id, data["code"]) is not None:
            raise Conflict(f"facility code {data['code']!r} exists", code="duplicate_code")
        facility = self.facilities.add(Facility(organisation_id=org.id, **data))
        record_event(self.session, actor, "facility.create", "facility", facility.id, org.id)
        return facility


def check_roles_fit(org: Organisation, roles: list[Role]) -> None:
    """Raise ``role_not_allowed`` if a role does not fit the organisation's type."""
    if not roles:
        raise Invalid("a user needs at least one role", code="role_not_allowed")
    for role in roles:
        if OrgType(org.org_type) not in ROLE_ORG_TYPES[role]:
            raise Invalid(
                f"role {role.value} cannot be held in a {org.org_type} organisation",
                code="role_not_allowed",
            )
