"""Typed loader of the registry's reference data: instrument classes, markets, currencies
and allocation benchmarks (``registry/data/``).

Every market rule is a :class:`Fact` carrying its ``status`` (confirmed / recall / estimate /
planned) and ``source``, so a report that applies a rule can show how sure we are of it.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from greencircle.registry.errors import UnknownMarket, WrongMarket

DATA_DIR = Path(__file__).parent / "data"
STATUSES = frozenset({"confirmed", "recall", "estimate", "planned"})

T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A value from reference data with its confidence ``status`` and ``source``."""

    value: T
    status: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (Decimals and tuples rendered as strings and lists)."""
        return {"value": _jsonable(self.value), "status": self.status, "source": self.source}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


@dataclass(frozen=True)
class InstrumentClass:
    """A kind of unit the registry holds, with its unit and integer scale."""

    code: str
    name_en: str
    name_zh: str
    unit: str
    scale: int
    requires: tuple[str, ...]
    pollutants: tuple[str, ...]
    status: str
    source: str


@dataclass(frozen=True)
class Product:
    """A product listed on a market (e.g. ``CEA`` of class ``allowance``)."""

    code: str
    class_code: str
    status: str
    source: str


@dataclass(frozen=True)
class VintageRule:
    """Allowance of vintage ``V`` is eligible for year ``Y`` iff ``Y+min <= V <= Y+max``."""

    min_offset: int
    max_offset: int

    def eligible(self, vintage: int, year: int) -> bool:
        """Whether ``vintage`` may be surrendered for compliance ``year``."""
        return year + self.min_offset <= vintage <= year + self.max_offset


@dataclass(frozen=True)
class Deadline:
    """The surrender deadline of compliance year ``Y``: ``(Y+year_offset)-month-day``."""

    year_offset: int
    month: int
    day: int

    def for_year(self, year: int, tz: ZoneInfo) -> datetime:
        """End of the deadline day (23:59:59.999999 local) as an aware UTC datetime."""
        local = datetime(year + self.year_offset, self.month, self.day, 23, 59, 59, 999999, tz)
        return local.astimezone(UTC)


@dataclass(frozen=True)
class PenaltyRule:
    """How a shortfall is penalised.

    ``multiple_of_average_price``: fine between ``multiple_min`` and ``multiple_max`` times
    the average price over the ``window_months`` calendar months before the deadline month,
    per unit of shortfall. ``fixed_range``: a fine between ``min_major`` and ``max_major``
    in the market currency. ``none``: no fine. ``next_year_deduction``: the shortfall is
    deducted from next year's allocation.
    """

    kind: str
    multiple_min: Decimal | None = None
    multiple_max: Decimal | None = None
    window_months: int = 0
    min_major: Decimal | None = None
    max_major: Decimal | None = None
    next_year_deduction: bool = False


@dataclass(frozen=True)
class Market:
    """One market: its products, participants, compliance calendar and rules."""

    code: str
    name_en: str
    name_zh: str
    timezone: str
    authority_jurisdiction: str
    compliance_enabled: bool
    currency: Fact[str]
    eligible_jurisdictions: Fact[tuple[str, ...]]
    eligible_org_types: Fact[tuple[str, ...]]
    offset_cap_pct: Fact[Decimal]
    offset_products: Fact[tuple[str, ...]]
    four_eyes_threshold: Fact[int]
    vintage_rule: Fact[VintageRule]
    deadline: Fact[Deadline]
    penalty: Fact[PenaltyRule]
    penalty_alternative: Fact[PenaltyRule] | None
    products: dict[str, Product] = field(default_factory=dict)
    extra: dict[str, Fact[Any]] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        """The market's time zone."""
        return ZoneInfo(self.timezone)

    def product(self, code: str) -> Product:
        """The product ``code`` of this market, or :class:`WrongMarket`."""
        try:
            return self.products[code]
        except KeyError:
            raise WrongMarket(
                f"product {code!r} is not listed on market {self.code} "
                f"(listed: {sorted(self.products)})"
            ) from None

    def admits_path(self, jurisdiction_path: str) -> bool:
        """Whether an organisation at ``jurisdiction_path`` may hold accounts here."""
        return any(f"/{code}/" in jurisdiction_path for code in self.eligible_jurisdictions.value)

    def facts(self) -> dict[str, Fact[Any]]:
        """Every rule of the market by name (for display with statuses)."""
        out: dict[str, Fact[Any]] = {
            "currency": self.currency,
            "eligible_jurisdictions": self.eligible_jurisdictions,
            "eligible_org_types": self.eligible_org_types,
            "offset_cap_pct": self.offset_cap_pct,
            "offset_products": self.offset_products,
            "four_eyes_threshold": self.four_eyes_threshold,
            "vintage_rule": self.vintage_rule,
            "deadline": self.deadline,
            "penalty": self.penalty,
        }
        if self.penalty_alternative is not None:
            out["penalty_alternative"] = self.penalty_alternative
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Currency:
    """A currency and the scale of its minor unit (CNY: 2, fen)."""

    code: str
    scale: int
    name_en: str
    name_zh: str
    status: str
    source: str


