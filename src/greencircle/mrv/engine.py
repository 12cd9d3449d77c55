"""Relational batch engine: validate, join factors and compute emissions in DuckDB.

A batch is a handful of SQL statements over Arrow/Parquet; there is no Python loop per
row. Python only resolves the *distinct* combinations of the low-cardinality columns
(category, item, period, factor_year, unit, direction, ncv_unit) - validating them and
looking up factors and unit ratios with the very functions the Decimal path uses
(:mod:`greencircle.mrv.factors`, :mod:`greencircle.mrv.units`) - into a small key table
that is joined in. Row-level checks (ids, duplicates, numbers) run in SQL.

Arithmetic is exact integer arithmetic with the rounding rule of :mod:`greencircle.mrv.calc`
(one half-even rounding of the exact product to 10 decimals; measured NCV to 10 and fuel
carbon per unit to 12 decimals). For each key the exact rational constant
``K = ratio x factor x 44/12 x 10^10 / 10^s`` is precomputed, so a row costs one 64-bit
multiply and one rounded 64-bit division; rows that could overflow 64 bits, or that carry
measured fuel parameters, take an exact 128-bit path. Both paths compute the same exact
rational, so results are identical to :func:`greencircle.mrv.calc.calculate_activity` and
independent of row order and thread count.

Bounds (rows beyond them are rejected, never wrapped): quantity below 10^9 in the factor's
unit, ``quantity x ratio numerator`` below 10^13, measured NCV below 10^4 GJ per unit,
carbon content at most 100 tC/TJ, carbon per fuel unit below 100 tC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from greencircle.mrv._exact import (
    ACTIVITY_SCALE,
    FACTOR_SCALE,
    INPUT_SCALE,
    RESULT_SCALE,
    to_scaled,
)
from greencircle.mrv.calc import (
    ENGINE_VERSION,
    MAX_ACTIVITY,
    MAX_QUANTITY_X_RATIO,
    method_id,
)
from greencircle.mrv.errors import FactorNotFoundError, UnitError
from greencircle.mrv.factors import (
    METHOD_ELECTRICITY,
    METHOD_FUEL,
    METHOD_HEAT,
    STATUSES,
    FactorLibrary,
    load_library,
    worst_status,
)
from greencircle.mrv.ingest import COLUMNS, REQUIRED_COLUMNS, RowError, duplicate_reason
from greencircle.mrv.units import Ratio, activity_ratio, ncv_ratio
from greencircle.mrv.vocabulary import (
    ACTIVITY_CATEGORIES,
    OUTPUT_CATEGORY,
    future_period_reason,
)
from greencircle.mrv.vocabulary import latest_period as current_period

__all__ = ["ERROR_SCHEMA", "RESULT_COLUMNS", "BatchResult", "Engine", "calculate_batch"]

CATEGORIES = ACTIVITY_CATEGORIES
PERIOD_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
YEAR_RE = re.compile(r"[0-9]{4}")

RESULT_COLUMNS = (
    "record_id",
    "emissions_tco2",
    "method",
    "factor_ids",
    "line",
    "facility_id",
    "period",
    "category",
    "item",
    "direction",
    "quantity",
    "unit",
    "activity",
    "activity_unit",
    "factor_year",
    "factor_status",
    "fallback",
    "measured",
    "ncv_gj_per_unit",
    "carbon_content_tc_per_tj",
    "oxidation_rate",
    "factor_value",
    "engine_version",
)
"""Columns of the results table (and RESULTS.csv), in order."""

ERROR_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("record_id", pa.string()),
        ("column", pa.string()),
        ("reason", pa.string()),
    ]
)

_SEP = "\x1f"
_I64_MAX = 2**63 - 1
_DEC10 = pa.decimal128(38, 10)

_MACROS = r"""
CREATE OR REPLACE MACRO gc_rhe(n, d) AS
    (n // d) + CASE WHEN 2 * (n % d) > d OR (2 * (n % d) = d AND (n // d) % 2 = 1)
                    THEN 1 ELSE 0 END;
CREATE OR REPLACE MACRO gc_scaled(x, p) AS
    CAST(trunc(x) AS BIGINT) * p + CAST((x - trunc(x)) * p AS BIGINT);
CREATE OR REPLACE MACRO gc_scaled4(x) AS
    CASE WHEN x < 10000000000 AND x > -10000000000 THEN CAST(x * 10000 AS BIGINT)
         ELSE gc_scaled(x, 10000) END;
CREATE OR REPLACE MACRO gc_dp(s) AS CASE WHEN strpos(s, '.') > 0
    THEN length(rtrim(s)) - strpos(s, '.') ELSE 0 END;
CREATE OR REPLACE MACRO gc_nonplain(s) AS
    strpos(s, 'e') > 0 OR strpos(s, 'E') > 0 OR strpos(s, '_') > 0;
CREATE OR REPLACE MACRO gc_blank(s) AS s IS NULL OR (ascii(s) <= 32 AND trim(s) = '');
CREATE OR REPLACE MACRO gc_plain(s) AS
    regexp_full_match(trim(s), '[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)');
"""


@dataclass(frozen=True)
class BatchResult:
    """Accepted results and rejected rows of one batch.

    Attributes
    ----------
    results : pyarrow.Table
        One row per accepted record, columns :data:`RESULT_COLUMNS`; ``emissions_tco2``
        and ``activity`` are exact ``decimal128(38, 10)``. Columns that are constant per
        (category, item, period, unit, ...) key - method, factor ids, statuses, fallback
        notes, default parameters - are dictionary-encoded over the key table (decode with
        ``.cast(value_type)`` if needed). ``quantity`` is as given (text, or the typed
        decimal of a Parquet input). Sorted by ``line`` when run with ``ordered=True``;
        otherwise in no guaranteed order (use ``line``).
    errors : pyarrow.Table
        One row per rejected record (:data:`ERROR_SCHEMA`), sorted by line.
    """

    results: pa.Table
    errors: pa.Table

    def error_rows(self) -> list[RowError]:
        """Errors as RowError records."""
        return [
            RowError(int(r["line"]), r["record_id"] or "", r["column"] or "", r["reason"])
            for r in self.errors.to_pylist()
        ]

    def total_emissions_tco2(self) -> Decimal:
        """Exact sum of ``emissions_tco2`` over accepted rows [tCO2]."""
        zero = Decimal(0).scaleb(-RESULT_SCALE)
        if self.results.num_rows == 0:
            return zero
        total = pc.sum(self.results.column("emissions_tco2")).as_py()
        return Decimal(total) if total is not None else zero

    def iter_results(self) -> Iterator[dict[str, Any]]:
        """Accepted rows as dicts (for receipts and reports)."""
        yield from self.results.to_pylist()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reduced(frac: Fraction) -> tuple[int, int]:
    return frac.numerator, frac.denominator


class Engine:
    """Batch emissions engine over an in-process DuckDB connection.

    Parameters
    ----------
    library : FactorLibrary, optional
        Factor library (default: the shipped, verified one).
    threads : int, optional
        DuckDB worker threads (default: all cores).
    latest_period : str, optional
        Latest accepted ``YYYY-MM``; later periods are rejected as future (default: the
        current month in Asia/Shanghai, :func:`~greencircle.mrv.vocabulary.latest_period`).

    Examples
    --------
    >>> with Engine() as engine:  # doctest: +SKIP
    ...     batch = engine.run("activity.parquet")
    """

    def __init__(
        self,
        library: FactorLibrary | None = None,
        *,
        threads: int | None = None,
        latest_period: str | None = None,
    ):
        self.library = library or load_library()
        self.latest_period = latest_period or current_period()
        self.con = duckdb.connect(":memory:")
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(_MACROS)
        self._counter = 0
        self._any_measured = True

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ inputs
    def _register(self, source: pa.Table | str | Path, first_line: int) -> tuple[str, bool]:
        """Register ``source`` as a relation with a ``line`` column; True if a view."""
        self._counter += 1
        name = f"gc_src_{self._counter}"
        if isinstance(source, pa.Table):
            table = source
            if "line" not in table.column_names:
                lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
                table = table.append_column("line", pa.array(lines))
            self.con.register(name, table)
            return name, False
        path = Path(source)
        if path.suffix.lower() not in (".parquet", ".pq"):
            raise ValueError(f"unsupported source {source!r}: an Arrow table or a .parquet path")
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS "
            "SELECT * EXCLUDE (file_row_number), "
            f"file_row_number + {int(first_line)} AS line "
            f"FROM read_parquet({_lit(str(path))}, file_row_number = true)"
        )
        return name, True

    def _norm(self, name: str) -> tuple[str, list[str], int | None]:
        """SQL normalising the source; missing required columns; typed quantity scale."""
        described = self.con.execute(f"DESCRIBE {name}").fetchall()
        types = {str(r[0]): str(r[1]) for r in described}
        cols = set(types)
        missing = [c for c in REQUIRED_COLUMNS if c not in cols]
        parts = ["CAST(line AS BIGINT) AS line"]
        for c in COLUMNS:
            if c == "quantity":
                continue
            if c in cols:
                expr = _q(c) if types[c] == "VARCHAR" else f"CAST({_q(c)} AS VARCHAR)"
                parts.append(f"coalesce({expr}, '') AS {c}")
            else:
                parts.append(f"'' AS {c}")
        typed_scale: int | None = None
        qtype = types.get("quantity", "")
        m = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", qtype.replace(" ", ""))
        if m and int(m.group(1)) <= 18 and int(m.group(2)) <= INPUT_SCALE:
            typed_scale = int(m.group(2))
            parts.append("quantity AS q_typed")
            parts.append("'' AS quantity")
        elif "quantity" in cols:
            expr = "quantity" if qtype == "VARCHAR" else "CAST(quantity AS VARCHAR)"
            parts.append("CAST(NULL AS DECIMAL(18,0)) AS q_typed")
            parts.append(f"coalesce({expr}, '') AS quantity")
        else:
            parts.append("CAST(NULL AS DECIMAL(18,0)) AS q_typed")
            parts.append("'' AS quantity")
        return f"SELECT {', '.join(parts)} FROM {name}", missing, typed_scale

    # ------------------------------------------------------------- resolution
    def _resolve(self, norm: str, scale: int) -> pa.Table:
        combos = self.con.execute(
            "SELECT category, item, period, factor_year, unit, direction, ncv_unit, "
            "bool_or(ncv <> '' OR ncv_unit <> '' OR carbon_content_tc_per_tj <> '' "
            "OR oxidation_rate <> '') "
            f"FROM ({norm}) GROUP BY ALL"
        ).fetchall()
        self._any_measured = any(bool(c[7]) for c in combos)
        keys = [
            _resolve_key(self.library, scale, self.latest_period, *combo[:7]) for combo in combos
        ]
        for i, k in enumerate(keys):
            k["key_id"] = i
            k["fallback_out"] = k["fallback"] or ""
            k["measured_out"] = ""
        columns = {name: [k[name] for k in keys] for name, _ in _KEY_SCHEMA}
        table = pa.table(columns, schema=pa.schema(_KEY_SCHEMA))
        self.con.register("gc_key", table)
        return table

    def _find_duplicates(self, norm: str) -> bool:
        """Materialise ``gc_dups(record_id, first_line)``; False when no id repeats.

        A 64-bit hash aggregate finds candidate ids; only rows whose hash repeats are
        grouped exactly by ``record_id`` (collisions are resolved there), so the common
        all-unique batch costs one integer aggregation.
        """
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE gc_dup_hashes AS
            SELECT hash(record_id) AS h FROM ({norm}) WHERE record_id <> ''
            GROUP BY 1 HAVING count(*) > 1"""
        )
        try:
            if not self.con.execute("SELECT count(*) FROM gc_dup_hashes").fetchall()[0][0]:
                return False
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE gc_dups AS
                SELECT record_id, min(line) AS first_line FROM ({norm})
                WHERE hash(record_id) IN (SELECT h FROM gc_dup_hashes) AND record_id <> ''
                GROUP BY record_id HAVING count(*) > 1"""
            )
            rows = self.con.execute("SELECT count(*) FROM gc_dups").fetchall()
            return bool(rows[0][0])
        finally:
            self.con.execute("DROP TABLE IF EXISTS gc_dup_hashes")

    # ------------------------------------------------------------------- run
    def run(
        self,
        source: pa.Table | str | Path,
        *,
        check_duplicates: bool = True,
        first_line: int = 2,
        ordered: bool = False,
    ) -> BatchResult:
        """Validate and compute a batch.

        Parameters
        ----------
        source : pyarrow.Table or path
            Activity records, columns as in the CLI contract (strings, or a DECIMAL
            ``quantity``). An int64 ``line`` column gives line numbers; otherwise row ``i``
            (0-based) is line ``first_line + i`` (header = line 1). A ``.parquet`` path is
            scanned by DuckDB.
        check_duplicates : bool
            Reject repeated ``record_id`` values (first occurrence kept). Disable only when
            the caller already did it (the chunked CSV reader does).
        first_line : int
            Line number of the first row when the source has no ``line`` column.
        ordered : bool
            Sort results by line (costs a sort; errors are always sorted).

        Returns
        -------
        BatchResult
        """
        name, is_view = self._register(source, first_line)
        try:
            norm, missing, typed_scale = self._norm(name)
            scale = typed_scale if typed_scale is not None else _TEXT_SCALE
            keys = self._resolve(norm, scale)
            has_dups = check_duplicates and self._find_duplicates(norm)
            sql = _main_sql(norm, missing, has_dups, typed_scale, self._any_measured)
            table = self.con.sql(sql).to_arrow_table()
        finally:
            if is_view:
                self.con.execute(f"DROP VIEW IF EXISTS {name}")
            else:
                self.con.unregister(name)
            self.con.execute("DROP VIEW IF EXISTS gc_key")
            self.con.execute("DROP TABLE IF EXISTS gc_dups")
        return _assemble(table, keys, ordered)


_TEXT_SCALE = 4
"""Decimal places of the 64-bit fast path for quantities given as text."""

_KEY_SCHEMA: list[tuple[str, pa.DataType]] = [
    ("key_id", pa.int32()),
    ("fallback_out", pa.string()),
    ("measured_out", pa.string()),
    ("category", pa.string()),
    ("item", pa.string()),
    ("period", pa.string()),
    ("factor_year", pa.string()),
    ("unit", pa.string()),
    ("direction", pa.string()),
    ("ncv_unit", pa.string()),
    ("k_category", pa.string()),
    ("k_item", pa.string()),
    ("k_period", pa.string()),
    ("k_direction", pa.string()),
    ("k_unit", pa.string()),
    ("err1", pa.string()),
    ("err2", pa.string()),
    ("n_err", pa.string()),
    ("is_fuel", pa.bool_()),
    ("method", pa.string()),
    ("factor_id", pa.string()),
    ("factor_years", pa.string()),
    ("fallback", pa.string()),
    ("per_unit", pa.string()),
    ("status", pa.string()),
    ("ncv_rank", pa.int32()),
    ("cc_rank", pa.int32()),
    ("of_rank", pa.int32()),
    ("ncv_def", pa.decimal128(38, 0)),
    ("cc_def", pa.decimal128(38, 0)),
    ("of_def", pa.decimal128(38, 0)),
    ("ncv_out", _DEC10),
    ("cc_out", _DEC10),
    ("of_out", _DEC10),
    ("factor_value", pa.decimal128(38, 12)),
    ("f_int", pa.decimal128(38, 0)),
    ("mult", pa.int64()),
    ("div", pa.int64()),
    ("sign", pa.int64()),
    ("rho_num", pa.decimal128(38, 0)),
    ("rho_den", pa.decimal128(38, 0)),
    ("n_num", pa.decimal128(38, 0)),
    ("n_den", pa.decimal128(38, 0)),
    ("k_num", pa.int64()),
    ("k_den", pa.int64()),
    ("k_qmax", pa.int64()),
    ("ka_num", pa.int64()),
    ("ka_den", pa.int64()),
    ("ka_qmax", pa.int64()),
    ("qmax_s", pa.int64()),
    ("qmax10", _DEC10),
    ("qmax_text", pa.string()),
]


def _err(column: str, reason: str) -> str:
    return f"{column}{_SEP}{reason}"


def _fast(k: Fraction) -> tuple[int | None, int | None, int]:
    """64-bit fast-path constants (num, den, max scaled quantity), or disabled (-1)."""
    num, den = _reduced(k)
    if num == 0:
        return 0, 1, _I64_MAX
    if num > _I64_MAX or 2 * den > _I64_MAX:
        return None, None, -1
    return num, den, _I64_MAX // num


def _resolve_key(
    lib: FactorLibrary,
    scale: int,
    latest: str,
    category: str,
    item: str,
    period: str,
    factor_year: str,
    unit: str,
    direction: str,
    ncv_unit: str,
) -> dict[str, Any]:
    """Validate one distinct key and precompute everything rows with that key need."""
    cat, itm, per = category.strip(), item.strip(), period.strip()
    fy, un, dr, nu = factor_year.strip(), unit.strip(), direction.strip(), ncv_unit.strip()
    out: dict[str, Any] = {name: None for name, _ in _KEY_SCHEMA}
    out.update(
        category=category,
        item=item,
        period=period,
        factor_year=factor_year,
        unit=unit,
        direction=direction,
        ncv_unit=ncv_unit,
        k_category=cat,
        k_item=itm,
        k_period=per,
        k_direction="exported" if dr == "exported" else "consumed",
        k_unit=un,
        is_fuel=cat == "fuel",
    )
    err1 = None
    if not per:
        err1 = _err("period", "period is required")
    elif not PERIOD_RE.fullmatch(per):
        err1 = _err("period", f"period '{per}' is not YYYY-MM")
    elif future := future_period_reason(per, latest):
        err1 = _err("period", future)
    elif not cat:
        err1 = _err("category", "category is required")
    elif cat not in CATEGORIES:
        err1 = _err(
            "category",
            f"unknown category '{cat}' (expected {', '.join(CATEGORIES)}, or {OUTPUT_CATEGORY})",
        )
    elif not itm:
        err1 = _err("item", "item is required")
    elif dr not in ("", "consumed", "exported"):
        err1 = _err("direction", f"direction '{dr}' is not consumed or exported")
    elif dr == "exported" and cat == "fuel":
        err1 = _err("direction", "only electricity and heat can be exported")
    elif fy and not YEAR_RE.fullmatch(fy):
        err1 = _err("factor_year", f"factor_year '{fy}' is not a 4-digit year")
    if err1 is not None:
        out["err1"] = err1
        return out
    year = int(fy) if fy else int(per[:4])
    mult, div = 1, 1
    year_err: str | None = None
    ranks = {s: i for i, s in enumerate(STATUSES)}
    if cat == "fuel":
        try:
            f = lib.lookup(METHOD_FUEL, itm).factor
        except FactorNotFoundError:
            known = ", ".join(lib.items(METHOD_FUEL))
            out["err1"] = _err("item", f"unknown fuel '{itm}' (known: {known})")
            return out
        ncv, cc, of = (f.parameter(p) for p in ("ncv", "carbon_content", "oxidation_rate"))
        factor = ncv.value * cc.value * of.value / 1000
        mult, div = 11, 3
        out.update(
            method=method_id("fuel"),
            factor_id=f.factor_id,
            factor_years="",
            per_unit=f.per_unit,
            status=worst_status((ncv.status, cc.status, of.status)),
            ncv_rank=ranks[ncv.status],
            cc_rank=ranks[cc.status],
            of_rank=ranks[of.status],
            ncv_def=Decimal(to_scaled(ncv.value, INPUT_SCALE)),
            cc_def=Decimal(to_scaled(cc.value, INPUT_SCALE)),
            of_def=Decimal(to_scaled(of.value, INPUT_SCALE)),
            ncv_out=ncv.value,
            cc_out=cc.value,
            of_out=of.value,
        )
        f_int = to_scaled(factor, FACTOR_SCALE)
    else:
        method = METHOD_ELECTRICITY if cat == "electricity" else METHOD_HEAT
        if cat == "heat" and itm != "heat":
            out["err1"] = _err("item", f"unknown heat item '{itm}' (heat records use item 'heat')")
            return out
        if cat == "electricity" and itm not in lib.items(METHOD_ELECTRICITY):
            known = ", ".join(lib.items(METHOD_ELECTRICITY))
            out["err1"] = _err("item", f"unknown grid factor code '{itm}' (known: {known})")
            return out
        match = None
        try:
            match = lib.lookup(method, itm, year)
        except FactorNotFoundError as exc:
            year_err = _err("factor_year", str(exc))
        if match is not None:
            f = match.factor
            out.update(
                factor_id=f.factor_id,
                factor_years=f.years,
                fallback=match.fallback,
                per_unit=f.per_unit,
                status=f.status,
                factor_value=f.value,
            )
            f_int = to_scaled(f.value, FACTOR_SCALE)
        else:
            f_int = 0
        out["method"] = method_id(cat, "exported" if dr == "exported" else "consumed")
    # unit of the quantity, then factor availability
    if not un:
        out["err2"] = _err("unit", "unit is required")
        return out
    try:
        ratio = activity_ratio(cat, un, out["per_unit"] if cat == "fuel" else None)
    except UnitError as exc:
        out["err2"] = _err("unit", str(exc))
        return out
    if year_err is not None:
        out["err2"] = year_err
        return out
    if cat == "fuel" and nu:
        try:
            nr = ncv_ratio(nu, out["per_unit"])
            out.update(n_num=Decimal(nr.numerator), n_den=Decimal(nr.denominator))
        except UnitError as exc:
            out["n_err"] = str(exc)
    out.update(
        mult=mult,
        div=div,
        sign=-1 if dr == "exported" else 1,
        f_int=Decimal(f_int),
        rho_num=Decimal(ratio.numerator),
        rho_den=Decimal(ratio.denominator),
    )
    _fill_fast_path(out, ratio, f_int, mult, div, scale)
    return out


def _fill_fast_path(
    out: dict[str, Any], ratio: Ratio, f_int: int, mult: int, div: int, scale: int
) -> None:
    rho = ratio.fraction
    # E_int = q_s * rho * f_int * mult / div * 10^RESULT / (10^s * 10^FACTOR)
    k = rho * f_int * mult / div * Fraction(10**RESULT_SCALE, 10**scale * 10**FACTOR_SCALE)
    out["k_num"], out["k_den"], out["k_qmax"] = _fast(k)
    ka = rho * Fraction(10**ACTIVITY_SCALE, 10**scale)
    out["ka_num"], out["ka_den"], out["ka_qmax"] = _fast(ka)
    # quantity bound: q * rho < MAX_ACTIVITY and q * rho_num < MAX_QUANTITY_X_RATIO
    qmax = min(Fraction(MAX_ACTIVITY) / rho, Fraction(MAX_QUANTITY_X_RATIO, ratio.numerator))
    # smallest rejected scaled quantity: ceil(qmax * 10^s)
    scaled = qmax * 10**scale
    out["qmax_s"] = min(-(-scaled.numerator // scaled.denominator), _I64_MAX)
    scaled10 = qmax * 10**INPUT_SCALE
    ceil10 = -(-scaled10.numerator // scaled10.denominator)
    out["qmax10"] = min(Decimal(ceil10).scaleb(-INPUT_SCALE), Decimal(10) ** 27)
    out["qmax_text"] = f"{Decimal(qmax.numerator) / Decimal(qmax.denominator):f}"


def _quantity_sql(typed_scale: int | None) -> tuple[str, str, str]:
    """SQL for (scaled 64-bit quantity, exact DECIMAL(38,10) quantity, 128-bit q at 10dp)."""
    if typed_scale is not None:
        s = typed_scale
        q_s = f"gc_scaled(q_typed, {10**s})" if s else "CAST(q_typed AS BIGINT)"
        if s:
            # 64-bit decimal multiply is exact below the guard; gc_scaled beyond it
            guard = 10 ** (18 - 2 * s)
            q_s = (
                f"CASE WHEN q_typed < {guard} AND q_typed > -{guard} "
                f"THEN CAST(q_typed * {10**s} AS BIGINT) ELSE {q_s} END"
            )
        q10 = "CAST(q_typed AS DECIMAL(38,10))"
        qh = f"CAST(q_s AS HUGEINT) * {10 ** (INPUT_SCALE - s)}"
        return q_s, q10, qh
    s = _TEXT_SCALE
    q_s = (
        f"CASE WHEN gc_dp(quantity) <= {s} AND NOT gc_nonplain(quantity) "
        f"THEN gc_scaled4(TRY_CAST(quantity AS DECIMAL(18,{s}))) END"
    )
    q10 = (
        f"CASE WHEN gc_dp(quantity) <= {INPUT_SCALE} AND NOT gc_nonplain(quantity) "
        "THEN TRY_CAST(quantity AS DECIMAL(38,10)) END"
    )
    qh = (
        f"CASE WHEN q_s IS NOT NULL THEN CAST(q_s AS HUGEINT) * {10 ** (INPUT_SCALE - s)} "
        f"ELSE CAST(({q10}) * 10000000000 AS HUGEINT) END"
    )
    return q_s, q10, qh


def _checks(
    missing: Sequence[str], check_duplicates: bool, typed: bool, any_measured: bool = True
) -> str:
    """The ordered validation chain: the first failing check names the row's error."""

    def e(column: str, reason_sql: str) -> str:
        return f"{_lit(column + _SEP)} || ({reason_sql})"

    rules: list[tuple[str, str]] = []
    for c in missing:
        rules.append(("TRUE", e(c, _lit(f"required column '{c}' is missing from the header"))))
    rules.append(("gc_blank(record_id)", e("record_id", "'record_id is required'")))
    if check_duplicates:
        dup = _lit(duplicate_reason(0)).replace(" 0 ", " ' || first_line || ' ")
        rules.append(("first_line IS NOT NULL AND line > first_line", e("record_id", dup)))
    rules += [
        ("gc_blank(facility_id)", e("facility_id", "'facility_id is required'")),
        ("err1 IS NOT NULL", "err1"),
        (
            "q_typed IS NULL" if typed else "gc_blank(quantity)",
            e("quantity", "'quantity is required'"),
        ),
    ]
    if not typed:
        rules += [
            (
                "CASE WHEN q_s IS NULL THEN NOT gc_plain(quantity) ELSE FALSE END",
                e("quantity", "'quantity ''' || quantity || ''' is not a decimal number'"),
            ),
        ]
    rules += [
        ("q_s < 0 OR (q_s IS NULL AND q10 < 0)", e("quantity", "'quantity must be >= 0'")),
    ]
    if not typed:
        rules += [
            (
                f"q_s IS NULL AND gc_dp(quantity) > {INPUT_SCALE}",
                e("quantity", f"'quantity has more than {INPUT_SCALE} decimal places'"),
            ),
            (
                "q_s IS NULL AND (q10 IS NULL OR q10 >= 1000000000000000)",
                e("quantity", "'quantity must be below 10^15'"),
            ),
        ]
    rules += [
        ("err2 IS NOT NULL", "err2"),
        (
            "(q_s IS NOT NULL AND q_s >= qmax_s) OR (q_s IS NULL AND q10 >= qmax10)",
            e(
                "quantity",
                "'quantity must be below ' || qmax_text || ' ' || k_unit "
                f"|| ' ({MAX_ACTIVITY:,} ' || per_unit || ')'",
            ),
        ),
    ]
    # measured-parameter checks, evaluated only on rows that carry any measured value
    measured: list[tuple[str, str]] = []
    for col in ("ncv", "ncv_unit", "carbon_content_tc_per_tj", "oxidation_rate"):
        measured.append(
            (
                f"NOT is_fuel AND NOT gc_blank({col})",
                e(col, "'measured fuel parameters are only accepted on fuel records'"),
            )
        )
    measured += [
        (
            "NOT gc_blank(ncv) AND gc_blank(ncv_unit)",
            e("ncv_unit", "'ncv given without ncv_unit'"),
        ),
        (
            "gc_blank(ncv) AND NOT gc_blank(ncv_unit)",
            e("ncv", "'ncv_unit given without ncv'"),
        ),
    ]
    for col, var, extra in (
        ("ncv", "ncv_d", [("ncv_d >= 1000000", "'ncv must be below 10^6'")]),
        (
            "carbon_content_tc_per_tj",
            "cc_d",
            [("cc_d > 100", "'carbon_content_tc_per_tj must be <= 100 tC/TJ'")],
        ),
        ("oxidation_rate", "of_d", [("of_d > 1", "'oxidation_rate must be <= 1'")]),
    ):
        measured += [
            (
                f"CASE WHEN NOT gc_blank({col}) THEN NOT gc_plain({col}) ELSE FALSE END",
                e(col, f"'{col} ''' || {col} || ''' is not a decimal number'"),
            ),
            (
                f"NOT gc_blank({col}) AND gc_dp({col}) > {INPUT_SCALE}",
                e(col, f"'{col} has more than {INPUT_SCALE} decimal places'"),
            ),
            (f"NOT gc_blank({col}) AND {var} IS NULL", e(col, f"'{col} is out of range'")),
            (f"NOT gc_blank({col}) AND {var} <= 0", e(col, f"'{col} must be > 0'")),
            *[(f"NOT gc_blank({col}) AND {cond}", e(col, msg)) for cond, msg in extra],
        ]
        if col == "ncv":
            measured += [
                ("NOT gc_blank(ncv) AND n_err IS NOT NULL", e("ncv_unit", "n_err")),
                (
                    "NOT gc_blank(ncv) AND ncv_int >= 100000000000000",
                    e("ncv", "'ncv must be below 10^4 GJ per ' || per_unit"),
                ),
            ]
    measured.append(
        (
            "c_int >= 100000000000000",
            e("ncv", "'measured fuel parameters give 100 tC or more per ' || per_unit"),
        )
    )
    inner = "\n".join(f"            WHEN {cond} THEN {msg}" for cond, msg in measured)
    if any_measured:
        rules.append(
            (
                "NOT (gc_blank(ncv) AND gc_blank(ncv_unit) AND gc_blank(carbon_content_tc_per_tj) "
                "AND gc_blank(oxidation_rate))",
                f"CASE\n{inner}\n            ELSE NULL END",
            )
        )
    body = "\n".join(f"        WHEN {cond} THEN {msg}" for cond, msg in rules)
    return f"CASE\n{body}\n        ELSE NULL END"


