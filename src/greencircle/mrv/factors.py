"""The emission factor library: versioned, immutable factor sets shipped as CSV data.

Each published factor set is one CSV file in ``greencircle/mrv/data/`` listed in
``factor_sets.csv`` with its version, publication date and SHA-256 content hash. A
published set is never edited: a correction is a new version (a new file and a new
manifest row). The loader refuses a set whose content no longer matches its hash.

Every value carries ``source`` and ``status``:

``confirmed``
    read in the cited source;
``recall``
    remembered or secondary, to be checked against the official text;
``proxy``
    a confirmed value of a related item used as a stand-in (e.g. the raw-coal NCV used
    for anthracite);
``estimate``
    an engineering envelope (plausibility ranges only).

Lookups are explicit: :func:`lookup` returns the factor together with a ``fallback``
note whenever it had to use an earlier year than the one asked for, and raises
:class:`~greencircle.mrv.errors.FactorNotFoundError` when nothing applies.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

from greencircle.mrv._exact import RESULT_SCALE, from_scaled, round_half_even
from greencircle.mrv.errors import FactorNotFoundError, FactorSetIntegrityError

__all__ = [
    "METHOD_CARBONATE",
    "METHOD_CLINKER",
    "METHOD_ELECTRICITY",
    "METHOD_FUEL",
    "METHOD_GWP",
    "METHOD_HEAT",
    "METHOD_IPCC_FUEL",
    "STATUSES",
    "Factor",
    "FactorLibrary",
    "FactorMatch",
    "FactorPage",
    "FactorParameter",
    "FactorSet",
    "ParameterRange",
    "content_sha256",
    "load_library",
    "lookup",
    "search",
    "worst_status",
]

METHOD_FUEL = "fuel_combustion"
METHOD_IPCC_FUEL = "ipcc2006_fuel_combustion"
METHOD_ELECTRICITY = "electricity"
METHOD_HEAT = "heat"
METHOD_CLINKER = "clinker"
METHOD_CARBONATE = "carbonate"
METHOD_GWP = "gwp"

STATUSES = ("confirmed", "proxy", "estimate", "recall")
"""Status vocabulary, from most to least assured."""
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}

_DATA_PACKAGE = "greencircle.mrv.data"
_MANIFEST = "factor_sets.csv"


def worst_status(statuses: Iterable[str]) -> str:
    """The least assured of ``statuses`` (``'confirmed'`` for an empty iterable)."""
    worst = "confirmed"
    for s in statuses:
        if _STATUS_RANK[s] > _STATUS_RANK[worst]:
            worst = s
    return worst


def content_sha256(data: bytes) -> str:
    """SHA-256 (hex) of a data file, with CRLF normalised to LF (checkout-independent)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


@dataclass(frozen=True, slots=True)
class FactorSet:
    """A published, immutable factor set (one row of ``factor_sets.csv``)."""

    factor_set: str
    version: str
    file: str
    title: str
    published: date
    sha256: str
    status: str
    source: str
    supersedes: str = ""

    @property
    def set_id(self) -> str:
        """``set@version``, e.g. ``cn-grid-stat@2026.1``."""
        return f"{self.factor_set}@{self.version}"