@dataclass(frozen=True)
class Benchmark:
    """An allocation benchmark [tCO2 per unit of output] with its status."""

    market: str
    sector: str
    key: str
    year: int
    value: Decimal
    output_unit: str
    status: str
    source: str


@dataclass(frozen=True)
class Coverage:
    """Which organisations a compliance market covers (``data/coverage.toml``).

    ``threshold_tco2e`` is compared with the year's verified emissions [tCO2e]; an
    organisation without verified emissions matches on sector, jurisdiction and year alone
    (covered pending verification).
    """

    market: str
    sectors: Fact[tuple[str, ...]]
    threshold_tco2e: Fact[Decimal]
    jurisdictions: Fact[tuple[str, ...]]
    from_year: Fact[int]

    def matches(
        self, sector: str | None, jurisdiction_path: str, year: int, emissions: Decimal | None
    ) -> bool:
        """Whether an organisation of ``sector`` at ``jurisdiction_path`` is covered in
        ``year`` given its verified ``emissions`` [tCO2e] (``None``: not verified)."""
        if sector is None or sector not in self.sectors.value or year < self.from_year.value:
            return False
        if not any(f"/{code}/" in jurisdiction_path for code in self.jurisdictions.value):
            return False
        return emissions is None or emissions >= self.threshold_tco2e.value

    def facts(self) -> dict[str, Fact[Any]]:
        """Every coverage rule by name (for display with statuses)."""
        return {
            "sectors": self.sectors,
            "threshold_tco2e": self.threshold_tco2e,
            "jurisdictions": self.jurisdictions,
            "from_year": self.from_year,
        }


@dataclass(frozen=True)
class Catalog:
    """All registry reference data."""

    version: str
    markets: dict[str, Market]
    classes: dict[str, InstrumentClass]
    currencies: dict[str, Currency]
    benchmarks: dict[tuple[str, str, str, int], Benchmark]
    coverage: dict[str, Coverage] = field(default_factory=dict)
    precedence: tuple[str, ...] = ()

    def covering_market(
        self, sector: str | None, jurisdiction_path: str, year: int, emissions: Decimal | None
    ) -> str | None:
        """The one market covering an organisation in ``year`` (``None``: not covered).

        Markets are tried in ``precedence`` order (national before the pilots), so an
        installation's emissions create at most one obligation.
        """
        for code in self.precedence:
            cov = self.coverage.get(code)
            if cov is not None and cov.matches(sector, jurisdiction_path, year, emissions):
                return code
        return None

    def market(self, code: str) -> Market:
        """The market ``code`` or :class:`UnknownMarket`."""
        try:
            return self.markets[code]
        except KeyError:
            raise UnknownMarket(f"unknown market {code!r}; known: {sorted(self.markets)}") from None

    def unit_of(self, class_code: str, product: str) -> str:
        """The unit of an instrument: its class's (``instruments.toml``, the one source of
        units), or for cash (class ``cash``, product = currency) the currency code."""
        return product if class_code == "cash" else self.classes[class_code].unit

    def instrument_class(self, code: str) -> InstrumentClass:
        """The instrument class ``code``."""
        return self.classes[code]

    def currency(self, code: str) -> Currency:
        """The currency ``code`` (``unknown_currency`` if absent)."""
        from greencircle.errors import Invalid

        try:
            return self.currencies[code]
        except KeyError:
            raise Invalid(f"unknown currency {code!r}", code="unknown_currency") from None

    def benchmark(self, market: str, sector: str, key: str, year: int) -> Benchmark:
        """The benchmark for ``(market, sector, key, year)`` (``unknown_benchmark``)."""
        from greencircle.errors import Invalid

        try:
            return self.benchmarks[(market, sector, key, year)]
        except KeyError:
            raise Invalid(
                f"no allocation benchmark for {market}/{sector}/{key}/{year}",
                code="unknown_benchmark",
            ) from None


