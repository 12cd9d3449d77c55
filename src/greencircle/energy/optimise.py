"""Joint sizing and dispatch of PV + battery (+ genset) as one LP/MILP solved by HiGHS.

The model is assembled directly as a sparse CSC matrix from vectorised NumPy index
arithmetic (no per-step Python loop) and passed to HiGHS through ``Highs.passModel``.

Model (per step t = 0..N−1, Δt [h], weight w):

.. math::

    pv_t + imp_t + dis_t + uns_t + gen_t = L_t + exp_t + ch_t              (balance)

    pv_t ≤ kWp · π_t                                                      (PV, curtailable)

    exp_t ≤ pv_t   (+ dis_t only with ``battery_export``)                 (export source)

    S_t = S_{t−1} + Δt (η_c ch_t − dis_t / η_d),  S_{−1} = S_{N−1}           (cyclic SOC)

    s_min·kWh ≤ S_t ≤ s_max·kWh,   ch_t, dis_t ≤ kW

    imp_t ≤ I_t,  exp_t ≤ X_t  (both 0 during outages),  uns_t ≤ (1 − f_t) L_t

    gen_t ≤ P·on_t,  gen_t ≥ m·P·on_t,  on_t ∈ {0, 1}                      (genset, MILP)

    min  c_pv kWp + c_E kWh + c_P kW + F_gen + Σ_t Δt w [imp_t (p_t + c_CO2 EF_t/1000)
         − exp_t x_t + uns_t VOLL + gen_t (fuel + c_CO2 EF_gen/1000)]

    x_t = min(p^x_t, p_t + c_CO2 EF_t/1000)                              (export credit)

Export is PV energy of the same step: no grid-to-grid and (unless ``battery_export``) no
battery-to-grid export. For a built system (fixed PV size) this is made exact by
:func:`pv_surplus_steps`: export only where PV exceeds the load, and there no battery
discharge or genset. When sizing, :func:`optimise` solves the joint LP, then re-solves the
dispatch at the chosen sizes with that exact rule whenever the joint solution discharged
the battery (or ran the genset) in a step that exported. The export credit never exceeds
the step's import cost, so the optimum never imports and exports in the same step;
:func:`series_from_x` nets any solver-tolerance overlap (``imp_t`` and ``exp_t`` both
reduced by their minimum, which keeps the balance and every bound).

``S_t`` is the energy stored at the end of step t. With ``initial_soc_fraction`` set the
recursion starts from ``S_{−1} = f_0·kWh`` and the end state is free (dispatch of an
existing system).

References
----------
.. [1] D. Cutler et al., "REopt: A Platform for Energy System Integration and
   Optimization", NREL/TP-7A40-70022, 2017.
.. [2] Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex method",
   Math. Prog. Comp. 10, 2018 (HiGHS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from greencircle.energy.problem import MicrogridProblem
from greencircle.energy.result import (
    CostBreakdown,
    DispatchSeries,
    Kpis,
    compute_cost_breakdown,
    compute_kpis,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]
Progress = Callable[[str, float], None]

__all__ = [
    "LPModel",
    "MicrogridSolution",
    "RawSolution",
    "build_model",
    "make_highs",
    "net_grid_flows",
    "optimise",
    "pv_surplus_steps",
    "series_from_x",
    "solve_model",
]

INF = highspy.kHighsInf


@dataclass
class LPModel:
    """A built LP/MILP: ``min cᵀx + offset  s.t.  row_lower ≤ A x ≤ row_upper, lower ≤ x ≤ upper``.

    Attributes
    ----------
    blocks
        Name → column offset of each per-step block of N columns (``pv``, ``imp``, ``exp``,
        ``uns``, ``crit``, ``ch``, ``dis``, ``soc``, ``gen``, ``on``).
    scalars
        Name → column of each size variable (``kwp``, ``kwh``, ``kw``).
    row_blocks
        Name → row offset of each block of N rows (``bal``, ``pv``, ``soc``, ...).
    matrix
        Constraint matrix A, CSC.
    integrality
        Column indices that are binary.
    """

    n_steps: int
    blocks: dict[str, int]
    scalars: dict[str, int]
    row_blocks: dict[str, int]
    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    matrix: sp.csc_array
    offset: float = 0.0
    integer_columns: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    @property
    def num_col(self) -> int:
        """Number of columns."""
        return int(self.cost.shape[0])

    @property
    def num_row(self) -> int:
        """Number of rows."""
        return int(self.row_lower.shape[0])

    @property
    def is_mip(self) -> bool:
        """True when some columns are binary."""
        return bool(self.integer_columns.size)

    def cols(self, block: str) -> slice:
        """Column slice of a per-step block."""
        o = self.blocks[block]
        return slice(o, o + self.n_steps)


def pv_surplus_steps(problem: MicrogridProblem) -> npt.NDArray[np.bool_] | None:
    """Steps where built PV exceeds the load, when the export rule can be made exact.

    With a fixed PV size and no battery export, the steps where ``kWp·π_t > L_t`` are the
    only ones with PV to export, and in them the load needs neither battery nor genset.
    Fixing ``exp_t = 0`` elsewhere and ``dis_t = gen_t = 0`` there makes every export a
    PV surplus (no battery energy leaves through the meter while PV is exported).
    Returns ``None`` when the PV size is a decision (or battery export is allowed).
    """
    if problem.battery_export:
        return None
    if problem.pv is None:
        return np.zeros(problem.n_steps, dtype=np.bool_)
    if problem.pv.kwp is None:
        return None
    return np.asarray(problem.pv.kwp * problem.pv_kw_per_kwp > problem.load_kw)


def build_model(problem: MicrogridProblem, *, critical_slack: bool = False) -> LPModel:
    """Assemble the sizing + dispatch LP/MILP of ``problem``.

    Parameters
    ----------
    problem
        Resolved data.
    critical_slack
        Add a block ``crit`` (0 ≤ crit_t ≤ f_t L_t, costed like ``uns``) of critical load
        that may go unserved; used by :mod:`greencircle.energy.diagnose`.

    Returns
    -------
    LPModel
    """
    n = problem.n_steps
    dt = problem.timestep_hours
    w = problem.operating_cost_weight
    t = np.arange(n, dtype=np.int64)
    load = problem.load_kw
    pv, bat, gen = problem.pv, problem.battery, problem.genset

    blocks: dict[str, int] = {}
    ncol = 0

    def add_block(name: str) -> None:
        nonlocal ncol
        blocks[name] = ncol
        ncol += n

    names = ["imp", "exp", "uns"]
    if pv is not None:
        names.insert(0, "pv")
    if critical_slack:
        names.append("crit")
    if bat is not None:
        names += ["ch", "dis", "soc"]
    milp = gen is not None and gen.min_load_fraction > 0.0
    if gen is not None:
        names.append("gen")
        if milp:
            names.append("on")
    for name in names:
        add_block(name)
    scalars: dict[str, int] = {}
    if pv is not None and pv.kwp is None:
        scalars["kwp"] = ncol
        ncol += 1
    if bat is not None and bat.kwh is None:
        scalars["kwh"] = ncol
        ncol += 1
    if bat is not None and bat.kw is None:
        scalars["kw"] = ncol
        ncol += 1

    cost = np.zeros(ncol)
    lower = np.zeros(ncol)
    upper = np.full(ncol, INF)

    def col(name: str) -> npt.NDArray[np.int64]:
        return blocks[name] + t

    def sl(name: str) -> slice:
        return slice(blocks[name], blocks[name] + n)

    e = dt * w
    cost[sl("imp")] = e * problem.import_cost_cny_per_kwh
    cost[sl("exp")] = -e * problem.export_credit_cny_per_kwh
    cost[sl("uns")] = e * problem.unserved_energy_cost_cny_per_kwh
    upper[sl("imp")] = problem.import_limit_kw
    upper[sl("exp")] = problem.export_limit_kw
    crit_kw = problem.critical_load_fraction * load
    upper[sl("uns")] = load - crit_kw
    if critical_slack:
        upper[sl("crit")] = crit_kw
        cost[sl("crit")] = e * problem.unserved_energy_cost_cny_per_kwh

    rows_i: list[npt.NDArray[np.int64]] = []
    cols_i: list[npt.NDArray[np.int64]] = []
    vals: list[FloatArray] = []
    row_lo: list[FloatArray] = []
    row_up: list[FloatArray] = []
    row_blocks: dict[str, int] = {}
    nrow = 0

    def add_rows(name: str, lo: FloatArray, up: FloatArray) -> npt.NDArray[np.int64]:
        nonlocal nrow
        row_blocks[name] = nrow
        r = nrow + t
        nrow += n
        row_lo.append(lo)
        row_up.append(up)
        return r

    def put(r: npt.NDArray[np.int64], c: npt.NDArray[np.int64], v: FloatArray | float) -> None:
        rows_i.append(r)
        cols_i.append(c)
        vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), r.shape))

    zeros = np.zeros(n)
    ninf = np.full(n, -INF)
    pinf = np.full(n, INF)
    ones = np.ones(n)

    # Energy balance.
    r_bal = add_rows("bal", load.copy(), load.copy())
    put(r_bal, col("imp"), 1.0)
    put(r_bal, col("exp"), -1.0)
    put(r_bal, col("uns"), 1.0)
    if critical_slack:
        put(r_bal, col("crit"), 1.0)

    if pv is not None:
        put(r_bal, col("pv"), 1.0)
        prof = problem.pv_kw_per_kwp
        if pv.kwp is None:
            cost[scalars["kwp"]] = pv.cost_cny_per_kwp_year
            lower[scalars["kwp"]] = pv.min_kwp
            if pv.max_kwp is not None:
                upper[scalars["kwp"]] = pv.max_kwp
            r_pv = add_rows("pv", ninf, zeros)
            put(r_pv, col("pv"), 1.0)
            nz = prof != 0.0
            put(r_pv[nz], np.full(int(nz.sum()), scalars["kwp"]), -prof[nz])
        else:
            upper[sl("pv")] = pv.kwp * prof

    if bat is not None:
        put(r_bal, col("ch"), -1.0)
        put(r_bal, col("dis"), 1.0)
        eta_c, eta_d = bat.charge_efficiency, bat.discharge_efficiency
        floor = np.maximum(bat.soc_min_fraction, problem.soc_floor_fraction)
        # SOC recursion.
        soc_rhs = zeros.copy()
        r_soc = add_rows("soc", soc_rhs, soc_rhs)
        put(r_soc, col("soc"), 1.0)
        put(r_soc, col("ch"), -dt * eta_c)
        put(r_soc, col("dis"), dt / eta_d)
        if bat.initial_soc_fraction is None:
            put(r_soc, blocks["soc"] + (t - 1) % n, -1.0)
        else:
            put(r_soc[1:], col("soc")[:-1], -1.0)
            if bat.kwh is None:
                put(r_soc[:1], np.array([scalars["kwh"]]), -bat.initial_soc_fraction)
            else:
                soc_rhs[0] = bat.initial_soc_fraction * bat.kwh
        # SOC window.
        if bat.kwh is None:
            kwh = scalars["kwh"]
            cost[kwh] = bat.energy_cost_cny_per_kwh_year
            lower[kwh] = bat.min_kwh
            if bat.max_kwh is not None:
                upper[kwh] = bat.max_kwh
            r_max = add_rows("soc_max", ninf, zeros)
            put(r_max, col("soc"), 1.0)
            put(r_max, np.full(n, kwh), -bat.soc_max_fraction)
            r_min = add_rows("soc_min", zeros, pinf)
            put(r_min, col("soc"), 1.0)
            nz = floor != 0.0
            put(r_min[nz], np.full(int(nz.sum()), kwh), -floor[nz])
        else:
            lower[sl("soc")] = floor * bat.kwh
            upper[sl("soc")] = bat.soc_max_fraction * bat.kwh
        # Power.
        if bat.kw is None:
            kw = scalars["kw"]
            cost[kw] = bat.power_cost_cny_per_kw_year
            lower[kw] = bat.min_kw
            if bat.max_kw is not None:
                upper[kw] = bat.max_kw
            for name in ("ch", "dis"):
                r = add_rows(f"{name}_max", ninf, zeros)
                put(r, col(name), 1.0)
                put(r, np.full(n, kw), -1.0)
        else:
            upper[sl("ch")] = bat.kw
            upper[sl("dis")] = bat.kw

    # Export source: exp_t − pv_t (− dis_t with battery export) ≤ 0.
    r_src = add_rows("exp_src", ninf, zeros)
    put(r_src, col("exp"), 1.0)
    if pv is not None:
        put(r_src, col("pv"), -1.0)
    if bat is not None and problem.battery_export:
        put(r_src, col("dis"), -1.0)

    integer_columns = np.zeros(0, dtype=np.int32)
    offset = 0.0
    if gen is not None:
        put(r_bal, col("gen"), 1.0)
        offset = gen.fixed_cost_cny_per_year
        cost[sl("gen")] = e * (
            gen.fuel_cost_cny_per_kwh
            + problem.carbon_price_cny_per_tco2 * gen.tco2_per_mwh / 1000.0
        )
        avail = problem.outage.astype(np.float64) if gen.outage_only else ones
        if milp:
            upper[sl("on")] = avail
            r_hi = add_rows("gen_max", ninf, zeros)
            put(r_hi, col("gen"), 1.0)
            put(r_hi, col("on"), -gen.power_kw)
            r_lo = add_rows("gen_min", zeros, pinf)
            put(r_lo, col("gen"), 1.0)
            put(r_lo, col("on"), -gen.min_load_fraction * gen.power_kw)
            integer_columns = col("on").astype(np.int32)
        else:
            upper[sl("gen")] = gen.power_kw * avail

    surplus = pv_surplus_steps(problem)
    if surplus is not None:
        # Built PV, no battery export: only PV beyond the load is exported, and while PV
        # covers the load neither the battery nor the genset runs.
        upper[blocks["exp"] + t[~surplus]] = 0.0
        if bat is not None:
            upper[blocks["dis"] + t[surplus]] = 0.0
        if gen is not None:
            upper[blocks["on" if milp else "gen"] + t[surplus]] = 0.0

    matrix = sp.csc_array(
        (np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(cols_i))),
        shape=(nrow, ncol),
    )
    matrix.eliminate_zeros()
    return LPModel(
        n_steps=n,
        blocks=blocks,
        scalars=scalars,
        row_blocks=row_blocks,
        cost=cost,
        col_lower=lower,
        col_upper=upper,
        row_lower=np.concatenate(row_lo),
        row_upper=np.concatenate(row_up),
        matrix=matrix,
        offset=offset,
        integer_columns=integer_columns,
    )


#: LP algorithm: HiGHS' interior point (IPX) with crossover to a vertex solution. On the
#: 8,760-hour sizing LP it is about twice as fast as dual simplex (benchmarks/bench_microgrid.py).
LP_SOLVER = "ipm"


def make_highs(
    *,
    time_limit_s: float | None = None,
    mip_rel_gap: float | None = None,
    threads: int = 0,
    solver: str | None = None,
) -> highspy.Highs:
    """A silent HiGHS instance with a time limit [s], relative MIP gap [-] and LP solver."""
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    if solver is not None:
        h.setOptionValue("solver", solver)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    if mip_rel_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if threads:
        h.setOptionValue("threads", int(threads))
    return h


def pass_model(h: highspy.Highs, model: LPModel) -> None:
    """Hand ``model`` to HiGHS (CSC arrays, no copies through Python lists)."""
    a = model.matrix
    integrality = np.zeros(model.num_col, dtype=np.int32)
    integrality[model.integer_columns] = int(highspy.HighsVarType.kInteger)
    status = h.passModel(
        model.num_col,
        model.num_row,
        int(a.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        float(model.offset),
        model.cost,
        model.col_lower,
        model.col_upper,
        model.row_lower,
        model.row_upper,
        a.indptr.astype(np.int32, copy=False),
        a.indices.astype(np.int32, copy=False),
        a.data,
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model")


@dataclass(frozen=True, slots=True)
class RawSolution:
    """What HiGHS returned.

    Attributes
    ----------
    status
        ``optimal``; ``feasible`` (time limit hit, best solution found returned);
        ``infeasible``; ``unbounded``; ``no_solution`` (limit hit before any solution);
        ``error``.
    model_status
        HiGHS' own status text.
    x
        Column values (empty when there is no solution).
    objective_cny
        Objective incl. offset [CNY/yr] (``nan`` without a solution).
    mip_gap
        Relative MIP gap [-] (0 for an LP solved to optimality).
    solve_seconds
        Wall time in ``Highs.run`` [s].
    """

    status: str
    model_status: str
    x: FloatArray
    objective_cny: float
    mip_gap: float
    solve_seconds: float


def _status(h: highspy.Highs) -> tuple[str, str, bool]:
    ms = h.getModelStatus()
    text = h.modelStatusToString(ms)
    has_sol = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    m = highspy.HighsModelStatus
    if ms == m.kOptimal:
        return "optimal", text, True
    if ms == m.kInfeasible:
        return "infeasible", text, False
    if ms in (m.kUnbounded, m.kUnboundedOrInfeasible):
        return "unbounded", text, False
    if ms in (m.kTimeLimit, m.kIterationLimit, m.kSolutionLimit, m.kInterrupt):
        return ("feasible" if has_sol else "no_solution"), text, has_sol
    return "error", text, has_sol


def run_highs(h: highspy.Highs, is_mip: bool) -> RawSolution:
    """Run an already-loaded HiGHS instance and collect the solution."""
    t0 = time.perf_counter()
    h.run()
    secs = time.perf_counter() - t0
    status, text, has_sol = _status(h)
    info = h.getInfo()
    if has_sol:
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        obj = float(info.objective_function_value)
    else:
        x, obj = np.zeros(0), float("nan")
    gap = float(info.mip_gap) if is_mip and has_sol else 0.0
    if not np.isfinite(gap):
        gap = float("inf")
    return RawSolution(status, text, x, obj, gap, secs)


def solve_model(
    model: LPModel, *, time_limit_s: float | None = 600.0, mip_rel_gap: float = 1e-4
) -> RawSolution:
    """Solve ``model`` with HiGHS (time limit [s] and relative MIP gap [-])."""
    h = make_highs(
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        solver=None if model.is_mip else LP_SOLVER,
    )
    pass_model(h, model)
    return run_highs(h, model.is_mip)


def series_from_x(problem: MicrogridProblem, model: LPModel, x: FloatArray) -> DispatchSeries:
    """Cut the solution vector into per-step series (tiny solver noise clipped at 0)."""
    n = problem.n_steps

    def block(name: str) -> FloatArray:
        if name not in model.blocks:
            return np.zeros(n)
        return np.clip(x[model.cols(name)], 0.0, None)

    kwp = _size(problem, model, x, "kwp")
    bat = problem.battery
    soc0 = 0.0
    soc = block("soc")
    if bat is not None:
        kwh = _size(problem, model, x, "kwh")
        soc0 = (
            float(soc[-1]) if bat.initial_soc_fraction is None else bat.initial_soc_fraction * kwh
        )
    uns = block("uns") + block("crit")
    imp, exp = net_grid_flows(block("imp"), block("exp"))
    return DispatchSeries(
        load_kw=problem.load_kw,
        pv_available_kw=kwp * problem.pv_kw_per_kwp,
        pv_used_kw=block("pv"),
        import_kw=imp,
        export_kw=exp,
        charge_kw=block("ch"),
        discharge_kw=block("dis"),
        soc_kwh=soc,
        unserved_kw=uns,
        genset_kw=block("gen"),
        soc_initial_kwh=soc0,
    )


def net_grid_flows(import_kw: FloatArray, export_kw: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Net simultaneous import and export of a step (one meter sees their difference) [kW].

    Both are reduced by ``min(imp_t, exp_t)``: the balance, the limits and the export-source
    rule still hold, and the cost does not rise (the export credit never exceeds the import
    cost).
    """
    both = np.minimum(import_kw, export_kw)
    return import_kw - both, export_kw - both