@dataclass(frozen=True, slots=True)
class FactorParameter:
    """One parameter of a composite factor (e.g. the NCV of a fuel)."""

    name: str
    value: Decimal
    unit: str
    source: str
    status: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Factor:
    """An emission factor (or GWP) from a published set.

    Attributes
    ----------
    factor_id : str
        Stable id ``set/item[/year]@version``, e.g. ``cn-fuel/diesel@2026.1`` or
        ``cn-grid-stat/CN-51/2022@2026.1``.
    method : str
        Calculation method the factor serves (``fuel_combustion``, ``electricity``...).
    item : str
        Fuel code, grid code, ``heat``, process material or gas.
    jurisdiction : str
        ``CN``, a grid/region code (``CN-SW``, ``CN-51``), ``IPCC``, or a GWP report.
    year_from, year_to : int or None
        Years the factor applies to (None for year-independent factors).
    value : Decimal
        Headline value in ``unit`` (for fuels the derived tCO2 per fuel unit, rounded to
        10 decimals for display; calculations use ``parameters``).
    unit : str
        Unit of ``value`` (e.g. ``tCO2/MWh``).
    per_unit : str
        Activity unit the factor applies to (``t``, ``10^4 Nm3``, ``MWh``, ``GJ``).
    status : str
        Least assured status among the factor's values.
    parameters : tuple of FactorParameter
        Components (fuels: ``ncv``, ``carbon_content``, ``oxidation_rate``).
    """

    factor_id: str
    factor_set: str
    version: str
    method: str
    item: str
    jurisdiction: str
    year_from: int | None
    year_to: int | None
    value: Decimal
    unit: str
    per_unit: str
    source: str
    status: str
    description: str
    parameters: tuple[FactorParameter, ...] = ()
    note: str = ""
    name_zh: str = ""

    def parameter(self, name: str) -> FactorParameter:
        """Return the parameter ``name`` or raise KeyError."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def years(self) -> str:
        """Display of the years covered (``''``, ``'2022'`` or ``'2019-2020'``)."""
        if self.year_from is None:
            return ""
        if self.year_to is None or self.year_to == self.year_from:
            return str(self.year_from)
        return f"{self.year_from}-{self.year_to}"

    def applies_to(self, year: int) -> bool:
        """True when the factor covers ``year`` (always for year-independent factors)."""
        if self.year_from is None:
            return True
        upper = self.year_to if self.year_to is not None else self.year_from
        return self.year_from <= year <= upper


@dataclass(frozen=True, slots=True)
class ParameterRange:
    """Plausible range of a fuel parameter (quality checks)."""

    fuel_code: str
    parameter: str
    low: Decimal
    high: Decimal
    unit: str
    source: str
    status: str
    range_id: str


@dataclass(frozen=True, slots=True)
class FactorMatch:
    """Result of a lookup.

    Attributes
    ----------
    factor : Factor
        The factor to use.
    requested_year : int or None
        The year asked for.
    fallback : str or None
        Human-readable note when an earlier year's factor is used; None for an exact match.
    """

    factor: Factor
    requested_year: int | None
    fallback: str | None = None

    @property
    def is_fallback(self) -> bool:
        """True when an earlier year was used."""
        return self.fallback is not None


@dataclass(frozen=True, slots=True)
class FactorPage:
    """A page of search results."""

    items: tuple[Factor, ...]
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        """Offset of the next page, or None on the last page."""
        nxt = self.offset + len(self.items)
        return nxt if nxt < self.total else None


@dataclass(frozen=True)
class FactorLibrary:
    """All published factor sets, loaded and verified (immutable)."""

    sets: tuple[FactorSet, ...]
    factors: tuple[Factor, ...]
    ranges: tuple[ParameterRange, ...]
    _by_id: Mapping[str, Factor] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", MappingProxyType({f.factor_id: f for f in self.factors}))

    def get(self, factor_id: str) -> Factor:
        """Factor by id; raises FactorNotFoundError."""
        try:
            return self._by_id[factor_id]
        except KeyError:
            raise FactorNotFoundError(f"unknown factor id '{factor_id}'") from None

    def factor_set(self, factor_set: str, version: str | None = None) -> FactorSet:
        """Manifest entry of a set (latest version when ``version`` is None)."""
        candidates = [s for s in self.sets if s.factor_set == factor_set]
        if version is not None:
            candidates = [s for s in candidates if s.version == version]
        if not candidates:
            raise FactorNotFoundError(f"unknown factor set '{factor_set}@{version or '*'}'")
        return max(candidates, key=lambda s: (s.published, _version_key(s.version)))

    def latest_versions(self) -> dict[str, str]:
        """Latest published version of each set."""
        out: dict[str, FactorSet] = {}
        for s in self.sets:
            cur = out.get(s.factor_set)
            if cur is None or (s.published, _version_key(s.version)) > (
                cur.published,
                _version_key(cur.version),
            ):
                out[s.factor_set] = s
        return {k: v.version for k, v in out.items()}

    def items(self, method: str) -> list[str]:
        """Distinct items available for ``method`` (latest versions)."""
        latest = self.latest_versions()
        return sorted(
            {
                f.item
                for f in self.factors
                if f.method == method and latest.get(f.factor_set) == f.version
            }
        )

    def lookup(
        self,
        method: str,
        item: str,
        year: int | None = None,
        *,
        jurisdiction: str | None = None,
        version: str | None = None,
    ) -> FactorMatch:
        """Find the factor for ``(method, item, jurisdiction, year)``.

        Parameters
        ----------
        method : str
            ``fuel_combustion``, ``ipcc2006_fuel_combustion``, ``electricity``, ``heat``,
            ``clinker``, ``carbonate`` or ``gwp``.
        item : str
            Fuel code (``diesel``), grid code (``CN-51``), ``heat``, material (``CaCO3``)
            or gas (``CH4``).
        year : int, optional
            Activity or factor year. Required for year-dependent factors (grids).
        jurisdiction : str, optional
            Restrict to a jurisdiction (``CN``, ``IPCC``) or GWP report (``AR5``).
        version : str, optional
            Pin a set version; default is the latest published version of each set.

        Returns
        -------
        FactorMatch
            With ``fallback`` set when the latest earlier year was used.

        Raises
        ------
        FactorNotFoundError
            If no factor exists for the item, or none for ``year`` or any earlier year.
        """
        latest = self.latest_versions()
        cands = [
            f
            for f in self.factors
            if f.method == method
            and f.item == item
            and (jurisdiction is None or f.jurisdiction == jurisdiction)
            and (f.version == version if version is not None else latest[f.factor_set] == f.version)
        ]
        if not cands:
            known = ", ".join(self.items(method)) or "none"
            where = f" in jurisdiction {jurisdiction}" if jurisdiction else ""
            raise FactorNotFoundError(
                f"no {method} factor for '{item}'{where}; known items: {known}"
            )
        sets = {f.factor_set for f in cands}
        if len(sets) > 1:
            raise FactorNotFoundError(
                f"'{item}' is ambiguous for {method} (sets {', '.join(sorted(sets))}); "
                "give a jurisdiction"
            )
        yearless = [f for f in cands if f.year_from is None]
        if yearless:
            return FactorMatch(yearless[0], year, None)
        if year is None:
            raise FactorNotFoundError(f"a year is required for the {method} factor '{item}'")
        exact = [f for f in cands if f.applies_to(year)]
        if exact:
            return FactorMatch(exact[0], year, None)
        earlier = [f for f in cands if (f.year_to or f.year_from or 0) < year]
        if earlier:
            chosen = max(earlier, key=lambda f: f.year_to or f.year_from or 0)
            note = (
                f"no {item} factor published for {year}; using {chosen.years} "
                f"(latest earlier year) from {chosen.factor_set}@{chosen.version}"
            )
            return FactorMatch(chosen, year, note)
        first = min(f.year_from or 0 for f in cands)
        raise FactorNotFoundError(
            f"no {item} factor for {year} or any earlier year; earliest available is {first}"
        )

    def search(
        self,
        text: str | None = None,
        *,
        method: str | None = None,
        item: str | None = None,
        region: str | None = None,
        year: int | None = None,
        source: str | None = None,
        status: str | None = None,
        factor_set: str | None = None,
        all_versions: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> FactorPage:
        """Browse factors; filters combine with AND, results sorted by ``factor_id``.

        Parameters
        ----------
        text : str, optional
            Case-insensitive substring of id, item, description, Chinese name or source.
        method, item, status, factor_set : str, optional
            Exact matches (``item`` is the fuel code, grid code, material or gas).
        region : str, optional
            Jurisdiction or grid code; a prefix match (``CN-5`` finds ``CN-51``).
        year : int, optional
            Factors applying to that year (year-independent factors included).
        source : str, optional
            Case-insensitive substring of the source.
        all_versions : bool
            Include superseded versions (default: latest version of each set only).
        offset, limit : int
            Pagination window.
        """
        latest = self.latest_versions()
        needle = text.casefold() if text else None
        src = source.casefold() if source else None
        hits: list[Factor] = []
        for f in self.factors:
            if not all_versions and latest.get(f.factor_set) != f.version:
                continue
            if method is not None and f.method != method:
                continue
            if item is not None and f.item != item:
                continue
            if status is not None and f.status != status:
                continue
            if factor_set is not None and f.factor_set != factor_set:
                continue
            if region is not None and not f.jurisdiction.startswith(region):
                continue
            if year is not None and not f.applies_to(year):
                continue
            if src is not None and src not in f.source.casefold():
                continue
            if needle is not None:
                hay = " ".join(
                    (f.factor_id, f.item, f.description, f.name_zh, f.source, f.note)
                ).casefold()
                if needle not in hay:
                    continue
            hits.append(f)
        hits.sort(key=lambda f: f.factor_id)
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must be >= 0")
        return FactorPage(tuple(hits[offset : offset + limit]), len(hits), offset, limit)

    def ranges_for(self, fuel_code: str) -> dict[str, ParameterRange]:
        """Plausibility ranges of a fuel's parameters, keyed by parameter name."""
        return {r.parameter: r for r in self.ranges if r.fuel_code == fuel_code}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def _read(name: str) -> bytes:
    return resources.files(_DATA_PACKAGE).joinpath(name).read_bytes()