_MEASURED_COLS = """    CASE WHEN err IS NULL AND is_measured THEN
        CASE WHEN NOT gc_blank(ncv) AND NOT gc_blank(carbon_content_tc_per_tj)
                  AND NOT gc_blank(oxidation_rate) THEN '' ELSE factor_id END END
        AS m_factor_ids,
    CASE WHEN err IS NULL AND is_measured THEN
        CASE WHEN NOT gc_blank(ncv) AND NOT gc_blank(carbon_content_tc_per_tj)
                  AND NOT gc_blank(oxidation_rate) THEN 'measured'
             ELSE [{statuses}][1 + greatest(
                 CASE WHEN gc_blank(ncv) THEN ncv_rank ELSE 0 END,
                 CASE WHEN gc_blank(carbon_content_tc_per_tj) THEN cc_rank ELSE 0 END,
                 CASE WHEN gc_blank(oxidation_rate) THEN of_rank ELSE 0 END)] END END
        AS m_status,
    CASE WHEN err IS NULL AND is_measured THEN concat_ws(';',
        CASE WHEN NOT gc_blank(ncv) THEN 'ncv' END,
        CASE WHEN NOT gc_blank(carbon_content_tc_per_tj) THEN 'carbon_content' END,
        CASE WHEN NOT gc_blank(oxidation_rate) THEN 'oxidation_rate' END) END AS m_measured,
    CASE WHEN err IS NULL AND is_measured
         THEN CAST(COALESCE(ncv_int, ncv_def::HUGEINT) AS DECIMAL(38,0))
              * CAST(0.0000000001 AS DECIMAL(11,10)) END AS m_ncv,
    CASE WHEN err IS NULL AND is_measured THEN COALESCE(cc_d, cc_out) END AS m_cc,
    CASE WHEN err IS NULL AND is_measured THEN COALESCE(of_d, of_out) END AS m_of,
"""


