"""PV production per kWp with pvlib: PVWatts DC, system losses and PVWatts inverter.

Two weather sources, both offline:

* a user's hourly (or sub-hourly) weather CSV with GHI, DNI, DHI, air temperature and wind
  speed (:func:`parse_weather_csv`, row-level errors with file line numbers); or
* Ineichen clear sky (Linke turbidity climatology shipped with pvlib) scaled by monthly
  clearness factors (:func:`clearsky_weather`), with shipped, *estimated* defaults for
  Chongqing and Chengdu (``data/clearness.csv``, status ``estimate``).

The chain (:func:`pvwatts_ac_per_kwp`) is the PVWatts v5 one: solar position at the
middle of each step, Perez transposition, physical (glass) incidence-angle modifier on the
beam component, SAPM cell temperature, PVWatts DC with a power temperature coefficient,
lumped system losses, and the PVWatts inverter clipped at its AC rating.

References
----------
.. [1] A. P. Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, 2014.
.. [2] P. Ineichen and R. Perez, "A new airmass independent formulation for the Linke
   turbidity coefficient", Solar Energy 73(3), 2002.
.. [3] D. G. Erbs, S. A. Klein, J. A. Duffie, "Estimation of the diffuse radiation
   fraction for hourly, daily and monthly-average global radiation", Solar Energy 28, 1982.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from greencircle.energy.errors import WeatherCSVInvalid

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "WEATHER_COLUMNS",
    "PVWattsParams",
    "WeatherRowError",
    "clearsky_weather",
    "parse_weather_csv",
    "pvwatts_ac_per_kwp",
    "step_index",
]

#: Required weather CSV columns and their plausible ranges (inclusive) and units.
WEATHER_COLUMNS: dict[str, tuple[float, float, str]] = {
    "ghi": (0.0, 1500.0, "W/m2"),
    "dni": (0.0, 1400.0, "W/m2"),
    "dhi": (0.0, 1000.0, "W/m2"),
    "temp_air": (-60.0, 65.0, "degC"),
    "wind_speed": (0.0, 75.0, "m/s"),
}


@dataclass(frozen=True, slots=True)
class WeatherRowError:
    """One problem in a weather CSV.

    Attributes
    ----------
    line
        1-based line number in the file (the header is line 1); 0 for file-level problems.
    column
        Column name, or ``""``.
    message
        What is wrong.
    """

    line: int
    column: str
    message: str

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True, slots=True)
class PVWattsParams:
    """PVWatts system parameters.

    Attributes
    ----------
    tilt_deg
        Module tilt from horizontal [deg].
    azimuth_deg
        Module azimuth, clockwise from north [deg] (180 = south).
    losses_percent
        Lumped DC system losses [%]; default 14.08 is PVWatts' default (soiling 2,
        shading 3, mismatch 2, wiring 2, connections 0.5, LID 1.5, nameplate 1,
        availability 3).
    dc_ac_ratio
        DC nameplate over inverter AC rating [-].
    inverter_efficiency_nominal
        Nominal inverter efficiency [-].
    gamma_pdc_per_c
        DC power temperature coefficient [1/degC].
    temperature_model
        SAPM parameter set: ``open_rack_glass_polymer``, ``close_mount_glass_glass``, ...
    albedo
        Ground reflectance [-].
    """

    tilt_deg: float = 20.0
    azimuth_deg: float = 180.0
    losses_percent: float = 14.08
    dc_ac_ratio: float = 1.2
    inverter_efficiency_nominal: float = 0.96
    gamma_pdc_per_c: float = -0.0037
    temperature_model: str = "open_rack_glass_polymer"
    albedo: float = 0.2


def step_index(start: pd.Timestamp, n_steps: int, timestep_hours: float) -> pd.DatetimeIndex:
    """Start time of each step.

    Parameters
    ----------
    start
        Start of the first step (timezone-aware or naive).
    n_steps
        Number of steps N.
    timestep_hours
        Step length Δt [h].
    """
    return pd.date_range(start, periods=n_steps, freq=pd.Timedelta(hours=timestep_hours))


def parse_weather_csv(
    text: str,
    *,
    expected_steps: int | None = None,
    timestep_hours: float | None = None,
    max_errors: int = 50,
) -> pd.DataFrame:
    """Parse and validate a weather CSV.

    The file has a header row with ``timestamp`` and the columns of
    :data:`WEATHER_COLUMNS` (any order, extra columns ignored): ``ghi``, ``dni``, ``dhi``
    [W/m2], ``temp_air`` [degC], ``wind_speed`` [m/s]. Timestamps are ISO 8601 and mark the
    *start* of each interval; without an offset they are read as site-local time.

    Parameters
    ----------
    text
        File content.
    expected_steps
        If given, the number of data rows must equal it (N of the spec).
    timestep_hours
        If given, consecutive timestamps must be exactly this far apart [h].
    max_errors
        Stop collecting row errors after this many.

    Returns
    -------
    pandas.DataFrame
        Float columns ``ghi, dni, dhi, temp_air, wind_speed`` indexed by timestamp.

    Raises
    ------
    WeatherCSVInvalid
        With ``detail`` = list of ``{"line", "column", "message"}``.
    """
    errors: list[WeatherRowError] = []
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise WeatherCSVInvalid([WeatherRowError(0, "", "empty file").to_dict()]) from None
    needed = ["timestamp", *WEATHER_COLUMNS]
    missing = [c for c in needed if c not in header]
    if missing:
        raise WeatherCSVInvalid(
            [WeatherRowError(1, c, "missing column in header").to_dict() for c in missing]
        )
    pos = {c: header.index(c) for c in needed}
    stamps: list[pd.Timestamp] = []
    values: list[list[float]] = []
    lines: list[int] = []
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(errors) >= max_errors:
            break
        if len(row) < len(header):
            errors.append(
                WeatherRowError(lineno, "", f"expected {len(header)} fields, got {len(row)}")
            )
            continue
        row_ok = True
        raw_ts = row[pos["timestamp"]].strip()
        ts: pd.Timestamp | None = None
        try:
            parsed = pd.Timestamp(raw_ts) if raw_ts else None
            ts = None if parsed is None or pd.isna(parsed) else parsed
        except (ValueError, TypeError):
            ts = None
        if ts is None:
            errors.append(WeatherRowError(lineno, "timestamp", f"not a timestamp: {raw_ts!r}"))
            row_ok = False
        vals: list[float] = []
        for col, (lo, hi, unit) in WEATHER_COLUMNS.items():
            raw = row[pos[col]].strip()
            try:
                v = float(raw)
            except ValueError:
                errors.append(WeatherRowError(lineno, col, f"not a number: {raw!r}"))
                row_ok = False
                continue
            if not math.isfinite(v) or not lo <= v <= hi:
                errors.append(
                    WeatherRowError(lineno, col, f"{v} {unit} outside [{lo}, {hi}] {unit}")
                )
                row_ok = False
            vals.append(v)
        if row_ok and ts is not None:
            stamps.append(ts)
            values.append(vals)
            lines.append(lineno)
    if not errors and stamps:
        # Timestamps: strictly increasing, regular step.
        idx = pd.DatetimeIndex(stamps)
        deltas_h = np.asarray((idx[1:] - idx[:-1]).total_seconds(), dtype=np.float64) / 3600.0
        for i, d in enumerate(deltas_h):
            if d <= 0:
                errors.append(
                    WeatherRowError(lines[i + 1], "timestamp", "not after the previous row")
                )
            elif timestep_hours is not None and abs(d - timestep_hours) > 1e-9:
                errors.append(
                    WeatherRowError(
                        lines[i + 1],
                        "timestamp",
                        f"step {d:g} h from the previous row, expected {timestep_hours:g} h",
                    )
                )
            if len(errors) >= max_errors:
                break
    if not errors and expected_steps is not None and len(stamps) != expected_steps:
        errors.append(
            WeatherRowError(0, "", f"{len(stamps)} data rows, expected {expected_steps} (N)")
        )
    if not errors and not stamps:
        errors.append(WeatherRowError(0, "", "no data rows"))
    if errors:
        raise WeatherCSVInvalid([e.to_dict() for e in errors])
    frame = pd.DataFrame(values, columns=list(WEATHER_COLUMNS), index=pd.DatetimeIndex(stamps))
    return frame.astype(np.float64)


@contextlib.contextmanager
def _quiet_pvlib() -> Iterator[None]:
    """Silence pandas' deprecation notices triggered inside pvlib (e.g. ``dayofyear``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*dayofyear is deprecated.*")
        yield


