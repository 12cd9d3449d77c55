"""Operation of an already-built system: rolling-horizon LP dispatch and rule-based baselines.

* :func:`rolling_dispatch` — day-ahead rolling horizon: an LP over a 48-hour window
  commits its first 24 hours, carries the SOC forward and moves on. One fixed-size HiGHS
  model is built once; each window only changes column bounds, costs and row bounds, and
  HiGHS re-solves from the previous basis (hot start). Forecasts are perfect (forecast =
  actual) inside each window; the windows past the end of the horizon wrap around to its
  start (the year is treated as periodic), but only steps inside the horizon are committed.
* :func:`rule_based_dispatch` — HOMER-style rules as the baseline the optimiser must beat:
  ``self_consumption`` (PV → load → battery → export; deficits from battery then grid) and
  ``tou_arbitrage`` (as self-consumption, but the battery also charges from the grid in the
  cheapest hours and discharges only when the price beats the valley price over the
  round-trip efficiency).

Both return a :class:`DispatchResult` priced with the same accounting as the optimiser
(:mod:`greencircle.energy.result`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from greencircle.energy.optimise import net_grid_flows
from greencircle.energy.problem import MicrogridProblem
from greencircle.energy.result import (
    CostBreakdown,
    DispatchSeries,
    Kpis,
    compute_cost_breakdown,
    compute_kpis,
)

FloatArray = npt.NDArray[np.float64]

__all__ = ["DispatchResult", "RollingDispatcher", "rolling_dispatch", "rule_based_dispatch"]


@dataclass(frozen=True)
class DispatchResult:
    """Operation of a fixed system over the horizon.

    Attributes
    ----------
    series
        Per-step operation.
    costs
        Annual cost breakdown (capital at the fixed sizes) [CNY/yr]; compare dispatchers
        on ``costs.operating_cny``.
    kpis
        Annual KPIs.
    critical_shortfall_kwh
        Critical load not served [kWh] (horizon, unweighted); 0 when the outage rules hold.
    window_ms
        Wall time per rolling window (bounds/cost update + solve + read-back) [ms]; empty
        for the rule-based dispatch.
    statuses
        HiGHS status per window (rolling) or ``("rule-based",)``.
    """

    series: DispatchSeries
    costs: CostBreakdown
    kpis: Kpis
    critical_shortfall_kwh: float
    window_ms: FloatArray
    statuses: tuple[str, ...]


def _finish(
    problem: MicrogridProblem,
    series: DispatchSeries,
    *,
    kwp: float,
    kwh: float,
    kw: float,
    window_ms: FloatArray,
    statuses: tuple[str, ...],
) -> DispatchResult:
    fixed = problem.with_fixed_sizes(pv_kwp=kwp, battery_kwh=kwh, battery_kw=kw)
    costs = compute_cost_breakdown(fixed, series, pv_kwp=kwp, battery_kwh=kwh, battery_kw=kw)
    kpis = compute_kpis(fixed, series, costs, battery_kwh=kwh)
    crit_req = problem.critical_load_fraction * series.load_kw
    short = np.clip(series.unserved_kw - (series.load_kw - crit_req), 0.0, None)
    return DispatchResult(
        series=series,
        costs=costs,
        kpis=kpis,
        critical_shortfall_kwh=float(short.sum() * problem.timestep_hours),
        window_ms=window_ms,
        statuses=statuses,
    )


class RollingDispatcher:
    """A fixed-size window LP for a built system, re-used across windows.

    Columns per step (blocks of W): ``pv, imp, exp, uns, crit, ch, dis, soc, gen`` (and
    ``on`` with a minimum-load genset). Rows: energy balance, SOC recursion and export
    source (``exp_t ≤ pv_t``, ``+ dis_t`` with battery export) (W each), plus the genset
    on/off rows. Everything that changes between windows (load, PV, prices,
    limits, outage rules, SOC floor, initial SOC) is a bound, a cost or a row bound.

    Parameters
    ----------
    problem
        Horizon data (length N).
    kwp, kwh, kw
        Built sizes [kWp], [kWh], [kW].
    window_steps
        Window length W [steps].
    time_limit_s
        HiGHS time limit per window [s].
    mip_rel_gap
        Relative MIP gap per window [-].

    Notes
    -----
    Critical load not served (``crit``) is allowed at a penalty
    ``M = 100 (VOLL + max import cost / (η_c η_d)) + 1000`` CNY/kWh so that a window never
    fails; the shortfall is reported instead.
    """

    BLOCKS = ("pv", "imp", "exp", "uns", "crit", "ch", "dis", "soc", "gen", "on")

    def __init__(
        self,
        problem: MicrogridProblem,
        *,
        kwp: float,
        kwh: float,
        kw: float,
        window_steps: int,
        time_limit_s: float = 10.0,
        mip_rel_gap: float = 1e-4,
    ) -> None:
        self.p = problem
        self.kwp, self.kwh, self.kw = kwp, kwh, kw
        w = self.w = int(window_steps)
        bat = problem.battery
        gen = problem.genset
        self.eta_c = bat.charge_efficiency if bat else 1.0
        self.eta_d = bat.discharge_efficiency if bat else 1.0
        self.milp = gen is not None and gen.min_load_fraction > 0.0
        nb = len(self.BLOCKS) if self.milp else len(self.BLOCKS) - 1
        self.off = {name: i * w for i, name in enumerate(self.BLOCKS[:nb])}
        ncol = nb * w
        dt = problem.timestep_hours
        t = np.arange(w)
        o = self.off
        rows: list[npt.NDArray[np.int64]] = []
        cols: list[npt.NDArray[np.int64]] = []
        vals: list[FloatArray] = []

        def put(r: npt.NDArray[np.int64], c: npt.NDArray[np.int64], v: float) -> None:
            rows.append(r)
            cols.append(c)
            vals.append(np.full(r.shape, v))

        for name, sign in (
            ("pv", 1.0),
            ("imp", 1.0),
            ("exp", -1.0),
            ("uns", 1.0),
            ("crit", 1.0),
            ("ch", -1.0),
            ("dis", 1.0),
            ("gen", 1.0),
        ):
            put(t, o[name] + t, sign)
        put(w + t, o["soc"] + t, 1.0)
        put(w + t[1:], o["soc"] + t[:-1], -1.0)
        put(w + t, o["ch"] + t, -dt * self.eta_c)
        put(w + t, o["dis"] + t, dt / self.eta_d)
        # Export source: exp_t − pv_t (− dis_t with battery export) ≤ 0.
        put(2 * w + t, o["exp"] + t, 1.0)
        put(2 * w + t, o["pv"] + t, -1.0)
        if problem.battery_export:
            put(2 * w + t, o["dis"] + t, -1.0)
        nrow = 3 * w
        row_lo = np.concatenate([np.zeros(2 * w), np.full(w, -highspy.kHighsInf)])
        row_up = np.zeros(nrow)
        if self.milp:
            assert gen is not None
            put(3 * w + t, o["gen"] + t, 1.0)
            put(3 * w + t, o["on"] + t, -gen.power_kw)
            put(4 * w + t, o["gen"] + t, 1.0)
            put(4 * w + t, o["on"] + t, -gen.min_load_fraction * gen.power_kw)
            nrow = 5 * w
            row_lo = np.concatenate([row_lo, np.full(w, -highspy.kHighsInf), np.zeros(w)])
            row_up = np.concatenate([row_up, np.zeros(w), np.full(w, highspy.kHighsInf)])
        a = sp.csc_array(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(nrow, ncol),
        )
        integrality = np.zeros(ncol, dtype=np.int32)
        if self.milp:
            integrality[o["on"] : o["on"] + w] = int(highspy.HighsVarType.kInteger)
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.passModel(
            ncol,
            nrow,
            int(a.nnz),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            np.zeros(ncol),
            np.zeros(ncol),
            np.zeros(ncol),
            row_lo,
            row_up,
            a.indptr.astype(np.int32),
            a.indices.astype(np.int32),
            a.data,
            integrality,
        )
        self.h = h
        self.ncol = ncol
        self.col_idx = np.arange(ncol, dtype=np.int32)
        self.row_idx = np.arange(2 * w, dtype=np.int32)
        # Horizon-wide per-step data, computed once.
        e = dt * problem.operating_cost_weight
        self.e = e
        floor = (
            np.maximum(bat.soc_min_fraction, problem.soc_floor_fraction)
            if bat
            else np.zeros(problem.n_steps)
        )
        crit_kw = problem.critical_load_fraction * problem.load_kw
        imp_cost = problem.import_cost_cny_per_kwh
        m = (
            100.0
            * (
                problem.unserved_energy_cost_cny_per_kwh
                + float(imp_cost.max(initial=0.0)) / (self.eta_c * self.eta_d)
            )
            + 1000.0
        )
        gen_cost = 0.0
        gen_avail = np.zeros(problem.n_steps)
        if gen is not None:
            gen_cost = e * (
                gen.fuel_cost_cny_per_kwh
                + problem.carbon_price_cny_per_tco2 * gen.tco2_per_mwh / 1000.0
            )
            gen_avail = (
                problem.outage.astype(np.float64) if gen.outage_only else np.ones(problem.n_steps)
            )
        # Per-step upper bounds and costs of each block, shape (blocks, N).
        n = problem.n_steps
        has_bat = bat is not None
        ub = {
            "pv": kwp * problem.pv_kw_per_kwp,
            "imp": problem.import_limit_kw,
            "exp": problem.export_limit_kw,
            "uns": problem.load_kw - crit_kw,
            "crit": crit_kw,
            "ch": np.full(n, kw if has_bat else 0.0),
            "dis": np.full(n, kw if has_bat else 0.0),
            "soc": np.full(n, (bat.soc_max_fraction * kwh) if bat else 0.0),
            "gen": (gen.power_kw * gen_avail)
            if (gen and not self.milp)
            else (np.full(n, gen.power_kw) if gen else np.zeros(n)),
            "on": gen_avail,
        }
        surplus = kwp * problem.pv_kw_per_kwp > problem.load_kw
        if not problem.battery_export:
            # Exact export rule of a built system (see optimise.pv_surplus_steps).
            ub["exp"] = np.where(surplus, ub["exp"], 0.0)
            for name in ("dis", "gen", "on"):
                ub[name] = np.where(surplus, 0.0, ub[name])
        lb = {name: np.zeros(n) for name in self.off}
        lb["soc"] = floor * kwh if has_bat else np.zeros(n)
        cost = {name: np.zeros(n) for name in self.off}
        cost["imp"] = e * imp_cost
        cost["exp"] = -e * problem.export_credit_cny_per_kwh
        cost["uns"] = np.full(n, e * problem.unserved_energy_cost_cny_per_kwh)
        cost["crit"] = np.full(n, e * m)
        cost["gen"] = np.full(n, gen_cost)
        names = list(self.off)
        self.ub_all = np.stack([ub[k] for k in names])
        self.lb_all = np.stack([lb[k] for k in names])
        self.cost_all = np.stack([cost[k] for k in names])
        self.statuses: list[str] = []

    def solve_window(self, start: int, soc0_kwh: float) -> FloatArray:
        """Solve the window starting at step ``start`` from stored energy ``soc0_kwh``.

        Returns
        -------
        numpy.ndarray
            Column values, shape ``(blocks, W)`` in :attr:`BLOCKS` order.
        """
        n = self.p.n_steps
        idx = (start + np.arange(self.w)) % n
        h = self.h
        h.changeColsBounds(
            self.ncol, self.col_idx, self.lb_all[:, idx].ravel(), self.ub_all[:, idx].ravel()
        )
        h.changeColsCost(self.ncol, self.col_idx, self.cost_all[:, idx].ravel())
        rhs = np.concatenate([self.p.load_kw[idx], np.zeros(self.w)])
        rhs[self.w] = soc0_kwh
        h.changeRowsBounds(  # type: ignore[attr-defined]
            2 * self.w, self.row_idx, rhs, rhs
        )
        h.run()
        ms = h.getModelStatus()
        self.statuses.append(h.modelStatusToString(ms))
        if ms != highspy.HighsModelStatus.kOptimal and h.getInfo().primal_solution_status != 2:
            # Retry cold (e.g. a stale basis); the window LP always has a feasible point.
            h.clearSolver()
            h.run()
            if h.getInfo().primal_solution_status != 2:
                raise RuntimeError(f"window at step {start}: {h.modelStatusToString(ms)}")
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        return np.clip(x.reshape(len(self.off), self.w), 0.0, None)


def rolling_dispatch(
    problem: MicrogridProblem,
    *,
    pv_kwp: float,
    battery_kwh: float,
    battery_kw: float,
    soc_initial_kwh: float | None = None,
    window_hours: float = 48.0,
    commit_hours: float = 24.0,
    time_limit_s: float = 10.0,
) -> DispatchResult:
    """Rolling-horizon (day-ahead) LP dispatch of a built system.

    Parameters
    ----------
    problem
        Horizon data; its sizing options are ignored (the sizes below are used).
    pv_kwp, battery_kwh, battery_kw
        Built sizes [kWp], [kWh], [kW].
    soc_initial_kwh
        Stored energy before the first step [kWh]; default ``soc_min_fraction × kWh``.
    window_hours, commit_hours
        Optimisation window and committed part [h] (48 and 24: day-ahead).
    time_limit_s
        HiGHS time limit per window [s].

    Returns
    -------
    DispatchResult
        ``window_ms`` holds the wall time per window.

    Notes
    -----
    The committed schedule is feasible for the full-horizon LP with the same initial SOC
    and free final SOC, so its operating cost is ≥ that LP's optimum (perfect forecasts).
    """
    dt = problem.timestep_hours
    n = problem.n_steps
    w = max(1, round(window_hours / dt))
    c = max(1, min(w, round(commit_hours / dt)))
    bat = problem.battery
    kwh = battery_kwh if bat else 0.0
    kw = battery_kw if bat else 0.0
    soc = (
        soc_initial_kwh
        if soc_initial_kwh is not None
        else ((bat.soc_min_fraction * kwh) if bat else 0.0)
    )
    soc_start = soc
    rd = RollingDispatcher(
        problem, kwp=pv_kwp, kwh=kwh, kw=kw, window_steps=w, time_limit_s=time_limit_s
    )
    out = np.zeros((len(rd.off), n))
    times: list[float] = []
    for start in range(0, n, c):
        t0 = time.perf_counter()
        x = rd.solve_window(start, soc)
        times.append((time.perf_counter() - t0) * 1000.0)
        k = min(c, n - start)
        out[:, start : start + k] = x[:, :k]
        soc = float(x[rd.BLOCKS.index("soc"), k - 1])
    b = {name: out[i] for i, name in enumerate(rd.off)}
    imp, exp = net_grid_flows(b["imp"], b["exp"])
    series = DispatchSeries(
        load_kw=problem.load_kw,
        pv_available_kw=pv_kwp * problem.pv_kw_per_kwp,
        pv_used_kw=b["pv"],
        import_kw=imp,
        export_kw=exp,
        charge_kw=b["ch"],
        discharge_kw=b["dis"],
        soc_kwh=b["soc"],
        unserved_kw=b["uns"] + b["crit"],
        genset_kw=b["gen"],
        soc_initial_kwh=soc_start,
    )
    return _finish(
        problem,
        series,
        kwp=pv_kwp,
        kwh=kwh,
        kw=kw,
        window_ms=np.asarray(times),
        statuses=tuple(rd.statuses),
    )


def rule_based_dispatch(
    problem: MicrogridProblem,
    *,
    pv_kwp: float,
    battery_kwh: float,
    battery_kw: float,
    strategy: Literal["self_consumption", "tou_arbitrage"] = "self_consumption",
    soc_initial_kwh: float | None = None,
    charge_price_max_cny_per_kwh: float | None = None,
    discharge_price_min_cny_per_kwh: float | None = None,
) -> DispatchResult:
    """Rule-based dispatch (HOMER-style load following / TOU arbitrage).

    Parameters
    ----------
    problem
        Horizon data.
    pv_kwp, battery_kwh, battery_kw
        Built sizes [kWp], [kWh], [kW].
    strategy
        ``self_consumption``: surplus PV charges the battery, then is exported (up to the
        limit) or curtailed; deficits are met by the battery (down to the SOC floor), then
        the grid, then the genset (when the grid is out), then shed.
        ``tou_arbitrage``: additionally charges from the grid when the import cost is at
        most ``charge_price_max`` and discharges for the load only when it is at least
        ``discharge_price_min`` (always during outages).
        In both, during an outage only the critical load is backed up by the battery and
        genset (non-critical load is shed unless PV covers it), and a storm-mode SOC
        floor (``problem.soc_floor_fraction``) is never discharged into and is topped up
        from the grid when the SOC is below it, starting as many steps ahead of the storm
        window as a full charge takes.
    soc_initial_kwh
        Stored energy before the first step [kWh]; default ``soc_min_fraction × kWh``.
    charge_price_max_cny_per_kwh
        Default: the lowest import cost of the horizon (the valley).
    discharge_price_min_cny_per_kwh
        Default: ``charge_price_max / (η_c η_d)`` (discharging only where it pays).

    Returns
    -------
    DispatchResult
    """
    p = problem
    n = p.n_steps
    dt = p.timestep_hours
    bat = p.battery
    kwh = battery_kwh if bat else 0.0
    kw = battery_kw if bat else 0.0
    eta_c = bat.charge_efficiency if bat else 1.0
    eta_d = bat.discharge_efficiency if bat else 1.0
    floor_arr = np.maximum(bat.soc_min_fraction, p.soc_floor_fraction) * kwh if bat else np.zeros(n)
    if bat and kw > 0 and p.soc_floor_fraction.any():
        # Storm mode is anticipated: the floor applies from as many steps ahead as a full
        # charge takes, so the reserve is in place when the storm window opens.
        lead = int(np.ceil(kwh / (kw * eta_c * dt)))
        ahead = floor_arr.copy()
        for j in range(1, min(lead, n - 1) + 1):
            ahead[:-j] = np.maximum(ahead[:-j], floor_arr[j:])
        floor_arr = ahead
    floor = floor_arr.tolist()
    soc_max = (bat.soc_max_fraction * kwh) if bat else 0.0
    soc = (
        soc_initial_kwh
        if soc_initial_kwh is not None
        else ((bat.soc_min_fraction * kwh) if bat else 0.0)
    )
    soc_start = soc
    cost = p.import_cost_cny_per_kwh
    lo_price = (
        charge_price_max_cny_per_kwh
        if charge_price_max_cny_per_kwh is not None
        else float(cost.min())
    )
    hi_price = (
        discharge_price_min_cny_per_kwh
        if discharge_price_min_cny_per_kwh is not None
        else lo_price / (eta_c * eta_d)
    )
    arbitrage = strategy == "tou_arbitrage"
    gen = p.genset
    load = p.load_kw.tolist()
    pv_av = (pv_kwp * p.pv_kw_per_kwp).tolist()
    imp_lim = p.import_limit_kw.tolist()
    exp_lim = p.export_limit_kw.tolist()
    outage = p.outage.tolist()
    crit = (p.critical_load_fraction * p.load_kw).tolist()
    price = cost.tolist()
    res = np.zeros((9, n))
    for t in range(n):
        pv_t, load_t = pv_av[t], load[t]
        ch = dis = imp = exp = uns = g = 0.0
        pv_used = min(pv_t, load_t)
        surplus = pv_t - pv_used
        deficit = load_t - pv_used
        room_kw = max(soc_max - soc, 0.0) / (eta_c * dt) if bat else 0.0
        avail_kw = max(soc - floor[t], 0.0) * eta_d / dt if bat else 0.0
        if surplus > 0.0:
            ch = min(surplus, kw, room_kw)
            exp = min(surplus - ch, exp_lim[t])
            pv_used += ch + exp
        shed = 0.0
        if deficit > 0.0 and outage[t]:
            # Islanded: only the critical-load panel is backed up; the rest is shed
            # unless PV covers it.
            shed = min(deficit, load_t - crit[t])
            deficit -= shed
        if deficit > 0.0:
            if (not arbitrage) or outage[t] or price[t] >= hi_price:
                dis = min(deficit, kw, avail_kw)
                deficit -= dis
            imp = min(deficit, imp_lim[t])
            deficit -= imp
            if deficit > 0.0 and gen is not None and (outage[t] or not gen.outage_only):
                g_min = gen.min_load_fraction * gen.power_kw
                g = min(deficit, gen.power_kw)
                if g < g_min:
                    # Run at minimum load only if the battery can absorb the excess.
                    excess = g_min - g
                    if min(kw - ch, room_kw - ch) >= excess:
                        ch += excess
                        g = g_min
                    else:
                        g = 0.0
                deficit -= min(g, deficit)
            uns = max(deficit, 0.0)
        uns += shed
        if arbitrage and not outage[t] and price[t] <= lo_price and bat:
            extra = max(min(kw - ch, room_kw - ch, imp_lim[t] - imp), 0.0)
            ch += extra
            imp += extra
        elif bat and not outage[t] and soc + dt * (eta_c * ch - dis / eta_d) < floor[t]:
            # Storm mode: top up from the grid to the reserve floor.
            need_kw = (floor[t] - soc) / (eta_c * dt) - ch + dis / (eta_c * eta_d)
            extra = max(min(need_kw, kw - ch, imp_lim[t] - imp), 0.0)
            ch += extra
            imp += extra
        soc = soc + dt * (eta_c * ch - dis / eta_d)
        res[:, t] = (pv_used, imp, exp, ch, dis, soc, uns, g, pv_t)
    series = DispatchSeries(
        load_kw=p.load_kw,
        pv_available_kw=res[8],
        pv_used_kw=res[0],
        import_kw=res[1],
        export_kw=res[2],
        charge_kw=res[3],
        discharge_kw=res[4],
        soc_kwh=res[5],
        unserved_kw=res[6],
        genset_kw=res[7],
        soc_initial_kwh=soc_start,
    )
    return _finish(
        problem,
        series,
        kwp=pv_kwp,
        kwh=kwh,
        kw=kw,
        window_ms=np.zeros(0),
        statuses=("rule-based",),
    )
