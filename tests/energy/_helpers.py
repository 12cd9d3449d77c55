"""Solver-independent checks shared by the energy tests."""

from __future__ import annotations

import numpy as np
import pytest

from greencircle.energy.problem import MicrogridProblem
from greencircle.energy.result import DispatchSeries


def assert_dispatch_invariants(
    problem: MicrogridProblem,
    series: DispatchSeries,
    *,
    kwp: float,
    kwh: float,
    kw: float,
    cyclic: bool,
    tol: float = 1e-6,
) -> None:
    """Check a dispatch against the model rules, independently of the solver."""
    scale = 1.0 + float(problem.load_kw.max()) + kwp + kwh + kw
    atol = tol * scale
    np.testing.assert_allclose(series.balance_residual_kw(), 0.0, atol=atol)
    assert (series.pv_used_kw <= kwp * problem.pv_kw_per_kwp + atol).all()
    for name in ("pv_used_kw", "import_kw", "export_kw", "charge_kw", "discharge_kw"):
        assert (getattr(series, name) >= -atol).all(), name
    assert (series.import_kw <= problem.import_limit_kw + atol).all()
    assert (series.export_kw <= problem.export_limit_kw + atol).all()
    assert (series.import_kw[problem.outage] <= atol).all()
    assert (series.export_kw[problem.outage] <= atol).all()
    # Export is PV energy of the same step (plus battery discharge only when the explicit
    # option is on), and no grid import is re-exported (one meter: import or export).
    source = series.pv_used_kw + (series.discharge_kw if problem.battery_export else 0.0)
    assert (series.export_kw <= source + atol).all(), "export beyond its source"
    assert (np.minimum(series.import_kw, series.export_kw) <= atol).all(), "grid re-export"
    if not problem.battery_export:
        # Without battery export, what leaves the meter is PV beyond the load and charging.
        served = series.load_kw - series.unserved_kw
        surplus = np.clip(series.pv_used_kw - served - series.charge_kw, 0.0, None)
        assert (series.export_kw <= surplus + atol).all(), "battery or genset export"
    shed_max = (1.0 - problem.critical_load_fraction) * problem.load_kw
    assert (series.unserved_kw <= shed_max + atol).all()
    bat = problem.battery
    if bat is None:
        return
    dt = problem.timestep_hours
    prev = np.concatenate([[series.soc_initial_kwh], series.soc_kwh[:-1]])
    expect = prev + dt * (
        bat.charge_efficiency * series.charge_kw - series.discharge_kw / bat.discharge_efficiency
    )
    np.testing.assert_allclose(series.soc_kwh, expect, atol=atol)
    if cyclic:
        assert series.soc_initial_kwh == pytest.approx(series.soc_kwh[-1], abs=atol)
    floor = np.maximum(bat.soc_min_fraction, problem.soc_floor_fraction) * kwh
    assert (series.soc_kwh >= floor - atol).all()
    assert (series.soc_kwh <= bat.soc_max_fraction * kwh + atol).all()
    assert (series.charge_kw <= kw + atol).all()
    assert (series.discharge_kw <= kw + atol).all()
