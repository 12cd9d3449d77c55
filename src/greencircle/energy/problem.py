"""Resolved microgrid problem: plain arrays and options, independent of the SPEC format.

:func:`greencircle.energy.spec.resolve_spec` turns a SPEC into a :class:`MicrogridProblem`;
the optimiser, the dispatchers and the KPI code only see this.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "BatteryOptions",
    "EconomicsOptions",
    "GensetOptions",
    "MicrogridProblem",
    "PVOptions",
]


@dataclass(frozen=True, slots=True)
class PVOptions:
    """PV sizing options.

    Attributes
    ----------
    cost_cny_per_kwp_year
        Annualised cost [CNY/(kWp·yr)].
    max_kwp
        Upper bound on the built size [kWp]; ``None`` = unbounded.
    min_kwp
        Lower bound on the built size [kWp] (0 = none).
    kwp
        Fixed (already built) size [kWp]; ``None`` = size it.
    """

    cost_cny_per_kwp_year: float = 0.0
    max_kwp: float | None = None
    kwp: float | None = None
    min_kwp: float = 0.0


@dataclass(frozen=True, slots=True)
class BatteryOptions:
    """Battery sizing and operating options (energy and power sized separately).

    Attributes
    ----------
    energy_cost_cny_per_kwh_year, power_cost_cny_per_kw_year
        Annualised costs [CNY/(kWh·yr)], [CNY/(kW·yr)].
    charge_efficiency, discharge_efficiency
        η_c, η_d in (0, 1] [-].
    soc_min_fraction, soc_max_fraction
        SOC window as a fraction of the energy capacity [-].
    max_kwh, max_kw
        Upper bounds on sizes [kWh], [kW]; ``None`` = unbounded.
    min_kwh, min_kw
        Lower bounds on sizes [kWh], [kW] (0 = none).
    kwh, kw
        Fixed (already built) sizes; ``None`` = size it.
    initial_soc_fraction
        ``None``: cyclic (SOC after the last step = SOC before the first). Otherwise SOC
        before the first step = fraction × kWh and the final SOC is free.
    """

    energy_cost_cny_per_kwh_year: float = 0.0
    power_cost_cny_per_kw_year: float = 0.0
    charge_efficiency: float = 0.922
    discharge_efficiency: float = 0.922
    soc_min_fraction: float = 0.0
    soc_max_fraction: float = 1.0
    max_kwh: float | None = None
    max_kw: float | None = None
    kwh: float | None = None
    kw: float | None = None
    initial_soc_fraction: float | None = None
    min_kwh: float = 0.0
    min_kw: float = 0.0


@dataclass(frozen=True, slots=True)
class GensetOptions:
    """Diesel genset of fixed size with an on/off minimum load (makes the model a MILP).

    Attributes
    ----------
    power_kw
        Rated power [kW].
    min_load_fraction
        Minimum load when on, fraction of rated power [-]; 0 keeps the model an LP.
    fuel_cost_cny_per_kwh
        Fuel and variable O&M per kWh generated [CNY/kWh].
    tco2_per_mwh
        Emission factor of the genset output [tCO2/MWh].
    outage_only
        If true the genset may only run while the grid is out (backup set).
    fixed_cost_cny_per_year
        Annualised fixed cost [CNY/yr] (a constant in the objective).
    """

    power_kw: float
    min_load_fraction: float = 0.0
    fuel_cost_cny_per_kwh: float = 0.0
    tco2_per_mwh: float = 0.0
    outage_only: bool = False
    fixed_cost_cny_per_year: float = 0.0


@dataclass(frozen=True, slots=True)
class EconomicsOptions:
    """Assumptions for converting annualised costs to a capital-equivalent for payback.

    Attributes
    ----------
    discount_rate
        Real discount rate r [-].
    lifetime_years
        Lifetime n [yr]. ``capex_equivalent = annualised / CRF(r, n)``.
    """

    discount_rate: float = 0.06
    lifetime_years: float = 20.0

    @property
    def capital_recovery_factor(self) -> float:
        """CRF = r (1+r)^n / ((1+r)^n − 1), or 1/n when r = 0 [1/yr]."""
        r, n = self.discount_rate, self.lifetime_years
        if r == 0.0:
            return 1.0 / n
        g = (1.0 + r) ** n
        return float(r * g / (g - 1.0))


def _empty_index() -> pd.DatetimeIndex:
    return pd.DatetimeIndex([])


@dataclass(frozen=True)
class MicrogridProblem:
    """All data of one microgrid run as arrays of length N (one per step).

    Attributes
    ----------
    timestep_hours
        Δt [h].
    load_kw
        Load [kW].
    pv_kw_per_kwp
        AC output per kWp [kW/kWp] (zeros when there is no PV).
    import_price_cny_per_kwh, export_price_cny_per_kwh
        Energy prices [CNY/kWh].
    import_limit_kw, export_limit_kw
        Limits [kW] per step (``inf`` = none; 0 during outages).
    battery_export
        ``False`` (default): export at a step is at most the PV energy used at that step
        (``exp_t ≤ pv_t``): no grid-to-grid and no battery-to-grid export. ``True``: the
        battery may also export (``exp_t ≤ pv_t + dis_t``).
    grid_tco2_per_mwh
        Grid emission factor [tCO2/MWh].
    carbon_price_cny_per_tco2
        Carbon price [CNY/tCO2].
    outage
        True where the grid is unavailable.
    critical_load_fraction
        Fraction of the load that must be served [-] (0 outside outages).
    soc_floor_fraction
        Extra SOC floor ("storm mode") as a fraction of kWh [-]; 0 = none.
    unserved_energy_cost_cny_per_kwh
        Cost of shed load [CNY/kWh].
    pv, battery, genset
        Technology options; ``None`` = not part of the system.
    operating_cost_weight
        Multiplier on all per-step costs (1 for a full year; e.g. 365 for one typical day).
    economics
        Payback assumptions.
    index
        Local start time of each step (may be empty when unknown).
    notes
        Provenance notes carried to the result (tariff status, PV weather source...).
    """

    timestep_hours: float
    load_kw: FloatArray
    pv_kw_per_kwp: FloatArray
    import_price_cny_per_kwh: FloatArray
    export_price_cny_per_kwh: FloatArray
    import_limit_kw: FloatArray
    export_limit_kw: FloatArray
    grid_tco2_per_mwh: FloatArray
    carbon_price_cny_per_tco2: float
    outage: BoolArray
    critical_load_fraction: FloatArray
    soc_floor_fraction: FloatArray
    unserved_energy_cost_cny_per_kwh: float
    pv: PVOptions | None = None
    battery: BatteryOptions | None = None
    genset: GensetOptions | None = None
    operating_cost_weight: float = 1.0
    economics: EconomicsOptions = field(default_factory=EconomicsOptions)
    battery_export: bool = False
    index: pd.DatetimeIndex = field(default_factory=_empty_index)
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        """N, the number of steps."""
        return int(self.load_kw.shape[0])

    @property
    def import_cost_cny_per_kwh(self) -> FloatArray:
        """Import price plus carbon cost: ``p_t + c_CO2 · EF_t / 1000`` [CNY/kWh]."""
        return self.import_price_cny_per_kwh + (
            self.carbon_price_cny_per_tco2 * self.grid_tco2_per_mwh / 1000.0
        )

    @property
    def export_credit_cny_per_kwh(self) -> FloatArray:
        """Credit per exported kWh: ``min(p^x_t, p_t + c_CO2 · EF_t / 1000)`` [CNY/kWh].

        An export is never credited above the import cost of the same step: otherwise a
        site that imports at a step would gain by exporting PV and buying the load back,
        an arbitrage that a single net meter does not pay.
        """
        return np.minimum(self.export_price_cny_per_kwh, self.import_cost_cny_per_kwh)

    @classmethod
    def simple(
        cls,
        *,
        timestep_hours: float,
        load_kw: npt.ArrayLike,
        import_price_cny_per_kwh: npt.ArrayLike,
        pv_kw_per_kwp: npt.ArrayLike | None = None,
        export_price_cny_per_kwh: npt.ArrayLike = 0.0,
        import_limit_kw: float | None = None,
        export_limit_kw: float | None = None,
        grid_tco2_per_mwh: npt.ArrayLike = 0.0,
        carbon_price_cny_per_tco2: float = 0.0,
        unserved_energy_cost_cny_per_kwh: float = 100.0,
        pv: PVOptions | None = None,
        battery: BatteryOptions | None = None,
        genset: GensetOptions | None = None,
        outages: list[tuple[int, int, float]] | None = None,
        operating_cost_weight: float = 1.0,
        battery_export: bool = False,
    ) -> MicrogridProblem:
        """Build a problem from scalars/arrays (broadcast to N); outages as (start, steps, f)."""
        load = np.asarray(load_kw, dtype=np.float64)
        n = load.shape[0]

        def arr(x: npt.ArrayLike) -> FloatArray:
            return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()

        outage = np.zeros(n, dtype=np.bool_)
        crit = np.zeros(n)
        for start, steps, frac in outages or []:
            outage[start : start + steps] = True
            crit[start : start + steps] = np.maximum(crit[start : start + steps], frac)
        imp_lim = arr(np.inf if import_limit_kw is None else import_limit_kw)
        exp_lim = arr(np.inf if export_limit_kw is None else export_limit_kw)
        imp_lim[outage] = 0.0
        exp_lim[outage] = 0.0
        return cls(
            timestep_hours=timestep_hours,
            load_kw=load,
            pv_kw_per_kwp=arr(0.0 if pv_kw_per_kwp is None else pv_kw_per_kwp),
            import_price_cny_per_kwh=arr(import_price_cny_per_kwh),
            export_price_cny_per_kwh=arr(export_price_cny_per_kwh),
            import_limit_kw=imp_lim,
            export_limit_kw=exp_lim,
            grid_tco2_per_mwh=arr(grid_tco2_per_mwh),
            carbon_price_cny_per_tco2=carbon_price_cny_per_tco2,
            outage=outage,
            critical_load_fraction=crit,
            soc_floor_fraction=np.zeros(n),
            unserved_energy_cost_cny_per_kwh=unserved_energy_cost_cny_per_kwh,
            pv=pv,
            battery=battery,
            genset=genset,
            operating_cost_weight=operating_cost_weight,
            battery_export=battery_export,
        )

    def with_fixed_sizes(
        self,
        *,
        pv_kwp: float,
        battery_kwh: float,
        battery_kw: float,
        initial_soc_fraction: float | None = None,
    ) -> MicrogridProblem:
        """Copy with the sizes fixed (an already-built system), e.g. for dispatch."""
        pv = replace(self.pv or PVOptions(), kwp=pv_kwp)
        bat = None
        if self.battery is not None:
            bat = replace(
                self.battery,
                kwh=battery_kwh,
                kw=battery_kw,
                initial_soc_fraction=initial_soc_fraction,
            )
        return replace(self, pv=pv, battery=bat)
