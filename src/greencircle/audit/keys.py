"""The log's Ed25519 signing key: created once at initialisation, kept in a 0600 file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from greencircle.config import Settings

KEY_FILE = "audit-log-ed25519.pem"


@dataclass(frozen=True)
class LogSigner:
    """The log's identity: origin line and Ed25519 signing key."""

    origin: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        """Raw 32-byte public key."""
        return raw_public_key(self.private_key)


def signer_from(settings: Settings) -> LogSigner:
    """The log signer configured for this installation (creates the key on first use)."""
    key = load_or_create_signing_key(settings.var_dir, settings.log_key_passphrase)
    return LogSigner(settings.log_origin, key)


def load_or_create_signing_key(var_dir: Path, passphrase: str = "") -> Ed25519PrivateKey:
    """Load the log signing key from ``var_dir``, creating it on first use.

    The key is stored as PKCS#8 PEM with mode 0600, encrypted with ``passphrase`` when
    one is configured (``GREENCIRCLE_LOG_KEY_PASSPHRASE``). It never enters the database;
    the database records only the public key, so a swapped key file is detected.
    """
    path = var_dir / KEY_FILE
    secret = passphrase.encode() or None
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=secret)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError(f"{path} does not hold an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of the public key."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