def _size(problem: MicrogridProblem, model: LPModel, x: FloatArray, name: str) -> float:
    if name in model.scalars:
        return max(float(x[model.scalars[name]]), 0.0)
    fixed = {
        "kwp": problem.pv.kwp if problem.pv else 0.0,
        "kwh": problem.battery.kwh if problem.battery else 0.0,
        "kw": problem.battery.kw if problem.battery else 0.0,
    }[name]
    return float(fixed or 0.0)


@dataclass(frozen=True)
class MicrogridSolution:
    """Optimisation result.

    Attributes
    ----------
    status
        See :class:`RawSolution`; ``infeasible`` runs carry ``explanation`` and the relaxed
        solution (critical load partly unserved) in the other fields.
    objective_cny
        Objective [CNY/yr].
    mip_gap
        Relative MIP gap [-].
    pv_kwp, battery_kwh, battery_kw
        Sizes [kWp], [kWh], [kW].
    series
        Per-step operation (``None`` when there is no solution).
    costs, kpis
        Annual cost breakdown and KPIs (``None`` when there is no solution).
    build_seconds, solve_seconds
        Model assembly and HiGHS time [s].
    explanation
        Critical-load shortfall report for infeasible runs (see
        :class:`greencircle.energy.diagnose.ShortfallReport`), else ``None``.
    """

    status: str
    model_status: str
    objective_cny: float
    mip_gap: float
    pv_kwp: float
    battery_kwh: float
    battery_kw: float
    series: DispatchSeries | None
    costs: CostBreakdown | None
    kpis: Kpis | None
    build_seconds: float
    solve_seconds: float
    is_mip: bool
    num_col: int
    num_row: int
    explanation: object | None = None


