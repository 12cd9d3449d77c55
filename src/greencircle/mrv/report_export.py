"""Exports of an annual emissions report: XLSX (summary, records, history) and CSV.

Figures are exact decimal text, as stored. Reported, adjusted and verified figures stand
side by side: per record (the enterprise's figure, the verifier's adjustment, the figure
verified) and for the report. Every cell goes through
:func:`greencircle.kit.export.safe_cell`, so text such as a record id or comment starting
with ``=``, ``+``, ``-`` or ``@`` stays text in a spreadsheet (OWASP CSV injection).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook
from openpyxl.styles import Font

from greencircle.auth.models import Organisation
from greencircle.kit.export import csv_text, safe_row
from greencircle.mrv.models import ActivityRecord, EmissionReport, ReportEvent

RECORD_COLUMNS = (
    "record_id",
    "period",
    "category",
    "item",
    "direction",
    "quantity",
    "unit",
    "emissions_tco2",
    "adjusted_quantity",
    "adjusted_unit",
    "adjusted_emissions_tco2",
    "verified_emissions_tco2",
    "adjustment_reason",
    "method",
    "factor_ids",
    "receipt_sha256",
    "leaf_index",
    "adjusted_receipt_sha256",
    "adjusted_leaf_index",
)
#: Record id of the CSV's last row, holding the report's totals.
TOTAL_ROW = "TOTAL"


#: Columns holding exact decimal numbers (never prefixed: ``-0.57`` stays a number).
NUMBER_COLUMNS = frozenset(
    {
        "quantity",
        "emissions_tco2",
        "adjusted_quantity",
        "adjusted_emissions_tco2",
        "verified_emissions_tco2",
        "leaf_index",
        "adjusted_leaf_index",
    }
)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _cell(column: str, value: object) -> object:
    """Numbers as :class:`~decimal.Decimal` (left alone by ``safe_cell``), else text."""
    text = _text(value)
    if column in NUMBER_COLUMNS and text:
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    return text


def _xlsx_row(values: Sequence[object]) -> list[object]:
    """A row for openpyxl: safe cells, exact numbers as text (no spreadsheet rounding)."""
    return [str(v) if isinstance(v, Decimal) else v for v in safe_row(values)]


def _record_row(report: EmissionReport, r: ActivityRecord) -> list[object]:
    adj = r.adjusted_inputs or {}
    verified = r.effective_emissions_tco2 if report.verified_tco2 is not None else ""
    values = {
        "record_id": r.record_id,
        "period": r.period,
        "category": r.category,
        "item": r.item,
        "direction": r.direction,
        "quantity": r.quantity,
        "unit": r.unit,
        "emissions_tco2": r.emissions_tco2,
        "adjusted_quantity": adj.get("quantity", ""),
        "adjusted_unit": adj.get("unit", ""),
        "adjusted_emissions_tco2": r.adjusted_emissions_tco2,
        "verified_emissions_tco2": verified,
        "adjustment_reason": r.adjustment_reason,
        "method": r.method,
        "factor_ids": r.factor_ids,
        "receipt_sha256": r.receipt_sha256,
        "leaf_index": r.leaf_index,
        "adjusted_receipt_sha256": r.adjusted_receipt_sha256,
        "adjusted_leaf_index": r.adjusted_leaf_index,
    }
    return [_cell(c, values[c]) for c in RECORD_COLUMNS]


def _total_row(report: EmissionReport) -> list[object]:
    totals = {
        "record_id": TOTAL_ROW,
        "emissions_tco2": report.reported_tco2,
        "adjusted_emissions_tco2": report.adjusted_tco2,
        "verified_emissions_tco2": report.verified_tco2,
    }
    return [_cell(c, totals.get(c)) for c in RECORD_COLUMNS]


def report_csv(report: EmissionReport, records: Sequence[ActivityRecord]) -> bytes:
    """The report's records as CSV (exact decimal text), with the totals as the last row.

    UTF-8 with a BOM, so spreadsheet programs read Chinese text correctly.
    """
    rows = [_record_row(report, r) for r in records]
    rows.append(_total_row(report))
    return ("\ufeff" + csv_text(RECORD_COLUMNS, rows)).encode("utf-8")


def report_xlsx(
    org: Organisation,
    report: EmissionReport,
    records: Sequence[ActivityRecord],
    events: Sequence[ReportEvent],
) -> bytes:
    """Workbook with a bilingual summary, the monthly records and the change history.

    Figures are written as text so that no spreadsheet rounding changes them.
    """
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "汇总 Summary"
    by_source: dict[str, Decimal] = {}
    for r in records:
        by_source[r.category] = by_source.get(r.category, Decimal(0)) + Decimal(
            r.effective_emissions_tco2
        )
    rows: list[tuple[str, object]] = [
        ("企业 Enterprise", f"{org.name_zh} / {org.name_en} ({org.code})"),
        ("年度 Year", str(report.year)),
        ("状态 Status", report.status),
        ("报告排放量 Reported (tCO2)", report.reported_tco2),
        ("核查调整后排放量 Adjusted (tCO2)", report.adjusted_tco2 or ""),
        ("核查排放量 Verified (tCO2)", report.verified_tco2 or ""),
        ("记录数 Records", str(report.records)),
        ("核查调整记录数 Adjusted records", str(sum(1 for r in records if r.adjusted_inputs))),
    ]
    rows += [(f"其中 of which {k} (tCO2)", v) for k, v in sorted(by_source.items())]
    for label, value in rows:
        ws.append(_xlsx_row([label, value]))
    for cell in ws["A"]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 60
    rec = wb.create_sheet("月度记录 Records")
    rec.append(list(RECORD_COLUMNS))
    for r in records:
        rec.append(_xlsx_row(_record_row(report, r)))
    rec.append(_xlsx_row(_total_row(report)))
    hist = wb.create_sheet("变更记录 History")
    hist.append(["at (UTC)", "action", "from", "to", "actor_user_id", "comment", "leaf_index"])
    for e in events:
        hist.append(
            _xlsx_row(
                [
                    e.at.isoformat(),
                    e.action,
                    e.from_status,
                    e.to_status,
                    e.actor_user_id,
                    e.comment,
                    _text(e.leaf_index),
                ]
            )
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
