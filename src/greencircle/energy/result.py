"""Dispatch series, annual cost breakdown and KPIs (one accounting for every dispatcher).

Definitions (all energies are annual: Σ_t Δt · x_t · w, with w the operating-cost weight):

* **self-consumption** = PV consumed on site / PV available, where PV consumed on site at a
  step is ``max(pv_used − export, 0)`` (exports are attributed to PV first, which is the
  conservative choice) and PV available = kWp × profile (curtailed PV counts as not
  consumed).
* **self-sufficiency** = 1 − grid import / load served, clipped to [0, 1]. Grid energy that
  charges the battery and its losses count as grid supply, so grid-charged arbitrage does
  not raise self-sufficiency.
* **emissions** = import [MWh] × grid factor [tCO2/MWh] + genset [MWh] × genset factor
  (exports are not netted off; ``export_displaced_tco2`` reports them separately).
* **avoided emissions** = grid-only emissions − emissions, where the grid-only case serves
  the load from the grid up to the import limit (nothing during outages).
* **export** is PV energy of the same step (battery energy too only with the explicit
  ``battery_export`` option), credited at ``min(export price, import cost)`` of the step.
* **simple payback** = capital equivalent / annual savings, with capital equivalent =
  annualised capital costs / CRF(r, n) and savings = grid-only operating cost − operating
  cost of the system; ``None`` when the savings are not positive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import numpy.typing as npt

from greencircle.energy.problem import MicrogridProblem

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "SERIES_KEYS",
    "CostBreakdown",
    "DispatchSeries",
    "Kpis",
    "compute_cost_breakdown",
    "compute_kpis",
    "grid_only_reference",
]

SERIES_KEYS = (
    "load_kw",
    "pv_available_kw",
    "pv_used_kw",
    "pv_curtailed_kw",
    "import_kw",
    "export_kw",
    "charge_kw",
    "discharge_kw",
    "soc_kwh",
    "unserved_kw",
    "genset_kw",
    "import_price_cny_per_kwh",
)


@dataclass(frozen=True)
class DispatchSeries:
    """Per-step operation (mean power over each step; SOC at the end of each step).

    Attributes
    ----------
    load_kw, pv_available_kw, pv_used_kw, import_kw, export_kw, charge_kw, discharge_kw,
    unserved_kw, genset_kw
        Mean power over the step [kW].
    soc_kwh
        Stored energy at the *end* of each step [kWh].
    soc_initial_kwh
        Stored energy before the first step [kWh].
    """

    load_kw: FloatArray
    pv_available_kw: FloatArray
    pv_used_kw: FloatArray
    import_kw: FloatArray
    export_kw: FloatArray
    charge_kw: FloatArray
    discharge_kw: FloatArray
    soc_kwh: FloatArray
    unserved_kw: FloatArray
    genset_kw: FloatArray
    soc_initial_kwh: float = 0.0

    @property
    def pv_curtailed_kw(self) -> FloatArray:
        """Available minus used PV [kW]."""
        return np.clip(self.pv_available_kw - self.pv_used_kw, 0.0, None)

    def balance_residual_kw(self) -> FloatArray:
        """``pv_used + import + discharge + unserved + genset − load − export − charge`` [kW]."""
        return (
            self.pv_used_kw
            + self.import_kw
            + self.discharge_kw
            + self.unserved_kw
            + self.genset_kw
            - self.load_kw
            - self.export_kw
            - self.charge_kw
        )

    def to_dict(
        self, import_price_cny_per_kwh: FloatArray, decimals: int = 6
    ) -> dict[str, list[float]]:
        """JSON form: each of :data:`SERIES_KEYS` → list of N floats."""
        arrays = {
            "load_kw": self.load_kw,
            "pv_available_kw": self.pv_available_kw,
            "pv_used_kw": self.pv_used_kw,
            "pv_curtailed_kw": self.pv_curtailed_kw,
            "import_kw": self.import_kw,
            "export_kw": self.export_kw,
            "charge_kw": self.charge_kw,
            "discharge_kw": self.discharge_kw,
            "soc_kwh": self.soc_kwh,
            "unserved_kw": self.unserved_kw,
            "genset_kw": self.genset_kw,
            "import_price_cny_per_kwh": import_price_cny_per_kwh,
        }
        out: dict[str, list[float]] = {}
        for key in SERIES_KEYS:
            a = np.round(np.asarray(arrays[key], dtype=np.float64), decimals) + 0.0  # no -0.0
            out[key] = a.tolist()
        return out


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """Annual cost breakdown [CNY/yr]; revenues are positive numbers subtracted in totals."""

    pv_capital_cny: float = 0.0
    battery_energy_capital_cny: float = 0.0
    battery_power_capital_cny: float = 0.0
    genset_fixed_cny: float = 0.0
    grid_energy_cny: float = 0.0
    grid_carbon_cny: float = 0.0
    export_revenue_cny: float = 0.0
    unserved_cny: float = 0.0
    genset_fuel_cny: float = 0.0
    genset_carbon_cny: float = 0.0

    @property
    def capital_cny(self) -> float:
        """Annualised capital and fixed costs [CNY/yr]."""
        return (
            self.pv_capital_cny
            + self.battery_energy_capital_cny
            + self.battery_power_capital_cny
            + self.genset_fixed_cny
        )

    @property
    def operating_cny(self) -> float:
        """Energy, carbon and shedding costs net of export revenue [CNY/yr]."""
        return (
            self.grid_energy_cny
            + self.grid_carbon_cny
            - self.export_revenue_cny
            + self.unserved_cny
            + self.genset_fuel_cny
            + self.genset_carbon_cny
        )

    @property
    def total_cny(self) -> float:
        """Capital + operating [CNY/yr] (equals the LP objective)."""
        return self.capital_cny + self.operating_cny

    def to_dict(self) -> dict[str, float]:
        """JSON form including the three totals."""
        d = {k: float(v) for k, v in asdict(self).items()}
        d.update(
            capital_cny=self.capital_cny,
            operating_cny=self.operating_cny,
            total_cny=self.total_cny,
        )
        return d


def _energy(problem: MicrogridProblem, power_kw: FloatArray) -> float:
    """Annual energy Σ Δt·w·P [kWh]."""
    return float(power_kw.sum()) * problem.timestep_hours * problem.operating_cost_weight


def _cost(problem: MicrogridProblem, power_kw: FloatArray, unit: FloatArray | float) -> float:
    """Annual cost Σ Δt·w·P·c [CNY]."""
    return float(np.dot(power_kw, np.broadcast_to(unit, power_kw.shape))) * (
        problem.timestep_hours * problem.operating_cost_weight
    )


def compute_cost_breakdown(
    problem: MicrogridProblem,
    series: DispatchSeries,
    *,
    pv_kwp: float,
    battery_kwh: float,
    battery_kw: float,
) -> CostBreakdown:
    """Annual cost breakdown of a dispatch [CNY/yr].

    Notes
    -----
    ``total = c_pv·kWp + c_E·kWh + c_P·kW + F_gen + Σ Δt·w·[imp·(p + c_CO2·EF/1000)
    − exp·x + uns·VOLL + gen·(fuel + c_CO2·EF_gen/1000)]`` with the export credit
    ``x = min(p_exp, p + c_CO2·EF/1000)`` of each step.
    """
    pv = problem.pv
    bat = problem.battery
    gen = problem.genset
    cp = problem.carbon_price_cny_per_tco2
    return CostBreakdown(
        pv_capital_cny=(pv.cost_cny_per_kwp_year * pv_kwp) if pv else 0.0,
        battery_energy_capital_cny=(bat.energy_cost_cny_per_kwh_year * battery_kwh) if bat else 0.0,
        battery_power_capital_cny=(bat.power_cost_cny_per_kw_year * battery_kw) if bat else 0.0,
        genset_fixed_cny=gen.fixed_cost_cny_per_year if gen else 0.0,
        grid_energy_cny=_cost(problem, series.import_kw, problem.import_price_cny_per_kwh),
        grid_carbon_cny=_cost(problem, series.import_kw, cp * problem.grid_tco2_per_mwh / 1000.0),
        export_revenue_cny=_cost(problem, series.export_kw, problem.export_credit_cny_per_kwh),
        unserved_cny=_cost(problem, series.unserved_kw, problem.unserved_energy_cost_cny_per_kwh),
        genset_fuel_cny=_cost(problem, series.genset_kw, gen.fuel_cost_cny_per_kwh) if gen else 0.0,
        genset_carbon_cny=(
            _cost(problem, series.genset_kw, cp * gen.tco2_per_mwh / 1000.0) if gen else 0.0
        ),
    )


def grid_only_reference(problem: MicrogridProblem) -> tuple[float, float, float]:
    """Grid-only reference case.

    Returns
    -------
    tuple
        ``(operating cost [CNY/yr], emissions [tCO2/yr], unserved energy [kWh/yr])``: the
        load is imported up to the import limit (0 during outages) and the rest is shed.
    """
    imp = np.minimum(problem.load_kw, problem.import_limit_kw)
    shed = problem.load_kw - imp
    cost = _cost(problem, imp, problem.import_cost_cny_per_kwh) + _cost(
        problem, shed, problem.unserved_energy_cost_cny_per_kwh
    )
    emissions = _cost(problem, imp, problem.grid_tco2_per_mwh) / 1000.0
    return cost, emissions, _energy(problem, shed)


@dataclass(frozen=True, slots=True)
class Kpis:
    """Annual KPIs of a dispatch (definitions in the module docstring).

    Energies in [kWh/yr], emissions in [tCO2/yr], money in [CNY/yr] or [CNY], ratios [-].
    """

    load_kwh: float
    served_kwh: float
    import_kwh: float
    export_kwh: float
    unserved_kwh: float
    critical_unserved_kwh: float
    pv_available_kwh: float
    pv_used_kwh: float
    pv_curtailed_kwh: float
    pv_onsite_kwh: float
    charge_kwh: float
    discharge_kwh: float
    genset_kwh: float
    battery_equivalent_cycles: float
    self_consumption_ratio: float | None
    self_sufficiency_ratio: float | None
    emissions_tco2: float
    grid_only_emissions_tco2: float
    avoided_emissions_tco2: float
    export_displaced_tco2: float
    grid_only_operating_cost_cny: float
    annual_savings_cny: float
    capex_equivalent_cny: float
    simple_payback_years: float | None

    def to_dict(self) -> dict[str, float | None]:
        """JSON form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def compute_kpis(
    problem: MicrogridProblem,
    series: DispatchSeries,
    costs: CostBreakdown,
    *,
    battery_kwh: float,
) -> Kpis:
    """KPIs of a dispatch; see the module docstring for the definitions."""
    load = _energy(problem, series.load_kw)
    unserved = _energy(problem, series.unserved_kw)
    served = load - unserved
    imp = _energy(problem, series.import_kw)
    exp = _energy(problem, series.export_kw)
    pv_avail = _energy(problem, series.pv_available_kw)
    pv_used = _energy(problem, series.pv_used_kw)
    pv_onsite = _energy(problem, np.clip(series.pv_used_kw - series.export_kw, 0.0, None))
    crit_req = problem.critical_load_fraction * series.load_kw
    crit_unserved = _energy(
        problem, np.clip(series.unserved_kw - (series.load_kw - crit_req), 0.0, None)
    )
    gen = problem.genset
    emissions = _cost(problem, series.import_kw, problem.grid_tco2_per_mwh) / 1000.0
    if gen is not None:
        emissions += _energy(problem, series.genset_kw) * gen.tco2_per_mwh / 1000.0
    ref_cost, ref_emissions, _ = grid_only_reference(problem)
    savings = ref_cost - costs.operating_cny
    capex_eq = (costs.capital_cny) / problem.economics.capital_recovery_factor
    discharge = _energy(problem, series.discharge_kw)
    return Kpis(
        load_kwh=load,
        served_kwh=served,
        import_kwh=imp,
        export_kwh=exp,
        unserved_kwh=unserved,
        critical_unserved_kwh=crit_unserved,
        pv_available_kwh=pv_avail,
        pv_used_kwh=pv_used,
        pv_curtailed_kwh=pv_avail - pv_used,
        pv_onsite_kwh=pv_onsite,
        charge_kwh=_energy(problem, series.charge_kw),
        discharge_kwh=discharge,
        genset_kwh=_energy(problem, series.genset_kw),
        battery_equivalent_cycles=discharge / battery_kwh if battery_kwh > 1e-9 else 0.0,
        self_consumption_ratio=pv_onsite / pv_avail if pv_avail > 1e-9 else None,
        self_sufficiency_ratio=(
            float(np.clip(1.0 - imp / served, 0.0, 1.0)) if served > 1e-9 else None
        ),
        emissions_tco2=emissions,
        grid_only_emissions_tco2=ref_emissions,
        avoided_emissions_tco2=ref_emissions - emissions,
        export_displaced_tco2=_cost(problem, series.export_kw, problem.grid_tco2_per_mwh) / 1000.0,
        grid_only_operating_cost_cny=ref_cost,
        annual_savings_cny=savings,
        capex_equivalent_cny=capex_eq,
        simple_payback_years=(capex_eq / savings) if savings > 1e-9 and capex_eq > 0 else None,
    )