def _rows(data: bytes) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(io.StringIO(data.decode("utf-8")))


def _check_row(row: Mapping[str, str], fs: FactorSet, file: str) -> None:
    if row["factor_set"] != fs.factor_set or row["version"] != fs.version:
        raise FactorSetIntegrityError(f"{file}: row of {row['factor_set']}@{row['version']}")
    if row["status"] not in _STATUS_RANK:
        raise FactorSetIntegrityError(f"{file}: unknown status '{row['status']}'")
    if not row["source"].strip():
        raise FactorSetIntegrityError(f"{file}: row without source")


def _fuel_ef_display(ncv: Decimal, cc: Decimal, of: Decimal) -> Decimal:
    """tCO2 per fuel unit = NCV x CC x OF x 44/12 / 1000, rounded to 10 places (display)."""
    exact = Fraction(ncv) * Fraction(cc) * Fraction(of) * 44 / 12 / 1000
    return from_scaled(
        round_half_even(exact.numerator * 10**RESULT_SCALE, exact.denominator), RESULT_SCALE
    )


def _load_fuels(fs: FactorSet, rows: list[dict[str, str]], method: str) -> list[Factor]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row["fuel_code"], []).append(row)
    out: list[Factor] = []
    for code, prows in grouped.items():
        params = tuple(
            FactorParameter(
                name=r["parameter"],
                value=Decimal(r["value"]),
                unit=r["unit"],
                source=r["source"],
                status=r["status"],
                note=r.get("note", ""),
            )
            for r in prows
        )
        by = {p.name: p.value for p in params}
        if method == METHOD_FUEL:
            value = _fuel_ef_display(by["ncv"], by["carbon_content"], by["oxidation_rate"])
            jurisdiction = "CN"
        else:
            exact = (
                Fraction(by["ncv"]) * Fraction(by["co2_ef"]) * Fraction(by["oxidation_rate"])
            ) / 10**6
            value = from_scaled(
                round_half_even(exact.numerator * 10**RESULT_SCALE, exact.denominator),
                RESULT_SCALE,
            )
            jurisdiction = "IPCC"
        first = prows[0]
        per_unit = first["per_unit"]
        out.append(
            Factor(
                factor_id=f"{fs.factor_set}/{code}@{fs.version}",
                factor_set=fs.factor_set,
                version=fs.version,
                method=method,
                item=code,
                jurisdiction=jurisdiction,
                year_from=None,
                year_to=None,
                value=value,
                unit=f"tCO2/{per_unit}",
                per_unit=per_unit,
                source="; ".join(dict.fromkeys(p.source for p in params)),
                status=worst_status(p.status for p in params),
                description=first["name_en"],
                parameters=params,
                note="; ".join(dict.fromkeys(p.note for p in params if p.note)),
                name_zh=first.get("name_zh", ""),
            )
        )
    return out


