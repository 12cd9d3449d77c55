"""Rolling-horizon and rule-based dispatch of a built system."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from greencircle.energy.dispatch import rolling_dispatch, rule_based_dispatch
from greencircle.energy.optimise import optimise
from greencircle.energy.problem import BatteryOptions, MicrogridProblem, PVOptions

from ._helpers import assert_dispatch_invariants

DAYS = 21
N = 24 * DAYS


OUTAGE_START = 24 * 5 + 19


def _problem(seed: int = 0, outage: bool = False) -> MicrogridProblem:
    """Three weeks; with ``outage`` a 4-hour evening outage and a 6-hour storm reserve."""
    rng = np.random.default_rng(seed)
    h = np.arange(N) % 24
    tou = np.where(((h >= 10) & (h < 12)) | ((h >= 15) & (h < 21)), 1.6, 1.0)
    tou = np.where((h >= 23) | (h < 7), 0.4, tou) * 0.6
    sun = np.clip(np.sin((h - 6) / 12 * np.pi), 0, None)
    clouds = rng.uniform(0.2, 1.0, DAYS).repeat(24)
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=400 + 150 * np.clip(np.sin((h - 7) / 14 * np.pi), 0, None) + rng.normal(0, 20, N),
        import_price_cny_per_kwh=tou,
        export_price_cny_per_kwh=0.3,
        export_limit_kw=150.0,
        import_limit_kw=900.0,
        grid_tco2_per_mwh=0.57,
        carbon_price_cny_per_tco2=60.0,
        unserved_energy_cost_cny_per_kwh=10.0,
        pv_kw_per_kwp=0.75 * sun * clouds,
        pv=PVOptions(cost_cny_per_kwp_year=200.0),
        battery=BatteryOptions(
            energy_cost_cny_per_kwh_year=100.0,
            power_cost_cny_per_kw_year=40.0,
            charge_efficiency=0.922,
            discharge_efficiency=0.922,
            soc_min_fraction=0.1,
            soc_max_fraction=0.95,
        ),
        outages=[(OUTAGE_START, 4, 0.3)] if outage else None,
        operating_cost_weight=365 / DAYS,
    )
    if not outage:
        return problem
    floor = np.zeros(N)
    floor[OUTAGE_START - 6 : OUTAGE_START] = 0.9  # storm mode ahead of the outage
    return replace(problem, soc_floor_fraction=floor)


SIZES = {"pv_kwp": 500.0, "battery_kwh": 800.0, "battery_kw": 250.0}
SOC0 = 0.5 * SIZES["battery_kwh"]


def _full_optimum(problem: MicrogridProblem) -> float:
    fixed = problem.with_fixed_sizes(
        pv_kwp=SIZES["pv_kwp"],
        battery_kwh=SIZES["battery_kwh"],
        battery_kw=SIZES["battery_kw"],
        initial_soc_fraction=0.5,
    )
    sol = optimise(fixed)
    assert sol.status == "optimal"
    assert sol.costs is not None
    return sol.costs.operating_cny


@pytest.mark.parametrize("outage", [False, True])
def test_rolling_is_feasible_and_close_to_full_horizon_optimum(outage: bool) -> None:
    problem = _problem(outage=outage)
    full = _full_optimum(problem)
    roll = rolling_dispatch(problem, soc_initial_kwh=SOC0, **SIZES)
    assert set(roll.statuses) == {"Optimal"}
    assert len(roll.window_ms) == DAYS
    assert roll.critical_shortfall_kwh == pytest.approx(0.0, abs=1e-6)
    assert_dispatch_invariants(
        problem,
        roll.series,
        kwp=SIZES["pv_kwp"],
        kwh=SIZES["battery_kwh"],
        kw=SIZES["battery_kw"],
        cyclic=False,
    )
    rolling_cost = roll.costs.operating_cny
    assert rolling_cost >= full - 1e-6 * abs(full)
    assert rolling_cost <= full + 0.02 * abs(full)


def test_short_windows_cost_more() -> None:
    problem = _problem()
    day_ahead = rolling_dispatch(problem, soc_initial_kwh=SOC0, **SIZES)
    myopic = rolling_dispatch(
        problem, soc_initial_kwh=SOC0, window_hours=4, commit_hours=2, **SIZES
    )
    assert myopic.costs.operating_cny > day_ahead.costs.operating_cny


@pytest.mark.parametrize("strategy", ["self_consumption", "tou_arbitrage"])
def test_rule_based_is_valid_and_never_beats_the_optimum(strategy: str) -> None:
    problem = _problem(outage=True)
    rule = rule_based_dispatch(
        problem,
        soc_initial_kwh=SOC0,
        strategy=strategy,  # type: ignore[arg-type]
        **SIZES,
    )
    assert_dispatch_invariants(
        problem,
        rule.series,
        kwp=SIZES["pv_kwp"],
        kwh=SIZES["battery_kwh"],
        kw=SIZES["battery_kw"],
        cyclic=False,
    )
    assert rule.critical_shortfall_kwh == pytest.approx(0.0, abs=1e-9)
    full = _full_optimum(problem)
    assert full <= rule.costs.operating_cny + 1e-6
    roll = rolling_dispatch(problem, soc_initial_kwh=SOC0, **SIZES)
    assert roll.costs.operating_cny < rule.costs.operating_cny


def test_tou_arbitrage_charges_in_the_valley() -> None:
    problem = _problem()
    rule = rule_based_dispatch(problem, soc_initial_kwh=SOC0, strategy="tou_arbitrage", **SIZES)
    valley = problem.import_price_cny_per_kwh <= problem.import_price_cny_per_kwh.min()
    grid_charge = np.minimum(rule.series.charge_kw, rule.series.import_kw)
    assert grid_charge[valley].sum() > 0
    assert grid_charge[~valley].sum() == pytest.approx(0.0, abs=1e-9)