def solution_from_raw(
    problem: MicrogridProblem,
    model: LPModel,
    raw: RawSolution,
    *,
    build_seconds: float,
    explanation: object | None = None,
    status: str | None = None,
) -> MicrogridSolution:
    """Wrap a raw HiGHS solution into a :class:`MicrogridSolution` with KPIs."""
    series = costs = kpis = None
    kwp = kwh = kw = 0.0
    if raw.x.size:
        kwp = _size(problem, model, raw.x, "kwp")
        kwh = _size(problem, model, raw.x, "kwh")
        kw = _size(problem, model, raw.x, "kw")
        series = series_from_x(problem, model, raw.x)
        costs = compute_cost_breakdown(problem, series, pv_kwp=kwp, battery_kwh=kwh, battery_kw=kw)
        kpis = compute_kpis(problem, series, costs, battery_kwh=kwh)
    return MicrogridSolution(
        status=status or raw.status,
        model_status=raw.model_status,
        objective_cny=raw.objective_cny,
        mip_gap=raw.mip_gap,
        pv_kwp=kwp,
        battery_kwh=kwh,
        battery_kw=kw,
        series=series,
        costs=costs,
        kpis=kpis,
        build_seconds=build_seconds,
        solve_seconds=raw.solve_seconds,
        is_mip=model.is_mip,
        num_col=model.num_col,
        num_row=model.num_row,
        explanation=explanation,
    )


