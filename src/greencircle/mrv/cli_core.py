"""The ``greencircle mrv calculate`` contract, as a plain function for the CLI to wrap.

``greencircle mrv calculate ACTIVITY.csv --out RESULTS.csv [--errors ERRORS.csv]``

* RESULTS.csv: one row per accepted record, columns
  :data:`~greencircle.mrv.engine.RESULT_COLUMNS` (``record_id``, ``emissions_tco2`` as an
  exact decimal string with 10 decimals - exported rows negative -, ``method``,
  ``factor_ids``, then context and receipt columns), in line order;
* ERRORS.csv: one row per rejected record: ``line`` (1-based, header = 1), ``record_id``,
  ``column``, ``reason``, in line order; rejected rows are never in RESULTS.csv;
* exit code (``CalculationSummary.exit_code``): 1 when any row was rejected, else 0.

``output`` rows (monthly production, see :mod:`greencircle.mrv.vocabulary`) are checked
exactly as an upload checks them and counted in ``rows_output``; they carry no emissions,
so they are not written to RESULTS.csv. Periods after the current month are rejected.

The activity file is streamed in chunks (bounded memory); each chunk is validated and
computed relationally by :class:`~greencircle.mrv.engine.Engine`.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from greencircle.kit.export import FORMULA_TRIGGERS, safe_row
from greencircle.mrv._exact import RESULT_SCALE
from greencircle.mrv.engine import RESULT_COLUMNS, Engine
from greencircle.mrv.factors import FactorLibrary
from greencircle.mrv.ingest import RowError, read_activity_csv
from greencircle.mrv.vocabulary import OUTPUT_CATEGORY, latest_period, split_output_rows

__all__ = ["ERROR_COLUMNS", "CalculationSummary", "ProgressCallback", "calculate_files"]

ERROR_COLUMNS = ("line", "record_id", "column", "reason")

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)`` after each chunk (for a progress bar)."""


@dataclass(frozen=True, slots=True)
class CalculationSummary:
    """Outcome of :func:`calculate_files`.

    Attributes
    ----------
    rows_read : int
        Records read (blank lines excluded).
    rows_accepted, rows_rejected : int
        Records written to RESULTS.csv / rejected.
    rows_output : int
        Valid ``output`` (production) records: accepted, not in RESULTS.csv.
    total_emissions_tco2 : Decimal
        Exact sum of accepted ``emissions_tco2`` (exports negative) [tCO2].
    exit_code : int
        1 when any row was rejected, else 0.
    results_path : Path
    errors_path : Path or None
    first_errors : tuple of RowError
        Up to 20 first rejected rows (to show on the console).
    seconds : float
        Wall time.
    """

    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_output: int
    total_emissions_tco2: Decimal
    exit_code: int
    results_path: Path
    errors_path: Path | None
    first_errors: tuple[RowError, ...]
    seconds: float


