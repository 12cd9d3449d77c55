"""The HTTP contract of ``/v1/audit`` and offline bundle verification (CLI)."""

from __future__ import annotations

import base64
import copy
import json

from typer.testing import CliRunner

from greencircle.audit.merkle import canonical_json, leaf_hash, verify_consistency, verify_inclusion
from greencircle.audit.service import AuditLog
from greencircle.cli.main import app as cli_app


def append(api, events):
    state = api.client.app.state
    session = state.session_factory()
    try:
        idx = AuditLog(session, state.log_signer).append(events)
        session.commit()
    finally:
        session.close()
    return idx


def test_contract_shapes_and_values(api):
    cq, sc = api.org_id("CQ-POW-01"), api.org_id("SC-POW-01")
    append(
        api,
        [
            {"type": "demo.a", "org_id": cq, "v": 1},
            {"type": "demo.b", "org_id": sc, "v": 2},
            {"type": "factor_set.published", "v": 3},
        ],
    )
    cp = api.get("/v1/audit/checkpoint").json()
    assert set(cp) >= {"origin", "tree_size", "root_hash", "timestamp", "checkpoint", "signature"}
    assert cp["tree_size"] == 3
    key = api.get("/v1/audit/public-key").json()
    assert key["algorithm"] == "ed25519" and len(base64.b64decode(key["public_key"])) == 32
    assert cp["checkpoint"].startswith(f"{cp['origin']}\n3\n")
    assert base64.b64decode(cp["checkpoint"].split("\n")[2]).hex() == cp["root_hash"]
    leaves = api.get("/v1/audit/leaves?start=0&end=3", "gc-secretariat").json()
    assert [leaf["index"] for leaf in leaves] == [0, 1, 2]
    for leaf in leaves:
        assert leaf_hash(canonical_json(leaf["data"])).hex() == leaf["leaf_hash"]
    r = api.get("/v1/audit/root?tree_size=2").json()
    assert r["tree_size"] == 2
    proof = api.get("/v1/audit/proof/inclusion?leaf_index=1&tree_size=3").json()
    assert proof["leaf_index"] == 1 and proof["tree_size"] == 3
    assert verify_inclusion(
        bytes.fromhex(leaves[1]["leaf_hash"]),
        1,
        3,
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(cp["root_hash"]),
    )
    cons = api.get("/v1/audit/proof/consistency?first=2&second=3").json()
    assert cons["first"] == 2 and cons["second"] == 3
    assert verify_consistency(
        2,
        3,
        bytes.fromhex(r["root_hash"]),
        bytes.fromhex(cp["root_hash"]),
        [bytes.fromhex(h) for h in cons["proof"]],
    )


def test_leaf_data_follows_access_rules(api):
    cq, sc = api.org_id("CQ-POW-01"), api.org_id("SC-POW-01")
    append(
        api,
        [{"type": "demo.a", "org_id": cq}, {"type": "demo.b", "org_id": sc}, {"type": "public.c"}],
    )
    seen = {
        u: [
            leaf["data"] is not None for leaf in api.get("/v1/audit/leaves?start=0&end=3", u).json()
        ]
        for u in ("cq-pow-01", "sc-pow-01", "cq-eeb", "gc-secretariat")
    }
    assert seen == {
        "cq-pow-01": [True, False, True],
        "sc-pow-01": [False, True, True],
        "cq-eeb": [True, False, True],
        "gc-secretariat": [True, True, True],
    }
    assert api.get("/v1/audit/leaves?start=0&end=3").status_code == 401
    assert api.get("/v1/audit/bundle/1", "cq-pow-01").status_code == 403
    assert api.get("/v1/audit/bundle/0", "cq-pow-01").status_code == 200


def test_bad_proof_requests_are_4xx(api):
    append(api, [{"type": "x"}])
    for q in (
        "/v1/audit/root?tree_size=5",
        "/v1/audit/proof/inclusion?leaf_index=1&tree_size=1",
        "/v1/audit/proof/consistency?first=2&second=1",
        "/v1/audit/proof/inclusion?leaf_index=-1&tree_size=1",
        "/v1/audit/leaves?start=0&end=100000",
    ):
        r = api.get(q, "gc-secretariat")
        assert 400 <= r.status_code < 500, q
        assert "error" in r.json()


def run_verify(tmp_path, bundle, *extra):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    return CliRunner().invoke(cli_app, ["audit", "verify", str(path), *extra])


def test_bundle_verifies_offline_and_tampering_is_detected(api, tmp_path):
    cq = api.org_id("CQ-POW-01")
    append(
        api,
        [
            {"type": "mrv.receipt", "org_id": cq, "emissions_tco2": "3.0959", "i": i}
            for i in range(5)
        ],
    )
    bundle = api.get("/v1/audit/bundle/3", "cq-pow-01").json()
    key = api.get("/v1/audit/public-key").json()["public_key"]
    ok = run_verify(tmp_path, bundle, "--public-key", key)
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output and "INVALID" not in ok.output

    def tampered(mutate):
        b = copy.deepcopy(bundle)
        mutate(b)
        return run_verify(tmp_path, b, "--public-key", key)

    cases = {
        "leaf_hash": lambda b: b["event"].update(emissions_tco2="2.0000"),
        "signature": lambda b: b.update(checkpoint=b["checkpoint"].replace("\n5\n", "\n6\n")),
        "inclusion": lambda b: b["inclusion_proof"].__setitem__(0, "00" * 32),
    }
    for check, mutate in cases.items():
        r = tampered(mutate)
        assert r.exit_code == 1, check
        assert f"✗ {check}" in r.output, (check, r.output)
    wrong_key = base64.b64encode(b"\x01" * 32).decode()
    r = run_verify(tmp_path, bundle, "--public-key", wrong_key)
    assert r.exit_code == 1 and "✗ signature" in r.output
    r = run_verify(tmp_path, {"format": "something else"})
    assert r.exit_code == 1 and "✗ format" in r.output
