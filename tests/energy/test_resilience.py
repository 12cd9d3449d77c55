"""Outages, critical load, storm reserve, infeasibility explanation, genset MILP."""

from __future__ import annotations

import numpy as np
import pytest

from greencircle.energy.optimise import optimise
from greencircle.energy.problem import (
    BatteryOptions,
    GensetOptions,
    MicrogridProblem,
    PVOptions,
)

from ._helpers import assert_dispatch_invariants

HOURS = np.arange(48) % 24
PROFILE = np.clip(np.sin((HOURS - 6) / 12 * np.pi), 0, None) * 0.7  # zero from 18:00 to 06:00


def _battery(**kw: float | None) -> BatteryOptions:
    args: dict[str, float | None] = {
        "energy_cost_cny_per_kwh_year": 0.5,
        "power_cost_cny_per_kw_year": 0.2,
        "charge_efficiency": 0.95,
        "discharge_efficiency": 0.95,
        "soc_min_fraction": 0.1,
        "soc_max_fraction": 0.95,
    }
    args.update(kw)
    return BatteryOptions(**args)  # type: ignore[arg-type]


def test_outage_rules_hold() -> None:
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(48, 80.0),
        import_price_cny_per_kwh=0.6,
        export_price_cny_per_kwh=0.3,
        export_limit_kw=40.0,
        pv_kw_per_kwp=PROFILE,
        pv=PVOptions(cost_cny_per_kwp_year=5.0),
        battery=_battery(),
        unserved_energy_cost_cny_per_kwh=0.5,
        outages=[(20, 6, 0.4)],
        operating_cost_weight=180.0,
    )
    sol = optimise(problem)
    assert sol.status == "optimal"
    s = sol.series
    assert s is not None
    out = slice(20, 26)
    assert np.all(s.import_kw[out] == 0.0)
    assert np.all(s.export_kw[out] == 0.0)
    served = s.load_kw[out] - s.unserved_kw[out]
    assert np.all(served >= 0.4 * s.load_kw[out] - 1e-6)
    assert_dispatch_invariants(
        problem, s, kwp=sol.pv_kwp, kwh=sol.battery_kwh, kw=sol.battery_kw, cyclic=True
    )
    assert sol.kpis is not None
    assert sol.kpis.critical_unserved_kwh == pytest.approx(0.0, abs=1e-6)


def test_infeasible_outage_is_explained_with_hours_and_shortfall() -> None:
    """Night outage (no PV), battery capped at 100 kWh: shortfall = f·L·h − usable·η_d."""
    load, frac, steps, start = 100.0, 0.5, 4, 20  # 20:00-24:00, PV is zero
    cap, smin, smax, eta_d = 100.0, 0.1, 0.95, 0.95
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(48, load),
        import_price_cny_per_kwh=0.6,
        pv_kw_per_kwp=PROFILE,
        pv=PVOptions(cost_cny_per_kwp_year=5.0),
        battery=_battery(max_kwh=cap, soc_min_fraction=smin, soc_max_fraction=smax),
        outages=[(start, steps, frac)],
        operating_cost_weight=180.0,
    )
    sol = optimise(problem)
    assert sol.status == "infeasible"
    report = sol.explanation
    assert report is not None
    expected = frac * load * steps - (smax - smin) * cap * eta_d
    assert report.total_shortfall_kwh == pytest.approx(expected, rel=1e-6)  # type: ignore[attr-defined]
    assert set(report.steps) <= set(range(start, start + steps))  # type: ignore[attr-defined]
    d = report.to_dict()  # type: ignore[attr-defined]
    assert d["explained"] is True
    assert "critical load cannot be served" in d["message"]
    assert d["windows"][0]["start_step"] >= start
    # The relaxed solution is returned and still obeys every other rule.
    assert sol.series is not None
    assert sol.battery_kwh == pytest.approx(cap)


def test_infeasible_without_battery_names_every_outage_step() -> None:
    load = np.linspace(50, 80, 48)
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=load,
        import_price_cny_per_kwh=0.6,
        outages=[(2, 3, 0.25), (30, 2, 1.0)],
    )
    sol = optimise(problem)
    assert sol.status == "infeasible"
    rep = sol.explanation
    assert rep is not None
    assert rep.steps == (2, 3, 4, 30, 31)  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        rep.shortfall_kw,  # type: ignore[attr-defined]
        np.concatenate([0.25 * load[2:5], load[30:32]]),
    )
    assert [(w.start_step, w.end_step) for w in rep.windows] == [(2, 4), (30, 31)]  # type: ignore[attr-defined]


def test_storm_reserve_floor_is_kept() -> None:
    base = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(48, 60.0),
        import_price_cny_per_kwh=np.where(HOURS < 8, 0.2, 1.0),
        battery=_battery(kwh=200.0, kw=50.0),
        operating_cost_weight=1.0,
    )
    floor = np.zeros(48)
    floor[10:20] = 0.8
    from dataclasses import replace

    problem = replace(base, soc_floor_fraction=floor)
    sol = optimise(problem)
    assert sol.status == "optimal"
    assert sol.series is not None
    assert (sol.series.soc_kwh[10:20] >= 0.8 * 200.0 - 1e-6).all()
    assert_dispatch_invariants(problem, sol.series, kwp=0.0, kwh=200.0, kw=50.0, cyclic=True)
    # Without the floor the battery would have been drained in the same hours.
    free = optimise(base)
    assert free.series is not None
    assert free.series.soc_kwh[10:20].min() < 0.8 * 200.0 - 1.0


def test_genset_min_load_is_a_milp_with_gap_reported() -> None:
    power, m = 60.0, 0.4
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(48, 50.0) + 10 * np.sin(np.arange(48)),
        import_price_cny_per_kwh=0.6,
        battery=_battery(max_kwh=50.0),
        genset=GensetOptions(
            power_kw=power,
            min_load_fraction=m,
            fuel_cost_cny_per_kwh=2.0,
            tco2_per_mwh=0.8,
            outage_only=True,
        ),
        outages=[(10, 8, 1.0)],
        operating_cost_weight=50.0,
    )
    sol = optimise(problem, time_limit_s=30.0, mip_rel_gap=1e-6)
    assert sol.is_mip
    assert sol.status == "optimal"
    assert 0.0 <= sol.mip_gap <= 1e-6
    s = sol.series
    assert s is not None
    on = s.genset_kw > 1e-6
    assert (s.genset_kw[on] >= m * power - 1e-6).all()
    assert (s.genset_kw <= power + 1e-6).all()
    assert not on[~problem.outage].any()  # backup set only runs in the outage
    assert sol.kpis is not None
    assert sol.kpis.critical_unserved_kwh == pytest.approx(0.0, abs=1e-6)
    assert sol.kpis.emissions_tco2 > 0


def test_time_limit_returns_status_and_gap() -> None:
    rng = np.random.default_rng(5)
    n = 24 * 14
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=rng.uniform(30, 90, n),
        import_price_cny_per_kwh=rng.uniform(0.3, 1.2, n),
        battery=_battery(),
        genset=GensetOptions(power_kw=70.0, min_load_fraction=0.5, fuel_cost_cny_per_kwh=0.5),
        operating_cost_weight=26.0,
    )
    sol = optimise(problem, time_limit_s=0.05, mip_rel_gap=0.0)
    assert sol.status in {"optimal", "feasible", "no_solution"}
    if sol.status == "feasible":
        assert sol.mip_gap > 0.0
        assert sol.series is not None