def _localize(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    return index.tz_localize(timezone) if index.tz is None else index.tz_convert(timezone)


def clearsky_weather(
    index: pd.DatetimeIndex,
    *,
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float,
    timezone: str,
    timestep_hours: float,
    clearness_monthly: Sequence[float] | None = None,
    temp_air_monthly_c: Sequence[float] | None = None,
    temp_air_diurnal_amplitude_c: float = 4.0,
    wind_speed_m_per_s: float = 1.0,
) -> pd.DataFrame:
    """Synthetic weather: Ineichen clear sky scaled by monthly clearness factors.

    Parameters
    ----------
    index
        Start of each step (naive = site-local).
    latitude_deg, longitude_deg, altitude_m, timezone
        Site.
    timestep_hours
        Step length Δt [h]; irradiance is evaluated at the middle of each step.
    clearness_monthly
        12 factors k_m [-]; ``None`` means pure clear sky (k = 1).
    temp_air_monthly_c
        12 monthly mean air temperatures [degC]; ``None`` means 20 degC.
    temp_air_diurnal_amplitude_c
        Half peak-to-peak diurnal swing [degC], peaking at 15:00 local.
    wind_speed_m_per_s
        Constant wind speed [m/s].

    Returns
    -------
    pandas.DataFrame
        Columns ``ghi, dni, dhi, temp_air, wind_speed`` on ``index``.

    Notes
    -----
    ``GHI = k_m * GHI_cs``. When ``k_m < 1`` the beam/diffuse split is re-derived from the
    scaled GHI with the Erbs correlation [3]_, so a cloudier month is also more diffuse;
    with ``k_m = 1`` the Ineichen DNI/DHI are kept. This reproduces monthly energy, not
    day-to-day variability: a sizing made on it is a screening estimate.
    """
    with _quiet_pvlib():
        return _clearsky_weather(
            index,
            latitude_deg,
            longitude_deg,
            altitude_m,
            timezone,
            timestep_hours,
            clearness_monthly,
            temp_air_monthly_c,
            temp_air_diurnal_amplitude_c,
            wind_speed_m_per_s,
        )


def _clearsky_weather(
    index: pd.DatetimeIndex,
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float,
    timezone: str,
    timestep_hours: float,
    clearness_monthly: Sequence[float] | None,
    temp_air_monthly_c: Sequence[float] | None,
    temp_air_diurnal_amplitude_c: float,
    wind_speed_m_per_s: float,
) -> pd.DataFrame:
    local = _localize(index, timezone)
    mid = local + pd.Timedelta(hours=timestep_hours / 2)
    loc = pvlib.location.Location(latitude_deg, longitude_deg, timezone, altitude_m)
    solpos = loc.get_solarposition(mid)
    cs = loc.get_clearsky(mid, model="ineichen", solar_position=solpos)
    month0 = np.asarray(mid.month, dtype=np.intp) - 1
    k = (
        np.ones(len(index))
        if clearness_monthly is None
        else np.asarray(clearness_monthly, dtype=np.float64)[month0]
    )
    ghi = cs["ghi"].to_numpy(dtype=np.float64) * k
    if clearness_monthly is None:
        dni = cs["dni"].to_numpy(dtype=np.float64)
        dhi = cs["dhi"].to_numpy(dtype=np.float64)
    else:
        split = pvlib.irradiance.erbs(ghi, solpos["zenith"].to_numpy(), mid.day_of_year.to_numpy())
        dni = np.nan_to_num(np.asarray(split["dni"], dtype=np.float64))
        dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=np.float64))
    t_mean = (
        np.full(len(index), 20.0)
        if temp_air_monthly_c is None
        else np.asarray(temp_air_monthly_c, dtype=np.float64)[month0]
    )
    hour = np.asarray(mid.hour + mid.minute / 60.0, dtype=np.float64)
    temp = t_mean + temp_air_diurnal_amplitude_c * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    return pd.DataFrame(
        {
            "ghi": ghi,
            "dni": dni,
            "dhi": dhi,
            "temp_air": temp,
            "wind_speed": np.full(len(index), wind_speed_m_per_s),
        },
        index=index,
    )


