"""Optimiser against cases whose answer is derived analytically in the test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from greencircle.energy.optimise import build_model, optimise, solve_model
from greencircle.energy.problem import BatteryOptions, MicrogridProblem, PVOptions

from ._helpers import assert_dispatch_invariants

DAYS = 365.0  # one typical day weighted to a year


def _day_prices(p_valley: float, p_peak: float) -> np.ndarray:
    """Valley 0-8 h, peak the other 16 hours."""
    return np.where(np.arange(24) < 8, p_valley, p_peak)


def test_no_battery_without_price_spread() -> None:
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(24, 100.0),
        import_price_cny_per_kwh=0.7,
        battery=BatteryOptions(
            energy_cost_cny_per_kwh_year=1.0,
            power_cost_cny_per_kw_year=1.0,
            charge_efficiency=1.0,
            discharge_efficiency=1.0,
        ),
        operating_cost_weight=DAYS,
    )
    sol = optimise(problem)
    assert sol.status == "optimal"
    assert sol.battery_kwh == pytest.approx(0.0, abs=1e-6)
    assert sol.battery_kw == pytest.approx(0.0, abs=1e-6)
    assert sol.objective_cny == pytest.approx(DAYS * 24 * 100 * 0.7, rel=1e-9)


@pytest.mark.parametrize("ratio", [0.4, 0.7, 0.79, 0.82, 0.9, 1.0])
def test_battery_arbitrage_exactly_when_spread_beats_round_trip(ratio: float) -> None:
    """Built iff w (p_p η_d − p_v / η_c) > c_E; then E* = (peak-hours load energy) / η_d."""
    eta_c = eta_d = 0.9
    c_energy = 1.0  # CNY/(kWh·yr), power free: only energy capacity matters
    p_peak = 1.0
    p_valley = ratio * p_peak
    load = 100.0
    peak_energy_kwh = 16 * load
    margin = DAYS * (p_peak * eta_d - p_valley / eta_c) - c_energy
    assert abs(margin) > 1.0, "choose numbers where the answer is unambiguous"
    expected_kwh = peak_energy_kwh / eta_d if margin > 0 else 0.0
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(24, load),
        import_price_cny_per_kwh=_day_prices(p_valley, p_peak),
        battery=BatteryOptions(
            energy_cost_cny_per_kwh_year=c_energy,
            power_cost_cny_per_kw_year=0.0,
            charge_efficiency=eta_c,
            discharge_efficiency=eta_d,
        ),
        operating_cost_weight=DAYS,
    )
    sol = optimise(problem)
    assert sol.status == "optimal"
    assert sol.battery_kwh == pytest.approx(expected_kwh, rel=1e-6, abs=1e-6)
    grid_only = DAYS * load * (8 * p_valley + 16 * p_peak)
    expected_obj = grid_only - expected_kwh * margin
    assert sol.objective_cny == pytest.approx(expected_obj, rel=1e-9)
    # Arbitrage happens iff the valley/peak ratio beats the round-trip efficiency (here
    # with a tiny capacity cost) — the textbook threshold.
    assert (expected_kwh > 0) == (ratio < eta_c * eta_d)


def test_zero_pv_output_builds_no_pv() -> None:
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(24, 50.0),
        import_price_cny_per_kwh=1.0,
        pv_kw_per_kwp=np.zeros(24),
        pv=PVOptions(cost_cny_per_kwp_year=10.0),
        operating_cost_weight=DAYS,
    )
    sol = optimise(problem)
    assert sol.status == "optimal"
    assert sol.pv_kwp == pytest.approx(0.0, abs=1e-9)


def test_pv_sized_to_load_when_export_is_worthless() -> None:
    """Constant profile π: every kWp up to L/π displaces imports; beyond it is curtailed."""
    pi, load, c_pv, price = 0.2, 100.0, 100.0, 1.0
    assert DAYS * 24 * pi * price > c_pv  # worth building
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(24, load),
        import_price_cny_per_kwh=price,
        pv_kw_per_kwp=np.full(24, pi),
        pv=PVOptions(cost_cny_per_kwp_year=c_pv),
        operating_cost_weight=DAYS,
    )
    sol = optimise(problem)
    assert sol.pv_kwp == pytest.approx(load / pi, rel=1e-9)
    assert sol.objective_cny == pytest.approx(c_pv * load / pi, rel=1e-9)
    assert sol.kpis is not None
    assert sol.kpis.self_consumption_ratio == pytest.approx(1.0)
    assert sol.kpis.self_sufficiency_ratio == pytest.approx(1.0)


def test_max_kwp_bound_binds() -> None:
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(24, 100.0),
        import_price_cny_per_kwh=1.0,
        pv_kw_per_kwp=np.full(24, 0.2),
        pv=PVOptions(cost_cny_per_kwp_year=100.0, max_kwp=123.0),
        operating_cost_weight=DAYS,
    )
    assert optimise(problem).pv_kwp == pytest.approx(123.0)


def _random_problem(
    seed: int, n: int, *, outage: bool, battery_export: bool = False
) -> MicrogridProblem:
    """Random data; export prices reach above import prices so the export rules bind."""
    rng = np.random.default_rng(seed)
    hours = np.arange(n) % 24
    prof = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None) * rng.uniform(0.3, 0.9, n)
    return MicrogridProblem.simple(
        timestep_hours=float(rng.choice([0.25, 0.5, 1.0])),
        load_kw=rng.uniform(20, 120, n),
        import_price_cny_per_kwh=rng.uniform(0.2, 1.2, n),
        export_price_cny_per_kwh=rng.uniform(0.0, 1.0, n),
        import_limit_kw=float(rng.uniform(80, 200)),
        export_limit_kw=float(rng.uniform(0, 120)),
        grid_tco2_per_mwh=0.57,
        carbon_price_cny_per_tco2=float(rng.uniform(0, 100)),
        unserved_energy_cost_cny_per_kwh=float(rng.uniform(2, 10)),
        pv_kw_per_kwp=prof,
        pv=PVOptions(cost_cny_per_kwp_year=float(rng.uniform(5, 40))),
        battery=BatteryOptions(
            energy_cost_cny_per_kwh_year=float(rng.uniform(1, 20)),
            power_cost_cny_per_kw_year=float(rng.uniform(0.5, 10)),
            charge_efficiency=float(rng.uniform(0.85, 1.0)),
            discharge_efficiency=float(rng.uniform(0.85, 1.0)),
            soc_min_fraction=0.1,
            soc_max_fraction=0.9,
        ),
        outages=[(n // 3, max(1, n // 6), 0.3)] if outage else None,
        operating_cost_weight=30.0,
        battery_export=battery_export,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 30),
    outage=st.booleans(),
    battery_export=st.booleans(),
)
def test_returned_series_obey_the_model(
    seed: int, n: int, outage: bool, battery_export: bool
) -> None:
    problem = _random_problem(seed, n, outage=outage, battery_export=battery_export)
    sol = optimise(problem)
    assert sol.status == "optimal"
    assert sol.series is not None
    assert sol.costs is not None
    assert_dispatch_invariants(
        problem,
        sol.series,
        kwp=sol.pv_kwp,
        kwh=sol.battery_kwh,
        kw=sol.battery_kw,
        cyclic=True,
    )
    # The accounting reproduces the solver's objective.
    assert sol.costs.total_cny == pytest.approx(sol.objective_cny, rel=1e-7, abs=1e-6)


def _linprog_objective(
    p: MicrogridProblem, sizes: tuple[float, float, float] | None = None
) -> float:
    """The same model written independently: dense matrices, step-interleaved variables.

    With ``sizes`` (kWp, kWh, kW) fixed, the export rule of a built system is exact: no
    export where PV is at most the load, and there no battery discharge (unless battery
    export is allowed).
    """
    n, dt, w = p.n_steps, p.timestep_hours, p.operating_cost_weight
    b = p.battery
    assert b is not None
    assert p.pv is not None
    nv = 7  # per step: pv, imp, exp, ch, dis, soc, uns
    kwp, kwh, kw = 7 * n, 7 * n + 1, 7 * n + 2
    nx = 7 * n + 3

    def v(t: int, k: int) -> int:
        return nv * t + k

    c = np.zeros(nx)
    bounds: list[tuple[float, float | None]] = []
    for t in range(n):
        crit = p.critical_load_fraction[t]
        imp_ub = float(p.import_limit_kw[t])
        exp_ub = float(p.export_limit_kw[t])
        bounds += [
            (0, None),
            (0, imp_ub),
            (0, exp_ub),
            (0, None),
            (0, None),
            (0, None),
            (0, (1 - crit) * p.load_kw[t]),
        ]
        c[v(t, 1)] = (
            dt
            * w
            * (
                p.import_price_cny_per_kwh[t]
                + p.carbon_price_cny_per_tco2 * p.grid_tco2_per_mwh[t] / 1000
            )
        )
        import_cost = (
            p.import_price_cny_per_kwh[t]
            + p.carbon_price_cny_per_tco2 * p.grid_tco2_per_mwh[t] / 1000
        )
        # An export is credited at most at the import cost of its step.
        c[v(t, 2)] = -dt * w * min(p.export_price_cny_per_kwh[t], import_cost)
        c[v(t, 6)] = dt * w * p.unserved_energy_cost_cny_per_kwh
    if sizes is None:
        bounds += [(0, None)] * 3
    else:
        bounds += [(size, size) for size in sizes]
        if not p.battery_export:
            for t in range(n):
                if sizes[0] * p.pv_kw_per_kwp[t] > p.load_kw[t]:
                    bounds[v(t, 4)] = (0, 0)
                else:
                    bounds[v(t, 2)] = (0, 0)
    c[kwp] = p.pv.cost_cny_per_kwp_year
    c[kwh] = b.energy_cost_cny_per_kwh_year
    c[kw] = b.power_cost_cny_per_kw_year
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for t in range(n):
        row = np.zeros(nx)
        row[[v(t, 0), v(t, 1), v(t, 4), v(t, 6)]] = 1
        row[[v(t, 2), v(t, 3)]] = -1
        a_eq.append(row)
        b_eq.append(p.load_kw[t])
        row = np.zeros(nx)
        row[v(t, 5)] = 1
        row[v((t - 1) % n, 5)] -= 1
        row[v(t, 3)] = -dt * b.charge_efficiency
        row[v(t, 4)] = dt / b.discharge_efficiency
        a_eq.append(row)
        b_eq.append(0.0)
        # Export is PV of the same step (+ battery discharge only with the option).
        row = np.zeros(nx)
        row[v(t, 2)] = 1
        row[v(t, 0)] = -1
        if p.battery_export:
            row[v(t, 4)] = -1
        a_ub.append(row)
        b_ub.append(0.0)
        for coef_var, coef_size, size in (
            ((0, 1.0), -p.pv_kw_per_kwp[t], kwp),
            ((5, 1.0), -b.soc_max_fraction, kwh),
            ((5, -1.0), b.soc_min_fraction, kwh),
            ((3, 1.0), -1.0, kw),
            ((4, 1.0), -1.0, kw),
        ):
            row = np.zeros(nx)
            row[v(t, coef_var[0])] = coef_var[1]
            row[size] = coef_size
            a_ub.append(row)
            b_ub.append(0.0)
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return float(res.fun)


@pytest.mark.parametrize(
    ("seed", "outage", "battery_export"),
    [(1, False, False), (2, True, False), (3, False, True), (4, True, True), (5, False, False)],
)
def test_matches_an_independent_dense_formulation(
    seed: int, outage: bool, battery_export: bool
) -> None:
    """The joint LP matches the dense one; the returned solution matches the dense model
    at its sizes with the exact export rule (equal to the joint optimum when the joint
    solution already obeys it)."""
    problem = _random_problem(seed, 12, outage=outage, battery_export=battery_export)
    joint = solve_model(build_model(problem))
    assert joint.objective_cny == pytest.approx(_linprog_objective(problem), rel=1e-7)
    sol = optimise(problem)
    sizes = (sol.pv_kwp, sol.battery_kwh, sol.battery_kw)
    assert sol.objective_cny == pytest.approx(_linprog_objective(problem, sizes), rel=1e-7)
    assert sol.objective_cny >= joint.objective_cny * (1 - 1e-9)
    assert sol.series is not None
    assert_dispatch_invariants(
        problem, sol.series, kwp=sizes[0], kwh=sizes[1], kw=sizes[2], cyclic=True
    )


def test_model_is_built_without_per_step_rows_in_python() -> None:
    """Shape check of the assembled LP: 7 blocks of N columns + 3 sizes, 8 blocks of rows."""
    problem = _random_problem(0, 48, outage=False)
    model = build_model(problem)
    assert model.num_col == 7 * 48 + 3
    assert model.num_row == 8 * 48
    assert model.matrix.format == "csc"


def _night_import_day_pv(*, battery: bool, battery_export: bool) -> MicrogridProblem:
    """The shape of the reported bug: export worth more than night-time (valley) imports.

    Load 100 kW all day; valley 0.25 CNY/kWh 0-8 h, 1.0 otherwise; export 0.35 CNY/kWh;
    generous grid limits; fixed 60 kWp of PV with a profile that peaks at 1.0 kW/kWp at
    noon (so PV never exceeds the load).
    """
    hours = np.arange(24)
    sun = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    bat = (
        BatteryOptions(
            energy_cost_cny_per_kwh_year=0.0,
            power_cost_cny_per_kw_year=0.0,
            charge_efficiency=1.0,
            discharge_efficiency=1.0,
            kwh=4000.0,
            kw=1000.0,
        )
        if battery
        else None
    )
    return MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(24, 100.0),
        import_price_cny_per_kwh=_day_prices(0.25, 1.0),
        export_price_cny_per_kwh=0.35,
        import_limit_kw=1000.0,
        export_limit_kw=1000.0,
        pv_kw_per_kwp=sun,
        pv=PVOptions(kwp=60.0),
        battery=bat,
        operating_cost_weight=DAYS,
        battery_export=battery_export,
    )


def test_no_grid_to_grid_export_when_export_beats_the_valley_price() -> None:
    """PV never exceeds the load, so nothing may be exported: the cost is the load's bill
    less the PV it displaces (worked out by hand), and export is 0 at every step."""
    problem = _night_import_day_pv(battery=False, battery_export=False)
    sol = optimise(problem)
    assert sol.series is not None and sol.kpis is not None
    assert sol.kpis.export_kwh == pytest.approx(0.0, abs=1e-6)
    price = _day_prices(0.25, 1.0)
    pv_kw = 60.0 * np.clip(np.sin((np.arange(24) - 6) / 12 * np.pi), 0, None)
    expected = DAYS * float(np.dot(100.0 - pv_kw, price))
    assert sol.objective_cny == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(sol.series.import_kw, 100.0 - pv_kw, atol=1e-6)


def test_battery_to_grid_export_only_with_the_option() -> None:
    """A free lossless 4 MWh / 1 MW battery: after covering the day's net load, charging at
    0.25 and exporting at 0.35 pays 0.10 CNY/kWh, but only when battery export is allowed;
    off, nothing is exported. On, the gain is exactly 0.10 per exported kWh."""
    off = optimise(_night_import_day_pv(battery=True, battery_export=False))
    on = optimise(_night_import_day_pv(battery=True, battery_export=True))
    assert off.kpis is not None and on.kpis is not None
    assert off.kpis.export_kwh == pytest.approx(0.0, abs=1e-6)
    assert on.kpis.export_kwh > 1.0
    assert off.objective_cny - on.objective_cny == pytest.approx(
        (0.35 - 0.25) * on.kpis.export_kwh, rel=1e-9
    )
    for battery_export, sol in ((False, off), (True, on)):
        problem = _night_import_day_pv(battery=True, battery_export=battery_export)
        assert sol.series is not None
        assert_dispatch_invariants(
            problem, sol.series, kwp=60.0, kwh=4000.0, kw=1000.0, cyclic=True
        )


def test_size_lower_bounds_hold() -> None:
    """A PV/battery range with a floor: the optimum sits at the floor when nothing pays."""
    problem = MicrogridProblem.simple(
        timestep_hours=1.0,
        load_kw=np.full(24, 100.0),
        import_price_cny_per_kwh=0.5,
        pv_kw_per_kwp=np.zeros(24),
        pv=PVOptions(cost_cny_per_kwp_year=10.0, min_kwp=25.0, max_kwp=50.0),
        battery=BatteryOptions(
            energy_cost_cny_per_kwh_year=1.0,
            power_cost_cny_per_kw_year=1.0,
            min_kwh=30.0,
            min_kw=7.0,
        ),
        operating_cost_weight=DAYS,
    )
    sol = optimise(problem)
    assert (sol.pv_kwp, sol.battery_kwh, sol.battery_kw) == pytest.approx((25.0, 30.0, 7.0))