def _status(value: str, where: str) -> str:
    if value not in STATUSES:
        raise ValueError(f"{where}: status {value!r} not in {sorted(STATUSES)}")
    return value


def _fact(raw: dict[str, Any], name: str, where: str, convert: Any = lambda v: v) -> Fact[Any]:
    item = raw[name]
    if not isinstance(item, dict) or "value" not in item or "source" not in item:
        raise ValueError(f"{where}.{name}: expected {{value, status, source}}")
    return Fact(convert(item["value"]), _status(item["status"], f"{where}.{name}"), item["source"])


def _penalty(value: dict[str, Any]) -> PenaltyRule:
    def dec(key: str) -> Decimal | None:
        return Decimal(value[key]) if key in value else None

    kind = str(value["kind"])
    if kind not in {"multiple_of_average_price", "fixed_range", "none"}:
        raise ValueError(f"unknown penalty kind {kind!r}")
    return PenaltyRule(
        kind=kind,
        multiple_min=dec("multiple_min"),
        multiple_max=dec("multiple_max"),
        window_months=int(value.get("window_months", 0)),
        min_major=dec("min_major"),
        max_major=dec("max_major"),
        next_year_deduction=bool(value.get("next_year_deduction", False)),
    )


_KNOWN_KEYS = {
    "name_en",
    "name_zh",
    "timezone",
    "authority_jurisdiction",
    "compliance_enabled",
    "currency",
    "eligible_jurisdictions",
    "eligible_org_types",
    "offset_cap_pct",
    "offset_products",
    "four_eyes_threshold",
    "vintage_rule",
    "deadline",
    "penalty",
    "penalty_alternative",
    "products",
}


def _market(code: str, raw: dict[str, Any], classes: dict[str, InstrumentClass]) -> Market:
    where = f"markets.{code}"
    products: dict[str, Product] = {}
    for p in raw.get("products", []):
        if p["class"] not in classes:
            raise ValueError(f"{where}: product {p['code']} has unknown class {p['class']!r}")
        products[p["code"]] = Product(
            p["code"], p["class"], _status(p["status"], where), p["source"]
        )
    offset_products = _fact(raw, "offset_products", where, lambda v: tuple(v))
    for p in offset_products.value:
        if p not in products or products[p].class_code != "offset":
            raise ValueError(f"{where}: offset product {p!r} is not an offset listed here")
    alt = raw.get("penalty_alternative")
    extra = {
        k: _fact(raw, k, where) for k in raw if k not in _KNOWN_KEYS and isinstance(raw[k], dict)
    }
    return Market(
        code=code,
        name_en=raw["name_en"],
        name_zh=raw["name_zh"],
        timezone=raw["timezone"],
        authority_jurisdiction=raw["authority_jurisdiction"],
        compliance_enabled=bool(raw["compliance_enabled"]),
        currency=_fact(raw, "currency", where, str),
        eligible_jurisdictions=_fact(raw, "eligible_jurisdictions", where, lambda v: tuple(v)),
        eligible_org_types=_fact(raw, "eligible_org_types", where, lambda v: tuple(v)),
        offset_cap_pct=_fact(raw, "offset_cap_pct", where, lambda v: Decimal(str(v))),
        offset_products=offset_products,
        four_eyes_threshold=_fact(raw, "four_eyes_threshold", where, int),
        vintage_rule=_fact(raw, "vintage_rule", where, lambda v: VintageRule(**v)),
        deadline=_fact(raw, "deadline", where, lambda v: Deadline(**v)),
        penalty=_fact(raw, "penalty", where, _penalty),
        penalty_alternative=(
            _fact(raw, "penalty_alternative", where, _penalty) if alt is not None else None
        ),
        products=products,
        extra=extra,
    )


