"""Errors of the energy domain (expected failures, rendered by the API/CLI handlers)."""

from __future__ import annotations

from greencircle.errors import Invalid

__all__ = ["GridFactorNotFound", "MicrogridSpecInvalid", "WeatherCSVInvalid"]


class MicrogridSpecInvalid(Invalid):
    """The microgrid SPEC is not valid; ``detail`` lists ``{"loc", "message"}`` items."""

    code = "energy.spec_invalid"


class WeatherCSVInvalid(Invalid):
    """The weather CSV is not valid; ``detail`` lists ``{"line", "column", "message"}`` rows."""

    code = "energy.weather_csv_invalid"


class GridFactorNotFound(Invalid):
    """No grid emission factor applies to the requested grid code and year."""

    code = "energy.grid_factor_not_found"