def pvwatts_ac_per_kwp(
    weather: pd.DataFrame,
    *,
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float,
    timezone: str,
    timestep_hours: float,
    params: PVWattsParams | None = None,
) -> FloatArray:
    """AC output per kWp of DC nameplate, PVWatts v5 chain.

    Parameters
    ----------
    weather
        Columns ``ghi, dni, dhi`` [W/m2], ``temp_air`` [degC], ``wind_speed`` [m/s],
        indexed by the *start* of each step (naive = site-local).
    latitude_deg, longitude_deg, altitude_m, timezone
        Site.
    timestep_hours
        Step length Δt [h]; the sun position is taken at the middle of the step.
    params
        System parameters; defaults to :class:`PVWattsParams()`.

    Returns
    -------
    numpy.ndarray
        Mean AC power per kWp over each step [kW/kWp], in [0, 1/dc_ac_ratio].

    Notes
    -----
    ``P_dc = G_eff/1000 * (1 + γ (T_cell - 25)) * (1 - losses)`` with
    ``G_eff = POA_beam * IAM(aoi) + POA_diffuse`` (Perez); the inverter follows the
    PVWatts part-load curve with ``P_ac0 = 1/dc_ac_ratio`` and clips at ``P_ac0`` [1]_.
    """
    with _quiet_pvlib():
        return _pvwatts(
            weather, latitude_deg, longitude_deg, altitude_m, timezone, timestep_hours, params
        )