def _plain(table: pa.Table) -> pa.Table:
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def _split_output(table: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Activity rows (for the engine) and ``output`` rows (as dicts with their line)."""
    if "category" not in table.column_names or not table.num_rows:
        return table, []
    is_output = pc.fill_null(
        pc.equal(pc.utf8_trim_whitespace(table.column("category")), OUTPUT_CATEGORY), False
    )
    if not pc.any(is_output).as_py():
        return table, []
    return table.filter(pc.invert(is_output)), table.filter(is_output).to_pylist()


def calculate_files(
    activity_csv: str | Path,
    out_csv: str | Path,
    errors_csv: str | Path | None = None,
    progress: ProgressCallback | None = None,
    *,
    chunk_bytes: int = 32 * 1024 * 1024,
    library: FactorLibrary | None = None,
) -> CalculationSummary:
    """Compute RESULTS.csv (and ERRORS.csv) from ACTIVITY.csv.

    Parameters
    ----------
    activity_csv : path
        UTF-8 CSV with a header row (see the module docstring for columns).
    out_csv : path
        RESULTS.csv to write (always written, with a header, even when empty).
    errors_csv : path, optional
        ERRORS.csv to write (always written when given, header included).
    progress : callable, optional
        ``progress(bytes_done, bytes_total)``.
    chunk_bytes : int
        Approximate bytes per chunk (bounds memory).
    library : FactorLibrary, optional
        Factor library (default: the shipped one).

    Returns
    -------
    CalculationSummary
        ``exit_code`` is 1 when any row was rejected.

    Raises
    ------
    greencircle.mrv.errors.InputFileError
        When the file cannot be read at all (encoding, empty, CSV syntax).
    """
    t0 = time.perf_counter()
    src = Path(activity_csv)
    total_bytes = src.stat().st_size
    out_path = Path(out_csv)
    err_path = Path(errors_csv) if errors_csv is not None else None
    rows_read = accepted = rejected = output = 0
    latest = latest_period()
    total = Decimal(0).scaleb(-RESULT_SCALE)
    first: list[RowError] = []
    schema: pa.Schema | None = None
    with (
        Engine(library, latest_period=latest) as engine,
        open(out_path, "wb") as out_f,
        open(err_path, "w", newline="", encoding="utf-8") if err_path else _Null() as err_f,
    ):
        err_writer = csv.writer(err_f, lineterminator="\n") if err_path else None
        if err_writer is not None:
            err_writer.writerow(ERROR_COLUMNS)
        writer: pacsv.CSVWriter | None = None
        for chunk in read_activity_csv(src, chunk_bytes=chunk_bytes):
            rows_read += chunk.rows_read
            table, out_rows = _split_output(chunk.table)
            production, out_errors = split_output_rows(out_rows, latest)
            output += len(production)
            batch = engine.run(table, check_duplicates=False, ordered=True)
            results = _spreadsheet_safe(batch.results.select(list(RESULT_COLUMNS)))
            if writer is None:
                schema = results.schema
                writer = pacsv.CSVWriter(out_f, schema)
            writer.write_table(results if results.schema == schema else results.cast(schema))
            accepted += results.num_rows
            if results.num_rows:
                chunk_total = pc.sum(results.column("emissions_tco2")).as_py()
                total += Decimal(chunk_total)
            errors = sorted(chunk.errors + out_errors + batch.error_rows(), key=lambda e: e.line)
            rejected += len(errors)
            for e in errors:
                if len(first) < 20:
                    first.append(e)
                if err_writer is not None:
                    err_writer.writerow(safe_row((e.line, e.record_id, e.column, e.reason)))
            if progress is not None:
                progress(chunk.bytes_read, total_bytes)
        if writer is None:  # no records at all: header only
            out_f.write((",".join(f'"{c}"' for c in RESULT_COLUMNS) + "\n").encode())
        else:
            writer.close()
    if progress is not None:
        progress(total_bytes, total_bytes)
    return CalculationSummary(
        rows_read=rows_read,
        rows_accepted=accepted,
        rows_rejected=rejected,
        rows_output=output,
        total_emissions_tco2=total,
        exit_code=1 if rejected else 0,
        results_path=out_path,
        errors_path=err_path,
        first_errors=tuple(first),
        seconds=time.perf_counter() - t0,
    )


_TRIGGER = "^[" + "".join(re.escape(c) for c in FORMULA_TRIGGERS) + "]"


def _spreadsheet_safe(table: pa.Table) -> pa.Table:
    """Text columns with an apostrophe before formula triggers (``kit.export.safe_cell``).

    RESULTS.csv is opened in spreadsheets like any export; numbers (decimal columns) are
    untouched, so a negative emission stays ``-0.4536``.
    """
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            col = table.column(i)
            hit = pc.fill_null(pc.match_substring_regex(col, _TRIGGER), False)
            if pc.any(hit).as_py():
                fixed = pc.if_else(hit, pc.binary_join_element_wise("'", col, ""), col)
                table = table.set_column(i, field, fixed)
    return table


class _Null:
    """Context manager standing in for an absent errors file."""

    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, _: str) -> int:
        return 0
