"""Calculation receipts: a canonical record of how one figure was computed.

A receipt names the inputs (as given), the method id, the factors used (ids, versions,
set hashes, statuses, fallback notes), the parameter values applied, the result, and the
engine version. Its canonical bytes are RFC 8785 (JSON Canonicalization Scheme) JSON of
string-only values, so the SHA-256 digest is stable across platforms and can be appended
as a leaf to the transparency log (the log itself lives in ``greencircle.audit``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import rfc8785

from greencircle.mrv._exact import RESULT_SCALE
from greencircle.mrv.calc import ENGINE_NAME, ENGINE_VERSION, Calculation
from greencircle.mrv.factors import FactorLibrary, load_library

__all__ = [
    "RECEIPT_SCHEMA",
    "canonical_bytes",
    "receipt_from_calculation",
    "receipt_from_result",
    "receipt_sha256",
]

RECEIPT_SCHEMA = "greencircle.mrv.receipt/1"

_INPUT_FIELDS = (
    "record_id",
    "facility_id",
    "period",
    "category",
    "item",
    "quantity",
    "unit",
    "direction",
    "factor_year",
    "ncv",
    "ncv_unit",
    "carbon_content_tc_per_tj",
    "oxidation_rate",
)


def _s(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _factor_entries(
    factor_ids: list[str], fallback: str, library: FactorLibrary
) -> list[dict[str, str]]:
    out = []
    for fid in factor_ids:
        f = library.get(fid)
        fs = library.factor_set(f.factor_set, f.version)
        out.append(
            {
                "factor_id": fid,
                "factor_set": f.factor_set,
                "version": f.version,
                "set_sha256": fs.sha256,
                "status": f.status,
                "source": f.source,
                "fallback": fallback,
            }
        )
    return out


def _receipt(
    inputs: Mapping[str, object],
    *,
    method: str,
    factor_ids: list[str],
    fallback: str,
    parameters: Mapping[str, object],
    emissions_tco2: Decimal,
    library: FactorLibrary,
) -> dict[str, Any]:
    return {
        "schema": RECEIPT_SCHEMA,
        "engine": {"name": ENGINE_NAME, "version": ENGINE_VERSION},
        "method": method,
        "inputs": {k: _s(inputs.get(k)) for k in _INPUT_FIELDS},
        "factors": _factor_entries(factor_ids, fallback, library),
        "parameters": {k: _s(v) for k, v in parameters.items()},
        "result": {
            "emissions_tco2": _s(emissions_tco2),
            "scale": str(RESULT_SCALE),
            "rounding": "ROUND_HALF_EVEN",
        },
    }


def receipt_from_result(
    row: Mapping[str, object],
    inputs: Mapping[str, object] | None = None,
    *,
    library: FactorLibrary | None = None,
) -> dict[str, Any]:
    """Receipt of one accepted row of the batch engine.

    Parameters
    ----------
    row : mapping
        A row of :attr:`greencircle.mrv.engine.BatchResult.results` (as a dict).
    inputs : mapping, optional
        The activity record as given (adds measured-value inputs and ``factor_year``);
        defaults to the echo columns of ``row``.
    library : FactorLibrary, optional
        Library the factor ids resolve in.
    """
    lib = library or load_library()
    given = dict(inputs) if inputs is not None else {}
    for k in ("record_id", "facility_id", "period", "category", "item", "quantity", "unit"):
        given.setdefault(k, row.get(k))
    given.setdefault("direction", row.get("direction"))
    ids = [x for x in str(row.get("factor_ids") or "").split(";") if x]
    params = {
        "activity": row.get("activity"),
        "activity_unit": row.get("activity_unit"),
        "factor_year": row.get("factor_year"),
        "factor_status": row.get("factor_status"),
        "measured": row.get("measured"),
        "ncv_gj_per_unit": row.get("ncv_gj_per_unit"),
        "carbon_content_tc_per_tj": row.get("carbon_content_tc_per_tj"),
        "oxidation_rate": row.get("oxidation_rate"),
        "factor_value": row.get("factor_value"),
    }
    emissions = row["emissions_tco2"]
    if not isinstance(emissions, Decimal):
        emissions = Decimal(str(emissions))
    return _receipt(
        given,
        method=str(row["method"]),
        factor_ids=ids,
        fallback=str(row.get("fallback") or ""),
        parameters=params,
        emissions_tco2=emissions,
        library=lib,
    )


def receipt_from_calculation(
    inputs: Mapping[str, object],
    calc: Calculation,
    *,
    library: FactorLibrary | None = None,
) -> dict[str, Any]:
    """Receipt of a :class:`~greencircle.mrv.calc.Calculation` (the Decimal path).

    For the same record it equals :func:`receipt_from_result` of the engine's row.
    """
    lib = library or load_library()
    params = {
        "activity": calc.activity,
        "activity_unit": calc.activity_unit,
        "factor_year": calc.factor_year,
        "factor_status": calc.factor_status,
        "measured": ";".join(calc.measured),
        "ncv_gj_per_unit": _fixed(calc.ncv_gj_per_unit, 10),
        "carbon_content_tc_per_tj": _fixed(calc.carbon_content_tc_per_tj, 10),
        "oxidation_rate": _fixed(calc.oxidation_rate, 10),
        "factor_value": _fixed(calc.factor_value, 12),
    }
    return _receipt(
        inputs,
        method=calc.method,
        factor_ids=list(calc.factor_ids),
        fallback=calc.fallback or "",
        parameters=params,
        emissions_tco2=calc.emissions_tco2,
        library=lib,
    )


def _fixed(value: Decimal | None, scale: int) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(1).scaleb(-scale))


def canonical_bytes(receipt: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON bytes of a receipt."""
    return bytes(rfc8785.dumps(dict(receipt)))


def receipt_sha256(receipt: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical bytes (the transparency-log leaf payload digest)."""
    return hashlib.sha256(canonical_bytes(receipt)).hexdigest()