def load_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    """Read and validate every registry data file under ``data_dir``."""
    with (data_dir / "instruments.toml").open("rb") as fh:
        raw_classes = tomllib.load(fh)["classes"]
    classes = {
        code: InstrumentClass(
            code=code,
            name_en=c["name_en"],
            name_zh=c["name_zh"],
            unit=c["unit"],
            scale=int(c["scale"]),
            requires=tuple(c.get("requires", ())),
            pollutants=tuple(c.get("pollutants", ())),
            status=_status(c["status"], f"classes.{code}"),
            source=c["source"],
        )
        for code, c in raw_classes.items()
    }
    with (data_dir / "markets.toml").open("rb") as fh:
        raw_markets = tomllib.load(fh)
    markets = {code: _market(code, m, classes) for code, m in raw_markets["markets"].items()}
    with (data_dir / "currencies.csv").open(newline="", encoding="utf-8") as fh:
        currencies = {
            r["currency"]: Currency(
                r["currency"],
                int(r["scale"]),
                r["name_en"],
                r["name_zh"],
                _status(r["status"], "currencies.csv"),
                r["source"],
            )
            for r in csv.DictReader(fh)
        }
    for m in markets.values():
        if m.currency.value not in currencies:
            raise ValueError(f"market {m.code}: unknown currency {m.currency.value}")
    benchmarks: dict[tuple[str, str, str, int], Benchmark] = {}
    with (data_dir / "benchmarks.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            b = Benchmark(
                r["market"],
                r["sector"],
                r["key"],
                int(r["year"]),
                Decimal(r["benchmark_tco2_per_unit"]),
                r["output_unit"],
                _status(r["status"], "benchmarks.csv"),
                r["source"],
            )
            benchmarks[(b.market, b.sector, b.key, b.year)] = b
    coverage, precedence = _coverage(data_dir, markets)
    return Catalog(
        str(raw_markets.get("version", "")),
        markets,
        classes,
        currencies,
        benchmarks,
        coverage,
        precedence,
    )


def _coverage(
    data_dir: Path, markets: dict[str, Market]
) -> tuple[dict[str, Coverage], tuple[str, ...]]:
    with (data_dir / "coverage.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    precedence = tuple(raw["precedence"])
    out: dict[str, Coverage] = {}
    for code, r in raw["markets"].items():
        where = f"coverage.{code}"
        if code not in markets or not markets[code].compliance_enabled:
            raise ValueError(f"{where}: not a compliance market")
        if code not in precedence:
            raise ValueError(f"{where}: missing from precedence")
        out[code] = Coverage(
            market=code,
            sectors=_fact(r, "sectors", where, lambda v: tuple(v)),
            threshold_tco2e=_fact(r, "threshold_tco2e", where, lambda v: Decimal(str(v))),
            jurisdictions=_fact(r, "jurisdictions", where, lambda v: tuple(v)),
            from_year=_fact(r, "from_year", where, int),
        )
    missing = {m.code for m in markets.values() if m.compliance_enabled} - set(out)
    if missing:
        raise ValueError(f"coverage.toml: no coverage for compliance markets {sorted(missing)}")
    return out, precedence


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The packaged catalog (loaded once)."""
    return load_catalog()
