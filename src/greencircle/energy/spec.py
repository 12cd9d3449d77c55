"""The microgrid SPEC (JSON in, pydantic v2 models) and its resolution to arrays.

``greencircle energy microgrid optimize SPEC.json --out RESULT.json`` reads this format.
Unknown keys are rejected (``extra="forbid"``); every list must have N = len(load_kw)
entries. :func:`resolve_spec` expands named tariffs and PV sites into arrays and returns a
:class:`~greencircle.energy.problem.MicrogridProblem`.

Minimal SPEC::

    {"timestep_hours": 1, "load_kw": [...N...],
     "pv": {"profile_kw_per_kwp": [...N...], "cost_cny_per_kwp_year": 300},
     "battery": {"energy_cost_cny_per_kwh_year": 150, "power_cost_cny_per_kw_year": 50,
                 "charge_efficiency": 0.922, "discharge_efficiency": 0.922,
                 "soc_min_fraction": 0.1, "soc_max_fraction": 0.95},
     "grid": {"import_price_cny_per_kwh": {"tariff": "CN-SC-2023-LI",
                                            "flat_price_cny_per_kwh": 0.62},
              "export_price_cny_per_kwh": 0.35, "import_limit_kw": 2000,
              "export_limit_kw": 500, "battery_export": false},
     "carbon": {"grid_tco2_per_mwh": {"grid_code": "CN-SW", "year": 2023},
                "price_cny_per_tco2": 80},
     "outages": [{"start_step": 4380, "steps": 8, "critical_load_fraction": 0.3}],
     "unserved_energy_cost_cny_per_kwh": 20}
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from greencircle.energy.errors import MicrogridSpecInvalid
from greencircle.energy.problem import (
    BatteryOptions,
    EconomicsOptions,
    GensetOptions,
    MicrogridProblem,
    PVOptions,
)

if TYPE_CHECKING:
    from greencircle.energy.grid_factors import GridFactor

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "BatterySpec",
    "CarbonSpec",
    "EconomicsSpec",
    "GensetSpec",
    "GridFactorRef",
    "GridSpec",
    "MicrogridSpec",
    "OutageSpec",
    "PVSiteSpec",
    "PVSpec",
    "StormReserveSpec",
    "TariffRef",
    "check_spec",
    "parse_spec",
    "resolve_spec",
]

NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]
FloatList = list[Annotated[float, Field(allow_inf_nan=False)]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PVSiteSpec(_Model):
    """PV site for pvlib (PVWatts). Either ``preset`` or ``latitude_deg``/``longitude_deg``.

    Without ``weather_csv`` the weather is Ineichen clear sky × monthly clearness
    (``clearness_monthly`` or the preset's estimated defaults; pure clear sky otherwise).
    """

    preset: Literal["chongqing", "chengdu"] | None = None
    latitude_deg: Annotated[float, Field(ge=-90.0, le=90.0)] | None = None
    longitude_deg: Annotated[float, Field(ge=-180.0, le=180.0)] | None = None
    altitude_m: Annotated[float, Field(ge=-500.0, le=9000.0)] | None = None
    timezone: str | None = None
    tilt_deg: Annotated[float, Field(ge=0.0, le=90.0)] = 20.0
    azimuth_deg: Annotated[float, Field(ge=0.0, le=360.0)] = 180.0
    losses_percent: Annotated[float, Field(ge=0.0, lt=100.0)] = 14.08
    dc_ac_ratio: Annotated[float, Field(gt=0.0, le=3.0)] = 1.2
    inverter_efficiency_nominal: Efficiency = 0.96
    gamma_pdc_per_c: Annotated[float, Field(ge=-0.02, le=0.0)] = -0.0037
    temperature_model: Literal[
        "open_rack_glass_glass",
        "close_mount_glass_glass",
        "open_rack_glass_polymer",
        "insulated_back_glass_polymer",
    ] = "open_rack_glass_polymer"
    weather_csv: str | None = None
    clearness_monthly: list[Annotated[float, Field(gt=0.0, le=1.2)]] | None = None
    temp_air_monthly_c: list[Annotated[float, Field(ge=-60.0, le=60.0)]] | None = None

    @model_validator(mode="after")
    def _check(self) -> PVSiteSpec:
        if self.preset is None and (self.latitude_deg is None or self.longitude_deg is None):
            raise ValueError("pv.site needs 'preset' or both 'latitude_deg' and 'longitude_deg'")
        for name in ("clearness_monthly", "temp_air_monthly_c"):
            v = getattr(self, name)
            if v is not None and len(v) != 12:
                raise ValueError(f"{name} must have 12 monthly values, got {len(v)}")
        return self


class PVSpec(_Model):
    """PV: a per-kWp AC profile or a pvlib site; annualised cost; optional bounds."""

    profile_kw_per_kwp: list[Annotated[float, Field(ge=0.0, le=2.0)]] | None = None
    site: PVSiteSpec | None = None
    cost_cny_per_kwp_year: NonNeg
    min_kwp: NonNeg = 0.0
    max_kwp: NonNeg | None = None
    kwp: NonNeg | None = Field(default=None, description="fixed existing size; no sizing")

    @model_validator(mode="after")
    def _one_source(self) -> PVSpec:
        if (self.profile_kw_per_kwp is None) == (self.site is None):
            raise ValueError("pv needs exactly one of 'profile_kw_per_kwp' or 'site'")
        if self.max_kwp is not None and self.min_kwp > self.max_kwp:
            raise ValueError(f"min_kwp ({self.min_kwp}) must be <= max_kwp ({self.max_kwp})")
        return self


class BatterySpec(_Model):
    """Battery: energy (kWh) and power (kW) sized separately."""

    energy_cost_cny_per_kwh_year: NonNeg
    power_cost_cny_per_kw_year: NonNeg
    charge_efficiency: Efficiency
    discharge_efficiency: Efficiency
    soc_min_fraction: Fraction = 0.0
    soc_max_fraction: Fraction = 1.0
    min_kwh: NonNeg = 0.0
    max_kwh: NonNeg | None = None
    min_kw: NonNeg = 0.0
    max_kw: NonNeg | None = None
    kwh: NonNeg | None = None
    kw: NonNeg | None = None
    initial_soc_fraction: Fraction | None = None

    @model_validator(mode="after")
    def _soc(self) -> BatterySpec:
        for lo, hi in (("min_kwh", "max_kwh"), ("min_kw", "max_kw")):
            lo_v, hi_v = getattr(self, lo), getattr(self, hi)
            if hi_v is not None and lo_v > hi_v:
                raise ValueError(f"{lo} ({lo_v}) must be <= {hi} ({hi_v})")
        if self.soc_min_fraction > self.soc_max_fraction:
            raise ValueError(
                f"soc_min_fraction ({self.soc_min_fraction}) must be <= "
                f"soc_max_fraction ({self.soc_max_fraction})"
            )
        f0 = self.initial_soc_fraction
        if f0 is not None and not self.soc_min_fraction <= f0 <= self.soc_max_fraction:
            raise ValueError("initial_soc_fraction must lie within [soc_min, soc_max]")
        return self


class TariffRef(_Model):
    """A named TOU tariff (``data/tariffs.csv``) at a given flat price."""

    tariff: str
    flat_price_cny_per_kwh: NonNeg
    critical_peak: bool = True


class GridSpec(_Model):
    """Grid connection: prices [CNY/kWh] and limits [kW] (``null`` = unlimited).

    Export at a step is at most the PV energy used at that step; ``battery_export: true``
    also lets the battery export (off by default). An exported kWh is credited at the
    export price, but never above the import cost of the same step.
    """

    import_price_cny_per_kwh: FloatList | TariffRef
    export_price_cny_per_kwh: float | FloatList = 0.0
    import_limit_kw: NonNeg | None = None
    export_limit_kw: NonNeg | None = None
    battery_export: bool = False


class GridFactorRef(_Model):
    """A grid emission factor taken from the MRV factor library by grid code and year.

    ``grid_code`` is a grid of the library (``CN-SW``, ``CN-51``, ``CN``, ``CN-ETS``), a
    province (``CN-CQ``, ``CN-50``) or a sub-jurisdiction (``CN-CQ-500115``); fallbacks
    (province → regional grid → national, year → latest earlier year) are reported in
    ``notes.grid_factor.fallback`` (see :mod:`greencircle.energy.grid_factors`).
    """

    grid_code: Annotated[str, Field(min_length=2, max_length=40)]
    year: Annotated[int, Field(ge=1990, le=2100)]
    version: Annotated[str, Field(max_length=20)] | None = None


class CarbonSpec(_Model):
    """Grid emission factor [tCO2/MWh] (scalar, per step, or a factor-library reference)
    and carbon price [CNY/tCO2]."""

    grid_tco2_per_mwh: NonNeg | list[NonNeg] | GridFactorRef = 0.0
    price_cny_per_tco2: NonNeg = 0.0


class OutageSpec(_Model):
    """Grid outage: steps ``[start_step, start_step + steps)``; critical fraction served."""

    start_step: Annotated[int, Field(ge=0)]
    steps: Annotated[int, Field(ge=1)]
    critical_load_fraction: Fraction


class StormReserveSpec(_Model):
    """ "Storm mode": SOC ≥ ``soc_floor_fraction`` × kWh during the given steps."""

    start_step: Annotated[int, Field(ge=0)]
    steps: Annotated[int, Field(ge=1)]
    soc_floor_fraction: Fraction


class GensetSpec(_Model):
    """Diesel genset of fixed size; ``min_load_fraction`` > 0 makes the model a MILP."""

    power_kw: Annotated[float, Field(gt=0.0)]
    min_load_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    fuel_cost_cny_per_kwh: NonNeg
    tco2_per_mwh: NonNeg
    outage_only: bool = False
    fixed_cost_cny_per_year: NonNeg = 0.0


class EconomicsSpec(_Model):
    """Assumptions for the capital equivalent used by the simple payback."""

    discount_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.06
    lifetime_years: Annotated[float, Field(gt=0.0, le=100.0)] = 20.0


class MicrogridSpec(_Model):
    """The SPEC of ``greencircle energy microgrid optimize``."""

    timestep_hours: Annotated[float, Field(gt=0.0, le=24.0)]
    load_kw: Annotated[list[NonNeg], Field(min_length=1)]
    start: datetime = datetime(2023, 1, 1)
    timezone: str = "Asia/Shanghai"
    pv: PVSpec | None = None
    battery: BatterySpec | None = None
    grid: GridSpec
    carbon: CarbonSpec = CarbonSpec()
    outages: list[OutageSpec] = []
    storm_reserves: list[StormReserveSpec] = []
    genset: GensetSpec | None = None
    unserved_energy_cost_cny_per_kwh: NonNeg
    operating_cost_weight: Annotated[float, Field(gt=0.0)] = 1.0
    economics: EconomicsSpec = EconomicsSpec()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            pd.Timestamp("2023-01-01").tz_localize(v)
        except Exception as exc:
            raise ValueError(f"unknown timezone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _lengths(self) -> MicrogridSpec:
        n = len(self.load_kw)
        problems: list[str] = []

        def check(name: str, value: object) -> None:
            if isinstance(value, list) and len(value) != n:
                problems.append(f"{name} has {len(value)} values, expected N = {n} (len(load_kw))")

        if self.pv is not None:
            check("pv.profile_kw_per_kwp", self.pv.profile_kw_per_kwp)
        check("grid.import_price_cny_per_kwh", self.grid.import_price_cny_per_kwh)
        check("grid.export_price_cny_per_kwh", self.grid.export_price_cny_per_kwh)
        check("carbon.grid_tco2_per_mwh", self.carbon.grid_tco2_per_mwh)
        windows: list[tuple[str, int, OutageSpec | StormReserveSpec]] = [
            *(("outages", i, o) for i, o in enumerate(self.outages)),
            *(("storm_reserves", i, r) for i, r in enumerate(self.storm_reserves)),
        ]
        for kind, i, o in windows:
            if o.start_step + o.steps > n:
                problems.append(
                    f"{kind}[{i}] covers steps {o.start_step}..{o.start_step + o.steps - 1}, "
                    f"beyond the horizon (N = {n})"
                )
        if self.battery is not None:
            for i, s in enumerate(self.storm_reserves):
                if s.soc_floor_fraction > self.battery.soc_max_fraction:
                    problems.append(
                        f"storm_reserves[{i}].soc_floor_fraction exceeds battery.soc_max_fraction"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _error_items(exc: ValidationError) -> list[dict[str, str]]:
    items = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        items.append({"loc": loc, "message": msg})
    return items


def parse_spec(spec: dict[str, Any] | MicrogridSpec) -> MicrogridSpec:
    """Validate a SPEC dict.

    Raises
    ------
    MicrogridSpecInvalid
        ``detail`` lists ``{"loc": "battery.charge_efficiency", "message": ...}``.
    """
    if isinstance(spec, MicrogridSpec):
        return spec
    try:
        return MicrogridSpec.model_validate(spec)
    except ValidationError as exc:
        raise MicrogridSpecInvalid(_error_items(exc)) from None


def _grid_factor(ref: GridFactorRef) -> GridFactor:
    from greencircle.energy.errors import GridFactorNotFound
    from greencircle.energy.grid_factors import resolve_grid_factor

    try:
        return resolve_grid_factor(ref.grid_code, ref.year, version=ref.version)
    except GridFactorNotFound as exc:
        raise MicrogridSpecInvalid(
            [{"loc": "carbon.grid_tco2_per_mwh", "message": str(exc.detail)}]
        ) from None


def check_spec(spec: dict[str, Any] | MicrogridSpec) -> MicrogridSpec:
    """Validate a SPEC and resolve its references that are cheap to check (grid factor),
    without computing anything; :func:`resolve_spec` does the same and more.

    Raises
    ------
    MicrogridSpecInvalid
    """
    s = parse_spec(spec)
    if isinstance(s.carbon.grid_tco2_per_mwh, GridFactorRef):
        _grid_factor(s.carbon.grid_tco2_per_mwh)
    return s


def _array(value: float | list[float], n: int) -> FloatArray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


def _pv_profile(
    spec: MicrogridSpec, site: PVSiteSpec, index: pd.DatetimeIndex, base_dir: Path | None
) -> tuple[FloatArray, dict[str, object]]:
    from greencircle.energy.pv import (
        PVWattsParams,
        clearsky_weather,
        parse_weather_csv,
        pvwatts_ac_per_kwp,
    )
    from greencircle.energy.tariffs import load_site_defaults

    preset = load_site_defaults(site.preset) if site.preset else None
    lat = site.latitude_deg
    lon = site.longitude_deg
    if preset is not None:
        lat = preset.latitude_deg if lat is None else lat
        lon = preset.longitude_deg if lon is None else lon
    assert lat is not None
    assert lon is not None
    alt = site.altitude_m if site.altitude_m is not None else (preset.altitude_m if preset else 0.0)
    tz = site.timezone or (preset.timezone if preset else spec.timezone)
    dt = spec.timestep_hours
    note: dict[str, object] = {"latitude_deg": lat, "longitude_deg": lon, "altitude_m": alt}
    if site.weather_csv is not None:
        path = Path(site.weather_csv)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise MicrogridSpecInvalid(
                [{"loc": "pv.site.weather_csv", "message": f"cannot read {path}: {exc.strerror}"}]
            ) from None
        weather = parse_weather_csv(text, expected_steps=len(index), timestep_hours=dt)
        note.update(weather="user CSV", weather_csv=str(path), status="user-supplied")
    else:
        clear = site.clearness_monthly or (list(preset.clearness_monthly) if preset else None)
        temps = site.temp_air_monthly_c or (list(preset.temp_air_monthly_c) if preset else None)
        weather = clearsky_weather(
            index,
            latitude_deg=float(lat),
            longitude_deg=float(lon),
            altitude_m=float(alt),
            timezone=tz,
            timestep_hours=dt,
            clearness_monthly=clear,
            temp_air_monthly_c=temps,
        )
        if site.clearness_monthly is not None:
            status = "user-supplied"
        elif preset is not None:
            status = "estimate"
        else:
            status = "clear-sky (no clearness factors: upper bound, not a yield estimate)"
        note.update(
            weather="Ineichen clear sky x monthly clearness",
            clearness_source=(preset.source if preset and site.clearness_monthly is None else None),
            status=status,
        )
    params = PVWattsParams(
        tilt_deg=site.tilt_deg,
        azimuth_deg=site.azimuth_deg,
        losses_percent=site.losses_percent,
        dc_ac_ratio=site.dc_ac_ratio,
        inverter_efficiency_nominal=site.inverter_efficiency_nominal,
        gamma_pdc_per_c=site.gamma_pdc_per_c,
        temperature_model=site.temperature_model,
    )
    profile = pvwatts_ac_per_kwp(
        weather,
        latitude_deg=float(lat),
        longitude_deg=float(lon),
        altitude_m=float(alt),
        timezone=tz,
        timestep_hours=dt,
        params=params,
    )
    note["capacity_factor"] = float(profile.mean())
    return profile, note


def resolve_spec(
    spec: dict[str, Any] | MicrogridSpec, *, base_dir: str | Path | None = None
) -> MicrogridProblem:
    """Validate a SPEC and expand it to arrays.

    Parameters
    ----------
    spec
        SPEC dict (or an already validated :class:`MicrogridSpec`).
    base_dir
        Directory against which a relative ``pv.site.weather_csv`` is resolved.

    Returns
    -------
    MicrogridProblem
        With ``notes`` recording the tariff and PV provenance (source, status).

    Raises
    ------
    MicrogridSpecInvalid
        Invalid SPEC (incl. unknown tariff).
    WeatherCSVInvalid
        Invalid weather CSV (row-level errors with line numbers).
    """
    s = parse_spec(spec)
    n = len(s.load_kw)
    dt = s.timestep_hours
    index = pd.date_range(pd.Timestamp(s.start), periods=n, freq=pd.Timedelta(hours=dt))
    notes: dict[str, object] = {}

    imp = s.grid.import_price_cny_per_kwh
    if isinstance(imp, TariffRef):
        from greencircle.energy.tariffs import expand_tariff, load_tariff

        try:
            tariff = load_tariff(imp.tariff)
        except KeyError as exc:
            raise MicrogridSpecInvalid(
                [{"loc": "grid.import_price_cny_per_kwh.tariff", "message": str(exc.args[0])}]
            ) from None
        local = index.tz_localize(None) if index.tz is not None else index
        price = expand_tariff(
            tariff, local, imp.flat_price_cny_per_kwh, critical_peak=imp.critical_peak
        )
        notes["tariff"] = {
            "code": tariff.code,
            "description": tariff.description_en,
            "description_zh": tariff.description_zh,
            "province": tariff.province,
            "sources": list(tariff.sources),
            "sources_en": list(tariff.sources_en),
            "status": tariff.status,
            "flat_price_cny_per_kwh": imp.flat_price_cny_per_kwh,
            "flat_price_status": "user-supplied (not in the reference material)",
            "critical_peak": imp.critical_peak,
        }
    else:
        price = _array(imp, n)
        notes["tariff"] = {"code": None, "status": "user-supplied"}

    grid_ef = s.carbon.grid_tco2_per_mwh
    if isinstance(grid_ef, GridFactorRef):
        factor = _grid_factor(grid_ef)
        grid_tco2 = _array(factor.tco2_per_mwh, n)
        notes["grid_factor"] = factor.to_dict()
    else:
        grid_tco2 = _array(grid_ef, n)
        notes["grid_factor"] = {"status": "user-supplied"}

    outage = np.zeros(n, dtype=np.bool_)
    crit = np.zeros(n)
    for o in s.outages:
        sl = slice(o.start_step, o.start_step + o.steps)
        outage[sl] = True
        crit[sl] = np.maximum(crit[sl], o.critical_load_fraction)
    floor = np.zeros(n)
    for r in s.storm_reserves:
        sl = slice(r.start_step, r.start_step + r.steps)
        floor[sl] = np.maximum(floor[sl], r.soc_floor_fraction)

    imp_lim = _array(math.inf if s.grid.import_limit_kw is None else s.grid.import_limit_kw, n)
    exp_lim = _array(math.inf if s.grid.export_limit_kw is None else s.grid.export_limit_kw, n)
    imp_lim[outage] = 0.0
    exp_lim[outage] = 0.0

    pv_opts = None
    profile = np.zeros(n)
    if s.pv is not None:
        if s.pv.profile_kw_per_kwp is not None:
            profile = np.asarray(s.pv.profile_kw_per_kwp, dtype=np.float64)
            notes["pv"] = {"source": "profile_kw_per_kwp", "status": "user-supplied"}
        else:
            assert s.pv.site is not None
            profile, pv_note = _pv_profile(
                s, s.pv.site, index, Path(base_dir) if base_dir is not None else None
            )
            notes["pv"] = pv_note
        pv_opts = PVOptions(
            cost_cny_per_kwp_year=s.pv.cost_cny_per_kwp_year,
            max_kwp=s.pv.max_kwp,
            kwp=s.pv.kwp,
            min_kwp=s.pv.min_kwp,
        )
    bat_opts = None
    if s.battery is not None:
        b = s.battery
        bat_opts = BatteryOptions(
            energy_cost_cny_per_kwh_year=b.energy_cost_cny_per_kwh_year,
            power_cost_cny_per_kw_year=b.power_cost_cny_per_kw_year,
            charge_efficiency=b.charge_efficiency,
            discharge_efficiency=b.discharge_efficiency,
            soc_min_fraction=b.soc_min_fraction,
            soc_max_fraction=b.soc_max_fraction,
            max_kwh=b.max_kwh,
            max_kw=b.max_kw,
            min_kwh=b.min_kwh,
            min_kw=b.min_kw,
            kwh=b.kwh,
            kw=b.kw,
            initial_soc_fraction=b.initial_soc_fraction,
        )
    gen_opts = None
    if s.genset is not None:
        g = s.genset
        gen_opts = GensetOptions(
            power_kw=g.power_kw,
            min_load_fraction=g.min_load_fraction,
            fuel_cost_cny_per_kwh=g.fuel_cost_cny_per_kwh,
            tco2_per_mwh=g.tco2_per_mwh,
            outage_only=g.outage_only,
            fixed_cost_cny_per_year=g.fixed_cost_cny_per_year,
        )
    problem = MicrogridProblem(
        timestep_hours=dt,
        load_kw=np.asarray(s.load_kw, dtype=np.float64),
        pv_kw_per_kwp=profile,
        import_price_cny_per_kwh=price,
        export_price_cny_per_kwh=_array(s.grid.export_price_cny_per_kwh, n),
        import_limit_kw=imp_lim,
        export_limit_kw=exp_lim,
        grid_tco2_per_mwh=grid_tco2,
        carbon_price_cny_per_tco2=s.carbon.price_cny_per_tco2,
        outage=outage,
        critical_load_fraction=crit,
        soc_floor_fraction=floor,
        unserved_energy_cost_cny_per_kwh=s.unserved_energy_cost_cny_per_kwh,
        pv=pv_opts,
        battery=bat_opts,
        genset=gen_opts,
        operating_cost_weight=s.operating_cost_weight,
        economics=EconomicsOptions(
            discount_rate=s.economics.discount_rate, lifetime_years=s.economics.lifetime_years
        ),
        index=index,
        notes=notes,
        battery_export=s.grid.battery_export,
    )
    exp_price = problem.export_price_cny_per_kwh
    capped = exp_price > problem.export_credit_cny_per_kwh
    notes["export"] = {
        "battery_export": s.grid.battery_export,
        "rule": "export <= PV used at the step"
        + (" + battery discharge" if s.grid.battery_export else ""),
        "credit_capped_steps": int(capped.sum()),
    }
    return problem
