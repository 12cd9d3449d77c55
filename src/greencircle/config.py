"""Runtime settings, read from the environment (prefix ``GREENCIRCLE_``) or a ``.env`` file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Platform settings.

    Every field can be set with an environment variable ``GREENCIRCLE_<FIELD>``, e.g.
    ``GREENCIRCLE_DATABASE_URL=postgresql+psycopg://user@host/db``.
    """

    model_config = SettingsConfigDict(env_prefix="GREENCIRCLE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/greencircle.db",
        description="SQLAlchemy URL: SQLite (embedded default) or postgresql+psycopg://...",
    )
    var_dir: Path = Field(default=Path("./var"), description="Local state: database, keys.")
    secret_key: str = Field(
        default="",
        description="HMAC key for bearer tokens. Empty: a random key is created in var_dir.",
    )
    token_ttl_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="[bytes]")
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins of one account from one client before that client is "
        "refused for that account; from all clients together, four times as many.",
    )
    login_window_seconds: int = Field(default=900, ge=1, description="[s]")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of reverse proxies whose X-Forwarded-For "
        'header is believed (e.g. ``["10.0.0.0/8"]``); empty: the TCP peer is the client.',
    )
    idempotency_ttl_hours: int = Field(default=24, ge=1, description="[h]")
    exchange_enforce_hours: bool = Field(
        default=True,
        description="Refuse exchange commands outside trading hours and on holidays "
        "(exchange/data/calendar.toml). Off only for tests and replays of old days.",
    )
    log_origin: str = Field(
        default="greencircle.local/audit-log",
        description="Origin line of the transparency log's checkpoints (its identity).",
    )
    log_key_passphrase: str = Field(
        default="", description="Encrypts the log signing key file when set."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    cookie_secure: bool = Field(default=False, description="Set on HTTPS deployments.")

    def resolved_secret_key(self) -> str:
        """Return the token signing key, creating and persisting one on first use.

        Returns
        -------
        str
            The configured key, or the content of ``var_dir/secret.key`` (mode 0600),
            generated with 256 bits of entropy if absent.
        """
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached)."""
    return Settings()
