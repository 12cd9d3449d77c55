"""The ``greencircle`` command: migrations, demo scenario, scoped listing, error codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from greencircle.cli.main import app
from greencircle.config import get_settings
from greencircle.demo.scenario import ENTERPRISES, demo_organisations


def migrate_head() -> str:
    from greencircle.storage.migrate import script_heads

    return ",".join(script_heads())


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENCIRCLE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("GREENCIRCLE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_help_is_available_everywhere(cli):
    for args in ([], ["db"], ["demo"], ["org"], ["org", "list"], ["db", "upgrade"]):
        r = cli.invoke(app, [*args, "--help"])
        assert r.exit_code == 0, args
        assert "Usage" in r.output


def test_db_upgrade_then_current(cli):
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    r = cli.invoke(app, ["db", "current"])
    assert r.exit_code == 0
    assert r.output.strip() == migrate_head()


def test_demo_load_is_idempotent_and_complete(cli):
    first = cli.invoke(app, ["demo", "load"])
    assert first.exit_code == 0, first.output
    n_orgs = len(demo_organisations())
    assert f"'organisations': {n_orgs}" in first.output
    second = cli.invoke(app, ["demo", "load"])
    assert "'organisations': 0" in second.output
    assert "'users': 0" in second.output
    r = cli.invoke(app, ["org", "list", "--as", "gc-secretariat", "--json", "--limit", "500"])
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["total"] == n_orgs
    types = [o["type"] for o in data["items"]]
    assert types.count("enterprise") == len(ENTERPRISES) + 2  # + the Kazakh and Uzbek ones
    assert types.count("verifier") == 2
    assert types.count("financial_institution") == 2
    assert types.count("settlement_bank") == 1
    assert types.count("regulator") == 2
    jur = {o["jurisdiction"] for o in data["items"]}
    assert any(j.startswith("CN-CQ") for j in jur)
    assert any(j.startswith("CN-SC") for j in jur)
    assert {"KZ-75", "UZ-TK"} <= jur


def test_scoped_listing_and_error_codes(cli):
    cli.invoke(app, ["demo", "load"])
    r = cli.invoke(app, ["org", "list", "--as", "cq-pow-01", "--json"])
    assert [o["code"] for o in json.loads(r.output)["items"]] == ["CQ-POW-01"]
    r = cli.invoke(app, ["org", "list", "--as", "nobody"])
    assert r.exit_code == 1
    assert "error: unknown_user" in r.output


def test_demo_sectors_and_regions():
    sectors = {s for s, _j, _n in ENTERPRISES}
    assert sectors == {"power", "cement", "steel", "chemicals", "aluminium"}
    assert 28 <= len(ENTERPRISES) <= 32
    for sector in sectors:
        places = {j[:5] for s, j, _n in ENTERPRISES if s == sector}
        assert places == {"CN-CQ", "CN-SC"}, sector
