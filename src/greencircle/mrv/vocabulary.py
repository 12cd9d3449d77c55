"""One vocabulary of monthly records for every intake path.

The console and API uploads, ``POST /v1/mrv/records``, ``POST /v1/mrv/calculate``,
``greencircle mrv calculate`` and the XLSX template all accept the same categories,
items and units, checked by the same functions:

* ``fuel``, ``electricity``, ``heat``: activity data, computed by
  :class:`~greencircle.mrv.engine.Engine` (items are the factor library's codes);
* ``output``: monthly production of a facility (for emission intensity), item
  ``product`` (the item of an output row is not used), a unit of :data:`OUTPUT_UNITS`;
  checked by :func:`check_output_row`.

No record may be for a month after the current one (Asia/Shanghai): a report cannot
contain activity that has not happened yet (:func:`latest_period`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from greencircle.kit.timeutil import CHINA_TZ, utcnow
from greencircle.mrv.errors import UnitError
from greencircle.mrv.factors import (
    METHOD_ELECTRICITY,
    METHOD_FUEL,
    METHOD_HEAT,
    FactorLibrary,
    load_library,
)
from greencircle.mrv.ingest import RowError
from greencircle.mrv.units import activity_ratio

__all__ = [
    "ACTIVITY_CATEGORIES",
    "CATEGORIES",
    "OUTPUT_CATEGORY",
    "OUTPUT_UNITS",
    "CodeRow",
    "check_output_row",
    "code_rows",
    "future_period_reason",
    "latest_period",
    "split_output_rows",
]

ACTIVITY_CATEGORIES = ("fuel", "electricity", "heat")
OUTPUT_CATEGORY = "output"
CATEGORIES = (*ACTIVITY_CATEGORIES, OUTPUT_CATEGORY)
#: Item of every ``output`` record.
OUTPUT_ITEM = "product"
#: Units of monthly production.
OUTPUT_UNITS = ("MWh", "t", "kWh", "GJ", "m3")
#: Units offered per category in the template (each checked against the item's factor).
_CANDIDATE_UNITS = {
    "fuel": ("t", "kg", "10^4 Nm3", "Nm3"),
    "electricity": ("MWh", "kWh"),
    "heat": ("GJ", "TJ"),
}

CodeRow = tuple[str, str, tuple[str, ...], str, str]
"""``(category, item, units, description, status)`` of the template's code sheet."""


def latest_period(now: datetime | None = None) -> str:
    """The current month ``YYYY-MM`` in Asia/Shanghai: the latest period a record may have.

    Parameters
    ----------
    now
        An aware instant (default: now, UTC).
    """
    local = (now or utcnow()).astimezone(CHINA_TZ)
    return f"{local.year:04d}-{local.month:02d}"


def future_period_reason(period: str, latest: str) -> str | None:
    """Reason text when ``period`` (``YYYY-MM``) is after ``latest``, else None."""
    if period > latest:
        return f"period {period} is in the future (latest accepted: {latest})"
    return None


def _valid_period(period: str) -> bool:
    return (
        len(period) == 7
        and period[4] == "-"
        and period.replace("-", "").isdigit()
        and 1 <= int(period[5:]) <= 12
    )


def check_output_row(
    row: Mapping[str, Any], latest: str
) -> tuple[dict[str, Any] | None, RowError | None]:
    """Validate one ``output`` record (period, quantity >= 0, unit of :data:`OUTPUT_UNITS`).

    Parameters
    ----------
    row
        The record's text fields and its ``line``.
    latest
        Latest accepted period (:func:`latest_period`).

    Returns
    -------
    tuple
        ``(record with the quantity normalised, None)`` or ``(None, RowError)``.
    """
    line, rid = int(row["line"]), str(row.get("record_id") or "")
    period = str(row.get("period") or "").strip()
    if not _valid_period(period):
        return None, RowError(line, rid, "period", "period must be YYYY-MM")
    future = future_period_reason(period, latest)
    if future:
        return None, RowError(line, rid, "period", future)
    try:
        qty = Decimal(str(row.get("quantity") or "x").strip())
    except InvalidOperation:
        return None, RowError(line, rid, "quantity", "quantity is not a decimal")
    if not qty.is_finite() or qty < 0:
        return None, RowError(line, rid, "quantity", "quantity must be >= 0")
    unit = str(row.get("unit") or "").strip()
    if unit not in OUTPUT_UNITS:
        return None, RowError(
            line, rid, "unit", f"output unit must be one of {', '.join(OUTPUT_UNITS)}"
        )
    return {**row, "period": period, "item": OUTPUT_ITEM, "unit": unit, "quantity": str(qty)}, None


def split_output_rows(
    rows: Iterable[Mapping[str, Any]], latest: str
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Check ``output`` records (:func:`~greencircle.mrv.vocabulary.check_output_row`)."""
    ok: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for r in rows:
        good, err = check_output_row(r, latest)
        if good is not None:
            ok.append(good)
        if err is not None:
            errors.append(err)
    return ok, errors


def _units(category: str, per_unit: str | None) -> tuple[str, ...]:
    ok = []
    for unit in _CANDIDATE_UNITS[category]:
        try:
            activity_ratio(category, unit, per_unit)
        except UnitError:
            continue
        ok.append(unit)
    return tuple(ok)


def code_rows(library: FactorLibrary | None = None) -> list[CodeRow]:
    """Every accepted ``(category, item)`` with the units that fit it (template code sheet).

    Items come from the factor library (fuels of ``fuel_combustion``, grid codes of
    ``electricity``), units from the unit checks the engine applies, so the template can
    never offer a code an intake path rejects.
    """
    lib = library or load_library()
    rows: list[CodeRow] = []
    for item in lib.items(METHOD_FUEL):
        f = lib.lookup(METHOD_FUEL, item).factor
        rows.append(("fuel", item, _units("fuel", f.per_unit), f.name_zh, f.status))
    latest = lib.latest_versions()
    for item in lib.items(METHOD_ELECTRICITY):
        grid = [
            f
            for f in lib.factors
            if f.method == METHOD_ELECTRICITY
            and f.item == item
            and latest.get(f.factor_set) == f.version
        ]
        status = "/".join(sorted({f.status for f in grid}))
        units = _units("electricity", None)
        rows.append(("electricity", item, units, grid[0].description, status))
    heat = lib.lookup(METHOD_HEAT, "heat").factor
    rows.append(("heat", "heat", _units("heat", None), heat.description, heat.status))
    rows.append((OUTPUT_CATEGORY, OUTPUT_ITEM, OUTPUT_UNITS, "monthly output (intensity)", ""))
    return rows
