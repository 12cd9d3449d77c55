"""pvlib production: clear sky, clearness scaling, weather CSV parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from greencircle.energy.errors import WeatherCSVInvalid
from greencircle.energy.pv import (
    PVWattsParams,
    clearsky_weather,
    parse_weather_csv,
    pvwatts_ac_per_kwp,
    step_index,
)
from greencircle.energy.tariffs import load_site_defaults

CQ = load_site_defaults("chongqing")
SITE = {
    "latitude_deg": CQ.latitude_deg,
    "longitude_deg": CQ.longitude_deg,
    "altitude_m": CQ.altitude_m,
    "timezone": CQ.timezone,
    "timestep_hours": 1.0,
}
INDEX = step_index(pd.Timestamp("2023-01-01"), 8760, 1.0)


@pytest.fixture(scope="module")
def clear_profile() -> np.ndarray:
    weather = clearsky_weather(INDEX, **SITE)
    return pvwatts_ac_per_kwp(weather, **SITE, params=PVWattsParams(tilt_deg=20.0))


def test_clear_sky_capacity_factor_at_chongqing(clear_profile: np.ndarray) -> None:
    cf = float(clear_profile.mean())
    assert 0.15 <= cf <= 0.30


def test_zero_at_night_and_bounded_by_inverter(clear_profile: np.ndarray) -> None:
    hours = INDEX.hour
    night = (hours >= 21) | (hours < 5)
    assert np.all(clear_profile[night] == 0.0)
    assert clear_profile.max() <= 1 / 1.2 + 1e-12
    assert clear_profile.min() >= 0.0
    noon = clear_profile[hours == 12]
    assert (noon > 0.2).all()


def test_monthly_clearness_gives_realistic_basin_yield(clear_profile: np.ndarray) -> None:
    weather = clearsky_weather(
        INDEX,
        **SITE,
        clearness_monthly=CQ.clearness_monthly,
        temp_air_monthly_c=CQ.temp_air_monthly_c,
    )
    profile = pvwatts_ac_per_kwp(weather, **SITE, params=PVWattsParams(tilt_deg=20.0))
    cf = float(profile.mean())
    assert 0.07 <= cf <= 0.13  # reference: a realistic CF of 9-12 % is an estimate
    assert cf < float(clear_profile.mean())
    assert CQ.status == "estimate"


def _csv(rows: list[str]) -> str:
    return "\n".join(["timestamp,ghi,dni,dhi,temp_air,wind_speed", *rows]) + "\n"


def test_weather_csv_round_trip_feeds_pvwatts() -> None:
    idx = step_index(pd.Timestamp("2023-06-21"), 24, 1.0)
    weather = clearsky_weather(idx, **SITE)
    rows = [
        f"{t.isoformat()},{r.ghi:.3f},{r.dni:.3f},{r.dhi:.3f},{r.temp_air:.2f},{r.wind_speed:.1f}"
        for t, r in zip(idx, weather.itertuples(), strict=True)
    ]
    parsed = parse_weather_csv(_csv(rows), expected_steps=24, timestep_hours=1.0)
    assert list(parsed.columns) == ["ghi", "dni", "dhi", "temp_air", "wind_speed"]
    a = pvwatts_ac_per_kwp(parsed, **SITE)
    b = pvwatts_ac_per_kwp(weather, **SITE)
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_weather_csv_errors_carry_line_numbers() -> None:
    text = _csv(
        [
            "2023-01-01T00:00,0,0,0,5,1",
            "2023-01-01T01:00,abc,0,0,5,1",  # line 3
            "2023-01-01T02:00,0,0,0,5",  # line 4: short row
            "not-a-time,0,0,0,5,1",  # line 5
            "2023-01-01T04:00,0,0,-3,5,1",  # line 6: negative DHI
            "2023-01-01T05:00,0,0,0,99,1",  # line 7: too hot
        ]
    )
    with pytest.raises(WeatherCSVInvalid) as info:
        parse_weather_csv(text)
    errors = info.value.detail
    got = {(e["line"], e["column"]) for e in errors}
    assert got == {(3, "ghi"), (4, ""), (5, "timestamp"), (6, "dhi"), (7, "temp_air")}
    assert info.value.code == "energy.weather_csv_invalid"


def test_weather_csv_step_and_count_checks() -> None:
    text = _csv(["2023-01-01T00:00,0,0,0,5,1", "2023-01-01T02:00,0,0,0,5,1"])
    with pytest.raises(WeatherCSVInvalid) as info:
        parse_weather_csv(text, timestep_hours=1.0)
    assert info.value.detail[0]["line"] == 3
    ok = _csv(["2023-01-01T00:00,0,0,0,5,1", "2023-01-01T01:00,0,0,0,5,1"])
    with pytest.raises(WeatherCSVInvalid, match="expected 3"):
        parse_weather_csv(ok, expected_steps=3)
    with pytest.raises(WeatherCSVInvalid, match="missing column"):
        parse_weather_csv("timestamp,ghi\n2023-01-01,0\n")
