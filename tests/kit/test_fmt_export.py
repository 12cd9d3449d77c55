"""Screen formatting (kit/fmt.py) and spreadsheet-safe exports (kit/export.py)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from greencircle.kit import fmt
from greencircle.kit.export import FORMULA_TRIGGERS, csv_text, safe_cell


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("tCO2", "tCO₂"),
        ("tCO2e", "tCO₂e"),
        ("10^4 Nm3", "10⁴ Nm³"),
        ("tCO2/10^4 Nm3", "tCO₂/10⁴ Nm³"),
        ("m3", "m³"),
        ("kg", "kg"),
        ("MWh", "MWh"),
        ("GJ/t", "GJ/t"),
    ],
)
def test_unit_labels(code: str, label: str) -> None:
    assert fmt.unit_label(code) == label


def test_number_groups_and_rounds_by_unit() -> None:
    # The example: 13157014.8116166076 tCO2 shown to 3 decimals with separators.
    assert fmt.quantity(Decimal("13157014.8116166076"), "tCO2", "en") == "13,157,014.812 tCO₂"
    assert fmt.quantity(Decimal("13157014.8116166076"), "tCO2", "zh-CN") == "13,157,014.812 tCO₂"
    # Russian groups with a (narrow) no-break space and a decimal comma (CLDR).
    ru = fmt.number(Decimal("1234567.5"), "ru", places=1)
    assert ru.replace("\u00a0", " ").replace("\u202f", " ") == "1 234 567,5"
    assert fmt.number(Decimal("2.50"), "en") == "2.5"
    assert fmt.number(None, "en") == "–"
    # Half-to-even at the last shown place.
    assert fmt.number(Decimal("0.0025"), "en", places=3) == "0.002"


def test_exact_places_keep_every_digit() -> None:
    assert fmt.number(Decimal("0.57030"), "en", places=None) == "0.5703"
    assert fmt.number(Decimal("123456.000001"), "en", places=None) == "123,456.000001"


def test_money_from_minor_units() -> None:
    # 160,000,000 fen = CNY 1,600,000.00
    assert fmt.money(160_000_000, "CNY", 2, "en") == "1,600,000.00 CNY"
    assert fmt.minor(5, 2, "en") == "0.05"
    assert fmt.minor(-12345, 2, "en") == "-123.45"


PAYLOADS = ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_are_neutralised_in_csv_and_xlsx(payload: str, tmp_path) -> None:
    text = csv_text(["id", "note"], [[payload, payload], [1, Decimal("2.5")]])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1] == ["'" + payload, "'" + payload]
    assert rows[2] == ["1", "2.5"]  # numbers untouched
    wb = Workbook()
    ws = wb.active
    ws.append([safe_cell(payload), safe_cell(-5)])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    back = load_workbook(path).active
    assert back["A1"].data_type != "f"
    assert back["A1"].value.lstrip("'").strip() == payload.strip()
    assert back["A1"].value.startswith("'")
    assert back["B1"].value == -5


def test_plain_text_untouched() -> None:
    for v in ("CN-CQ.ACC", "重庆", "a=b", ""):
        assert safe_cell(v) == v
    assert all(safe_cell(t + "x").startswith("'") for t in FORMULA_TRIGGERS)
