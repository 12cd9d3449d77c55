"""Grid emission factors for microgrid studies, taken from the MRV factor library.

A SPEC names a grid and a year (``{"grid_code": "CN-SW", "year": 2023}``) instead of a
number; :func:`resolve_grid_factor` finds the factor in the published MRV factor sets
(:mod:`greencircle.mrv.factors`) and reports every fallback it had to take:

1. a platform sub-jurisdiction (``CN-CQ-500115``) is reduced to its province (``CN-CQ``);
2. a province given by its ISO 3166-2 letter code (``CN-CQ``) is translated to the
   GB/T 2260 numeric code the factor sets use (``CN-50``);
3. a province without a published factor falls back to its regional grid (``CN-50`` →
   ``CN-SW``, from ``data/grid_regions.csv``), then to the national average (``CN``);
4. a year without a published factor uses the latest earlier year (the MRV library's
   own rule, e.g. 2025 → 2023).

The membership of provinces in regional grids is reference data with a ``source`` and a
``status`` column, not code.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

from greencircle.energy.errors import GridFactorNotFound
from greencircle.mrv.errors import FactorNotFoundError
from greencircle.mrv.factors import METHOD_ELECTRICITY, lookup

__all__ = ["GridFactor", "GridRegion", "grid_regions", "resolve_grid_factor"]

NATIONAL = "CN"
_SUB_JURISDICTION = re.compile(r"^(CN-[A-Z]{2})-\d+$")


@dataclass(frozen=True, slots=True)
class GridRegion:
    """A province and the regional grid it belongs to (``data/grid_regions.csv``)."""

    province_iso: str
    province_gb: str
    name_en: str
    name_zh: str
    regional_grid: str
    source: str
    status: str


@cache
def grid_regions() -> dict[str, GridRegion]:
    """Provinces keyed by both their ISO 3166-2 letter code and their GB/T 2260 code."""
    text = resources.files("greencircle.energy").joinpath("data", "grid_regions.csv")
    rows = list(csv.DictReader(text.read_text("utf-8").splitlines()))
    out: dict[str, GridRegion] = {}
    for r in rows:
        region = GridRegion(**r)
        out[region.province_iso] = region
        out[region.province_gb] = region
    return out


@dataclass(frozen=True, slots=True)
class GridFactor:
    """A resolved grid emission factor and how it was found.

    Attributes
    ----------
    requested_code, requested_year
        What the SPEC asked for.
    grid_code
        Grid whose factor is used (after region fallbacks).
    years
        Years the used factor covers (``"2023"``).
    tco2_per_mwh
        The factor [tCO2/MWh].
    factor_id, source, status
        Identity and provenance of the factor in the MRV library.
    fallback
        One human-readable note per fallback taken (empty for an exact match).
    """

    requested_code: str
    requested_year: int
    grid_code: str
    years: str
    tco2_per_mwh: float
    factor_id: str
    source: str
    status: str
    fallback: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``fallback`` as a list)."""
        d = asdict(self)
        d["fallback"] = list(self.fallback)
        return d


def _candidates(code: str) -> list[tuple[str, str | None]]:
    """Grid codes to try, each with the note explaining why it is tried."""
    out: list[tuple[str, str | None]] = [(code, None)]
    m = _SUB_JURISDICTION.match(code)
    if m:
        out.append((m.group(1), f"{code} is a sub-jurisdiction; using its province {m.group(1)}"))
        code = m.group(1)
    region = grid_regions().get(code)
    if region is not None:
        if region.province_gb != code:
            out.append(
                (region.province_gb, f"{code} is the GB/T 2260 province {region.province_gb}")
            )
        out.append(
            (
                region.regional_grid,
                f"no factor for {region.name_en} ({region.province_gb}); using its regional "
                f"grid {region.regional_grid} (membership: {region.source}; {region.status})",
            )
        )
    if code != NATIONAL and (region is not None or code.startswith("CN-")):
        out.append((NATIONAL, f"no regional factor for {code}; using the national average CN"))
    seen: set[str] = set()
    unique = []
    for cand, note in out:
        if cand not in seen:
            seen.add(cand)
            unique.append((cand, note))
    return unique


def resolve_grid_factor(grid_code: str, year: int, *, version: str | None = None) -> GridFactor:
    """Look up the grid emission factor of ``grid_code`` for ``year``.

    Parameters
    ----------
    grid_code
        A grid code of the MRV library (``CN-SW``, ``CN-51``, ``CN``, ``CN-ETS``), a
        province (``CN-CQ``, ``CN-50``) or a platform sub-jurisdiction (``CN-CQ-500115``).
    year
        Year of the factor (the study's operating year).
    version
        Pin a factor-set version; default is the latest published one.

    Returns
    -------
    GridFactor
        With ``fallback`` listing every substitution made (region, then year).

    Raises
    ------
    GridFactorNotFound
        When neither the grid, its region, nor the national average has a factor for
        ``year`` or any earlier year.
    """
    code = grid_code.strip()
    notes: list[str] = []
    tried: list[str] = []
    for cand, note in _candidates(code):
        try:
            match = lookup(METHOD_ELECTRICITY, cand, year, version=version)
        except FactorNotFoundError as exc:
            tried.append(f"{cand}: {exc}")
            if note is not None:
                notes.append(note)
            continue
        if note is not None:
            notes.append(note)
        chain = list(notes)
        if match.fallback:
            chain.append(match.fallback)
        f = match.factor
        return GridFactor(
            requested_code=grid_code,
            requested_year=year,
            grid_code=cand,
            years=f.years,
            tco2_per_mwh=float(f.value),
            factor_id=f.factor_id,
            source=f.source,
            status=f.status,
            fallback=tuple(chain),
        )
    raise GridFactorNotFound(
        f"no grid emission factor for {grid_code!r} in {year} or earlier: " + "; ".join(tried)
    )
