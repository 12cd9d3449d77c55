"""Console forms of the energy domain: a site form and a study form that build the SPEC.

The study form is the console's way to run a study without writing JSON: each field is
read and range-checked here (errors are catalog keys per field, shown on the form), then
turned into a SPEC that goes through the same validation and service as the API.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from greencircle.energy.tariffs import available_tariffs

__all__ = [
    "LOAD_PROFILES",
    "PV_PRESETS",
    "STUDY_DEFAULTS",
    "FormResult",
    "parse_load_csv",
    "process_load_kw",
    "study_spec_from_form",
]

#: Load profile choices of the study form.
LOAD_PROFILES = ("process", "flat", "upload")
#: Climate presets for the PV yield (monthly clearness estimates, ``data/clearness.csv``).
PV_PRESETS = ("chongqing", "chengdu", "none")

#: Defaults shown in an empty study form (same values as the demo studies).
STUDY_DEFAULTS: dict[str, str] = {
    "label_zh": "",
    "label_en": "",
    "year": "2023",
    "load_profile": "process",
    "base_kw": "3000",
    "shift_kw": "900",
    "tariff": "CN-SC-2023-LI",
    "flat_price_cny_per_kwh": "0.62",
    "export_price_cny_per_kwh": "0.35",
    "import_limit_kw": "6000",
    "export_limit_kw": "1000",
    "battery_export": "",
    "pv_enabled": "on",
    "pv_preset": "chongqing",
    "pv_tilt_deg": "15",
    "pv_min_kwp": "0",
    "pv_max_kwp": "8000",
    "pv_cost_cny_per_kwp_year": "220",
    "battery_enabled": "on",
    "battery_min_kwh": "0",
    "battery_max_kwh": "",
    "battery_min_kw": "0",
    "battery_max_kw": "",
    "battery_energy_cost_cny_per_kwh_year": "110",
    "battery_power_cost_cny_per_kw_year": "45",
    "battery_efficiency_percent": "92.2",
    "battery_soc_min_percent": "10",
    "battery_soc_max_percent": "95",
    "carbon_price_cny_per_tco2": "80",
    "unserved_cost_cny_per_kwh": "20",
    "discount_rate_percent": "6",
    "lifetime_years": "20",
}


def process_load_kw(hours: int, base_kw: float, shift_kw: float, seed: int = 2026) -> list[float]:
    """Hourly load of a continuous-process site [kW] (seeded, deterministic).

    ``base_kw`` runs day and night, ``shift_kw`` is added on working days 08:00-20:00,
    summer cooling adds up to 12 % around late July, and ±2 % noise.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    hour = t % 24
    weekday = (t // 24) % 7 < 5
    seasonal = 1.0 + 0.12 * np.cos(2 * np.pi * (t / 8760 - 0.56))
    shift = np.where((hour >= 8) & (hour < 20) & weekday, shift_kw, 0.0)
    load = (base_kw + shift) * seasonal * (1.0 + rng.normal(0.0, 0.02, hours))
    floor = min(500.0, base_kw / 6.0)
    return [round(float(x), 1) for x in np.clip(load, floor, None)]


def parse_load_csv(text: str, hours: int) -> list[float]:
    """Hourly load [kW] from a one-column CSV (an optional header line, one value a line).

    Raises
    ------
    ValueError
        With a catalog key: ``energy.form.err.load_count`` or ``energy.form.err.load_value``.
    """
    values: list[float] = []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        cell = line.split(",")[-1].strip().strip('"')
        try:
            v = float(cell)
        except ValueError:
            if i == 0:
                continue  # header
            raise ValueError("energy.form.err.load_value") from None
        if not math.isfinite(v) or v < 0:
            raise ValueError("energy.form.err.load_value")
        values.append(v)
    if len(values) != hours:
        raise ValueError("energy.form.err.load_count")
    return values


@dataclass
class FormResult:
    """Outcome of reading a study form: the SPEC, or errors (field → catalog key).

    ``titles`` is the study's title (English, Chinese), each ``None`` when left empty.
    """

    spec: dict[str, Any] | None
    titles: tuple[str | None, str | None]
    errors: dict[str, str] = field(default_factory=dict)


class _Reader:
    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str:
        return str(self.form.get(name, "") or "").strip()

    def flag(self, name: str) -> bool:
        return self.text(name) in {"on", "true", "1"}

    def num(
        self, name: str, lo: float, hi: float, *, optional: bool = False, integer: bool = False
    ) -> float | None:
        raw = self.text(name).replace(",", "")
        if not raw:
            if optional:
                return None
            self.errors[name] = "energy.form.err.required"
            return None
        try:
            v = float(raw)
        except ValueError:
            self.errors[name] = "energy.form.err.number"
            return None
        if not math.isfinite(v) or not lo <= v <= hi or (integer and v != int(v)):
            self.errors[name] = "energy.form.err.range"
            return None
        return v

    def order(self, lo_name: str, hi_name: str, lo: float | None, hi: float | None) -> None:
        if lo is not None and hi is not None and lo > hi:
            self.errors[hi_name] = "energy.form.err.min_max"


def study_spec_from_form(form: Mapping[str, str], upload_text: str | None = None) -> FormResult:
    """Build a one-year hourly SPEC from the study form.

    Parameters
    ----------
    form
        Form fields (names as in :data:`STUDY_DEFAULTS`); percentages are in [%].
    upload_text
        Text of the uploaded load CSV (``load_profile == "upload"``).

    Returns
    -------
    FormResult
        ``spec`` is ``None`` when a field is invalid; ``errors`` maps field names to
        catalog keys. The grid factor is left out: the service takes it from the site.
    """
    r = _Reader(form)
    titles = (r.text("label_en")[:200] or None, r.text("label_zh")[:200] or None)
    year = r.num("year", 2000, 2100, integer=True)
    hours = (366 if year and calendar.isleap(int(year)) else 365) * 24
    profile = r.text("load_profile")
    load: list[float] | None = None
    if profile not in LOAD_PROFILES:
        r.errors["load_profile"] = "energy.form.err.choice"
    elif profile == "upload":
        if not upload_text:
            r.errors["load_file"] = "energy.form.err.required"
        else:
            try:
                load = parse_load_csv(upload_text, hours)
            except ValueError as exc:
                r.errors["load_file"] = str(exc.args[0])
    else:
        base = r.num("base_kw", 1, 1e6)
        shift = r.num("shift_kw", 0, 1e6) if profile == "process" else 0.0
        if base is not None and shift is not None:
            load = process_load_kw(hours, base, shift) if profile == "process" else [base] * hours

    tariff = r.text("tariff")
    flat = r.num("flat_price_cny_per_kwh", 0, 20)
    if tariff and tariff not in available_tariffs():
        r.errors["tariff"] = "energy.form.err.choice"
    imp_price: Any = (
        {"tariff": tariff, "flat_price_cny_per_kwh": flat} if tariff else [flat or 0.0] * hours
    )
    grid: dict[str, Any] = {
        "import_price_cny_per_kwh": imp_price,
        "export_price_cny_per_kwh": r.num("export_price_cny_per_kwh", 0, 20),
        "import_limit_kw": r.num("import_limit_kw", 0, 1e7, optional=True),
        "export_limit_kw": r.num("export_limit_kw", 0, 1e7, optional=True),
        "battery_export": r.flag("battery_export"),
    }

    pv: dict[str, Any] | None = None
    if r.flag("pv_enabled"):
        preset = r.text("pv_preset")
        if preset not in PV_PRESETS:
            r.errors["pv_preset"] = "energy.form.err.choice"
        site: dict[str, Any] = {"tilt_deg": r.num("pv_tilt_deg", 0, 90)}
        if preset != "none":
            site["preset"] = preset
        pv = {"site": site, "cost_cny_per_kwp_year": r.num("pv_cost_cny_per_kwp_year", 0, 1e5)}
        lo = r.num("pv_min_kwp", 0, 1e7)
        hi = r.num("pv_max_kwp", 0, 1e7, optional=True)
        r.order("pv_min_kwp", "pv_max_kwp", lo, hi)
        pv.update(min_kwp=lo, max_kwp=hi)

    battery: dict[str, Any] | None = None
    if r.flag("battery_enabled"):
        eff = r.num("battery_efficiency_percent", 50, 100)
        soc_lo = r.num("battery_soc_min_percent", 0, 100)
        soc_hi = r.num("battery_soc_max_percent", 0, 100)
        r.order("battery_soc_min_percent", "battery_soc_max_percent", soc_lo, soc_hi)
        battery = {
            "energy_cost_cny_per_kwh_year": r.num("battery_energy_cost_cny_per_kwh_year", 0, 1e5),
            "power_cost_cny_per_kw_year": r.num("battery_power_cost_cny_per_kw_year", 0, 1e5),
            "charge_efficiency": eff / 100 if eff else None,
            "discharge_efficiency": eff / 100 if eff else None,
            "soc_min_fraction": soc_lo / 100 if soc_lo is not None else None,
            "soc_max_fraction": soc_hi / 100 if soc_hi is not None else None,
        }
        for kind in ("kwh", "kw"):
            lo = r.num(f"battery_min_{kind}", 0, 1e7)
            hi = r.num(f"battery_max_{kind}", 0, 1e7, optional=True)
            r.order(f"battery_min_{kind}", f"battery_max_{kind}", lo, hi)
            battery.update({f"min_{kind}": lo, f"max_{kind}": hi})
    elif grid["battery_export"]:
        r.errors["battery_export"] = "energy.form.err.export_needs_battery"

    discount = r.num("discount_rate_percent", 0, 99)
    spec: dict[str, Any] = {
        "timestep_hours": 1,
        "start": f"{int(year or 2023)}-01-01T00:00:00",
        "timezone": "Asia/Shanghai",
        "load_kw": load,
        "grid": grid,
        "carbon": {"price_cny_per_tco2": r.num("carbon_price_cny_per_tco2", 0, 1e5)},
        "unserved_energy_cost_cny_per_kwh": r.num("unserved_cost_cny_per_kwh", 0, 1e5),
        "economics": {
            "discount_rate": discount / 100 if discount is not None else None,
            "lifetime_years": r.num("lifetime_years", 1, 100),
        },
    }
    if pv is not None:
        spec["pv"] = pv
    if battery is not None:
        spec["battery"] = battery
    if r.errors:
        return FormResult(None, titles, r.errors)
    return FormResult(spec, titles)
