"""Intake quality: plausibility findings on computed activity data (never silent fixes).

Each check is a pure function over the engine's results table (Arrow) or plain mappings
and returns :class:`Finding` records; nothing is changed or dropped. Checks run as DuckDB
queries, so they scale with the batch.

Codes
-----
``MRV-Q001``  measured NCV outside the plausible range of the fuel
``MRV-Q002``  measured carbon content outside the plausible range of the fuel
``MRV-Q003``  measured oxidation rate outside the plausible range of the fuel
``MRV-Q010``  month-on-month jump of activity above the threshold
``MRV-Q020``  missing month in a facility's series
``MRV-Q030``  emission intensity outside the sector's distribution
``MRV-Q040``  factor used is not ``confirmed`` (recall / proxy / estimate)
``MRV-Q041``  an earlier year's factor was used (fallback)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb
import pyarrow as pa

from greencircle.mrv.factors import FactorLibrary, load_library

__all__ = [
    "Finding",
    "SectorDistribution",
    "check_factor_use",
    "check_fuel_parameters",
    "check_intensity",
    "check_missing_months",
    "check_month_on_month",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """A plausibility finding.

    Attributes
    ----------
    code : str
        Stable code (``MRV-Q0xx``).
    severity : {'info', 'warning', 'error'}
        How strongly the value should be reviewed (nothing is rejected by a finding).
    message : str
        Human-readable explanation with the values involved.
    line : int or None
        Line in the activity file, when the finding is about one record.
    record_id, facility_id, column : str
        Context ('' when not applicable).
    key : str
        Message key (``mrv.finding.text.<key>`` in the console catalogs); the code when
        empty.
    params : dict of str to str
        Values of the message's placeholders (numbers as exact decimal text, codes as
        codes), so that a screen can translate and format them.
    """

    code: str
    severity: str
    message: str
    line: int | None = None
    record_id: str = ""
    facility_id: str = ""
    column: str = ""
    key: str = ""
    params: dict[str, str] = field(default_factory=dict)


def _dec(value: Decimal | float | int) -> str:
    return f"{Decimal(value).normalize():f}"


def _plain(table: pa.Table) -> pa.Table:
    """Decode dictionary-encoded columns (engine output) to plain values."""
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def _con(results: pa.Table) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.register("r", _plain(results))
    return con


def check_fuel_parameters(
    results: pa.Table, *, library: FactorLibrary | None = None
) -> list[Finding]:
    """Measured NCV, carbon content and oxidation rate against per-fuel ranges.

    Ranges are data (``fuel-ranges`` factor set, with source and status); a value outside
    is a finding, not a rejection. Only measured values are checked (defaults are the
    reference themselves).
    """
    lib = library or load_library()
    ranges = pa.table(
        {
            "fuel_code": [r.fuel_code for r in lib.ranges],
            "parameter": [r.parameter for r in lib.ranges],
            "low": pa.array([r.low for r in lib.ranges], pa.decimal128(38, 10)),
            "high": pa.array([r.high for r in lib.ranges], pa.decimal128(38, 10)),
            "unit": [r.unit for r in lib.ranges],
            "range_id": [r.range_id for r in lib.ranges],
            "status": [r.status for r in lib.ranges],
        }
    )
    con = _con(results)
    con.register("ranges", ranges)
    specs = (
        ("ncv", "ncv_gj_per_unit", "MRV-Q001", "NCV"),
        ("carbon_content", "carbon_content_tc_per_tj", "MRV-Q002", "carbon content"),
        ("oxidation_rate", "oxidation_rate", "MRV-Q003", "oxidation rate"),
    )
    findings: list[Finding] = []
    for param, column, code, label in specs:
        rows = con.execute(
            f"""SELECT r.line, r.record_id, r.facility_id, r.item, r.{column}, g.low, g.high,
                       g.unit, g.range_id, g.status
                FROM r JOIN ranges g ON g.fuel_code = r.item AND g.parameter = ?
                WHERE r.category = 'fuel' AND contains(r.measured, ?)
                  AND (r.{column} < g.low OR r.{column} > g.high)
                ORDER BY r.line""",
            [param, param],
        ).fetchall()
        for line, rid, fac, item, value, low, high, unit, range_id, status in rows:
            findings.append(
                Finding(
                    code=code,
                    severity="warning",
                    message=(
                        f"measured {label} {Decimal(value).normalize():f} {unit} of {item} is "
                        f"outside the plausible range {low.normalize():f}-{high.normalize():f} "
                        f"({range_id}, status {status})"
                    ),
                    line=int(line),
                    record_id=str(rid),
                    facility_id=str(fac),
                    column=column,
                    params={
                        "value": _dec(value),
                        "unit": str(unit),
                        "item": str(item),
                        "low": _dec(low),
                        "high": _dec(high),
                        "range_id": str(range_id),
                        "status": str(status),
                    },
                )
            )
    con.close()
    return findings


def check_month_on_month(
    results: pa.Table, *, threshold: Decimal = Decimal("0.5"), min_activity: Decimal = Decimal(0)
) -> list[Finding]:
    """Month-on-month relative change of monthly activity per facility and stream.

    Parameters
    ----------
    results : pyarrow.Table
        Engine results (``facility_id``, ``category``, ``item``, ``direction``, ``period``,
        ``activity``).
    threshold : Decimal
        Relative change |x_t / x_{t-1} - 1| above which a finding is raised (0.5 = 50 %).
    min_activity : Decimal
        Ignore pairs where both months are below this activity (noise floor).

    Notes
    -----
    Compares consecutive calendar months only; a gap is reported by
    :func:`check_missing_months` instead.
    """
    con = _con(results)
    rows = con.execute(
        """
        WITH m AS (
            SELECT facility_id, category, item, direction, period,
                   sum(activity) AS activity, min(activity_unit) AS unit
            FROM r GROUP BY ALL
        ), l AS (
            SELECT *, lag(activity) OVER w AS prev, lag(period) OVER w AS prev_period
            FROM m WINDOW w AS (PARTITION BY facility_id, category, item, direction
                                ORDER BY period)
        )
        SELECT facility_id, category, item, direction, period, prev_period, prev, activity, unit
        FROM l
        WHERE prev IS NOT NULL
          AND strftime(CAST(prev_period || '-01' AS DATE) + INTERVAL 1 MONTH, '%Y-%m') = period
          AND greatest(prev, activity) > ?
          AND (prev = 0 OR abs(activity / prev - 1) > ?)
        ORDER BY facility_id, category, item, direction, period
        """,
        [min_activity, threshold],
    ).fetchall()
    con.close()
    out = []
    for fac, cat, item, direction, period, prev_period, prev, act, unit in rows:
        change = "from zero" if prev == 0 else f"{(act / prev - 1) * 100:+.0f} %"
        out.append(
            Finding(
                code="MRV-Q010",
                severity="warning",
                message=(
                    f"{cat} {item} ({direction}) {period}: {act.normalize():f} {unit} vs "
                    f"{prev.normalize():f} {unit} in {prev_period} ({change})"
                ),
                facility_id=str(fac),
                column="quantity",
                key="MRV-Q010-zero" if prev == 0 else "MRV-Q010",
                params={
                    "category": str(cat),
                    "item": str(item),
                    "direction": str(direction),
                    "period": str(period),
                    "value": _dec(act),
                    "unit": str(unit),
                    "previous": _dec(prev),
                    "previous_period": str(prev_period),
                    "change_pct": "" if prev == 0 else f"{(act / prev - 1) * 100:+.0f}",
                },
            )
        )
    return out


def check_missing_months(
    results: pa.Table, *, start: str | None = None, end: str | None = None
) -> list[Finding]:
    """Months without any record, per facility and stream, between ``start`` and ``end``.

    Parameters
    ----------
    start, end : str, optional
        ``YYYY-MM`` bounds; default the first and last month of each series.
    """
    con = _con(results)
    rows = con.execute(
        """
        WITH s AS (
            SELECT facility_id, category, item,
                   CAST(coalesce(?, min(period)) || '-01' AS DATE) AS first_m,
                   CAST(coalesce(?, max(period)) || '-01' AS DATE) AS last_m
            FROM r GROUP BY ALL
        ), g AS (
            SELECT facility_id, category, item,
                   strftime(unnest(generate_series(first_m, last_m, INTERVAL 1 MONTH)),
                            '%Y-%m') AS period
            FROM s
        )
        SELECT g.facility_id, g.category, g.item, g.period FROM g
        ANTI JOIN (SELECT DISTINCT facility_id, category, item, period FROM r) p
          ON p.facility_id = g.facility_id AND p.category = g.category
         AND p.item = g.item AND p.period = g.period
        ORDER BY 1, 2, 3, 4
        """,
        [start, end],
    ).fetchall()
    con.close()
    return [
        Finding(
            code="MRV-Q020",
            severity="warning",
            message=f"no {cat} {item} record for {period}",
            facility_id=str(fac),
            column="period",
            params={"category": str(cat), "item": str(item), "period": str(period)},
        )
        for fac, cat, item, period in rows
    ]


@dataclass(frozen=True, slots=True)
class SectorDistribution:
    """Distribution of emission intensity in a sector (input data, with its source).

    Attributes
    ----------
    sector : str
        Sector code or name.
    unit : str
        Intensity unit, e.g. ``tCO2/t clinker``.
    p05, p95 : Decimal
        5th and 95th percentiles of the sector's intensity.
    source : str
        Where the distribution comes from.
    peers, year : int
        Facilities and year of the platform peers it was computed from (0 when given
        from elsewhere).
    """

    sector: str
    unit: str
    p05: Decimal
    p95: Decimal
    source: str
    peers: int = 0
    year: int = 0


def check_intensity(
    emissions_tco2: Mapping[str, Decimal],
    output: Mapping[str, Decimal],
    distribution: SectorDistribution,
) -> list[Finding]:
    """Facility emission intensity (emissions / output) against a sector distribution.

    Parameters
    ----------
    emissions_tco2 : mapping
        Facility id -> emissions of the period [tCO2].
    output : mapping
        Facility id -> production of the period in the distribution's output unit.
    distribution : SectorDistribution
        Percentiles to compare with; outside [p05, p95] is a warning, outside
        [p05 / 2, 2 x p95] an error-level finding.
    """
    out = []
    for fac in sorted(emissions_tco2):
        if fac not in output:
            out.append(
                Finding(
                    "MRV-Q030",
                    "warning",
                    "no production output to compute intensity",
                    facility_id=fac,
                    key="MRV-Q030-no-output",
                )
            )
            continue
        prod = output[fac]
        if prod <= 0:
            out.append(
                Finding(
                    "MRV-Q030",
                    "warning",
                    f"production output {prod} is not positive",
                    facility_id=fac,
                    key="MRV-Q030-not-positive",
                    params={"value": _dec(prod)},
                )
            )
            continue
        intensity = emissions_tco2[fac] / prod
        if distribution.p05 <= intensity <= distribution.p95:
            continue
        severe = intensity < distribution.p05 / 2 or intensity > distribution.p95 * 2
        out.append(
            Finding(
                code="MRV-Q030",
                severity="error" if severe else "warning",
                message=(
                    f"intensity {intensity:.4f} {distribution.unit} outside the "
                    f"{distribution.sector} range p05-p95 {distribution.p05}-{distribution.p95} "
                    f"({distribution.source})"
                ),
                facility_id=fac,
                params={
                    "intensity": f"{intensity:.4f}",
                    "sector": distribution.sector,
                    "p05": _dec(distribution.p05),
                    "p95": _dec(distribution.p95),
                    "peers": str(distribution.peers),
                    "year": str(distribution.year),
                },
            )
        )
    return out


def check_factor_use(results: pa.Table) -> list[Finding]:
    """Factors used that are not ``confirmed``, and year fallbacks (one finding per factor)."""
    con = _con(results)
    status_rows = con.execute(
        """SELECT factor_ids, factor_status, count(*), min(line) FROM r
           WHERE factor_status NOT IN ('confirmed', 'measured') GROUP BY 1, 2 ORDER BY 1, 2"""
    ).fetchall()
    fallback_rows = con.execute(
        """SELECT factor_ids, fallback, count(*), min(line) FROM r
           WHERE fallback <> '' GROUP BY 1, 2 ORDER BY 1, 2"""
    ).fetchall()
    con.close()
    out = [
        Finding(
            code="MRV-Q040",
            severity="info",
            message=f"{n} record(s) use {fid} whose value status is '{status}'",
            line=int(first),
            column="factor_ids",
            params={"n": str(n), "factor_id": str(fid), "status": str(status)},
        )
        for fid, status, n, first in status_rows
    ]
    out += [
        Finding(
            code="MRV-Q041",
            severity="info",
            message=f"{n} record(s): {note}",
            line=int(first),
            column="factor_year",
            params={"n": str(n), "factor_id": str(fid), **_fallback_params(str(note))},
        )
        for fid, note, n, first in fallback_rows
    ]
    return out


_FALLBACK = re.compile(
    r"no (?P<item>\S+) factor published for (?P<year>\d{4}); using (?P<used>\S+)"
)


def _fallback_params(note: str) -> dict[str, str]:
    """Item, requested year and year used, from a factor lookup's fallback note."""
    m = _FALLBACK.match(note)
    if m is None:
        return {"item": "", "year": "", "used": ""}
    return {k: str(v) for k, v in m.groupdict().items()}