def _load_grid(fs: FactorSet, rows: list[dict[str, str]]) -> list[Factor]:
    out = []
    for r in rows:
        y0, y1 = int(r["year_from"]), int(r["year_to"])
        years = str(y0) if y0 == y1 else f"{y0}-{y1}"
        out.append(
            Factor(
                factor_id=f"{fs.factor_set}/{r['grid_code']}/{years}@{fs.version}",
                factor_set=fs.factor_set,
                version=fs.version,
                method=METHOD_ELECTRICITY,
                item=r["grid_code"],
                jurisdiction=r["grid_code"],
                year_from=y0,
                year_to=y1,
                value=Decimal(r["value"]),
                unit=r["unit"],
                per_unit="MWh",
                source=r["source"],
                status=r["status"],
                description=f"{r['description']} [{r['scope']}]",
                note=r["note"],
            )
        )
    return out


def _load_simple(fs: FactorSet, rows: list[dict[str, str]], kind: str) -> list[Factor]:
    out = []
    for r in rows:
        item = r["item"] if kind != "gwp" else r["gas"]
        if kind == "heat":
            method, jur, per_unit = METHOD_HEAT, "CN", "GJ"
        elif kind == "gwp":
            method, jur, per_unit = METHOD_GWP, r["report"], "t"
        else:
            method = METHOD_CARBONATE if "CO3" in item else METHOD_CLINKER
            jur, per_unit = "IPCC", "t"
        fid = (
            f"{fs.factor_set}/{r['report']}/{item}@{fs.version}"
            if kind == "gwp"
            else f"{fs.factor_set}/{item}@{fs.version}"
        )
        out.append(
            Factor(
                factor_id=fid,
                factor_set=fs.factor_set,
                version=fs.version,
                method=method,
                item=item,
                jurisdiction=jur,
                year_from=None,
                year_to=None,
                value=Decimal(r["value"]),
                unit=r["unit"],
                per_unit=per_unit,
                source=r["source"],
                status=r["status"],
                description=r.get("description", f"GWP100 {r.get('report', '')} {item}"),
                note=r["note"],
            )
        )
    return out


