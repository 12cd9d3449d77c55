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


def size(api) -> int:
    return int(api.get("/v1/audit/checkpoint").json()["tree_size"])


def test_contract_shapes_and_values(api):
    cq, sc = api.org_id("CQ-POW-01"), api.org_id("SC-POW-01")
    b = size(api)  # factor-set publications come first
    events = [
        {"type": "demo.a", "org_id": cq, "v": 1},
        {"type": "demo.b", "org_id": sc, "v": 2},
        {"type": "factor_set.published", "v": 3},
    ]
    append(api, events)
    n = b + 3
    cp = api.get("/v1/audit/checkpoint").json()
    assert set(cp) >= {"origin", "tree_size", "root_hash", "timestamp", "checkpoint", "signature"}
    assert cp["tree_size"] == n
    key = api.get("/v1/audit/public-key").json()
    assert key["algorithm"] == "ed25519"
    assert len(base64.b64decode(key["public_key"])) == 32
    assert cp["checkpoint"].startswith(f"{cp['origin']}\n{n}\n")
    assert base64.b64decode(cp["checkpoint"].split("\n")[2]).hex() == cp["root_hash"]
    leaves = api.get(f"/v1/audit/leaves?start=0&end={n}", "gc-secretariat").json()
    assert [leaf["index"] for leaf in leaves] == list(range(n))
    for leaf in leaves:
        assert leaf_hash(canonical_json(leaf["data"])).hex() == leaf["leaf_hash"]
    r = api.get(f"/v1/audit/root?tree_size={n - 1}").json()
    assert r["tree_size"] == n - 1
    proof = api.get(f"/v1/audit/proof/inclusion?leaf_index={b + 1}&tree_size={n}").json()
    assert (proof["leaf_index"], proof["tree_size"]) == (b + 1, n)
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    root = bytes.fromhex(cp["root_hash"])
    assert verify_inclusion(bytes.fromhex(leaves[b + 1]["leaf_hash"]), b + 1, n, path, root)
    cons = api.get(f"/v1/audit/proof/consistency?first={n - 1}&second={n}").json()
    assert (cons["first"], cons["second"]) == (n - 1, n)
    old_root = bytes.fromhex(r["root_hash"])
    assert verify_consistency(n - 1, n, old_root, root, [bytes.fromhex(h) for h in cons["proof"]])


def test_leaf_data_follows_access_rules(api):
    cq, sc = api.org_id("CQ-POW-01"), api.org_id("SC-POW-01")
    b = size(api)
    append(
        api,
        [{"type": "demo.a", "org_id": cq}, {"type": "demo.b", "org_id": sc}, {"type": "public.c"}],
    )
    window = f"/v1/audit/leaves?start={b}&end={b + 3}"
    seen = {
        u: [leaf["data"] is not None for leaf in api.get(window, u).json()]
        for u in ("cq-pow-01", "sc-pow-01", "cq-eeb", "gc-secretariat")
    }
    assert seen == {
        "cq-pow-01": [True, False, True],
        "sc-pow-01": [False, True, True],
        "cq-eeb": [True, False, True],
        "gc-secretariat": [True, True, True],
    }
    assert api.get(window).status_code == 401
    assert api.get(f"/v1/audit/bundle/{b + 1}", "cq-pow-01").status_code == 403
    assert api.get(f"/v1/audit/bundle/{b}", "cq-pow-01").status_code == 200


def test_bad_proof_requests_are_4xx(api):
    append(api, [{"type": "x"}])
    n = size(api)
    for q in (
        f"/v1/audit/root?tree_size={n + 1}",
        f"/v1/audit/proof/inclusion?leaf_index={n}&tree_size={n}",
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
    b = size(api)
    append(
        api,
        [
            {"type": "mrv.receipt", "org_id": cq, "emissions_tco2": "3.0959", "i": i}
            for i in range(5)
        ],
    )
    bundle = api.get(f"/v1/audit/bundle/{b + 3}", "cq-pow-01").json()
    key = api.get("/v1/audit/public-key").json()["public_key"]
    ok = run_verify(tmp_path, bundle, "--public-key", key)
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output and "INVALID" not in ok.output

    def tampered(mutate):
        copied = copy.deepcopy(bundle)
        mutate(copied)
        return run_verify(tmp_path, copied, "--public-key", key)

    cases = {
        "leaf_hash": lambda x: x["event"].update(emissions_tco2="2.0000"),
        "signature": lambda x: x.update(
            checkpoint=x["checkpoint"].replace(f"\n{b + 5}\n", f"\n{b + 6}\n")
        ),
        "inclusion": lambda x: x["inclusion_proof"].__setitem__(0, "00" * 32),
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