def _main_sql(
    norm: str,
    missing: Sequence[str],
    check_duplicates: bool,
    typed_scale: int | None,
    any_measured: bool = True,
) -> str:
    q_s, q10, qh = _quantity_sql(typed_scale)
    if check_duplicates:  # gc_dups was materialised by Engine._find_duplicates
        dups_cte = ""
        dups_sel = ", dups.first_line"
        dups_join = "LEFT JOIN gc_dups dups ON dups.record_id = b.record_id"
    else:
        dups_cte, dups_sel, dups_join = "", ", CAST(NULL AS BIGINT) AS first_line", ""
    statuses = ", ".join(_lit(s) for s in STATUSES)
    quantity_out = "q_typed" if typed_scale is not None else "quantity"
    checks = _checks(missing, check_duplicates, typed_scale is not None, any_measured)
    if any_measured:
        measured_cols = _MEASURED_COLS.replace("{statuses}", statuses)
    else:  # no measured value anywhere in the batch: constant NULL columns
        measured_cols = (
            "    CAST(NULL AS VARCHAR) AS m_factor_ids, CAST(NULL AS VARCHAR) AS m_status,\n"
            "    CAST(NULL AS VARCHAR) AS m_measured, CAST(NULL AS DECIMAL(38,10)) AS m_ncv,\n"
            "    CAST(NULL AS DECIMAL(38,10)) AS m_cc, CAST(NULL AS DECIMAL(38,10)) AS m_of,\n"
        )
    measured = (
        "(is_fuel AND NOT (gc_blank(ncv) AND gc_blank(carbon_content_tc_per_tj) "
        "AND gc_blank(oxidation_rate)))"
        if any_measured
        else "FALSE"
    )
    return f"""
WITH base AS NOT MATERIALIZED ({norm}){dups_cte},
j AS (
    SELECT b.* EXCLUDE (category, item, period, factor_year, unit, direction, ncv_unit){dups_sel},
        k.*
    FROM base b
    JOIN gc_key k ON k.category = b.category AND k.item = b.item AND k.period = b.period
        AND k.factor_year = b.factor_year AND k.unit = b.unit
        AND k.direction = b.direction AND k.ncv_unit = b.ncv_unit
    {dups_join}
),
n AS (
    SELECT j.*, {q_s} AS q_s FROM j
),
m AS (
    SELECT n.*,
        CASE WHEN q_s IS NULL THEN {q10} END AS q10,
        {measured} AS is_measured,
        CASE WHEN is_fuel AND NOT gc_blank(ncv)
             THEN TRY_CAST(ncv AS DECIMAL(38,10)) END AS ncv_d,
        CASE WHEN is_fuel AND NOT gc_blank(carbon_content_tc_per_tj)
             THEN TRY_CAST(carbon_content_tc_per_tj AS DECIMAL(38,10)) END AS cc_d,
        CASE WHEN is_fuel AND NOT gc_blank(oxidation_rate)
             THEN TRY_CAST(oxidation_rate AS DECIMAL(38,10)) END AS of_d
    FROM n
),
p AS (
    SELECT m.*,
        CASE WHEN ncv_d > 0 AND ncv_d < 1000000 AND n_num IS NOT NULL
             THEN gc_rhe(CAST(ncv_d * 10000000000 AS HUGEINT) * n_num::HUGEINT,
                         n_den::HUGEINT) END AS ncv_int
    FROM m
),
c AS (
    SELECT p.*,
        CASE WHEN is_measured AND err1 IS NULL AND err2 IS NULL
                  AND (gc_blank(ncv) OR (ncv_int > 0 AND ncv_int < 100000000000000))
                  AND (gc_blank(carbon_content_tc_per_tj) OR (cc_d > 0 AND cc_d <= 100))
                  AND (gc_blank(oxidation_rate) OR (of_d > 0 AND of_d <= 1))
             THEN gc_rhe(
                 COALESCE(ncv_int, ncv_def::HUGEINT)
                 * COALESCE(CAST(cc_d * 10000000000 AS HUGEINT), cc_def::HUGEINT)
                 * COALESCE(CAST(of_d * 10000000000 AS HUGEINT), of_def::HUGEINT),
                 CAST(1000000000000000000000 AS HUGEINT)) END AS c_int
    FROM p
),
v AS (
    SELECT c.*, {checks} AS err FROM c
),
w AS (
    SELECT v.*,
        CASE WHEN err IS NULL AND NOT is_measured AND q_s IS NOT NULL AND q_s <= k_qmax
             THEN q_s * k_num END AS ne,
        CASE WHEN err IS NULL AND q_s IS NOT NULL AND q_s <= ka_qmax
             THEN q_s * ka_num END AS na
    FROM v
),
x AS (
    SELECT w.*, ne // k_den AS qe, na // ka_den AS qa FROM w
)
SELECT
    line, record_id, facility_id, {quantity_out} AS quantity, key_id,
    sign * (qe + CASE WHEN 2 * (ne - qe * k_den) > k_den
                        OR (2 * (ne - qe * k_den) = k_den AND qe % 2 = 1)
                      THEN 1 ELSE 0 END) AS e_fast,
    CASE WHEN err IS NULL AND (is_measured OR q_s IS NULL OR q_s > k_qmax)
         THEN CAST(sign * gc_rhe(({qh}) * rho_num::HUGEINT
                        * COALESCE(c_int, f_int::HUGEINT) * mult,
                        rho_den::HUGEINT * div * CAST(1000000000000 AS HUGEINT))
                   AS DECIMAL(38,0)) * CAST(0.0000000001 AS DECIMAL(11,10)) END AS e_slow,
    qa + CASE WHEN 2 * (na - qa * ka_den) > ka_den
                   OR (2 * (na - qa * ka_den) = ka_den AND qa % 2 = 1)
              THEN 1 ELSE 0 END AS a_fast,
    CASE WHEN err IS NULL AND (q_s IS NULL OR q_s > ka_qmax)
         THEN CAST(gc_rhe(({qh}) * rho_num::HUGEINT, rho_den::HUGEINT) AS DECIMAL(38,0))
              * CAST(0.0000000001 AS DECIMAL(11,10)) END AS a_slow,
{measured_cols}    err
FROM x
"""