def _load_ranges(fs: FactorSet, rows: list[dict[str, str]]) -> list[ParameterRange]:
    return [
        ParameterRange(
            fuel_code=r["fuel_code"],
            parameter=r["parameter"],
            low=Decimal(r["low"]),
            high=Decimal(r["high"]),
            unit=r["unit"],
            source=r["source"],
            status=r["status"],
            range_id=f"{fs.factor_set}/{r['fuel_code']}/{r['parameter']}@{fs.version}",
        )
        for r in rows
    ]


def read_manifest() -> tuple[FactorSet, ...]:
    """Parse ``factor_sets.csv`` (no verification)."""
    sets = []
    for r in _rows(_read(_MANIFEST)):
        sets.append(
            FactorSet(
                factor_set=r["factor_set"],
                version=r["version"],
                file=r["file"],
                title=r["title"],
                published=date.fromisoformat(r["published"]),
                sha256=r["sha256"],
                status=r["status"],
                source=r["source"],
                supersedes=r.get("supersedes", ""),
            )
        )
    return tuple(sets)


@lru_cache(maxsize=1)
def load_library() -> FactorLibrary:
    """Load and verify every published factor set (cached; the result is immutable).

    Raises
    ------
    FactorSetIntegrityError
        If a file's content hash differs from the manifest, or a row is malformed.
    """
    sets = read_manifest()
    factors: list[Factor] = []
    ranges: list[ParameterRange] = []
    seen: set[tuple[str, str]] = set()
    for fs in sets:
        if (fs.factor_set, fs.version) in seen:
            raise FactorSetIntegrityError(f"{fs.set_id} listed twice in the manifest")
        seen.add((fs.factor_set, fs.version))
        data = _read(fs.file)
        digest = content_sha256(data)
        if digest != fs.sha256:
            raise FactorSetIntegrityError(
                f"published factor set {fs.set_id} ({fs.file}) was modified: sha256 "
                f"{digest} != manifest {fs.sha256}; publish a new version instead"
            )
        rows = list(_rows(data))
        for row in rows:
            _check_row(row, fs, fs.file)
        kind = fs.factor_set
        if kind.endswith("-fuel") and kind.startswith("cn"):
            factors += _load_fuels(fs, rows, METHOD_FUEL)
        elif kind.startswith("ipcc2006-fuel"):
            factors += _load_fuels(fs, rows, METHOD_IPCC_FUEL)
        elif "grid" in kind:
            factors += _load_grid(fs, rows)
        elif "heat" in kind:
            factors += _load_simple(fs, rows, "heat")
        elif "process" in kind:
            factors += _load_simple(fs, rows, "process")
        elif "gwp" in kind:
            factors += _load_simple(fs, rows, "gwp")
        elif "ranges" in kind:
            ranges += _load_ranges(fs, rows)
        else:
            raise FactorSetIntegrityError(f"no loader for factor set {fs.set_id}")
    return FactorLibrary(sets=sets, factors=tuple(factors), ranges=tuple(ranges))


def lookup(
    method: str,
    item: str,
    year: int | None = None,
    *,
    jurisdiction: str | None = None,
    version: str | None = None,
) -> FactorMatch:
    """Module-level shortcut for :meth:`FactorLibrary.lookup` on the shipped library."""
    return load_library().lookup(method, item, year, jurisdiction=jurisdiction, version=version)


def search(
    text: str | None = None,
    *,
    method: str | None = None,
    item: str | None = None,
    region: str | None = None,
    year: int | None = None,
    source: str | None = None,
    status: str | None = None,
    factor_set: str | None = None,
    all_versions: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> FactorPage:
    """Module-level shortcut for :meth:`FactorLibrary.search` on the shipped library."""
    return load_library().search(
        text,
        method=method,
        item=item,
        region=region,
        year=year,
        source=source,
        status=status,
        factor_set=factor_set,
        all_versions=all_versions,
        offset=offset,
        limit=limit,
    )
