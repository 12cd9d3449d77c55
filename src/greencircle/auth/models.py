"""Tables for jurisdictions, organisations, facilities, users, credentials and access log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from greencircle.storage.base import Base, created_at_column, id_column


class Jurisdiction(Base):
    """A node of the region tree (country → province → city/district).

    ``path`` is ``/CN/CN-SC/CN-SC-5101/``: a jurisdiction's subtree is every row whose path
    starts with its own, which makes "regulator sees its own jurisdiction" one indexed
    ``LIKE 'prefix%'``.
    """

    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.code"))
    level: Mapped[str] = mapped_column(String(16))
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    path: Mapped[str] = mapped_column(String(200), index=True)
    sco_member: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(200), default="")


class Organisation(Base):
    """A legal entity or public body using the platform."""

    __tablename__ = "organisations"

    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    org_type: Mapped[str] = mapped_column(String(32), index=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    sector: Mapped[str | None] = mapped_column(String(40))
    registration_no: Mapped[str | None] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="joined")


class Facility(Base):
    """A physical installation (plant, line, site) of an organisation."""

    __tablename__ = "facilities"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[str] = id_column()
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(40))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    latitude_deg: Mapped[float | None]
    longitude_deg: Mapped[float | None]
    created_at: Mapped[datetime] = created_at_column()


class User(Base):
    """A person (or service account) acting for one organisation."""

    __tablename__ = "users"

    id: Mapped[str] = id_column()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime] = created_at_column()
    token_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def roles(self) -> list[str]:
        """Role names held by the user, sorted."""
        return sorted(r.role for r in self.role_rows)


class UserRole(Base):
    """A role held by a user."""

    __tablename__ = "user_roles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class ApiKey(Base):
    """A machine credential. Only a SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedToken(Base):
    """A bearer token revoked before its expiry (kept until it would have expired)."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LoginAttempt(Base):
    """One password login attempt, for throttling and the access log."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = created_at_column()


class AccessEvent(Base):
    """Audit trail of administrative actions (who did what to which object, when)."""

    __tablename__ = "access_events"

    id: Mapped[str] = id_column()
    at: Mapped[datetime] = created_at_column()
    actor_user_id: Mapped[str | None] = mapped_column(String(26), index=True)
    actor_org_id: Mapped[str | None] = mapped_column(String(26), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    target_org_id: Mapped[str | None] = mapped_column(String(26), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