def _int_to_decimal(values: pa.Array, scale: int) -> pa.Array:
    """int64 array of scaled integers -> decimal128(38, scale) without arithmetic."""
    if values.null_count:
        ints = values.fill_null(0).to_numpy(zero_copy_only=False)
        validity = pc.is_valid(values).buffers()[1]
    else:
        ints = values.to_numpy(zero_copy_only=False)
        validity = None
    words = np.empty((len(ints), 2), dtype=np.int64)
    words[:, 0] = ints
    np.right_shift(ints, 63, out=words[:, 1])
    return pa.Array.from_buffers(
        pa.decimal128(38, scale), len(ints), [validity, pa.py_buffer(words)]
    )


def _combine(fast: pa.ChunkedArray, slow: pa.ChunkedArray, scale: int) -> pa.ChunkedArray:
    chunks = []
    for f_chunk, s_chunk in zip(fast.chunks, slow.chunks, strict=True):
        dec = _int_to_decimal(f_chunk, scale)
        if s_chunk.null_count == len(s_chunk):
            chunks.append(dec)
        else:
            chunks.append(pc.coalesce(dec, s_chunk.cast(pa.decimal128(38, scale))))
    return pa.chunked_array(chunks, type=pa.decimal128(38, scale))


def _from_key(keys: pa.Table, column: str, key_id: pa.ChunkedArray) -> pa.ChunkedArray:
    """Per-row values of a key column as a dictionary array over the key table (no copy)."""
    values = keys.column(column).combine_chunks()
    chunks = [pa.DictionaryArray.from_arrays(ids, values) for ids in key_id.chunks]
    return pa.chunked_array(chunks, type=pa.dictionary(pa.int32(), values.type))


