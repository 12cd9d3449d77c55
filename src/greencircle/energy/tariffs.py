"""Time-of-use tariffs and site climate defaults, read from versioned data files.

Reference data is data: the tariff structures live in ``data/tariffs.csv`` and the
site defaults in ``data/sites.csv`` and ``data/clearness.csv``, each row with a ``source``
and a ``status`` column (``confirmed`` / ``recall`` / ``estimate``). Only *ratios to the
flat price* are stored for tariffs; the flat price level itself is a caller parameter
because it is not in the reference material.

References
----------
.. [1] 四川省发展和改革委员会, 川发改价格规〔2023〕186号 (Sichuan TOU tariff, from 2023-06-01).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "SiteDefaults",
    "TariffPeriod",
    "TouTariff",
    "available_tariffs",
    "expand_tariff",
    "load_site_defaults",
    "load_tariff",
    "tariffs_for_province",
]


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    """One period of a TOU tariff.

    Attributes
    ----------
    period
        ``peak``, ``flat``, ``valley`` or ``critical_peak``.
    months
        Months (1-12) in which the period applies.
    hours
        Hours of the local day (0-23, hour-beginning) in which the period applies.
    ratio_to_flat
        Price as a multiple of the flat price [-].
    source, source_en
        Provenance of the row: the original citation and its English rendering.
    status
        ``confirmed`` / ``recall`` / ``estimate``.
    """

    period: str
    months: frozenset[int]
    hours: frozenset[int]
    ratio_to_flat: float
    source: str
    source_en: str
    status: str


@dataclass(frozen=True, slots=True)
class TouTariff:
    """A TOU tariff structure (ratios only).

    Attributes
    ----------
    code
        Tariff code, e.g. ``CN-SC-2023-LI``.
    province
        ISO 3166-2 code of the province the tariff applies to, e.g. ``CN-SC``.
    description_en, description_zh
        Name in English and in Chinese (stored per language, shown in the page's).
    periods
        Base periods (peak/flat/valley), which must cover every hour of every month, and
        overriding periods (``critical_peak``) applied on top.
    """

    code: str
    province: str
    description_en: str
    description_zh: str
    periods: tuple[TariffPeriod, ...]

    @property
    def description(self) -> str:
        """English name (the language of the RESULT and the CLI)."""
        return self.description_en

    @property
    def sources(self) -> tuple[str, ...]:
        """Distinct sources of the rows, in file order."""
        return tuple(dict.fromkeys(p.source for p in self.periods))

    @property
    def sources_en(self) -> tuple[str, ...]:
        """English renderings of :attr:`sources`, in the same order."""
        return tuple(dict.fromkeys(p.source_en for p in self.periods))

    @property
    def status(self) -> str:
        """Weakest status of the rows (``estimate`` < ``recall`` < ``confirmed``)."""
        order = {"estimate": 0, "recall": 1, "confirmed": 2}
        return min((p.status for p in self.periods), key=lambda s: order.get(s, -1))

    def ratio_matrix(self, *, critical_peak: bool = True) -> FloatArray:
        """Return the 12 x 24 table of price ratios (month x hour-of-day) [-].

        Raises
        ------
        ValueError
            If the base periods leave an hour uncovered or cover it twice.
        """
        table = np.full((12, 24), np.nan)
        for p in self.periods:
            if p.period == "critical_peak":
                continue
            for m in p.months:
                for h in p.hours:
                    if not np.isnan(table[m - 1, h]):
                        raise ValueError(f"tariff {self.code}: month {m} hour {h} covered twice")
                    table[m - 1, h] = p.ratio_to_flat
        if np.isnan(table).any():
            m, h = np.argwhere(np.isnan(table))[0]
            raise ValueError(f"tariff {self.code}: month {m + 1} hour {h} not covered")
        if critical_peak:
            for p in self.periods:
                if p.period != "critical_peak":
                    continue
                for m in p.months:
                    for h in p.hours:
                        table[m - 1, h] = p.ratio_to_flat
        return table


def _parse_ranges(text: str, *, modulo: int, one_based: bool) -> frozenset[int]:
    """Parse ``"10-12;15-21"`` (hours, end exclusive, may wrap) or ``"1;12"``, ``"7-8"`` (months).

    Month ranges are inclusive.
    """
    out: set[int] = set()
    for part in text.split(";"):
        part = part.strip()
        if "-" not in part:
            out.add(int(part))
            continue
        a_s, b_s = part.split("-")
        a, b = int(a_s), int(b_s)
        if one_based:  # months: inclusive range
            out.update(range(a, b + 1))
        else:  # hours: [a, b) and wraps past midnight
            h = a
            while h != b:
                out.add(h)
                h = (h + 1) % modulo
    return frozenset(out)


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("greencircle.energy").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_tariff(code: str) -> TouTariff:
    """Load a TOU tariff by code from ``data/tariffs.csv``.

    Parameters
    ----------
    code
        Tariff code, e.g. ``"CN-SC-2023-LI"``.

    Raises
    ------
    KeyError
        If no tariff has that code.
    """
    rows = [r for r in _read_csv("tariffs.csv") if r["tariff_code"] == code]
    if not rows:
        raise KeyError(f"unknown tariff {code!r}; known: {', '.join(available_tariffs())}")
    periods = tuple(
        TariffPeriod(
            period=r["period"],
            months=_parse_ranges(r["months"], modulo=12, one_based=True),
            hours=_parse_ranges(r["hours"], modulo=24, one_based=False),
            ratio_to_flat=float(r["ratio_to_flat"]),
            source=r["source"],
            source_en=r["source_en"],
            status=r["status"],
        )
        for r in rows
    )
    first = rows[0]
    return TouTariff(
        code=code,
        province=first["province"],
        description_en=first["description_en"],
        description_zh=first["description_zh"],
        periods=periods,
    )


def available_tariffs() -> tuple[str, ...]:
    """Codes of the shipped tariffs."""
    return tuple(dict.fromkeys(r["tariff_code"] for r in _read_csv("tariffs.csv")))


def tariffs_for_province(province: str) -> tuple[str, ...]:
    """Codes of the shipped tariffs of ``province`` (ISO 3166-2, e.g. ``CN-CQ``); empty when
    none is shipped (no Chongqing tariff is: a site there must choose a stand-in)."""
    return tuple(c for c in available_tariffs() if load_tariff(c).province == province)


def expand_tariff(
    tariff: TouTariff,
    index: pd.DatetimeIndex,
    flat_price_cny_per_kwh: float,
    *,
    critical_peak: bool = True,
) -> FloatArray:
    """Expand a TOU tariff to a price series.

    Parameters
    ----------
    tariff
        The tariff structure.
    index
        Local (wall-clock) start time of each step.
    flat_price_cny_per_kwh
        Flat-period energy price [CNY/kWh]; a parameter because the level is not in the
        reference material.
    critical_peak
        Apply the critical-peak override periods.

    Returns
    -------
    numpy.ndarray
        Import price per step [CNY/kWh]: ``ratio(month, hour) * flat_price``.
    """
    table = tariff.ratio_matrix(critical_peak=critical_peak)
    months = np.asarray(index.month, dtype=np.intp) - 1
    hours = np.asarray(index.hour, dtype=np.intp)
    return np.asarray(table[months, hours] * flat_price_cny_per_kwh, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class SiteDefaults:
    """Shipped site defaults (coordinates, monthly clearness and temperature).

    Attributes
    ----------
    code, name_en, name_zh
        Site code (``chongqing``, ``chengdu``) and display name per language.
    latitude_deg, longitude_deg, altitude_m, timezone
        Location.
    clearness_monthly
        Ratio of mean actual to Ineichen clear-sky GHI per month [-] (12 values).
    temp_air_monthly_c
        Mean air temperature per month [degC] (12 values).
    source, status
        Provenance; the climate values are ``estimate``.
    """

    code: str
    name_en: str
    name_zh: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    timezone: str
    clearness_monthly: tuple[float, ...]
    temp_air_monthly_c: tuple[float, ...]
    source: str
    status: str


@cache
def load_site_defaults(code: str) -> SiteDefaults:
    """Load the shipped defaults for a site (``chongqing`` or ``chengdu``).

    The monthly clearness factors are estimates (status ``estimate``), not published
    figures; see ``data/clearness.csv``.

    Raises
    ------
    KeyError
        If the site code is unknown.
    """
    sites = {r["site_code"]: r for r in _read_csv("sites.csv")}
    if code not in sites:
        raise KeyError(f"unknown site {code!r}; known: {', '.join(sorted(sites))}")
    s = sites[code]
    rows = sorted(
        (r for r in _read_csv("clearness.csv") if r["site_code"] == code),
        key=lambda r: int(r["month"]),
    )
    if [int(r["month"]) for r in rows] != list(range(1, 13)):
        raise ValueError(f"clearness.csv: site {code} needs exactly months 1..12")
    statuses = {s["status"], *(r["status"] for r in rows)}
    return SiteDefaults(
        code=code,
        name_en=s["name_en"],
        name_zh=s["name_zh"],
        latitude_deg=float(s["latitude_deg"]),
        longitude_deg=float(s["longitude_deg"]),
        altitude_m=float(s["altitude_m"]),
        timezone=s["timezone"],
        clearness_monthly=tuple(float(r["clearness_factor"]) for r in rows),
        temp_air_monthly_c=tuple(float(r["temp_air_c"]) for r in rows),
        source=rows[0]["source"],
        status="estimate" if "estimate" in statuses else min(statuses),
    )