def optimise(
    problem: MicrogridProblem,
    *,
    time_limit_s: float = 600.0,
    mip_rel_gap: float = 1e-4,
    explain_infeasible: bool = True,
    progress: Progress | None = None,
) -> MicrogridSolution:
    """Size and dispatch the microgrid of ``problem``.

    Parameters
    ----------
    problem
        Resolved data (sizes fixed where the options say so).
    time_limit_s
        HiGHS time limit [s]; on expiry the best solution found is returned with status
        ``feasible`` and its MIP gap.
    mip_rel_gap
        Relative MIP gap at which branch-and-bound stops [-] (genset with minimum load).
    explain_infeasible
        When the critical load cannot be served, solve the relaxed model and attach a
        :class:`~greencircle.energy.diagnose.ShortfallReport` naming the steps and
        shortfalls (status stays ``infeasible``).
    progress
        Optional callback ``(stage, fraction_done)``.

    Returns
    -------
    MicrogridSolution
    """
    if progress:
        progress("building model", 0.05)
    t0 = time.perf_counter()
    model = build_model(problem)
    h = make_highs(
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        solver=None if model.is_mip else LP_SOLVER,
    )
    pass_model(h, model)
    build_s = time.perf_counter() - t0
    if progress:
        progress("solving", 0.1)
    raw = run_highs(h, model.is_mip)
    if raw.status == "infeasible" and explain_infeasible:
        if progress:
            progress("explaining infeasibility", 0.6)
        from greencircle.energy.diagnose import explain_critical_shortfall

        spent = raw.solve_seconds
        report, relaxed_model, relaxed = explain_critical_shortfall(
            problem, time_limit_s=max(time_limit_s - spent, 1.0), mip_rel_gap=mip_rel_gap
        )
        if relaxed is not None and relaxed.x.size:
            sol = solution_from_raw(
                problem,
                relaxed_model,
                relaxed,
                build_seconds=build_s,
                explanation=report,
                status="infeasible",
            )
            if progress:
                progress("done", 1.0)
            return replace(
                sol, solve_seconds=spent + relaxed.solve_seconds, model_status=raw.model_status
            )
        raw = RawSolution(
            raw.status, raw.model_status, raw.x, raw.objective_cny, raw.mip_gap, spent
        )
        sol = solution_from_raw(problem, model, raw, build_seconds=build_s, explanation=report)
        if progress:
            progress("done", 1.0)
        return sol
    sol = solution_from_raw(problem, model, raw, build_seconds=build_s)
    if sol.series is not None and _needs_exact_export(problem, sol.series):
        sol = _redispatch_at_sizes(problem, sol, time_limit_s, mip_rel_gap, progress)
    if progress:
        progress("done", 1.0)
    return sol