def _override(base: pa.ChunkedArray, row: pa.ChunkedArray) -> pa.ChunkedArray:
    """``row`` where not null (rows with measured parameters), else ``base``."""
    if row.null_count == len(row):
        return base
    plain = base.cast(base.type.value_type) if pa.types.is_dictionary(base.type) else base
    return pc.coalesce(row.cast(plain.type), plain)


def _assemble(table: pa.Table, keys: pa.Table, ordered: bool) -> BatchResult:
    err = table.column("err")
    if err.null_count == table.num_rows:
        ok = table
        errors = ERROR_SCHEMA.empty_table()
    else:
        is_ok = pc.is_null(err)
        ok = table.filter(is_ok)
        bad = table.filter(pc.invert(is_ok)).select(["line", "record_id", "err"])
        parts = pc.split_pattern(bad.column("err"), _SEP, max_splits=1)
        errors = pa.table(
            {
                "line": bad.column("line"),
                "record_id": bad.column("record_id"),
                "column": pc.list_element(parts, 0),
                "reason": pc.list_element(parts, 1),
            },
            schema=ERROR_SCHEMA,
        ).sort_by("line")
    key_id = ok.column("key_id")
    n = ok.num_rows

    def key(col: str) -> pa.ChunkedArray:
        return _from_key(keys, col, key_id)

    quantity = ok.column("quantity")  # as given: text, or the typed decimal column
    results = pa.table(
        {
            "record_id": ok.column("record_id"),
            "emissions_tco2": _combine(ok.column("e_fast"), ok.column("e_slow"), RESULT_SCALE),
            "method": key("method"),
            "factor_ids": _override(key("factor_id"), ok.column("m_factor_ids")),
            "line": ok.column("line"),
            "facility_id": ok.column("facility_id"),
            "period": key("k_period"),
            "category": key("k_category"),
            "item": key("k_item"),
            "direction": key("k_direction"),
            "quantity": quantity,
            "unit": key("k_unit"),
            "activity": _combine(ok.column("a_fast"), ok.column("a_slow"), ACTIVITY_SCALE),
            "activity_unit": key("per_unit"),
            "factor_year": key("factor_years"),
            "factor_status": _override(key("status"), ok.column("m_status")),
            "fallback": key("fallback_out"),
            "measured": _override(key("measured_out"), ok.column("m_measured")),
            "ncv_gj_per_unit": _override(key("ncv_out"), ok.column("m_ncv")),
            "carbon_content_tc_per_tj": _override(key("cc_out"), ok.column("m_cc")),
            "oxidation_rate": _override(key("of_out"), ok.column("m_of")),
            "factor_value": key("factor_value"),
            "engine_version": pa.repeat(pa.scalar(ENGINE_VERSION, pa.string()), n),
        }
    )
    if ordered:
        results = results.sort_by("line")
    return BatchResult(results=results, errors=errors)


def calculate_batch(
    source: pa.Table | str | Path,
    *,
    check_duplicates: bool = True,
    ordered: bool = True,
    library: FactorLibrary | None = None,
    threads: int | None = None,
) -> BatchResult:
    """One-shot convenience: run :class:`Engine` on ``source`` (sorted by line) and close it."""
    with Engine(library, threads=threads) as engine:
        return engine.run(source, check_duplicates=check_duplicates, ordered=ordered)
