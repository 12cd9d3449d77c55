"""``greencircle exchange fx-rate | settlement | surveil``: same services as the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from greencircle.audit.keys import signer_from
from greencircle.cli.main import app
from greencircle.config import get_settings
from tests_support import make_settings

from .ex_support import BUYER, SELLER, Market, fund

DAY = "2026-07-01"


@pytest.fixture
def cli(databases, tmp_path, monkeypatch):
    url = databases.new("sqlite", "demo")
    signer = signer_from(make_settings(url, tmp_path))  # the key the CLI will find
    fund(url, signer, units={SELLER: 100}, cash_minor={BUYER: 1_000_000})
    m = Market(url, signer=signer)
    m.now = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    m.place("cq-cem-01", side="sell", price="50.00", quantity=10)
    assert m.place("cq-ste-01", side="buy", price="50.00", quantity=10).code == "filled"
    m.close()
    monkeypatch.setenv("GREENCIRCLE_DATABASE_URL", url)
    monkeypatch.setenv("GREENCIRCLE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["exchange", *args])
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    yield run
    get_settings.cache_clear()


def test_settlement_report_statement_and_rate(cli) -> None:
    rep = json.loads(cli("settlement", "--as", "settle-01", "--date", DAY, "--json").stdout)
    (group,) = rep["groups"]
    nets = {p["org_code"]: p["net_minor"] for p in group["participants"]}
    notional, fee = 5000 * 10, 5000 * 10 * 5 // 10_000
    assert nets == {BUYER: -(notional + fee), SELLER: notional - fee, "NCM-OPERATOR": 2 * fee}
    mine = json.loads(cli("settlement", "--as", "cq-ste-01", "--date", DAY, "--json").stdout)
    assert mine["lines"][0]["net_minor"] == -(notional + fee)
    assert "NCM-OPERATOR" in cli("settlement", "--as", "ncm-operator", "--date", DAY).stdout
    args = ["--base", "KZT", "--rate", "0.0139", "--source", "t"]
    window = ["--valid-from", "2026-07-01T08:00+08:00", "--valid-until", "2026-07-02T08:00+08:00"]
    ok = json.loads(cli("fx-rate", "--as", "settle-01", *args, *window, "--json").stdout)
    assert (ok["base"], ok["rate"]) == ("KZT", "0.0139")
    denied = cli("fx-rate", "--as", "cq-ste-01", *args, *window, code=1)
    assert "permission_denied" in denied.output
    naive = cli(
        "fx-rate",
        "--as",
        "settle-01",
        *args,
        "--valid-from",
        "2026-07-01T08:00",
        "--valid-until",
        "2026-07-02T08:00+08:00",
        code=1,
    )
    assert "exchange.fx_bad_validity" in naive.output


def test_surveillance_scan_by_the_operator_and_not_by_an_enterprise(cli) -> None:
    items = json.loads(
        cli("surveil", "--as", "ncm-operator", "--market", "CN-CQ", "--date", DAY, "--json").stdout
    )
    # the seller keeps 90 of the 100 t issued (limit 60 %): a large holding; the 10 t day is
    # below the 1,000 t volume floor of the concentration alert
    assert [(a["kind"], a["org_code"]) for a in items] == [("large_holding", SELLER)]
    denied = cli("surveil", "--as", "cq-ste-01", "--market", "CN-CQ", "--date", DAY, code=1)
    assert "permission_denied" in denied.output
