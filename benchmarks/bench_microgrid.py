"""Microgrid sizing + dispatch benchmark (8,760 h) and rolling 48-h re-dispatch.

Prints one table:

* ``optimize_spec`` wall time on a realistic Chongqing case (Sichuan TOU tariff, PV +
  battery sizing, one outage), from SPEC dict to RESULT dict;
* the floor: the identical LP built here independently with ``scipy.sparse`` block
  matrices, handed to bare HiGHS (same LP algorithm), timing ``Highs.run`` only;
* the same run through the platform API, saved as a study of a site (SQLite, digests,
  transparency-log event), as a whole HTTP request;
* PyPSA (if installed) building and solving the same model with HiGHS
  (Store + two Links for separately sized kWh and kW);
* rolling 48-h windows committing 24 h over the year: median and p90 ms per window.

Run: ``.venv/bin/python benchmarks/bench_microgrid.py`` (about 1-2 minutes).
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from greencircle.energy import optimize_spec
from greencircle.energy.dispatch import rolling_dispatch
from greencircle.energy.optimise import LP_SOLVER
from greencircle.energy.problem import MicrogridProblem
from greencircle.energy.spec import resolve_spec

N = 8760


def realistic_spec(pv_site: bool) -> dict[str, Any]:
    """A 2 MW-peak industrial park in Chongqing, one year hourly."""
    rng = np.random.default_rng(42)
    t = np.arange(N)
    h = t % 24
    weekday = (t // 24) % 7 < 5
    seasonal = 1.0 + 0.15 * np.cos(2 * np.pi * (t / N - 0.55))  # summer cooling
    shape = np.where((h >= 8) & (h < 20), 1.0, 0.55) * np.where(weekday, 1.0, 0.7)
    load = 1400 * seasonal * shape + rng.normal(0, 40, N)
    spec: dict[str, Any] = {
        "timestep_hours": 1,
        "load_kw": np.clip(load, 100, None).round(2).tolist(),
        "battery": {
            "energy_cost_cny_per_kwh_year": 110.0,
            "power_cost_cny_per_kw_year": 45.0,
            "charge_efficiency": 0.922,
            "discharge_efficiency": 0.922,
            "soc_min_fraction": 0.1,
            "soc_max_fraction": 0.95,
        },
        "grid": {
            "import_price_cny_per_kwh": {
                "tariff": "CN-SC-2023-LI",
                "flat_price_cny_per_kwh": 0.62,
            },
            "export_price_cny_per_kwh": 0.35,
            "import_limit_kw": 2500,
            "export_limit_kw": 400,
        },
        "carbon": {"grid_tco2_per_mwh": 0.5703, "price_cny_per_tco2": 80},
        "outages": [{"start_step": 4380 + 18, "steps": 6, "critical_load_fraction": 0.3}],
        "unserved_energy_cost_cny_per_kwh": 20,
    }
    site = {"preset": "chongqing", "tilt_deg": 15}
    if pv_site:
        spec["pv"] = {"site": site, "cost_cny_per_kwp_year": 220.0, "max_kwp": 6000}
    else:
        base = {**spec, "pv": {"site": site, "cost_cny_per_kwp_year": 220.0}}
        profile = resolve_spec(base).pv_kw_per_kwp
        spec["pv"] = {
            "profile_kw_per_kwp": profile.round(6).tolist(),
            "cost_cny_per_kwp_year": 220.0,
            "max_kwp": 6000,
        }
    return spec


def floor_lp(p: MicrogridProblem) -> tuple[float, float]:
    """Same joint LP written independently with scipy.sparse.bmat (incl. export <= PV and the
    export credit capped at the import cost); returns (run seconds, objective).

    ``optimize_spec`` re-dispatches at the chosen sizes when the exact export rule of a built
    system binds, so its objective may exceed this floor's.
    """
    assert p.pv is not None
    assert p.battery is not None
    n, dt, w = p.n_steps, p.timestep_hours, p.operating_cost_weight
    b = p.battery
    eye = sp.identity(n, format="csr")
    zero = None
    col = sp.csr_matrix(np.ones((n, 1)))
    prof = sp.csr_matrix(p.pv_kw_per_kwp.reshape(-1, 1))
    shift = sp.csr_matrix((np.ones(n), (np.arange(n), (np.arange(n) - 1) % n)), shape=(n, n))
    # columns: pv imp exp uns ch dis soc | kwp kwh kw
    blocks = [
        [eye, eye, -eye, eye, -eye, eye, zero, zero, zero, zero],  # balance = load
        [eye, zero, zero, zero, zero, zero, zero, -prof, zero, zero],  # <= 0
        [
            zero,
            zero,
            zero,
            zero,
            -dt * b.charge_efficiency * eye,
            dt / b.discharge_efficiency * eye,
            eye - shift,
            zero,
            zero,
            zero,
        ],  # = 0
        [zero, zero, zero, zero, zero, zero, eye, zero, -b.soc_max_fraction * col, zero],  # <= 0
        [zero, zero, zero, zero, zero, zero, eye, zero, -b.soc_min_fraction * col, zero],  # >= 0
        [zero, zero, zero, zero, eye, zero, zero, zero, zero, -col],  # <= 0
        [zero, zero, zero, zero, zero, eye, zero, zero, zero, -col],  # <= 0
        [-eye, zero, eye, zero, zero, zero, zero, zero, zero, zero],  # exp - pv <= 0
    ]
    a = sp.bmat(blocks, format="csc")
    inf = highspy.kHighsInf
    z, ninf, pinf = np.zeros(n), np.full(n, -inf), np.full(n, inf)
    row_lo = np.concatenate([p.load_kw, ninf, z, ninf, z, ninf, ninf, ninf])
    row_up = np.concatenate([p.load_kw, z, z, z, pinf, z, z, z])
    e = dt * w
    cost = np.concatenate(
        [
            z,
            e * p.import_cost_cny_per_kwh,
            -e * np.minimum(p.export_price_cny_per_kwh, p.import_cost_cny_per_kwh),
            np.full(n, e * p.unserved_energy_cost_cny_per_kwh),
            z,
            z,
            z,
            [
                p.pv.cost_cny_per_kwp_year,
                b.energy_cost_cny_per_kwh_year,
                b.power_cost_cny_per_kw_year,
            ],
        ]
    )
    lo = np.zeros(a.shape[1])
    up = np.concatenate(
        [
            pinf,
            p.import_limit_kw,
            p.export_limit_kw,
            (1 - p.critical_load_fraction) * p.load_kw,
            pinf,
            pinf,
            pinf,
            [p.pv.max_kwp if p.pv.max_kwp is not None else inf, inf, inf],
        ]
    )
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", LP_SOLVER)
    h.passModel(
        a.shape[1],
        a.shape[0],
        a.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        cost,
        lo,
        up,
        row_lo,
        row_up,
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data,
        np.zeros(a.shape[1], dtype=np.int32),
    )
    t0 = time.perf_counter()
    h.run()
    secs = time.perf_counter() - t0
    return secs, float(h.getInfo().objective_function_value)


def pypsa_solve(p: MicrogridProblem) -> tuple[float, float] | None:
    """Same model in PyPSA (Store + charge/discharge Links), HiGHS; (seconds, objective)."""
    try:
        import pandas as pd
        import pypsa
    except ImportError:
        return None
    assert p.pv is not None
    assert p.battery is not None
    b = p.battery
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import logging

        logging.getLogger("pypsa").setLevel(logging.ERROR)
        logging.getLogger("linopy").setLevel(logging.ERROR)
        n = pypsa.Network()
        snaps = pd.RangeIndex(p.n_steps)
        n.set_snapshots(snaps)
        dt, w = p.timestep_hours, p.operating_cost_weight
        n.snapshot_weightings.loc[:, "objective"] = dt * w
        n.snapshot_weightings.loc[:, "stores"] = dt
        n.snapshot_weightings.loc[:, "generators"] = dt
        n.add("Bus", "ac")
        n.add("Bus", "battery")
        n.add("Load", "load", bus="ac", p_set=pd.Series(p.load_kw, index=snaps))
        imp_nom = float(np.max(p.import_limit_kw[np.isfinite(p.import_limit_kw)], initial=1e7))
        n.add(
            "Generator",
            "import",
            bus="ac",
            p_nom=imp_nom,
            p_max_pu=pd.Series(p.import_limit_kw / imp_nom, index=snaps).clip(upper=1.0),
            marginal_cost=pd.Series(p.import_cost_cny_per_kwh, index=snaps),
        )
        exp_nom = float(np.max(p.export_limit_kw[np.isfinite(p.export_limit_kw)], initial=1e7))
        n.add(
            "Generator",
            "export",
            bus="ac",
            p_nom=exp_nom,
            p_max_pu=0.0,
            p_min_pu=pd.Series(-p.export_limit_kw / exp_nom, index=snaps).clip(lower=-1.0),
            # Credit capped at the import cost; PyPSA has no export <= PV row here, so its
            # optimum may sit below the floor's (flagged in the table).
            marginal_cost=pd.Series(p.export_credit_cny_per_kwh, index=snaps),
        )
        shed_nom = float(p.load_kw.max())
        n.add(
            "Generator",
            "shed",
            bus="ac",
            p_nom=shed_nom,
            p_max_pu=pd.Series((1 - p.critical_load_fraction) * p.load_kw / shed_nom, index=snaps),
            marginal_cost=p.unserved_energy_cost_cny_per_kwh,
        )
        n.add(
            "Generator",
            "pv",
            bus="ac",
            p_nom_extendable=True,
            p_nom_max=p.pv.max_kwp if p.pv.max_kwp is not None else np.inf,
            capital_cost=p.pv.cost_cny_per_kwp_year,
            p_max_pu=pd.Series(p.pv_kw_per_kwp, index=snaps),
        )
        n.add(
            "Store",
            "energy",
            bus="battery",
            e_nom_extendable=True,
            e_cyclic=True,
            e_min_pu=b.soc_min_fraction,
            e_max_pu=b.soc_max_fraction,
            capital_cost=b.energy_cost_cny_per_kwh_year,
        )
        n.add(
            "Link",
            "charge",
            bus0="ac",
            bus1="battery",
            efficiency=b.charge_efficiency,
            p_nom_extendable=True,
            capital_cost=b.power_cost_cny_per_kw_year,
        )
        n.add(
            "Link",
            "discharge",
            bus0="battery",
            bus1="ac",
            efficiency=b.discharge_efficiency,
            p_nom_extendable=True,
        )

        def same_kw(net: Any, _snapshots: Any) -> None:
            pnom = net.model["Link-p_nom"]
            net.model.add_constraints(
                pnom.loc["discharge"] * b.discharge_efficiency == pnom.loc["charge"],
                name="battery_kw",
            )

        n.optimize(
            solver_name="highs",
            solver_options={"solver": LP_SOLVER, "output_flag": False},
            extra_functionality=same_kw,
            progress=False,
        )
    return time.perf_counter() - t0, float(n.objective)


def api_post_seconds(spec: dict[str, Any]) -> tuple[float, float] | None:
    """The same run through the platform: ``POST /v1/energy/microgrid/optimize?site_id=``.

    A temporary SQLite demo database, one site; the request validates the SPEC, resolves
    the grid factor, optimises, stores the study (RESULT with its series), hashes SPEC and
    RESULT and appends the ``energy.study`` event to the transparency log. Returns
    (best wall seconds of two sync requests, that run's ``solve_seconds``).
    """
    import tempfile
    from pathlib import Path

    from fastapi.testclient import TestClient

    from greencircle.api.app import create_app
    from greencircle.config import Settings
    from greencircle.demo.scenario import DEMO_PASSWORD, load_demo
    from greencircle.storage import migrate
    from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        with unit_of_work(make_session_factory(engine)) as session:
            load_demo(session)
        engine.dispose()
        settings = Settings(database_url=url, var_dir=Path(tmp), secret_key="b" * 64)
        app = create_app(settings)
        with TestClient(app) as client:
            token = client.post(
                "/v1/auth/token", data={"username": "cq-che-01", "password": DEMO_PASSWORD}
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            site = client.post(
                "/v1/energy/sites",
                headers=auth,
                json={
                    "code": "BENCH",
                    "name_en": "Bench site",
                    "name_zh": "基准站点",
                    "jurisdiction_code": "CN-CQ-500115",
                    "latitude_deg": 29.86,
                    "longitude_deg": 107.08,
                    "grid_code": "CN-CQ",
                },
            ).json()
            best, solve = float("inf"), 0.0
            for _ in range(2):
                t0 = time.perf_counter()
                r = client.post(
                    f"/v1/energy/microgrid/optimize?site_id={site['id']}&async=false",
                    headers=auth,
                    json=spec,
                )
                secs = time.perf_counter() - t0
                if r.status_code != 200:
                    return None
                if secs < best:
                    best, solve = secs, float(r.json()["solve_seconds"])
        app.state.engine.dispose()
    return best, solve


def main() -> int:
    rows: list[tuple[str, str, str]] = []
    spec = realistic_spec(pv_site=False)
    problem = resolve_spec(spec)

    # Best of two runs each, interleaved, so neither side pays for a cold start.
    floor_s = whole_s = float("inf")
    result: dict[str, Any] = {}
    for _ in range(2):
        run_s, floor_obj = floor_lp(problem)
        floor_s = min(floor_s, run_s)
        t0 = time.perf_counter()
        candidate = optimize_spec(spec)
        run_s = time.perf_counter() - t0
        if run_s < whole_s:
            whole_s, result = run_s, candidate
    assert result["status"] == "optimal", result["status"]
    # The floor is the joint LP; optimize_spec may add the exact export rule of a built
    # system (re-dispatch at the chosen sizes), which can only cost more.
    rel = (result["objective_cny"] - floor_obj) / abs(floor_obj)
    assert rel > -1e-6, (result["objective_cny"], floor_obj)

    t0 = time.perf_counter()
    result_site = optimize_spec(realistic_spec(pv_site=True))
    site_s = time.perf_counter() - t0

    rows.append(("bare HiGHS solve, scipy.sparse LP (floor)", f"{floor_s:8.2f} s", "1.00"))
    rows.append(
        (
            "optimize_spec, whole (SPEC dict -> RESULT dict)",
            f"{whole_s:8.2f} s",
            f"{whole_s / floor_s:.2f}",
        )
    )
    rows.append(("  of which HiGHS run", f"{result['solve_seconds']:8.2f} s", ""))
    rows.append(
        (
            "optimize_spec with pv.site (pvlib inside)",
            f"{site_s:8.2f} s",
            f"{site_s / floor_s:.2f}",
        )
    )
    api = api_post_seconds(spec)
    if api is not None:
        api_s, api_solve = api
        rows.append(
            (
                "POST /v1/energy/microgrid/optimize, saved study",
                f"{api_s:8.2f} s",
                f"{api_s / floor_s:.2f}",
            )
        )
        rows.append(("  of which HiGHS run", f"{api_solve:8.2f} s", ""))
    py = pypsa_solve(problem)
    if py is None:
        rows.append(("PyPSA build + solve (HiGHS)", "not installed", ""))
    else:
        py_s, py_obj = py
        ok = abs(py_obj - floor_obj) / abs(floor_obj) < 1e-5
        rows.append(
            (
                "PyPSA build + solve (HiGHS)" + ("" if ok else f" [obj {py_obj:.6g}!]"),
                f"{py_s:8.2f} s",
                f"{py_s / floor_s:.2f}",
            )
        )

    kwp, kwh, kw = result["pv_kwp"], result["battery_kwh"], result["battery_kw"]
    roll = rolling_dispatch(
        problem, pv_kwp=kwp, battery_kwh=kwh, battery_kw=kw, soc_initial_kwh=0.5 * kwh
    )
    ms = roll.window_ms
    rows.append(
        (
            f"rolling 48 h / commit 24 h, {ms.size} windows: median",
            f"{statistics.median(ms.tolist()):8.2f} ms",
            "",
        )
    )
    rows.append(("rolling 48 h / commit 24 h: p90", f"{float(np.percentile(ms, 90)):8.2f} ms", ""))

    print(
        f"8,760-h PV + battery sizing LP: {result['model']['num_col']} columns, "
        f"{result['model']['num_row']} rows; LP solver '{LP_SOLVER}'; "
        f"sizes {kwp:.0f} kWp, {kwh:.0f} kWh, {kw:.0f} kW; objective "
        f"{result['objective_cny']:.0f} CNY/yr (floor {floor_obj:.0f}); "
        f"with pv.site {result_site['pv_kwp']:.0f} kWp"
    )
    print(
        f"rolling dispatch (from 50 % SOC, free end state) operating cost "
        f"{roll.costs.operating_cny:.0f} CNY/yr; joint sizing optimum (cyclic SOC) "
        f"{result['cost_breakdown_cny']['operating_cny']:.0f}"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'time':>11}  {'x floor':>7}")
    print("-" * (width + 22))
    for name, t, ratio in rows:
        print(f"{name:<{width}}  {t:>11}  {ratio:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
