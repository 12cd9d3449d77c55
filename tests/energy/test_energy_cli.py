"""CLI contract: ``greencircle energy microgrid optimize SPEC.json --out RESULT.json``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from greencircle.cli.main import app
from greencircle.config import get_settings
from greencircle.energy import RESULT_KEYS
from greencircle.energy.result import SERIES_KEYS
from greencircle.mrv.factors import METHOD_ELECTRICITY, lookup

from .test_energy_api import small_spec

CMD = ["energy", "microgrid", "optimize"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def flat(text: str) -> str:
    """Terminal output with rich's line wrapping undone."""
    return " ".join(text.split())


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, "utf-8")
    return path


def test_optimize_writes_the_result_and_exits_0(runner, tmp_path):
    spec = write(tmp_path / "spec.json", small_spec())
    out = tmp_path / "result.json"
    r = runner.invoke(app, [*CMD, str(spec), "--out", str(out)])
    assert r.exit_code == 0, r.output
    result = json.loads(out.read_text("utf-8"))
    assert list(result)[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    assert result["status"] == "optimal"
    assert set(result["series"]) == set(SERIES_KEYS)
    assert result["notes"]["grid_factor"]["factor_id"] == (
        lookup(METHOD_ELECTRICITY, "CN-SW", 2023).factor.factor_id
    )
    assert r.stdout == ""  # progress and summary go to stderr
    assert "status optimal" in r.stderr
    assert "microgrid" in r.stderr  # the progress bar
    # Figures as people read them: grouped, rounded per unit, with their units.
    summary = " ".join(r.stderr.split())
    pv = f"{result['pv_kwp']:,.0f}"
    assert f"PV {pv} kWp" in summary
    assert f"cost {result['objective_cny']:,.0f} CNY/yr" in summary
    assert "tCO₂/yr" in summary and "MWh/yr" in summary


def test_without_out_the_result_goes_to_stdout_as_pure_json(runner, tmp_path):
    spec = write(tmp_path / "spec.json", small_spec())
    r = runner.invoke(app, [*CMD, str(spec)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "optimal"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (small_spec(timestep_hours=0), "timestep_hours"),
        (small_spec(battery={"charge_efficiency": 0.9}), "battery"),
        ("{not json", "not JSON: line 1"),
        ([1, 2, 3], "JSON object"),
        (small_spec(carbon={"grid_tco2_per_mwh": {"grid_code": "CN-SW", "year": 1990}}), "1990"),
    ],
)
def test_invalid_spec_exits_1_with_the_error_code_and_writes_nothing(
    runner, tmp_path, content, needle
):
    spec = write(tmp_path / "spec.json", content)
    out = tmp_path / "result.json"
    r = runner.invoke(app, [*CMD, str(spec), "--out", str(out)])
    assert r.exit_code == 1
    assert "error: energy.spec_invalid" in r.stderr
    assert needle in flat(r.stderr)
    assert not out.exists()


def test_missing_spec_file_is_a_clear_error(runner, tmp_path):
    r = runner.invoke(app, [*CMD, str(tmp_path / "nope.json"), "--out", str(tmp_path / "r.json")])
    assert r.exit_code == 1
    assert "error: energy.spec_invalid" in r.stderr and "cannot read" in flat(r.stderr)


def test_the_installed_command_keeps_the_exact_contract(tmp_path):
    """The real process: exit codes, stderr error line, RESULT file."""
    spec = write(tmp_path / "spec.json", small_spec())
    out = tmp_path / "RESULT.json"
    base = [sys.executable, "-m", "greencircle.cli.main", *CMD]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run(
        [*base, str(spec), "--out", str(out)], capture_output=True, text=True, env=env, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text())["status"] == "optimal"
    bad = write(tmp_path / "bad.json", small_spec(load_kw=[]))
    failed = subprocess.run(
        [*base, str(bad), "--out", str(tmp_path / "never.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: energy.spec_invalid")
    assert not (tmp_path / "never.json").exists()


def test_grid_factor_command_reports_fallbacks(runner):
    r = runner.invoke(app, ["energy", "grid-factor", "CN-CQ", "2025"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    expected = lookup(METHOD_ELECTRICITY, "CN-SW", 2025)
    assert data["grid_code"] == "CN-SW"
    assert data["tco2_per_mwh"] == float(expected.factor.value)
    assert len(data["fallback"]) == 3  # province code, regional grid, earlier year
    r = runner.invoke(app, ["energy", "grid-factor", "XX-NOWHERE", "2023"])
    assert r.exit_code == 1 and "energy.grid_factor_not_found" in r.stderr


@pytest.fixture
def demo_db(energy_template, tmp_path, monkeypatch):
    path, var = energy_template
    dest = tmp_path / "cli.sqlite"
    shutil.copy(path, dest)
    url = f"sqlite:///{dest}"
    monkeypatch.setenv("GREENCIRCLE_DATABASE_URL", url)
    monkeypatch.setenv("GREENCIRCLE_VAR_DIR", str(var))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_site_and_user_save_the_run_as_a_study(runner, tmp_path, demo_db):
    from greencircle.demo.energy import DEMO_SITE_CODE
    from greencircle.energy.models import EnergySite, EnergyStudy
    from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

    engine = make_engine(demo_db)
    with unit_of_work(make_session_factory(engine)) as s:
        site_id = s.scalar(select(EnergySite.id).where(EnergySite.code == DEMO_SITE_CODE))
    spec = write(tmp_path / "spec.json", small_spec())
    out = tmp_path / "result.json"
    args = [*CMD, str(spec), "--out", str(out), "--site", site_id, "--label", "cli-run"]
    r = runner.invoke(app, [*args, "--as", "sc-che-01"])
    assert r.exit_code == 1 and "org_out_of_scope" in r.stderr
    r = runner.invoke(app, [*args, "--as", "cq-che-01"])
    assert r.exit_code == 0, r.output
    study_id = json.loads(out.read_text())["study_id"]
    with unit_of_work(make_session_factory(engine)) as s:
        study = s.get(EnergyStudy, study_id)
        assert study is not None
        assert (study.label, study.status, study.site_id) == ("cli-run", "succeeded", site_id)
        assert study.log_index is not None
    engine.dispose()
    r = runner.invoke(app, [*CMD, str(spec), "--site", site_id])
    assert r.exit_code == 1 and "usage_error" in r.stderr
