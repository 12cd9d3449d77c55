"""Exports of an annual emissions report: XLSX (summary, records, history) and CSV."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from greencircle.auth.models import Organisation
from greencircle.mrv.models import ActivityRecord, EmissionReport, ReportEvent
from greencircle.mrv.service import csv_bytes

RECORD_COLUMNS = (
    "record_id",
    "period",
    "category",
    "item",
    "direction",
    "quantity",
    "unit",
    "emissions_tco2",
    "method",
    "factor_ids",
    "receipt_sha256",
    "leaf_index",
)


def _record_row(r: ActivityRecord) -> dict[str, object]:
    return {c: getattr(r, c) for c in RECORD_COLUMNS}


def report_csv(report: EmissionReport, records: Sequence[ActivityRecord]) -> bytes:
    """The report's records as CSV (exact decimal text), with the total as the last row."""
    rows = [_record_row(r) for r in records]
    rows.append(
        {"record_id": "TOTAL", "emissions_tco2": report.verified_tco2 or report.reported_tco2}
    )
    return csv_bytes(rows, RECORD_COLUMNS)


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
        by_source[r.category] = by_source.get(r.category, Decimal(0)) + Decimal(r.emissions_tco2)
    rows: list[tuple[str, str]] = [
        ("企业 Enterprise", f"{org.name_zh} / {org.name_en} ({org.code})"),
        ("年度 Year", str(report.year)),
        ("状态 Status", report.status),
        ("报告排放量 Reported (tCO2)", report.reported_tco2),
        ("核查排放量 Verified (tCO2)", report.verified_tco2 or ""),
        ("记录数 Records", str(report.records)),
    ]
    rows += [(f"其中 of which {k} (tCO2)", str(v)) for k, v in sorted(by_source.items())]
    for label, value in rows:
        ws.append([label, value])
    for cell in ws["A"]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 60
    rec = wb.create_sheet("月度记录 Records")
    rec.append(list(RECORD_COLUMNS))
    for r in records:
        rec.append([str(v) if v is not None else "" for v in _record_row(r).values()])
    hist = wb.create_sheet("变更记录 History")
    hist.append(["at (UTC)", "action", "from", "to", "actor_user_id", "comment", "leaf_index"])
    for e in events:
        hist.append(
            [
                e.at.isoformat(),
                e.action,
                e.from_status,
                e.to_status,
                e.actor_user_id,
                e.comment,
                e.leaf_index if e.leaf_index is not None else "",
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
