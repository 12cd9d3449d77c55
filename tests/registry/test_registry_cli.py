"""``greencircle registry ...``: the same operations and rejections as the API, ``--as``
a platform user, tables or ``--json``, ``error: <code>`` and exit 1 on rejection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from greencircle.audit.verify import verify_bundle
from greencircle.cli.main import app
from greencircle.config import get_settings
from greencircle.demo.registry import BENEFICIARY, SECOND_REGULATOR

CQEA = "CN-CQ:CQEA:2025"


@pytest.fixture
def cli(registry_template, tmp_path, monkeypatch):
    path, var = registry_template
    dest = tmp_path / "registry.sqlite"
    shutil.copy(path, dest)
    monkeypatch.setenv("GREENCIRCLE_DATABASE_URL", f"sqlite:///{dest}")
    monkeypatch.setenv("GREENCIRCLE_VAR_DIR", str(var))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["registry", *args])
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    yield run
    get_settings.cache_clear()


def js(result: Any) -> Any:
    return json.loads(result.stdout)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_balances_blocks_serials_and_proofs(cli, tmp_path):
    rows = js(cli("balances", "--as", "cq-cem-01", "--json"))
    (line,) = [r for r in rows if r["instrument_code"] == CQEA]
    assert line["posted"] == line["available"]
    table = cli("balances", "--as", "cq-cem-01", "--market", "CN-CQ").stdout
    assert "CN-CQ.CQ-CEM-01" in table and "available" in table
    # quantities with the instrument class's unit, grouped by thousands
    assert f"{line['available']:,} tCO₂e" in flat(table)
    blocks = js(cli("blocks", "CN-CQ.CQ-CEM-01", "--as", "cq-cem-01", "--json"))
    assert sum(b["quantity"] for b in blocks) == line["posted"]
    found = js(cli("serials", CQEA, "1", "10", "--as", "cq-eeb", "--json"))
    assert found["history"][0]["kind"] == "allocation"
    out = tmp_path / "proofs.json"
    cli("proofs", "CN-CQ.CQ-CEM-01", CQEA, "--as", "cq-cem-01", "--out", str(out))
    bundles = json.loads(out.read_text())
    assert bundles and all(verify_bundle(b).ok for b in bundles)
    markets = js(cli("markets", "--json"))
    assert {m["code"] for m in markets} >= {"CN-CQ", "CN-NATIONAL", "SCO"}
    assert CQEA in cli("instruments", "--market", "CN-CQ").stdout
    # scope: another enterprise's holdings
    r = cli("balances", "--as", "cq-cem-01", "--org", "CQ-CEM-02", code=1)
    assert "error: out_of_jurisdiction" in flat(r.output) or "error: " in r.output
    r = cli("blocks", "CN-CQ.CQ-CEM-02", "--as", "cq-cem-01", code=1)
    assert "error: not_found" in flat(r.output)
    r = cli("balances", "--as", "nobody", code=1)
    assert "error: unknown_user" in flat(r.output)


def test_issue_transfer_four_eyes_and_rejections(cli):
    tx = js(
        cli(
            "issue", "--as", "cq-eeb", "--market", "CN-CQ", "--product", "CCER",
            "--vintage", "2024", "--to", "CQ-CEM-01", "--quantity", "80000",
            "--project", "P-CLI", "--json",
        )
    )  # fmt: skip
    ccer = tx["legs"][0]["instrument_code"]
    r = cli(
        "issue", "--as", "cq-eeb", "--market", "CN-CQ", "--product", "CQEA",
        "--vintage", "2025", "--to", "CQ-CEM-01", "--quantity", "1", code=1,
    )  # fmt: skip
    assert "error: invalid_state" in flat(r.output)
    done = js(
        cli("transfer", "create", "CN-CQ.CQ-CEM-01", "CN-CQ.CQ-CEM-02", ccer, "10",
            "--as", "cq-cem-01", "--json")
    )  # fmt: skip
    assert done["status"] == "completed"
    pending = js(
        cli("transfer", "create", "CN-CQ.CQ-CEM-01", "CN-CQ.CQ-CEM-02", ccer, "60000",
            "--as", "cq-cem-01", "--json")
    )  # fmt: skip
    assert pending["status"] == "pending_approval"
    r = cli("transfer", "approve", pending["transfer_id"], "--as", "cq-cem-01", code=1)
    assert "error: four_eyes_required" in flat(r.output)
    r = cli("transfer", "reject", pending["transfer_id"], "--as", "cq-cem-01", "--json")
    assert js(r)["status"] == "cancelled"
    for args, error in [
        (("CN-CQ.CQ-CEM-01", "CN-CQ.CQ-CEM-02", ccer, "999999999"), "insufficient_available"),
        (("CN-CQ.CQ-CEM-01", "CN-NATIONAL.CQ-POW-01", ccer, "1"), "wrong_market"),
        (("CN-CQ.CQ-CEM-02", "CN-CQ.CQ-CEM-01", ccer, "1"), "not_holder"),
        (("CN-CQ.CQ-CHE-02", "CN-CQ.CQ-CEM-01", CQEA, "1"), "not_holder"),
    ]:
        r = cli("transfer", "create", *args, "--as", "cq-cem-01", code=1)
        assert f"error: {error}" in flat(r.output), (args, r.output)
    r = cli("transfer", "create", "CN-CQ.CQ-CHE-02", "CN-CQ.CQ-CEM-01", CQEA, "1",
            "--as", "cq-che-02", code=1)  # fmt: skip
    assert "error: units_pledged" in flat(r.output)
    listed = js(cli("transfer", "list", "--as", "cq-cem-01", "--json"))
    assert {t["status"] for t in listed} == {"completed", "cancelled"}
    cli("trust", "CN-CQ.CQ-CEM-02", "--as", "cq-cem-01")


def test_allocation_plan_lifecycle(cli, tmp_path):
    lines = tmp_path / "lines.json"
    lines.write_text(
        json.dumps([{"org": "CQ-CEM-01", "method": "grandfathering", "activity": "1000"}])
    )
    plan = js(
        cli("plan", "create", "--as", "cq-eeb", "--market", "CN-CQ", "--year", "2030",
            "--product", "CQEA", "--lines", str(lines), "--pre-share-bp", "5000", "--json")
    )  # fmt: skip
    pid = plan["plan_id"]
    r = cli("plan", "approve", pid, "--as", "cq-eeb", code=1)
    assert "error: four_eyes_required" in flat(r.output)
    assert js(cli("plan", "approve", pid, "--as", SECOND_REGULATOR, "--json"))["status"] == (
        "approved"
    )
    assert js(cli("plan", "issue", pid, "--as", "cq-eeb", "--json"))["status"] == "pre_issued"
    acts = tmp_path / "acts.json"
    acts.write_text(json.dumps({"CQ-CEM-01": "1200"}))
    cli("plan", "true-up", pid, "--as", "cq-eeb", "--activities", str(acts))
    final = js(cli("plan", "approve-true-up", pid, "--as", SECOND_REGULATOR, "--json"))
    assert final["status"] == "final" and final["lines"][0]["issued"] == 1200
    assert pid in cli("plan", "list", "--as", "cq-eeb", "--year", "2030").stdout
    assert js(cli("plan", "show", pid, "--as", "cq-eeb", "--json"))["total_quantity"] == 1200
    r = cli("plan", "show", pid, "--as", "sc-eed", code=1)
    assert "error: not_found" in flat(r.output)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = cli("plan", "create", "--as", "cq-eeb", "--market", "CN-CQ", "--year", "2031",
            "--product", "CQEA", "--lines", str(bad), code=1)  # fmt: skip
    assert "error: invalid_file" in flat(r.output)


def test_compliance_retirement_certificates_pledges_freezes_and_cash(cli, tmp_path):
    st = js(cli("compliance", "status", "--as", "cq-cem-02", "--market", "CN-CQ",
                "--year", "2025", "--json"))  # fmt: skip
    assert st["status"] == "compliant"
    region = js(cli("compliance", "region", "CN-CQ", "--as", "cq-eeb", "--market", "CN-CQ",
                    "--year", "2025", "--json"))  # fmt: skip
    assert region["entities"] == 8
    text = cli("compliance", "region", "CN-CQ", "--as", "cq-eeb", "--market", "CN-CQ",
               "--year", "2025").stdout  # fmt: skip
    assert "CQ-CEM-03" in text
    cli("compliance", "shortfalls", "--as", "cq-eeb", "--market", "CN-CQ", "--year", "2025")
    r = cli("compliance", "region", "CN-CQ", "--as", "sc-eed", "--market", "CN-CQ",
            "--year", "2025", code=1)  # fmt: skip
    assert "error: out_of_jurisdiction" in flat(r.output)
    r = cli("surrender", CQEA, "1", "--as", "cq-cem-03", "--market", "CN-CQ", "--year", "2025",
            code=1)  # fmt: skip
    assert "error: after_deadline" in flat(r.output) or "error: " in r.output
    surr = js(cli("compliance", "surrenders", "--as", "cq-cem-02", "--json"))
    assert {s["kind"] for s in surr} == {"allowance", "offset"}
    # retirement and its certificate
    ret = js(
        cli("retire", "CN-CQ.CQ-ALU-01", CQEA, "7", "--as", "cq-alu-01",
            "--beneficiary", "CLI Forum 2026", "--purpose", "event", "--from", "2026-03-01",
            "--to", "2026-03-02", "--json")
    )  # fmt: skip
    rid = ret["retirement_id"]
    html = cli("retirement", "certificate", rid, "--as", "cq-alu-01", "--lang", "en").stdout
    assert "Certificate of Retirement" in html and all(s in html for s in ret["serials"])
    assert f"/v1/audit/bundle/{ret['leaf_index']}" in html
    pdf = tmp_path / "cert.pdf"
    cli("retirement", "certificate", rid, "--as", "cq-alu-01", "--format", "pdf",
        "--out", str(pdf))  # fmt: skip
    assert pdf.read_bytes().startswith(b"%PDF")
    r = cli("retirement", "certificate", rid, "--as", "cq-alu-01", "--format", "pdf", code=1)
    assert "error: usage_error" in flat(r.output)
    proof = tmp_path / "proof.json"
    cli("retirement", "proof", rid, "--as", "cq-alu-01", "--out", str(proof))
    assert verify_bundle(json.loads(proof.read_text())).ok
    listed = js(cli("retirement", "list", "--as", "cq-alu-01", "--json"))
    assert {x["beneficiary"] for x in listed} == {BENEFICIARY, "CLI Forum 2026"}
    assert js(cli("retirement", "show", rid, "--as", "cq-eeb", "--json"))["quantity"] == 7
    # pledges
    (pledge,) = js(cli("pledge", "list", "--as", "bank-cq-01", "--json"))
    r = cli("pledge", "release", pledge["pledge_id"], "--as", "cq-che-02", code=1)
    assert "error: not_pledgee" in flat(r.output)
    cli("pledge", "request-release", pledge["pledge_id"], "--as", "cq-che-02")
    assert (
        js(cli("pledge", "release", pledge["pledge_id"], "--as", "bank-cq-01", "--json"))["status"]
        == "released"
    )
    new = js(cli("pledge", "create", "CN-CQ.CQ-ALU-01", CQEA, "50", "--as", "cq-alu-01",
                 "--pledgee", "BANK-CQ-01", "--reference", "L-CLI", "--json"))  # fmt: skip
    assert (
        js(cli("pledge", "enforce", new["pledge_id"], "--as", "bank-cq-01", "--json"))["status"]
        == "enforced"
    )
    # freezes
    f = js(cli("freeze", "create", "CN-CQ.CQ-ALU-01", CQEA, "--as", "cq-eeb",
               "--reason", "inspection", "--quantity", "10", "--json"))  # fmt: skip
    assert f["quantity"] == 10
    assert len(js(cli("freeze", "list", "--as", "cq-alu-01", "--json"))) == 1
    r = cli("freeze", "lift", f["freeze_id"], "--as", "sc-eed", "--reason", "x", code=1)
    assert "error: out_of_jurisdiction" in flat(r.output)
    cli("freeze", "lift", f["freeze_id"], "--as", "cq-eeb", "--reason", "done")
    # cash
    dep = js(cli("cash", "deposit", "CQ-CEM-03", "500000", "--as", "settle-01",
                 "--reference", "D-CLI", "--json"))  # fmt: skip
    assert dep["balance_minor"] == 500000 and dep["scale"] == 2
    r = cli("cash", "withdraw", "CQ-CEM-03", "500001", "--as", "settle-01",
            "--reference", "W-CLI", code=1)  # fmt: skip
    assert "error: insufficient_available" in flat(r.output)
    # people read money with its currency and both decimals (500000 fen = CNY 5,000.00)
    out = flat(cli("cash", "deposit", "CQ-CEM-03", "1234567", "--as", "settle-01",
                   "--reference", "D-CLI-2").stdout)  # fmt: skip
    assert "12,345.67 CNY" in out and "17,345.67 CNY" in out
    bal = flat(cli("balances", "--as", "cq-cem-03").stdout)
    assert "17,345.67 CNY" in bal and "1734567" not in bal
    r = cli("cash", "deposit", "CQ-CEM-03", "1", "--as", "cq-cem-03", "--reference", "x", code=1)
    assert "error: permission_denied" in flat(r.output)
    r = cli("cash", "deposit", "NOPE", "1", "--as", "settle-01", "--reference", "x", code=1)
    assert "error: unknown_organisation" in flat(r.output)
    # accounts
    acc = js(cli("open-account", "CN-CQ", "--as", "sc-cem-01", "--json"))
    assert acc["number"] == "CN-CQ.SC-CEM-01"
    r = cli("open-account", "CN-CQ", "--as", "kz-ent-01", code=1)
    assert "error: jurisdiction_not_eligible" in flat(r.output)
    assert "CN-CQ.SC-CEM-01" in cli("accounts", "--as", "sc-eed", "--org", "SC-CEM-01").stdout
    assert Path(pdf).stat().st_size > 2000
