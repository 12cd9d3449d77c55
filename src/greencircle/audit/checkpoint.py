"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes.

A checkpoint commits a log to its tree head::

    <origin>\\n
    <tree size, decimal>\\n
    <base64 root hash>\\n
    [extension lines\\n]
    \\n
    — <key name> <base64(4-byte key ID || signature)>\\n

The key ID of an Ed25519 key is ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``.
Signature algorithms come from :mod:`greencircle.audit.algorithms` (Ed25519 now); the
key ID is SHA-256-based for every type, as the signed-note specification recommends.

References
----------
.. [1] C2SP tlog-checkpoint, https://c2sp.org/tlog-checkpoint
.. [2] C2SP signed-note, https://c2sp.org/signed-note
.. [3] golang.org/x/mod/sumdb/note (reference implementation and the verifier/signer key
   string formats ``name+hash+base64`` and ``PRIVATE+KEY+name+hash+base64``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from greencircle.audit.algorithms import (
    HashAlgorithm,
    SignatureAlgorithm,
    get_hash_algorithm,
    get_signature_algorithm,
    signature_algorithm_for_type,
)
from greencircle.audit.errors import AlgorithmError, NoteFormatError, NoteSignatureError

__all__ = [
    "EM_DASH",
    "MAX_SIGNATURES",
    "CheckpointBody",
    "Note",
    "NoteSignature",
    "SignerKey",
    "VerifierKey",
    "format_checkpoint",
    "format_signer_key",
    "format_verifier_key",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
    "signature_line",
    "verify_note",
]

EM_DASH = "\u2014"
"""The em dash (U+2014) that starts every signature line."""

MAX_SIGNATURES = 100
"""Most signature lines accepted in one note (the spec requires at least 16)."""

_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = 2**64 - 1
_SIGNER_PREFIX = "PRIVATE+KEY+"


# --------------------------------------------------------------------------- helpers


def _b64decode_strict(text: str, what: str) -> bytes:
    """Decode standard, padded base64 and insist the encoding is canonical."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteFormatError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteFormatError(f"{what} is not canonical base64")
    return raw


def _check_text_chars(text: str, what: str) -> None:
    """Reject ASCII control characters other than newline (signed-note format)."""
    for ch in text:
        if ch < " " and ch != "\n":
            raise NoteFormatError(f"{what} contains control character {ch!r}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteFormatError(f"{what} is not valid UTF-8 (lone surrogate)") from None


def _check_key_name(name: str) -> None:
    """Key names are non-empty, without Unicode spaces or '+' (signed-note format)."""
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise NoteFormatError(f"invalid key name {name!r}")
    _check_text_chars(name, "key name")


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end with a newline")
    _check_text_chars(text, "note text")


def key_id(
    name: str, public_key: object, *, algorithm: str | SignatureAlgorithm = "ed25519"
) -> bytes:
    """Return the 4-byte signed-note key ID of a named public key.

    Parameters
    ----------
    name
        Key name (non-empty, no spaces, no ``+``).
    public_key
        Public key object of the algorithm, or its raw encoding.
    algorithm
        Signature algorithm name or object; ``"ed25519"`` by default.

    Returns
    -------
    bytes
        ``SHA-256(name || 0x0A || type_id || public key)[:4]``.

    Raises
    ------
    NoteFormatError
        If the name is invalid.
    greencircle.audit.errors.AlgorithmError
        If the algorithm is unknown.
    TypeError
        If the key does not belong to the algorithm.

    References
    ----------
    .. [1] C2SP signed-note, "Signatures" and "Ed25519 signatures".
    """
    _check_key_name(name)
    alg = get_signature_algorithm(algorithm)
    raw = alg.public_key_bytes(public_key)
    return _key_id_raw(name, alg, raw)


def _key_id_raw(name: str, alg: SignatureAlgorithm, raw_public_key: bytes) -> bytes:
    data = name.encode("utf-8") + b"\n" + alg.type_id + raw_public_key
    return hashlib.sha256(data).digest()[:4]


# --------------------------------------------------------------------------- checkpoint body


@dataclass(frozen=True, slots=True)
class CheckpointBody:
    """The text of a C2SP checkpoint.

    Attributes
    ----------
    origin
        Unique identifier of the log (e.g. ``"greencircle.example/audit"``).
    size
        Tree size [leaves].
    root_hash
        Root hash at ``size``.
    extensions
        Opaque extension lines (without newlines); use is not recommended.

    References
    ----------
    .. [1] C2SP tlog-checkpoint, "Note text".
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def to_text(self, *, hash_algorithm: str | HashAlgorithm = "sha256") -> str:
        """Format the body as note text (see :func:`format_checkpoint`)."""
        return format_checkpoint(
            self.origin,
            self.size,
            self.root_hash,
            extensions=self.extensions,
            hash_algorithm=hash_algorithm,
        )


def format_checkpoint(
    origin: str,
    size: int,
    root: bytes,
    *,
    extensions: tuple[str, ...] | list[str] = (),
    hash_algorithm: str | HashAlgorithm = "sha256",
) -> str:
    """Format a checkpoint body: ``origin\\nsize\\nbase64(root)\\n[ext\\n...]``.

    Parameters
    ----------
    origin
        Log identity; non-empty, one line, no control characters.
    size
        Tree size, ``0 <= size < 2**64``.
    root
        Root hash at ``size``; its length must match the hash algorithm.
    extensions
        Optional extension lines; each non-empty, one line.
    hash_algorithm
        Tree hash algorithm, for the root length check; ``"sha256"`` by default.

    Returns
    -------
    str
        The body, ending in a newline, ready for :func:`sign_note`.

    Raises
    ------
    NoteFormatError
        If any field is invalid.

    References
    ----------
    .. [1] C2SP tlog-checkpoint, "Note text".
    """
    alg = get_hash_algorithm(hash_algorithm)
    if not origin or "\n" in origin:
        raise NoteFormatError("checkpoint origin must be one non-empty line")
    _check_text_chars(origin, "checkpoint origin")
    if isinstance(size, bool) or not 0 <= size <= _MAX_TREE_SIZE:
        raise NoteFormatError(f"invalid tree size {size!r}")
    if len(root) != alg.digest_size:
        raise NoteFormatError(f"root hash is {len(root)} bytes, {alg.name} needs {alg.digest_size}")
    for line in extensions:
        if not line or "\n" in line:
            raise NoteFormatError("checkpoint extension lines must be one non-empty line")
        _check_text_chars(line, "checkpoint extension")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii"), *extensions]
    return "\n".join(lines) + "\n"


def parse_checkpoint(
    body: str, *, hash_algorithm: str | HashAlgorithm = "sha256"
) -> CheckpointBody:
    """Parse a checkpoint body (the note text, without signatures).

    Parameters
    ----------
    body
        At least three non-empty newline-terminated lines.
    hash_algorithm
        Tree hash algorithm, for the root length check; ``"sha256"`` by default.

    Returns
    -------
    CheckpointBody

    Raises
    ------
    NoteFormatError
        If the body is malformed: missing lines, empty lines, a size with leading zeros
        or a sign, a root that is not canonical base64 of the right length.

    References
    ----------
    .. [1] C2SP tlog-checkpoint, "Note text".
    """
    alg = get_hash_algorithm(hash_algorithm)
    _check_note_text(body)
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteFormatError("checkpoint needs origin, size and root lines")
    if any(not line for line in lines):
        raise NoteFormatError("checkpoint lines must be non-empty")
    origin, size_text, root_text, *extensions = lines
    if not _SIZE_RE.fullmatch(size_text):
        raise NoteFormatError(f"invalid tree size line {size_text!r}")
    size = int(size_text)
    if size > _MAX_TREE_SIZE:
        raise NoteFormatError("tree size exceeds 2**64 - 1")
    root = _b64decode_strict(root_text, "root hash")
    if len(root) != alg.digest_size:
        raise NoteFormatError(f"root hash is {len(root)} bytes, {alg.name} needs {alg.digest_size}")
    return CheckpointBody(origin, size, root, tuple(extensions))


# --------------------------------------------------------------------------- signed notes


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note.

    Attributes
    ----------
    name
        Key name.
    key_id
        The 4-byte key ID.
    signature
        The signature bytes (after the key ID).
    """

    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Note:
    """A signed note split into its text and (unverified) signatures.

    Attributes
    ----------
    text
        The signed text, including its final newline.
    signatures
        Signature lines in order.
    """

    text: str
    signatures: tuple[NoteSignature, ...]


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into text and signatures, checking the format only.

    Parameters
    ----------
    note
        The note (``bytes`` must be UTF-8).

    Returns
    -------
    Note
        Text and signatures; **no signature is verified** (use :func:`verify_note`).

    Raises
    ------
    NoteFormatError
        If the note is not UTF-8, contains control characters other than newline, lacks
        the blank separator line or signatures, or has a malformed signature line, or more
        than :data:`MAX_SIGNATURES` of them.

    References
    ----------
    .. [1] C2SP signed-note, "Format".
    """
    if isinstance(note, bytes | bytearray):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteFormatError("note is not valid UTF-8") from None
    _check_text_chars(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteFormatError("note has no newline-terminated signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures: list[NoteSignature] = []
    prefix = EM_DASH + " "
    for line in lines:
        if not line.startswith(prefix):
            raise NoteFormatError("signature line must start with an em dash and a space")
        parts = line[len(prefix) :].split(" ")
        if len(parts) != 2:
            raise NoteFormatError("signature line must be '— <name> <base64>'")
        name, sig64 = parts
        _check_key_name(name)
        raw = _b64decode_strict(sig64, "signature")
        if len(raw) < 5:
            raise NoteFormatError("signature is too short")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def signature_line(
    text: str,
    name: str,
    private_key: object,
    *,
    algorithm: str | SignatureAlgorithm = "ed25519",
) -> str:
    """Sign note text and return the signature line ``— <name> <base64>\\n``.

    Useful to assemble a note with several signatures (e.g. witness cosignatures).

    Parameters
    ----------
    text
        Note text, ending in a newline.
    name
        Key name.
    private_key
        Private key of the algorithm.
    algorithm
        Signature algorithm name or object; ``"ed25519"`` by default.

    Returns
    -------
    str
        The signature line, newline-terminated.

    Raises
    ------
    NoteFormatError
        If the text or name is invalid.
    TypeError
        If the key does not belong to the algorithm.

    References
    ----------
    .. [1] C2SP signed-note, "Format" and "Signatures".
    """
    _check_note_text(text)
    _check_key_name(name)
    alg = get_signature_algorithm(algorithm)
    kid = _key_id_raw(name, alg, alg.public_key_of(private_key))
    sig = alg.sign(private_key, text.encode("utf-8"))
    return f"{EM_DASH} {name} {base64.b64encode(kid + sig).decode('ascii')}\n"


def sign_note(
    body: str,
    name: str,
    private_key: object,
    *,
    algorithm: str | SignatureAlgorithm = "ed25519",
) -> str:
    """Sign a note text (e.g. a checkpoint body) and return the signed note.

    Parameters
    ----------
    body
        Note text, ending in a newline (e.g. from :func:`format_checkpoint`).
    name
        Key name; for a checkpoint it should equal the origin.
    private_key
        Private key of the algorithm (an ``Ed25519PrivateKey`` by default).
    algorithm
        Signature algorithm name or object; ``"ed25519"`` by default.

    Returns
    -------
    str
        ``body + "\\n" + "— <name> <base64(key ID || signature)>\\n"``.

    Raises
    ------
    NoteFormatError
        If the body or name is invalid.
    TypeError
        If the key does not belong to the algorithm.

    References
    ----------
    .. [1] C2SP signed-note.
    """
    return body + "\n" + signature_line(body, name, private_key, algorithm=algorithm)


def verify_note(
    note: str | bytes,
    name: str,
    public_key: object,
    *,
    algorithm: str | SignatureAlgorithm = "ed25519",
) -> str:
    """Verify a signed note against one trusted key and return its text.

    Parameters
    ----------
    note
        The signed note.
    name
        Trusted key name.
    public_key
        Trusted public key (key object or raw bytes).
    algorithm
        Signature algorithm name or object; ``"ed25519"`` by default.

    Returns
    -------
    str
        The verified note text.

    Raises
    ------
    NoteFormatError
        If the note is malformed.
    NoteSignatureError
        If no signature line has the trusted key's name and key ID (wrong key, wrong
        name, unsigned), or if any such line fails to verify (tampered text or
        signature). Lines from other keys are ignored, as the specification requires.

    References
    ----------
    .. [1] C2SP signed-note, "Signatures": verifiers ignore unknown keys, must verify
       known ones, should reject the note if one fails, must reject it if none verifies.
    """
    _check_key_name(name)
    alg = get_signature_algorithm(algorithm)
    raw_key = alg.public_key_bytes(public_key)
    kid = _key_id_raw(name, alg, raw_key)
    parsed = parse_note(note)
    matching = [s for s in parsed.signatures if s.name == name and s.key_id == kid]
    if not matching:
        raise NoteSignatureError(f"note has no signature by key {name}+{kid.hex()}")
    message = parsed.text.encode("utf-8")
    for sig in matching:
        if alg.signature_size is not None and len(sig.signature) != alg.signature_size:
            raise NoteSignatureError(f"invalid signature for key {name}+{kid.hex()}")
        if not alg.verify(raw_key, message, sig.signature):
            raise NoteSignatureError(f"invalid signature for key {name}+{kid.hex()}")
    return parsed.text


def open_note(
    note: str | bytes,
    name: str,
    public_key: object,
    *,
    algorithm: str | SignatureAlgorithm = "ed25519",
    hash_algorithm: str | HashAlgorithm = "sha256",
    origin: str | None = None,
) -> CheckpointBody:
    """Verify a signed checkpoint and parse its body.

    Parameters
    ----------
    note
        The signed checkpoint.
    name
        Trusted key name.
    public_key
        Trusted public key (key object or raw bytes).
    algorithm
        Signature algorithm name or object; ``"ed25519"`` by default.
    hash_algorithm
        Tree hash algorithm, for the root length check; ``"sha256"`` by default.
    origin
        If given, the checkpoint's origin must equal it (a verifier should pin the log
        identity, not only its key).

    Returns
    -------
    CheckpointBody
        The verified checkpoint.

    Raises
    ------
    NoteFormatError
        If the note or checkpoint body is malformed, or the origin differs.
    NoteSignatureError
        If the note is not validly signed by the key (see :func:`verify_note`).

    References
    ----------
    .. [1] C2SP tlog-checkpoint; C2SP signed-note.
    """
    text = verify_note(note, name, public_key, algorithm=algorithm)
    body = parse_checkpoint(text, hash_algorithm=hash_algorithm)
    if origin is not None and body.origin != origin:
        raise NoteFormatError(f"checkpoint origin {body.origin!r} is not {origin!r}")
    return body


# --------------------------------------------------------------------------- key strings


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed verifier key ``<name>+<hex key ID>+<base64(type || public key)>``.

    Attributes
    ----------
    name
        Key name.
    key_id
        The 4-byte key ID.
    algorithm
        The signature algorithm.
    public_key
        Raw public key bytes.
    """

    name: str
    key_id: bytes
    algorithm: SignatureAlgorithm
    public_key: bytes


@dataclass(frozen=True, slots=True)
class SignerKey:
    """A parsed signer key ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || key)>``.

    Attributes
    ----------
    name
        Key name.
    key_id
        The 4-byte key ID.
    algorithm
        The signature algorithm.
    private_key
        The private key object.
    """

    name: str
    key_id: bytes
    algorithm: SignatureAlgorithm
    private_key: object


def format_verifier_key(
    name: str, public_key: object, *, algorithm: str | SignatureAlgorithm = "ed25519"
) -> str:
    """Encode a public key as a signed-note verifier key string.

    Returns
    -------
    str
        ``<name>+<8 hex digits of key ID>+<base64(type_id || public key)>``, as
        ``golang.org/x/mod/sumdb/note.NewEd25519VerifierKey`` writes it.

    Raises
    ------
    NoteFormatError
        If the name is invalid.
    TypeError
        If the key does not belong to the algorithm.
    """
    _check_key_name(name)
    alg = get_signature_algorithm(algorithm)
    raw = alg.public_key_bytes(public_key)
    kid = _key_id_raw(name, alg, raw)
    return f"{name}+{kid.hex()}+{base64.b64encode(alg.type_id + raw).decode('ascii')}"


def parse_verifier_key(vkey: str) -> VerifierKey:
    """Parse and check a signed-note verifier key string.

    Parameters
    ----------
    vkey
        ``<name>+<8 hex digits>+<base64(type_id || public key)>``.

    Returns
    -------
    VerifierKey

    Raises
    ------
    NoteFormatError
        If the string is malformed, the algorithm unknown, the key invalid, or the key ID
        does not match the name and key.
    """
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteFormatError("verifier key must be name+hash+key")
    name, hash_hex, key64 = parts
    alg, kid, public, _ = _decode_key(name, hash_hex, key64, private=False)
    return VerifierKey(name, kid, alg, public)


def format_signer_key(
    name: str, private_key: object, *, algorithm: str | SignatureAlgorithm = "ed25519"
) -> str:
    """Encode a private key as a signed-note signer key string (keep it secret).

    Only algorithms whose private key has a raw encoding are supported (Ed25519: the
    32-byte seed).

    Returns
    -------
    str
        ``PRIVATE+KEY+<name>+<8 hex digits>+<base64(type_id || private key)>``.

    Raises
    ------
    NoteFormatError
        If the name is invalid.
    TypeError
        If the key does not belong to the algorithm or has no raw encoding.
    """
    _check_key_name(name)
    alg = get_signature_algorithm(algorithm)
    kid = _key_id_raw(name, alg, alg.public_key_of(private_key))
    raw = alg.private_key_bytes(private_key)
    key64 = base64.b64encode(alg.type_id + raw).decode("ascii")
    return f"{_SIGNER_PREFIX}{name}+{kid.hex()}+{key64}"


def parse_signer_key(skey: str) -> SignerKey:
    """Parse and check a signed-note signer key string.

    Parameters
    ----------
    skey
        ``PRIVATE+KEY+<name>+<8 hex digits>+<base64(type_id || private key)>``.

    Returns
    -------
    SignerKey

    Raises
    ------
    NoteFormatError
        If the string is malformed, the algorithm unknown, the key invalid, or the key ID
        does not match the name and derived public key.
    """
    if not skey.startswith(_SIGNER_PREFIX):
        raise NoteFormatError("signer key must start with PRIVATE+KEY+")
    parts = skey[len(_SIGNER_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise NoteFormatError("signer key must be PRIVATE+KEY+name+hash+key")
    name, hash_hex, key64 = parts
    alg, kid, _, private_key = _decode_key(name, hash_hex, key64, private=True)
    return SignerKey(name, kid, alg, private_key)


def _decode_key(
    name: str, hash_hex: str, key64: str, *, private: bool
) -> tuple[SignatureAlgorithm, bytes, bytes, object]:
    """Decode and check a key string's parts: (algorithm, key ID, public key, private key)."""
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise NoteFormatError("key hash must be 8 lower-case hex digits")
    raw = _b64decode_strict(key64, "key")
    try:
        alg, key_bytes = signature_algorithm_for_type(raw)
    except AlgorithmError:
        raise NoteFormatError("key has an unknown signature type") from None
    private_key: object = None
    try:
        if private:
            private_key = alg.private_key_from_bytes(key_bytes)
            public = alg.public_key_of(private_key)
        else:
            public = alg.public_key_bytes(key_bytes)
    except (TypeError, ValueError):
        raise NoteFormatError("key bytes are invalid for the signature type") from None
    kid = _key_id_raw(name, alg, public)
    if kid.hex() != hash_hex:
        raise NoteFormatError("key hash does not match the key name and key")
    return alg, kid, public, private_key
