"""Microgrids: PV production (pvlib), TOU tariffs, sizing + dispatch LP/MILP (HiGHS),
rolling-horizon and rule-based dispatch, and critical-load resilience.

Pure core, no I/O beyond reading shipped data files and an optional weather CSV named in
the SPEC. The CLI ``greencircle energy microgrid optimize SPEC.json --out RESULT.json``
and the API wrap :func:`optimize_spec`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from greencircle.energy.dispatch import DispatchResult, rolling_dispatch, rule_based_dispatch
from greencircle.energy.errors import MicrogridSpecInvalid, WeatherCSVInvalid
from greencircle.energy.optimise import MicrogridSolution, optimise
from greencircle.energy.problem import MicrogridProblem
from greencircle.energy.spec import MicrogridSpec, parse_spec, resolve_spec

__all__ = [
    "RESULT_KEYS",
    "DispatchResult",
    "MicrogridProblem",
    "MicrogridSolution",
    "MicrogridSpec",
    "MicrogridSpecInvalid",
    "WeatherCSVInvalid",
    "optimise",
    "optimize_spec",
    "parse_spec",
    "resolve_spec",
    "rolling_dispatch",
    "rule_based_dispatch",
    "solution_to_result",
]

#: Keys every RESULT carries (the CLI contract); more keys may follow them.
RESULT_KEYS = (
    "status",
    "objective_cny",
    "pv_kwp",
    "battery_kwh",
    "battery_kw",
    "import_kwh",
    "export_kwh",
    "unserved_kwh",
    "emissions_tco2",
    "solve_seconds",
    "series",
)


def _clean(value: Any) -> Any:
    """Make a value strict-JSON safe (NaN/inf → None, numpy → Python)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def solution_to_result(
    problem: MicrogridProblem, sol: MicrogridSolution, *, wall_seconds: float | None = None
) -> dict[str, Any]:
    """RESULT dict (JSON-serialisable) of a solution.

    Contract keys: ``status, objective_cny, pv_kwp, battery_kwh, battery_kw, import_kwh,
    export_kwh, unserved_kwh, emissions_tco2, solve_seconds, series``; further keys:
    ``mip_gap, model_status, explanation, kpis, cost_breakdown_cny, model, notes,
    timestep_hours, n_steps, start``.
    """
    k = sol.kpis
    series = (
        sol.series.to_dict(problem.import_price_cny_per_kwh) if sol.series is not None else None
    )
    explanation = getattr(sol.explanation, "to_dict", None)
    result: dict[str, Any] = {
        "status": sol.status,
        "objective_cny": sol.objective_cny,
        "pv_kwp": sol.pv_kwp,
        "battery_kwh": sol.battery_kwh,
        "battery_kw": sol.battery_kw,
        "import_kwh": k.import_kwh if k else None,
        "export_kwh": k.export_kwh if k else None,
        "unserved_kwh": k.unserved_kwh if k else None,
        "emissions_tco2": k.emissions_tco2 if k else None,
        "solve_seconds": sol.solve_seconds,
        "series": series,
        "mip_gap": sol.mip_gap,
        "model_status": sol.model_status,
        "explanation": explanation() if explanation else None,
        "kpis": k.to_dict() if k else None,
        "cost_breakdown_cny": sol.costs.to_dict() if sol.costs else None,
        "model": {
            "num_col": sol.num_col,
            "num_row": sol.num_row,
            "is_mip": sol.is_mip,
            "build_seconds": sol.build_seconds,
            "wall_seconds": wall_seconds,
        },
        "notes": problem.notes,
        "timestep_hours": problem.timestep_hours,
        "n_steps": problem.n_steps,
        "start": problem.index[0].isoformat() if len(problem.index) else None,
    }
    return dict(_clean(result))


def optimize_spec(
    spec_dict: dict[str, Any],
    *,
    time_limit_s: float = 600.0,
    mip_rel_gap: float = 1e-3,
    base_dir: str | Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Validate a SPEC, size and dispatch the microgrid, and return the RESULT dict.

    Parameters
    ----------
    spec_dict
        The SPEC (see :mod:`greencircle.energy.spec`).
    time_limit_s
        HiGHS time limit [s]; on expiry the best solution found is returned with status
        ``feasible`` and its ``mip_gap``.
    mip_rel_gap
        Relative MIP gap [-] (only used when a genset with a minimum load makes it a MILP).
    base_dir
        Directory for a relative ``pv.site.weather_csv``.
    progress
        Optional callback ``(stage, fraction_done)``.

    Returns
    -------
    dict
        JSON-serialisable RESULT; the contract keys are :data:`RESULT_KEYS`. ``status`` is
        one of ``optimal``, ``feasible``, ``infeasible`` (with ``explanation`` naming the
        steps and critical shortfall, and the relaxed solution in the other fields),
        ``unbounded``, ``no_solution``, ``error``.

    Raises
    ------
    MicrogridSpecInvalid
        Invalid SPEC.
    WeatherCSVInvalid
        Invalid weather CSV.
    """
    t0 = time.perf_counter()
    if progress:
        progress("resolving spec", 0.0)
    problem = resolve_spec(spec_dict, base_dir=base_dir)
    sol = optimise(problem, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, progress=progress)
    return solution_to_result(problem, sol, wall_seconds=time.perf_counter() - t0)
