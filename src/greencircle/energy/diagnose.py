"""Explain an infeasible run: where, and by how much, the critical load cannot be served.

Instead of a bare "infeasible", the model is relaxed with a slack ``crit_t`` (critical
load not served, 0 ≤ crit_t ≤ f_t L_t) and solved lexicographically:

1. minimise the total critical shortfall ``S* = min Σ_t Δt · crit_t`` (all other costs 0),
   which is the exact least amount of critical energy that cannot be served;
2. with ``Σ_t Δt · crit_t ≤ S*`` added, minimise the usual cost, which picks the
   cost-optimal operation (and the cost-optimal placement of the shortfall) among them.

The steps with ``crit_t > 0`` and their amounts are reported, grouped into windows of
consecutive steps. No big-M penalty is involved, so the answer does not depend on a
penalty level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from greencircle.energy.optimise import (
    LPModel,
    RawSolution,
    build_model,
    make_highs,
    pass_model,
    run_highs,
)
from greencircle.energy.problem import MicrogridProblem

FloatArray = npt.NDArray[np.float64]

__all__ = ["ShortfallReport", "ShortfallWindow", "explain_critical_shortfall"]


@dataclass(frozen=True, slots=True)
class ShortfallWindow:
    """Consecutive steps with critical load not served.

    Attributes
    ----------
    start_step, end_step
        First and last step (inclusive, 0-based).
    shortfall_kwh
        Critical energy not served in the window [kWh].
    max_shortfall_kw
        Largest shortfall in one step [kW].
    start_time, end_time
        Local start of the first step / end of the last step (ISO 8601), when known.
    """

    start_step: int
    end_step: int
    shortfall_kwh: float
    max_shortfall_kw: float
    start_time: str | None = None
    end_time: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "start_step": self.start_step,
            "end_step": self.end_step,
            "steps": self.end_step - self.start_step + 1,
            "shortfall_kwh": self.shortfall_kwh,
            "max_shortfall_kw": self.max_shortfall_kw,
            "start_time": self.start_time,
            "end_time": self.end_time,
        }


@dataclass(frozen=True, slots=True)
class ShortfallReport:
    """Why the run is infeasible.

    Attributes
    ----------
    explained
        True when the relaxed model was solved (the critical load is the cause).
    total_shortfall_kwh
        Least critical energy that cannot be served over the horizon [kWh] (unweighted).
    steps
        Steps with a shortfall.
    shortfall_kw
        Shortfall at those steps [kW].
    critical_load_kw
        Critical load at those steps [kW].
    windows
        The steps grouped into runs of consecutive steps.
    message
        One-sentence summary.
    """

    explained: bool
    total_shortfall_kwh: float
    steps: tuple[int, ...]
    shortfall_kw: tuple[float, ...]
    critical_load_kw: tuple[float, ...]
    windows: tuple[ShortfallWindow, ...]
    message: str

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "explained": self.explained,
            "message": self.message,
            "total_shortfall_kwh": self.total_shortfall_kwh,
            "windows": [w.to_dict() for w in self.windows],
            "steps": [
                {"step": s, "shortfall_kw": v, "critical_load_kw": c}
                for s, v, c in zip(
                    self.steps, self.shortfall_kw, self.critical_load_kw, strict=True
                )
            ],
        }


def _windows(
    problem: MicrogridProblem, steps: npt.NDArray[np.int64], short_kw: FloatArray
) -> tuple[ShortfallWindow, ...]:
    if steps.size == 0:
        return ()
    breaks = np.flatnonzero(np.diff(steps) != 1) + 1
    dt = problem.timestep_hours
    idx = problem.index
    out: list[ShortfallWindow] = []
    for seg_steps, seg_kw in zip(np.split(steps, breaks), np.split(short_kw, breaks), strict=True):
        a, b = int(seg_steps[0]), int(seg_steps[-1])
        st = et = None
        if len(idx) == problem.n_steps:
            st = idx[a].isoformat()
            et = (idx[b] + np.timedelta64(round(dt * 3600), "s")).isoformat()
        out.append(
            ShortfallWindow(
                start_step=a,
                end_step=b,
                shortfall_kwh=float(seg_kw.sum() * dt),
                max_shortfall_kw=float(seg_kw.max()),
                start_time=st,
                end_time=et,
            )
        )
    return tuple(out)


def explain_critical_shortfall(
    problem: MicrogridProblem,
    *,
    time_limit_s: float = 600.0,
    mip_rel_gap: float = 1e-4,
    tol_kw: float = 1e-6,
) -> tuple[ShortfallReport, LPModel, RawSolution | None]:
    """Find where and by how much the critical load cannot be served.

    Parameters
    ----------
    problem
        The (infeasible) problem.
    time_limit_s
        Time limit for both stages together [s].
    mip_rel_gap
        Relative MIP gap [-].
    tol_kw
        Shortfalls at or below this are treated as zero [kW].

    Returns
    -------
    tuple
        ``(report, relaxed model, relaxed solution or None)``.
    """
    model = build_model(problem, critical_slack=True)
    n = problem.n_steps
    dt = problem.timestep_hours
    crit_cols = np.arange(model.blocks["crit"], model.blocks["crit"] + n, dtype=np.int32)
    stage1 = LPModel(**{**model.__dict__, "cost": np.zeros_like(model.cost), "offset": 0.0})
    stage1.cost[crit_cols] = dt
    h = make_highs(time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    pass_model(h, stage1)
    first = run_highs(h, model.is_mip)
    if first.status not in ("optimal", "feasible"):
        msg = (
            "infeasible, and not because of the critical load: the model stays infeasible "
            f"when the critical load may go unserved (HiGHS: {first.model_status})"
        )
        return ShortfallReport(False, 0.0, (), (), (), (), msg), model, None
    s_star = max(first.objective_cny, 0.0)
    # Stage 2: usual costs, shortfall capped at its minimum.
    all_cols = np.arange(model.num_col, dtype=np.int32)
    h.changeColsCost(model.num_col, all_cols, model.cost)
    h.changeObjectiveOffset(model.offset)
    h.addRow(
        -np.inf,
        s_star * (1.0 + 1e-7) + 1e-7,
        n,
        crit_cols,
        np.full(n, dt),
    )
    h.setOptionValue("time_limit", max(time_limit_s - first.solve_seconds, 1.0))
    second = run_highs(h, model.is_mip)
    chosen = second if second.x.size else first
    x = chosen.x
    crit = np.clip(x[crit_cols[0] : crit_cols[0] + n], 0.0, None)
    steps = np.flatnonzero(crit > tol_kw)
    short = crit[steps]
    crit_load = (problem.critical_load_fraction * problem.load_kw)[steps]
    windows = _windows(problem, steps, short)
    total = float(short.sum() * dt)
    shown = "; ".join(
        f"steps {w.start_step}-{w.end_step}"
        + (f" ({w.start_time} to {w.end_time})" if w.start_time else "")
        + f": {w.shortfall_kwh:.3g} kWh, up to {w.max_shortfall_kw:.3g} kW"
        for w in windows[:5]
    )
    more = f" and {len(windows) - 5} more window(s)" if len(windows) > 5 else ""
    msg = (
        f"critical load cannot be served: at least {total:.4g} kWh short over "
        f"{steps.size} step(s) in {len(windows)} window(s): {shown}{more}"
    )
    report = ShortfallReport(
        explained=True,
        total_shortfall_kwh=total,
        steps=tuple(int(s) for s in steps),
        shortfall_kw=tuple(float(v) for v in short),
        critical_load_kw=tuple(float(v) for v in crit_load),
        windows=windows,
        message=msg,
    )
    relaxed = RawSolution(
        "infeasible",
        chosen.model_status,
        x,
        chosen.objective_cny if chosen is second else float("nan"),
        chosen.mip_gap,
        first.solve_seconds + second.solve_seconds,
    )
    return report, model, relaxed