def _needs_exact_export(problem: MicrogridProblem, series: DispatchSeries) -> bool:
    """Whether a joint solution exported in a step where battery or genset also ran."""
    if problem.battery_export or pv_surplus_steps(problem) is not None:
        return False
    tol = 1e-6 * (1.0 + float(problem.load_kw.max(initial=0.0)))
    exporting = series.export_kw > tol
    other = (series.discharge_kw > tol) | (series.genset_kw > tol)
    return bool((exporting & other).any())


def _redispatch_at_sizes(
    problem: MicrogridProblem,
    sized: MicrogridSolution,
    time_limit_s: float,
    mip_rel_gap: float,
    progress: Progress | None,
) -> MicrogridSolution:
    """Dispatch again at the sizes of ``sized`` with the exact export rule (see
    :func:`pv_surplus_steps`); the objective adds back the capital of the fixed sizes."""
    if progress:
        progress("re-dispatching with the exact export rule", 0.7)
    fixed = problem.with_fixed_sizes(
        pv_kwp=sized.pv_kwp, battery_kwh=sized.battery_kwh, battery_kw=sized.battery_kw
    )
    t0 = time.perf_counter()
    model = build_model(fixed)
    build_s = time.perf_counter() - t0
    raw = solve_model(model, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if not raw.x.size:
        return sized
    sol = solution_from_raw(fixed, model, raw, build_seconds=sized.build_seconds + build_s)
    assert sol.costs is not None
    sizes_capital = (
        sol.costs.pv_capital_cny
        + sol.costs.battery_energy_capital_cny
        + sol.costs.battery_power_capital_cny
    )
    return replace(
        sol,
        objective_cny=raw.objective_cny + sizes_capital,
        solve_seconds=sized.solve_seconds + raw.solve_seconds,
    )
