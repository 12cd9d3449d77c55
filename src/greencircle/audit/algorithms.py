"""Registry of the hash and signature algorithms used by the audit log.

The Merkle tree hash (RFC 9162 §2.1) and the checkpoint signature (C2SP signed-note) are
parameters, so a deployment can swap SHA-256/Ed25519 for the Chinese national algorithms
SM3/SM2 (GB/T 32905, GB/T 32918) without touching the tree or proof code. Only
``"sha256"`` and ``"ed25519"`` are registered here.

Extension point
---------------
To add SM3, register a :class:`HashAlgorithm` whose ``new`` returns a hashlib-style object,
e.g. ``HashAlgorithm("sm3", 32, functools.partial(hashlib.new, "sm3"))`` when the linked
OpenSSL provides SM3, with :func:`register_hash_algorithm`. To add SM2, subclass
:class:`SignatureAlgorithm` (``type_id`` should be ``b"\\xff"`` followed by a long,
collision-resistant identifier, as C2SP signed-note reserves 0xff for unassigned types)
and call :func:`register_signature_algorithm`. Both need a vetted implementation and
published test vectors before they are registered; nothing here imitates them.

References
----------
.. [1] RFC 9162, Certificate Transparency Version 2.0, §2.1 (hash algorithm of the tree).
.. [2] C2SP signed-note, https://c2sp.org/signed-note (signature types, key IDs).
.. [3] RFC 8032, Edwards-Curve Digital Signature Algorithm (EdDSA), §5.1 (Ed25519).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from greencircle.audit.errors import AlgorithmError

__all__ = [
    "ED25519",
    "SHA256",
    "Ed25519Algorithm",
    "HashAlgorithm",
    "HashObject",
    "SignatureAlgorithm",
    "get_hash_algorithm",
    "get_signature_algorithm",
    "hash_algorithms",
    "register_hash_algorithm",
    "register_signature_algorithm",
    "signature_algorithm_for_type",
    "signature_algorithms",
]


class HashObject(Protocol):
    """The part of the :mod:`hashlib` object interface the audit core uses."""

    def update(self, data: bytes, /) -> None:
        """Feed ``data`` into the hash."""

    def digest(self) -> bytes:
        """Return the digest of the data fed so far."""


@dataclass(frozen=True, slots=True)
class HashAlgorithm:
    """A cryptographic hash function usable as the Merkle tree hash.

    Parameters
    ----------
    name
        Registry name, lower case (``"sha256"``).
    digest_size
        Output length [bytes].
    new
        Constructor taking the initial data and returning a hashlib-style object.

    References
    ----------
    .. [1] RFC 9162 §2.1: the tree hash algorithm is a parameter of the log.
    """

    name: str
    digest_size: int
    new: Callable[[bytes], HashObject]

    def digest(self, data: bytes) -> bytes:
        """Hash ``data`` in one call.

        Parameters
        ----------
        data
            Input bytes.

        Returns
        -------
        bytes
            The digest, ``digest_size`` bytes long.
        """
        return self.new(data).digest()


class SignatureAlgorithm(ABC):
    """A signature scheme usable for C2SP signed notes.

    Subclasses define the signed-note signature type identifier and the key handling.
    Keys are passed as the scheme's key objects; public keys may also be passed as their
    raw encoding.

    Attributes
    ----------
    name
        Registry name, lower case (``"ed25519"``).
    type_id
        Signature type identifier bytes placed before the public key when computing the
        key ID and in verifier keys (``b"\\x01"`` for Ed25519).
    signature_size
        Exact signature length [bytes], or ``None`` when variable.

    References
    ----------
    .. [1] C2SP signed-note, "Signature types".
    """

    name: str
    type_id: bytes
    signature_size: int | None

    @abstractmethod
    def public_key_bytes(self, public_key: object) -> bytes:
        """Return the raw encoding of a public key (a key object or its raw bytes).

        Raises
        ------
        TypeError
            If ``public_key`` is not a key of this scheme.
        """

    @abstractmethod
    def public_key_of(self, private_key: object) -> bytes:
        """Return the raw public key encoding matching ``private_key``.

        Raises
        ------
        TypeError
            If ``private_key`` is not a key of this scheme.
        """

    @abstractmethod
    def sign(self, private_key: object, message: bytes) -> bytes:
        """Sign ``message`` with ``private_key``.

        Raises
        ------
        TypeError
            If ``private_key`` is not a key of this scheme.
        """

    @abstractmethod
    def verify(self, public_key: object, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is valid for ``message`` under ``public_key``.

        Raises
        ------
        TypeError
            If ``public_key`` is not a key of this scheme.
        """

    @abstractmethod
    def private_key_bytes(self, private_key: object) -> bytes:
        """Return the raw encoding of a private key (for signed-note signer keys).

        Raises
        ------
        TypeError
            If ``private_key`` is not a key of this scheme.
        """

    @abstractmethod
    def private_key_from_bytes(self, raw: bytes) -> object:
        """Build a private key from its raw encoding (for signed-note signer keys).

        Raises
        ------
        ValueError
            If ``raw`` is not a valid private key encoding.
        """