def _pvwatts(
    weather: pd.DataFrame,
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float,
    timezone: str,
    timestep_hours: float,
    params: PVWattsParams | None,
) -> FloatArray:
    p = params or PVWattsParams()
    local = _localize(pd.DatetimeIndex(weather.index), timezone)
    mid = local + pd.Timedelta(hours=timestep_hours / 2)
    loc = pvlib.location.Location(latitude_deg, longitude_deg, timezone, altitude_m)
    solpos = loc.get_solarposition(mid)
    zenith = solpos["zenith"].to_numpy(dtype=np.float64)
    app_zenith = solpos["apparent_zenith"].to_numpy(dtype=np.float64)
    azimuth = solpos["azimuth"].to_numpy(dtype=np.float64)
    dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(mid), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        airmass = np.asarray(pvlib.atmosphere.get_relative_airmass(app_zenith), dtype=np.float64)
    ghi = weather["ghi"].to_numpy(dtype=np.float64)
    dni = weather["dni"].to_numpy(dtype=np.float64)
    dhi = weather["dhi"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        poa = pvlib.irradiance.get_total_irradiance(
            p.tilt_deg,
            p.azimuth_deg,
            app_zenith,
            azimuth,
            dni,
            ghi,
            dhi,
            dni_extra=dni_extra,
            airmass=airmass,
            albedo=p.albedo,
            model="perez",
        )
        aoi = np.asarray(pvlib.irradiance.aoi(p.tilt_deg, p.azimuth_deg, app_zenith, azimuth))
        iam = np.asarray(pvlib.iam.physical(aoi), dtype=np.float64)
    beam = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=np.float64))
    diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=np.float64))
    poa_global = np.clip(beam + diffuse, 0.0, None)
    g_eff = np.clip(beam * np.nan_to_num(iam) + diffuse, 0.0, None)
    g_eff[zenith >= 90.0] = 0.0
    tparams = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][p.temperature_model]
    t_cell = np.asarray(
        pvlib.temperature.sapm_cell(
            poa_global,
            weather["temp_air"].to_numpy(dtype=np.float64),
            weather["wind_speed"].to_numpy(dtype=np.float64),
            **tparams,
        ),
        dtype=np.float64,
    )
    pdc = np.asarray(
        pvlib.pvsystem.pvwatts_dc(g_eff, t_cell, 1.0, p.gamma_pdc_per_c), dtype=np.float64
    ) * (1.0 - p.losses_percent / 100.0)
    pac0 = 1.0 / p.dc_ac_ratio
    with np.errstate(invalid="ignore", divide="ignore"):
        pac = np.asarray(
            pvlib.inverter.pvwatts(
                pdc, pac0 / p.inverter_efficiency_nominal, p.inverter_efficiency_nominal
            ),
            dtype=np.float64,
        )
    return np.clip(np.nan_to_num(pac), 0.0, pac0)
