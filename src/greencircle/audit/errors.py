"""Exceptions of the audit core.

Plain :class:`Exception` subclasses for now; the log service maps them onto the platform
error tree (``greencircle.errors``) at its boundary.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AlgorithmError",
    "CheckpointError",
    "MissingNodeError",
    "NoteFormatError",
    "NoteSignatureError",
    "ProofError",
]


class ProofError(ValueError):
    """A proof was requested or presented with invalid parameters.

    Raised for out-of-range leaf indices or tree sizes, ranges that are not RFC 9162
    subtrees, and (by :func:`greencircle.audit.merkle.root_from_inclusion_proof`) proofs
    with elements missing or left over.
    """


class MissingNodeError(LookupError):
    """The subtree store lacks node hashes that a computation needs.

    Parameters
    ----------
    keys
        The missing ``(level, index)`` node keys.

    Notes
    -----
    This signals an inconsistent store (the tree is smaller than claimed, or rows were
    lost), never a bad request.
    """

    def __init__(self, keys: Iterable[tuple[int, int]]) -> None:
        self.keys: tuple[tuple[int, int], ...] = tuple(sorted(keys))
        shown = ", ".join(f"({lv}, {ix})" for lv, ix in self.keys[:8])
        more = f" and {len(self.keys) - 8} more" if len(self.keys) > 8 else ""
        super().__init__(f"subtree store is missing node(s) {shown}{more}")


class AlgorithmError(ValueError):
    """An unknown or unusable hash or signature algorithm was named."""


class CheckpointError(ValueError):
    """Base class for checkpoint and signed-note failures."""


class NoteFormatError(CheckpointError):
    """A checkpoint body, signed note, or key string is malformed."""


class NoteSignatureError(CheckpointError):
    """A signed note carries no valid signature by the expected key.

    Raised when no signature line matches the expected key name and key ID (wrong key,
    wrong name, or no signature), or when a matching signature fails to verify
    (tampered text or signature).
    """
