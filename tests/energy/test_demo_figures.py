"""The demo studies' money and carbon figures, recomputed from their dispatch series.

Independent of the optimiser and of ``energy/result.py``: prices from ``tariffs.csv`` read
here, the grid factor from the MRV factor library, the accounting written out below.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from greencircle.demo.energy import DEMO_STUDIES
from greencircle.mrv.factors import METHOD_ELECTRICITY, lookup


def _hours(spec: str) -> set[int]:
    out: set[int] = set()
    for part in spec.split(";"):
        a, b = (int(x) for x in part.split("-"))
        out.update(h % 24 for h in range(a, b if b > a else b + 24))
    return out


def _months(spec: str) -> set[int]:
    out: set[int] = set()
    for part in spec.split(";"):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def _tariff_prices(code: str, flat: float, index: pd.DatetimeIndex) -> np.ndarray:
    path = resources.files("greencircle.energy").joinpath("data", "tariffs.csv")
    rows = list(csv.DictReader(path.read_text("utf-8").splitlines()))
    rows = [r for r in rows if r["tariff_code"] == code]
    price = np.full(len(index), np.nan)
    for override in (False, True):  # base periods, then the critical peak on top
        for r in rows:
            if (r["period"] == "critical_peak") != override:
                continue
            mask = np.isin(index.month, list(_months(r["months"]))) & np.isin(
                index.hour, list(_hours(r["hours"]))
            )
            price[mask] = float(r["ratio_to_flat"]) * flat
    assert not np.isnan(price).any()
    return price


def _studies(energy_template: tuple[Path, Path]) -> list[dict[str, Any]]:
    import json

    engine = create_engine(f"sqlite:///{energy_template[0]}")
    with engine.connect() as c:
        rows = c.execute(text("select label, spec, summary, series from energy_studies")).all()
    engine.dispose()
    return [
        {
            "label": r[0],
            "spec": json.loads(r[1]) if isinstance(r[1], str) else r[1],
            "summary": json.loads(r[2]) if isinstance(r[2], str) else r[2],
            "series": json.loads(r[3]) if isinstance(r[3], str) else r[3],
        }
        for r in rows
    ]


def test_demo_savings_carbon_and_payback_follow_from_the_dispatch(energy_template) -> None:
    studies = {s["label"]: s for s in _studies(energy_template)}
    assert sorted(studies) == sorted(DEMO_STUDIES)
    ef = float(lookup(METHOD_ELECTRICITY, "CN-SW", 2023).factor.value)  # tCO2/MWh
    for label, st in studies.items():
        spec, summary, series = st["spec"], st["summary"], st["series"]
        s = {k: np.asarray(v, dtype=float) for k, v in series.items()}
        n = len(s["load_kw"])
        index = pd.date_range(spec["start"], periods=n, freq="h")
        grid = spec["grid"]
        price = _tariff_prices(
            grid["import_price_cny_per_kwh"]["tariff"],
            grid["import_price_cny_per_kwh"]["flat_price_cny_per_kwh"],
            index,
        )
        np.testing.assert_allclose(s["import_price_cny_per_kwh"], price, atol=1e-6)
        assert summary["notes"]["grid_factor"]["tco2_per_mwh"] == pytest.approx(ef)
        c_co2 = spec["carbon"]["price_cny_per_tco2"]
        imp_cost = price + c_co2 * ef / 1000.0
        # Energy balance and the export rule, step by step.
        supply = s["pv_used_kw"] + s["import_kw"] + s["discharge_kw"] + s["unserved_kw"]
        demand = s["load_kw"] + s["export_kw"] + s["charge_kw"]
        np.testing.assert_allclose(supply, demand, atol=1e-3)
        served = s["load_kw"] - s["unserved_kw"]
        surplus = np.clip(s["pv_used_kw"] - served - s["charge_kw"], 0, None)
        assert (s["export_kw"] <= surplus + 1e-3).all(), label
        assert (np.minimum(s["import_kw"], s["export_kw"]) <= 1e-3).all(), label
        # Outage steps: no grid.
        outage = np.zeros(n, dtype=bool)
        for o in spec["outages"]:
            outage[o["start_step"] : o["start_step"] + o["steps"]] = True
        assert (s["import_kw"][outage] <= 1e-6).all()
        # Money [CNY/yr] and carbon [tCO2/yr], 1-hour steps.
        voll = spec["unserved_energy_cost_cny_per_kwh"]
        credit = np.minimum(grid["export_price_cny_per_kwh"], imp_cost)
        operating = (
            float(s["import_kw"] @ imp_cost)
            - float(s["export_kw"] @ credit)
            + voll * float(s["unserved_kw"].sum())
        )
        grid_only_import = np.where(outage, 0.0, s["load_kw"])
        grid_only = float(grid_only_import @ imp_cost) + voll * float(s["load_kw"][outage].sum())
        savings = grid_only - operating
        avoided = (grid_only_import.sum() - s["import_kw"].sum()) / 1000.0 * ef
        bat = spec.get("battery") or {}
        capital = (
            spec["pv"]["cost_cny_per_kwp_year"] * summary["pv_kwp"]
            + bat.get("energy_cost_cny_per_kwh_year", 0.0) * summary["battery_kwh"]
            + bat.get("power_cost_cny_per_kw_year", 0.0) * summary["battery_kw"]
        )
        r, life = spec["economics"]["discount_rate"], spec["economics"]["lifetime_years"]
        crf = r * (1 + r) ** life / ((1 + r) ** life - 1)
        k = summary["kpis"]
        assert k["annual_savings_cny"] == pytest.approx(savings, rel=1e-5), label
        assert k["avoided_emissions_tco2"] == pytest.approx(avoided, rel=1e-5), label
        assert k["simple_payback_years"] == pytest.approx(capital / crf / savings, rel=1e-5)
        assert summary["objective_cny"] == pytest.approx(capital + operating, rel=1e-5)
        # Sanity of the magnitudes: PV displaces at most what it produces.
        pv_mwh = s["pv_used_kw"].sum() / 1000.0
        assert avoided <= pv_mwh * ef + 1e-6
        assert summary["export_kwh"] <= float(surplus.sum()) + 1.0
