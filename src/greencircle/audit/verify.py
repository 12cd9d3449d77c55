"""Offline verification of receipt bundles (``greencircle audit verify BUNDLE.json``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from greencircle.audit.checkpoint import open_note
from greencircle.audit.errors import CheckpointError
from greencircle.audit.merkle import canonical_json, leaf_hash, verify_inclusion
from greencircle.audit.service import BUNDLE_FORMAT


@dataclass
class Check:
    """One verification step and its outcome."""

    name: str
    ok: bool
    message: str


@dataclass
class Report:
    """What holds and what does not for one bundle."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """All checks passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, message: str) -> bool:
        self.checks.append(Check(name, ok, message))
        return ok


def _hex(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected a hex string")
    return binascii.unhexlify(value)


def verify_bundle(bundle: Any, trusted_public_key_b64: str | None = None) -> Report:
    """Check a receipt bundle without contacting the platform.

    Steps: format; the event's canonical JSON hashes to the stated leaf hash; the
    checkpoint is validly signed by the public key (the trusted one, if given, else the
    bundle's own, which the report says); the checkpoint's size matches; the inclusion
    proof leads from the leaf to the checkpoint's root (RFC 9162 §2.1.3.2).
    """
    report = Report()
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        report.add("format", False, f"not a {BUNDLE_FORMAT} document")
        return report
    report.add("format", True, BUNDLE_FORMAT)
    try:
        computed = leaf_hash(canonical_json(bundle["event"]))
        stated = _hex(bundle["leaf_hash"])
        report.add(
            "leaf_hash",
            computed == stated,
            "event hashes to the stated leaf hash"
            if computed == stated
            else f"event hashes to {computed.hex()}, bundle says {stated.hex()}",
        )
    except (KeyError, ValueError) as exc:
        report.add("leaf_hash", False, f"cannot hash the event: {exc}")
        return report
    key_b64 = trusted_public_key_b64 or bundle.get("public_key", "")
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        report.add("signature", False, "public key is not valid base64")
        return report
    if trusted_public_key_b64:
        same = trusted_public_key_b64 == bundle.get("public_key")
        report.add(
            "trusted_key",
            True,
            "using the trusted key you supplied"
            + ("" if same else " (it differs from the key inside the bundle)"),
        )
    else:
        report.add(
            "trusted_key",
            True,
            "using the key inside the bundle; compare it with "
            "GET /v1/audit/public-key from a channel you trust",
        )
    try:
        body = open_note(bundle["checkpoint"], bundle["origin"], key, origin=bundle["origin"])
    except (CheckpointError, KeyError, TypeError, ValueError) as exc:
        report.add("signature", False, f"checkpoint signature does not verify: {exc}")
        return report
    report.add("signature", True, f"checkpoint of {body.origin} signed by the key")
    size_ok = body.size == bundle.get("tree_size")
    report.add(
        "tree_size",
        size_ok,
        f"checkpoint tree size {body.size}"
        + ("" if size_ok else f" but bundle says {bundle.get('tree_size')}"),
    )
    try:
        proof = [_hex(h) for h in bundle["inclusion_proof"]]
        index = int(bundle["leaf_index"])
        included = verify_inclusion(computed, index, body.size, proof, body.root_hash)
    except (KeyError, ValueError, TypeError) as exc:
        report.add("inclusion", False, f"malformed inclusion proof: {exc}")
        return report
    report.add(
        "inclusion",
        included,
        f"leaf {index} is included in the tree of size {body.size}"
        if included
        else "inclusion proof does not lead to the checkpoint's root",
    )
    return report