class Ed25519Algorithm(SignatureAlgorithm):
    """Ed25519 (RFC 8032) through :mod:`cryptography`; signed-note type ``0x01``.

    Private keys are :class:`~cryptography.hazmat.primitives.asymmetric.ed25519.Ed25519PrivateKey`;
    public keys are :class:`~cryptography.hazmat.primitives.asymmetric.ed25519.Ed25519PublicKey`
    or their 32 raw bytes. The raw private key encoding is the 32-byte seed.

    References
    ----------
    .. [1] RFC 8032 §5.1.
    .. [2] C2SP signed-note, "Ed25519 signatures".
    """

    name = "ed25519"
    type_id = b"\x01"
    signature_size = 64

    @staticmethod
    def _public(public_key: object) -> Ed25519PublicKey:
        if isinstance(public_key, Ed25519PublicKey):
            return public_key
        if isinstance(public_key, bytes | bytearray | memoryview):
            raw = bytes(public_key)
            if len(raw) != 32:
                raise TypeError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
            return Ed25519PublicKey.from_public_bytes(raw)
        raise TypeError(f"not an Ed25519 public key: {type(public_key).__name__}")

    @staticmethod
    def _private(private_key: object) -> Ed25519PrivateKey:
        if isinstance(private_key, Ed25519PrivateKey):
            return private_key
        raise TypeError(f"not an Ed25519 private key: {type(private_key).__name__}")

    def public_key_bytes(self, public_key: object) -> bytes:
        """Return the 32-byte RFC 8032 encoding of an Ed25519 public key."""
        return self._public(public_key).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def public_key_of(self, private_key: object) -> bytes:
        """Return the 32-byte public key of an Ed25519 private key."""
        return self.public_key_bytes(self._private(private_key).public_key())

    def sign(self, private_key: object, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._private(private_key).sign(message)

    def verify(self, public_key: object, message: bytes, signature: bytes) -> bool:
        """Return whether the Ed25519 ``signature`` of ``message`` is valid."""
        key = self._public(public_key)
        if len(signature) != 64:
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def private_key_bytes(self, private_key: object) -> bytes:
        """Return the 32-byte seed of an Ed25519 private key."""
        return self._private(private_key).private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def private_key_from_bytes(self, raw: bytes) -> Ed25519PrivateKey:
        """Build an Ed25519 private key from its 32-byte seed."""
        if len(raw) != 32:
            raise ValueError(f"an Ed25519 seed is 32 bytes, got {len(raw)}")
        return Ed25519PrivateKey.from_private_bytes(raw)


SHA256 = HashAlgorithm(name="sha256", digest_size=32, new=hashlib.sha256)
"""SHA-256 (FIPS 180-4), the RFC 6962/9162 default tree hash."""

ED25519 = Ed25519Algorithm()
"""Ed25519, the C2SP signed-note type 0x01."""

_HASHES: dict[str, HashAlgorithm] = {SHA256.name: SHA256}
_SIGNATURES: dict[str, SignatureAlgorithm] = {ED25519.name: ED25519}


def register_hash_algorithm(algorithm: HashAlgorithm) -> None:
    """Add a tree hash algorithm to the registry.

    Parameters
    ----------
    algorithm
        The algorithm; its ``name`` must not be registered yet.

    Raises
    ------
    AlgorithmError
        If the name is taken or the digest size does not match the constructor's output.
    """
    if algorithm.name in _HASHES:
        raise AlgorithmError(f"hash algorithm {algorithm.name!r} is already registered")
    if len(algorithm.digest(b"")) != algorithm.digest_size:
        raise AlgorithmError(f"hash algorithm {algorithm.name!r} digest size mismatch")
    _HASHES[algorithm.name] = algorithm


def register_signature_algorithm(algorithm: SignatureAlgorithm) -> None:
    """Add a note signature algorithm to the registry.

    Parameters
    ----------
    algorithm
        The algorithm; its ``name`` and ``type_id`` must not be registered yet.

    Raises
    ------
    AlgorithmError
        If the name or type identifier is taken, or the type identifier is empty.
    """
    if not algorithm.type_id:
        raise AlgorithmError("a signature algorithm needs a non-empty type_id")
    if algorithm.name in _SIGNATURES:
        raise AlgorithmError(f"signature algorithm {algorithm.name!r} is already registered")
    for other in _SIGNATURES.values():
        if other.type_id.startswith(algorithm.type_id) or algorithm.type_id.startswith(
            other.type_id
        ):
            raise AlgorithmError(
                f"type_id {algorithm.type_id.hex()} overlaps that of {other.name!r}"
            )
    _SIGNATURES[algorithm.name] = algorithm


def get_hash_algorithm(name: str | HashAlgorithm) -> HashAlgorithm:
    """Look up a tree hash algorithm by name (an algorithm object is returned as is).

    Raises
    ------
    AlgorithmError
        If no algorithm of that name is registered.
    """
    if isinstance(name, HashAlgorithm):
        return name
    try:
        return _HASHES[name]
    except KeyError:
        raise AlgorithmError(f"unknown hash algorithm {name!r}") from None


def get_signature_algorithm(name: str | SignatureAlgorithm) -> SignatureAlgorithm:
    """Look up a note signature algorithm by name (an algorithm object is returned as is).

    Raises
    ------
    AlgorithmError
        If no algorithm of that name is registered.
    """
    if isinstance(name, SignatureAlgorithm):
        return name
    try:
        return _SIGNATURES[name]
    except KeyError:
        raise AlgorithmError(f"unknown signature algorithm {name!r}") from None


def signature_algorithm_for_type(type_and_key: bytes) -> tuple[SignatureAlgorithm, bytes]:
    """Split ``type_id || public key`` bytes into the algorithm and the key.

    Parameters
    ----------
    type_and_key
        Bytes as found in a signed-note verifier key.

    Returns
    -------
    tuple[SignatureAlgorithm, bytes]
        The registered algorithm whose ``type_id`` prefixes the input, and the remainder.

    Raises
    ------
    AlgorithmError
        If no registered algorithm's type identifier prefixes the input.
    """
    for algorithm in _SIGNATURES.values():
        if type_and_key.startswith(algorithm.type_id):
            return algorithm, type_and_key[len(algorithm.type_id) :]
    raise AlgorithmError("unknown signature type in key")


def hash_algorithms() -> tuple[str, ...]:
    """Return the names of the registered tree hash algorithms."""
    return tuple(_HASHES)


def signature_algorithms() -> tuple[str, ...]:
    """Return the names of the registered note signature algorithms."""
    return tuple(_SIGNATURES)
