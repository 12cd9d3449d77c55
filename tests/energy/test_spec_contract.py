"""SPEC validation, tariff expansion and the RESULT contract of optimize_spec."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from greencircle.energy import RESULT_KEYS, optimize_spec
from greencircle.energy.errors import MicrogridSpecInvalid
from greencircle.energy.result import SERIES_KEYS
from greencircle.energy.spec import resolve_spec
from greencircle.energy.tariffs import available_tariffs, expand_tariff, load_tariff

N = 48


def _spec(**over: Any) -> dict[str, Any]:
    h = np.arange(N) % 24
    spec: dict[str, Any] = {
        "timestep_hours": 1,
        "load_kw": [100.0] * N,
        "pv": {
            "profile_kw_per_kwp": np.clip(np.sin((h - 6) / 12 * np.pi), 0, None).round(4).tolist(),
            "cost_cny_per_kwp_year": 5.0,
        },
        "battery": {
            "energy_cost_cny_per_kwh_year": 1.0,
            "power_cost_cny_per_kw_year": 0.5,
            "charge_efficiency": 0.922,
            "discharge_efficiency": 0.922,
            "soc_min_fraction": 0.1,
            "soc_max_fraction": 0.95,
        },
        "grid": {
            "import_price_cny_per_kwh": {"tariff": "CN-SC-2023-LI", "flat_price_cny_per_kwh": 0.6},
            "export_price_cny_per_kwh": 0.3,
            "import_limit_kw": 500,
            "export_limit_kw": 50,
        },
        "carbon": {"grid_tco2_per_mwh": 0.5703, "price_cny_per_tco2": 80},
        "outages": [{"start_step": 20, "steps": 3, "critical_load_fraction": 0.3}],
        "unserved_energy_cost_cny_per_kwh": 20,
        "operating_cost_weight": 182.5,
    }
    spec.update(over)
    return spec


def _messages(exc: pytest.ExceptionInfo[MicrogridSpecInvalid]) -> str:
    return " | ".join(f"{d['loc']}: {d['message']}" for d in exc.value.detail)


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"grid": {"import_price_cny_per_kwh": [0.5] * (N - 1)}}, "47 values, expected N = 48"),
        ({"outages": [{"start_step": 46, "steps": 5, "critical_load_fraction": 0.2}]}, "beyond"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"timestep_hours": 0}, "timestep_hours"),
        ({"load_kw": []}, "load_kw"),
    ],
)
def test_spec_errors_are_clear(patch: dict[str, Any], needle: str) -> None:
    with pytest.raises(MicrogridSpecInvalid) as exc:
        resolve_spec(_spec(**patch))
    assert needle in _messages(exc)
    assert exc.value.code == "energy.spec_invalid"


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("charge_efficiency", 0.0, "battery.charge_efficiency"),
        ("discharge_efficiency", 1.2, "battery.discharge_efficiency"),
        ("soc_min_fraction", 0.99, "soc_min_fraction (0.99) must be <= soc_max_fraction"),
    ],
)
def test_battery_validation(field: str, value: float, needle: str) -> None:
    spec = _spec()
    spec["battery"] = {**spec["battery"], field: value}
    with pytest.raises(MicrogridSpecInvalid) as exc:
        resolve_spec(spec)
    assert needle in _messages(exc)


def test_unknown_tariff_is_reported() -> None:
    spec = _spec()
    spec["grid"] = {
        **spec["grid"],
        "import_price_cny_per_kwh": {"tariff": "XX", "flat_price_cny_per_kwh": 1},
    }
    with pytest.raises(MicrogridSpecInvalid, match="unknown tariff"):
        resolve_spec(spec)


def test_sichuan_tariff_expansion() -> None:
    assert "CN-SC-2023-LI" in available_tariffs()
    t = load_tariff("CN-SC-2023-LI")
    assert t.status == "recall"
    assert any("186号" in s for s in t.sources)
    flat = 0.6
    idx = pd.date_range("2023-01-01", "2023-12-31 23:00", freq="h")
    price = pd.Series(expand_tariff(t, idx, flat), index=idx)
    may = price["2023-05-10"].to_numpy()
    expect = np.array([0.4] * 7 + [1.0] * 3 + [1.6] * 2 + [1.0] * 3 + [1.6] * 6 + [1.0] * 2 + [0.4])
    np.testing.assert_allclose(may, expect * flat)
    cp = 1.6 * 1.2 * flat
    np.testing.assert_allclose(price["2023-07-15"].to_numpy()[15:17], cp)
    np.testing.assert_allclose(price["2023-08-15"].to_numpy()[17:21], 1.6 * flat)
    np.testing.assert_allclose(price["2023-01-15"].to_numpy()[19:21], cp)
    np.testing.assert_allclose(price["2023-12-15"].to_numpy()[15:17], 1.6 * flat)
    no_cp = expand_tariff(t, idx, flat, critical_peak=False)
    assert no_cp.max() == pytest.approx(1.6 * flat)
    # Peak : flat : valley = 1.6 : 1 : 0.4 and peak/valley = 4 (NDRC ≥ 4:1 guidance).
    assert no_cp.max() / no_cp.min() == pytest.approx(4.0)


def test_result_contract_and_json(tmp_path: Path) -> None:
    stages: list[str] = []
    result = optimize_spec(_spec(), progress=lambda stage, frac: stages.append(stage))
    assert list(result)[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    assert result["status"] == "optimal"
    for key in (
        "objective_cny",
        "pv_kwp",
        "battery_kwh",
        "battery_kw",
        "import_kwh",
        "export_kwh",
        "unserved_kwh",
        "emissions_tco2",
        "solve_seconds",
    ):
        assert isinstance(result[key], float), key
        assert math.isfinite(result[key])
    assert set(result["series"]) == set(SERIES_KEYS)
    assert all(len(v) == N for v in result["series"].values())
    # Outage: no grid exchange, critical load served.
    s = result["series"]
    for t in range(20, 23):
        assert s["import_kw"][t] == 0.0
        assert s["export_kw"][t] == 0.0
        assert s["unserved_kw"][t] <= 0.7 * s["load_kw"][t] + 1e-6
    # Emissions = import MWh × factor (weighted), stated in tCO2.
    assert result["emissions_tco2"] == pytest.approx(result["import_kwh"] / 1000 * 0.5703)
    assert result["notes"]["tariff"]["status"] == "recall"
    assert "user-supplied" in result["notes"]["tariff"]["flat_price_status"]
    assert stages[0] == "resolving spec"
    assert stages[-1] == "done"
    # CLI-style round trip: SPEC.json in, RESULT.json out, strict JSON.
    spec_path = tmp_path / "SPEC.json"
    spec_path.write_text(json.dumps(_spec()))
    out = optimize_spec(json.loads(spec_path.read_text()))
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["objective_cny"] == pytest.approx(result["objective_cny"])


def test_infeasible_result_names_hours() -> None:
    spec = _spec(outages=[{"start_step": 0, "steps": 4, "critical_load_fraction": 1.0}])
    spec["battery"] = {**spec["battery"], "max_kwh": 10.0}
    result = optimize_spec(spec)
    assert result["status"] == "infeasible"
    exp = result["explanation"]
    assert exp["explained"] is True
    assert exp["windows"][0]["start_step"] >= 0
    assert exp["windows"][0]["start_time"].startswith("2023-01-01T")
    assert exp["total_shortfall_kwh"] == pytest.approx(400.0 - 10.0 * 0.85 * 0.922, rel=1e-6)
    json.dumps(result, allow_nan=False)


def test_pv_site_preset_and_weather_csv(tmp_path: Path) -> None:
    spec = _spec()
    spec["pv"] = {"site": {"preset": "chengdu", "tilt_deg": 15}, "cost_cny_per_kwp_year": 5.0}
    problem = resolve_spec(spec)
    assert problem.pv_kw_per_kwp.shape == (N,)
    assert problem.pv_kw_per_kwp[:6].max() == 0.0  # night
    assert problem.notes["pv"]["status"] == "estimate"  # type: ignore[index]
    rows = ["timestamp,ghi,dni,dhi,temp_air,wind_speed"]
    for t in pd.date_range("2023-01-01", periods=N, freq="h"):
        g = max(0.0, 600 * math.sin((t.hour - 6) / 12 * math.pi))
        rows.append(f"{t.isoformat()},{g:.1f},{g * 0.5:.1f},{g * 0.4:.1f},10,1")
    (tmp_path / "w.csv").write_text("\n".join(rows) + "\n")
    spec["pv"] = {
        "site": {"latitude_deg": 30.66, "longitude_deg": 104.07, "weather_csv": "w.csv"},
        "cost_cny_per_kwp_year": 5.0,
    }
    problem = resolve_spec(spec, base_dir=tmp_path)
    assert problem.pv_kw_per_kwp.max() > 0.1
    assert problem.notes["pv"]["weather"] == "user CSV"  # type: ignore[index]
