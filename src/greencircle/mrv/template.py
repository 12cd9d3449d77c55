"""The monthly reporting template (XLSX), modelled on the MEE monthly evidence form.

Sheet ``月度数据 Monthly data``: a title, bilingual column labels, then the machine header
row (the CLI contract's column names) and one row per monthly record. Sheet ``代码 Codes``
lists every accepted category, item and unit, from :func:`~greencircle.mrv.vocabulary.code_rows`
(the same vocabulary every intake path checks). Uploading the filled workbook is equivalent to
uploading the same rows as CSV; errors name the spreadsheet row.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from greencircle.errors import Invalid
from greencircle.kit.export import safe_row
from greencircle.mrv.ingest import COLUMNS
from greencircle.mrv.vocabulary import CATEGORIES, code_rows

SHEET = "月度数据 Monthly data"
LABELS_ZH = {
    "record_id": "记录编号",
    "facility_id": "设施编码",
    "period": "月份 (YYYY-MM)",
    "category": "类别",
    "item": "品种/电网",
    "quantity": "数量",
    "unit": "单位",
    "factor_year": "因子年份",
    "direction": "方向",
    "ncv": "实测低位发热量",
    "ncv_unit": "发热量单位",
    "carbon_content_tc_per_tj": "实测单位热值含碳量 tC/TJ",
    "oxidation_rate": "实测碳氧化率",
}
CODES_SHEET = "代码 Codes"
CODES_HEADER = ("category", "item", "unit(s)", "description", "status")


def build_template(facility_codes: list[str] | None = None, year: int | None = None) -> bytes:
    """An empty template workbook (optionally prefilled with facility codes and months)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    ws.append(["温室气体排放月度数据 / Monthly greenhouse-gas activity data"])
    ws.append(
        [
            "按月填报燃料消耗、购入电力与热力、产品产量；实测值可覆盖缺省值。 "
            "Fill one row per month and stream; measured values override defaults."
        ]
    )
    ws.append([LABELS_ZH[c] for c in COLUMNS])
    ws.append(list(COLUMNS))
    ws["A1"].font = Font(bold=True, size=13)
    header_fill = PatternFill("solid", fgColor="E6F2EA")
    for cell in ws[3] + ws[4]:
        cell.fill = header_fill
        cell.font = Font(bold=True)
    for i, _ in enumerate(COLUMNS):
        ws.column_dimensions[chr(ord("A") + i)].width = 18
    cats = DataValidation(type="list", formula1=f'"{",".join(CATEGORIES)}"', allow_blank=False)
    dirs = DataValidation(type="list", formula1='"consumed,exported"', allow_blank=True)
    ws.add_data_validation(cats)
    ws.add_data_validation(dirs)
    cats.add("D5:D5000")
    dirs.add("I5:I5000")
    if facility_codes and year:
        for fac in facility_codes:
            for m in range(1, 13):
                ws.append(
                    [
                        f"{fac}-{year}-{m:02d}-E",
                        fac,
                        f"{year}-{m:02d}",
                        "electricity",
                        "",
                        "",
                        "MWh",
                    ]
                )
    codes = wb.create_sheet(CODES_SHEET)
    codes.append(list(CODES_HEADER))
    for category, item, units, description, status in code_rows():
        codes.append(safe_row([category, item, ", ".join(units), description, status]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        # openpyxl reads numbers as float; repr is the shortest decimal that round-trips,
        # i.e. the number as typed.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value).strip()


def read_template(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """Filled rows of a template as ``(spreadsheet row number, record)``; blank rows skipped.

    Raises
    ------
    Invalid
        ``mrv.template`` if the workbook or its header row cannot be found.
    """
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for non-workbooks
        raise Invalid(f"not an XLSX workbook: {exc}", code="mrv.template") from exc
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    header_at = next((i for i, r in enumerate(rows) if r and r[0] == "record_id"), None)
    if header_at is None:
        raise Invalid(
            "no header row starting with 'record_id' (use the template)", code="mrv.template"
        )
    header = [str(h).strip() if h is not None else "" for h in rows[header_at]]
    out: list[tuple[int, dict[str, str]]] = []
    for i in range(header_at + 1, len(rows)):
        values = {h: _cell_text(v) for h, v in zip(header, rows[i], strict=False) if h}
        if any(values.values()):
            out.append((i + 1, values))
    return out
