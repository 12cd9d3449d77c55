"""HTTP contract of the transparency log (``/v1/audit/...``).

Checkpoints, the public key, roots and proofs are public: they reveal only hashes. Leaf
contents follow the access rules: an event about an organisation is readable by those who
may see that organisation; others get its hash with ``data: null``.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select

from greencircle.api.deps import CurrentActor, SessionDep
from greencircle.audit.checkpoint import format_verifier_key
from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor, org_scope_clause
from greencircle.errors import Forbidden
from greencircle.kit.paging import INT64_MAX

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def get_signer(request: Request) -> LogSigner:
    """The app's log signer."""
    signer: LogSigner = request.app.state.log_signer
    return signer


def audit_log(session: SessionDep, signer: Annotated[LogSigner, Depends(get_signer)]) -> AuditLog:
    """An :class:`AuditLog` in the request's transaction."""
    return AuditLog(session, signer)


AuditLogDep = Annotated[AuditLog, Depends(audit_log)]
Size = Annotated[int, Query(ge=0, le=INT64_MAX)]


def visible_orgs(actor: Actor, log: AuditLog, org_ids: set[str]) -> set[str]:
    """Which of ``org_ids`` the actor may see."""
    if not org_ids:
        return set()
    stmt = select(Organisation.id).where(Organisation.id.in_(org_ids), org_scope_clause(actor))
    return set(log.session.scalars(stmt))


@router.get("/checkpoint")
def checkpoint(log: AuditLogDep) -> dict[str, Any]:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note, Ed25519)."""
    return log.checkpoint().to_dict()


@router.get("/public-key")
def public_key(log: AuditLogDep) -> dict[str, str]:
    """The log's Ed25519 public key (base64 of the 32 raw bytes)."""
    key = log.signer.public_key
    return {
        "algorithm": "ed25519",
        "public_key": base64.b64encode(key).decode(),
        "origin": log.signer.origin,
        "verifier_key": format_verifier_key(log.signer.origin, key),
    }


@router.get("/leaves")
def leaves(actor: CurrentActor, log: AuditLogDep, start: Size, end: Size) -> list[dict[str, Any]]:
    """Leaves ``[start, end)`` with their event data where the caller may read it."""
    rows = log.leaves(start, end)
    allowed = visible_orgs(actor, log, {r.org_id for r in rows if r.org_id})
    return [
        {
            "index": r.idx,
            "leaf_hash": bytes(r.leaf_hash).hex(),
            "data": json.loads(r.data) if r.org_id is None or r.org_id in allowed else None,
        }
        for r in rows
    ]


@router.get("/root")
def root(log: AuditLogDep, tree_size: Size) -> dict[str, Any]:
    """Root hash of the log at any size up to the current one."""
    return {"tree_size": tree_size, "root_hash": log.root(tree_size).hex()}


@router.get("/proof/inclusion")
def proof_inclusion(log: AuditLogDep, leaf_index: Size, tree_size: Size) -> dict[str, Any]:
    """RFC 9162 inclusion proof."""
    path = log.inclusion(leaf_index, tree_size)
    return {"leaf_index": leaf_index, "tree_size": tree_size, "audit_path": [h.hex() for h in path]}


@router.get("/proof/consistency")
def proof_consistency(log: AuditLogDep, first: Size, second: Size) -> dict[str, Any]:
    """RFC 9162 consistency proof."""
    return {
        "first": first,
        "second": second,
        "proof": [h.hex() for h in log.consistency(first, second)],
    }


@router.get("/bundle/{leaf_index}")
def bundle(
    leaf_index: Annotated[int, Path(ge=0, le=INT64_MAX)], actor: CurrentActor, log: AuditLogDep
) -> dict[str, Any]:
    """A receipt bundle (event, inclusion proof, signed checkpoint, public key)."""
    leaf = log.leaf(leaf_index)
    if leaf.org_id and not visible_orgs(actor, log, {leaf.org_id}):
        raise Forbidden(
            "this event belongs to an organisation outside your scope", code="org_out_of_scope"
        )
    return log.bundle(leaf_index)
