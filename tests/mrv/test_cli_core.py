"""The CLI contract: RESULTS.csv / ERRORS.csv, line numbers and exit-code semantics."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from greencircle.mrv.cli_core import calculate_files
from greencircle.mrv.errors import InputFileError

from .conftest import HEADER


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _run(write_csv, body: str, tmp_path: Path, header: str = HEADER):  # type: ignore[no-untyped-def]
    src = write_csv(header + "\n" + body)
    out, err = tmp_path / "results.csv", tmp_path / "errors.csv"
    summary = calculate_files(src, out, err)
    return summary, _read(out), _read(err)


GOOD = (
    "r1,F1,2022-01,fuel,diesel,1,t,,,,,,\n"
    "r2,F1,2022-01,electricity,CN-51,1000,kWh,,,,,,\n"
    "r3,F1,2022-01,heat,heat,10,GJ,,,,,,\n"
    "r4,F1,2022-01,electricity,CN-SW,2,MWh,,exported,,,,\n"
)


def test_all_good_exit_zero(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary, results, errors = _run(write_csv, GOOD, tmp_path)
    assert summary.exit_code == 0
    assert summary.rows_read == summary.rows_accepted == 4
    assert errors == []
    by_id = {r["record_id"]: r for r in results}
    assert [r["record_id"] for r in results] == ["r1", "r2", "r3", "r4"]
    assert by_id["r1"]["emissions_tco2"] == "3.0959096373"
    assert by_id["r2"]["emissions_tco2"] == "0.1404000000"
    assert by_id["r3"]["emissions_tco2"] == "1.1000000000"
    assert by_id["r4"]["emissions_tco2"] == "-0.4536000000"
    assert by_id["r1"]["method"] == "fuel_combustion@1"
    assert by_id["r2"]["factor_ids"] == "cn-grid-stat/CN-51/2022@2026.1"
    for r in results:  # at least 4 decimals, never rounded below
        assert len(r["emissions_tco2"].split(".")[1]) >= 4
    assert summary.total_emissions_tco2 == Decimal("3.0959096373") + Decimal("0.1404") + Decimal(
        "1.1"
    ) - Decimal("0.4536")


# one bad row of every kind (plus one good row r1 before its duplicate):
# (row, rejected column or None when accepted, reason fragment)
ROWS: list[tuple[str, str | None, str]] = [
    ("b01,F1,2022-01,fuel,diesel,1,t,,,,,", "oxidation_rate", "12 fields, the header has 13"),
    (",F1,2022-01,fuel,diesel,1,t,,,,,,", "record_id", "required"),
    ("b03,,2022-01,fuel,diesel,1,t,,,,,,", "facility_id", "required"),
    ("b04,F1,2022-1,fuel,diesel,1,t,,,,,,", "period", "YYYY-MM"),
    ("b05,F1,2022-13,fuel,diesel,1,t,,,,,,", "period", "YYYY-MM"),
    ("b06,F1,2022-01,steam,heat,1,GJ,,,,,,", "category", "unknown category"),
    ("b07,F1,2022-01,fuel,petrol,1,t,,,,,,", "item", "unknown fuel"),
    ("b08,F1,2022-01,electricity,CN-XX,1,MWh,,,,,,", "item", "unknown grid"),
    ("b09,F1,2022-01,fuel,diesel,-1,t,,,,,,", "quantity", ">= 0"),
    ("b10,F1,2022-01,fuel,diesel,abc,t,,,,,,", "quantity", "not a decimal"),
    ("b11,F1,2022-01,fuel,diesel,1e3,t,,,,,,", "quantity", "not a decimal"),
    ("b12,F1,2022-01,fuel,diesel,1,Nm3,,,,,,", "unit", "does not fit"),
    ("b13,F1,2022-01,electricity,CN-51,1,t,,,,,,", "unit", "does not fit"),
    ("b14,F1,2022-01,fuel,natural_gas,1,m3,,,,,,", "unit", "without reference conditions"),
    ("b15,F1,2022-01,fuel,diesel,1,bags,,,,,,", "unit", "unknown unit"),
    ("r1,F1,2022-01,fuel,diesel,1,t,,,,,,", None, ""),
    ("r1,F1,2022-01,fuel,diesel,5,t,,,,,,", "record_id", "first occurrence at line 17"),
    ("b17,F1,2022-01,electricity,CN-51,1,MWh,,sold,,,,", "direction", "not consumed"),
    ("b18,F1,2022-01,fuel,diesel,1,t,,exported,,,,", "direction", "only electricity"),
    ("b19,F1,2022-01,fuel,diesel,1,t,,,43,,,", "ncv_unit", "without ncv_unit"),
    ("b20,F1,2022-01,fuel,diesel,1,t,,,,,,1.01", "oxidation_rate", "<= 1"),
    ("b21,F1,2021-06,electricity,CN-51,1,MWh,,,,,,", "factor_year", "earliest available"),
    ("b22,F1,2022-06,electricity,CN-SW,1,MWh,2018,,,,,", "factor_year", "or any earlier"),
    ("b23,F1,2022-01,fuel,diesel,1,t,,,43,GJ/10^4 Nm3,,", "ncv_unit", "does not fit"),
    ("b24,F1,2022-01,fuel,diesel,1,t,,,,,120,", "carbon_content_tc_per_tj", "<= 100"),
    ("b25,F1,2022-01,electricity,CN-51,1,MWh,,,,,,0.9", "oxidation_rate", "only accepted"),
    ("b26,F1,2022-01,fuel,diesel,1.12345678901,t,,,,,,", "quantity", "decimal places"),
    ("b27,F1,2022-01,fuel,diesel,,t,,,,,,", "quantity", "required"),
    ("b28,F1,2022-01,fuel,diesel,1,,,,,,,", "unit", "required"),
    ("b29,F1,2022-01,fuel,diesel,1,t,22,,,,,", "factor_year", "4-digit"),
    ("b30,F1,2022-01,fuel,diesel,1,kcal,,,,,,", "unit", "calories"),
    ("b31,F1,2022-01,fuel,diesel,2000000000,t,,,,,,", "quantity", "must be below"),
    ("b32,F1,2022-01,fuel,diesel,1,t,,,0,GJ/t,,", "ncv", "> 0"),
]


def test_every_kind_of_bad_row(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = "\n".join(row for row, _, _ in ROWS) + "\n"
    summary, results, errors = _run(write_csv, body, tmp_path)
    assert summary.exit_code == 1
    good_line = next(i + 2 for i, (_, col, _) in enumerate(ROWS) if col is None)
    assert [(r["record_id"], int(r["line"])) for r in results] == [("r1", good_line)]
    got = {int(e["line"]): e for e in errors}
    expected = {i + 2: (col, frag) for i, (_, col, frag) in enumerate(ROWS) if col is not None}
    assert sorted(got) == sorted(expected), errors
    for line, (col, frag) in expected.items():
        assert got[line]["column"] == col, got[line]
        assert frag in got[line]["reason"], got[line]
    assert summary.rows_rejected == len(expected)
    assert summary.rows_accepted == 1
    assert summary.rows_read == len(ROWS)


def test_quoted_multiline_field_and_blank_lines(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = (
        'r1,"Facility\nwith two lines",2022-01,fuel,diesel,1,t,,,,,,\n'  # lines 2-3
        "\n"  # line 4 blank
        "r2,F1,2022-01,fuel,diesel,-5,t,,,,,,\n"  # line 5
        '"r3","F1","2022-01","fuel","petrol","1","t",,,,,,\n'  # line 6
        'r4,"a ""quoted""\nthree\nline field",2022-01,heat,heat,x,GJ,,,,,,\n'  # lines 7-9
        "r5,F1,2022-13,heat,heat,1,GJ,,,,,,\n"  # line 10
    )
    summary, results, errors = _run(write_csv, body, tmp_path)
    assert [r["record_id"] for r in results] == ["r1"]
    assert results[0]["facility_id"] == "Facility\nwith two lines"
    assert [(int(e["line"]), e["record_id"], e["column"]) for e in errors] == [
        (5, "r2", "quantity"),
        (6, "r3", "item"),
        (7, "r4", "quantity"),
        (10, "r5", "period"),
    ]
    assert summary.exit_code == 1


def test_missing_header_column_rejects_every_row(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    header = "record_id,facility_id,period,category,item,quantity"
    summary, results, errors = _run(
        write_csv, "r1,F1,2022-01,fuel,diesel,1\nr2,F1,2022-01,fuel,diesel,2\n", tmp_path, header
    )
    assert results == []
    assert [(e["line"], e["column"]) for e in errors] == [("2", "unit"), ("3", "unit")]
    assert "missing from the header" in errors[0]["reason"]
    assert summary.exit_code == 1


def test_extra_columns_ignored_and_bom(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    header = "\ufeffnote,record_id,facility_id,period,category,item,quantity,unit,extra"
    summary, results, _ = _run(
        write_csv, "hello,r1,F1,2022-01,fuel,diesel,1,t,zzz\n", tmp_path, header
    )
    assert summary.exit_code == 0
    assert results[0]["emissions_tco2"] == "3.0959096373"


def test_fallback_note_in_results(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = (
        "r1,F1,2024-05,electricity,CN-51,1,MWh,,,,,,\n"
        "r2,F1,2023-05,electricity,CN-ETS,1,MWh,,,,,,\n"
    )
    summary, results, _ = _run(write_csv, body, tmp_path)
    assert summary.exit_code == 0
    assert "using 2022 (latest earlier year)" in results[0]["fallback"]
    assert results[0]["factor_year"] == "2022"
    assert results[1]["factor_ids"] == "cn-grid-ets/CN-ETS/2022@2026.1"
    assert results[1]["emissions_tco2"] == "0.5703000000"


def test_no_errors_file_still_exit_one_and_header_only(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = write_csv(HEADER + "\nr1,F1,2022-01,fuel,diesel,-1,t,,,,,,\n")
    out = tmp_path / "out.csv"
    summary = calculate_files(src, out)
    assert summary.exit_code == 1
    assert summary.errors_path is None
    assert summary.first_errors[0].line == 2
    assert _read(out) == []
    assert out.read_text().startswith('"record_id","emissions_tco2","method","factor_ids"')


def test_chunked_streaming_and_progress(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [f"r{i},F{i % 3},2022-{1 + i % 12:02d},fuel,diesel,{i},kg,,,,,," for i in range(1, 501)]
    rows.insert(250, "r7,F1,2022-01,fuel,diesel,1,t,,,,,,")  # duplicate across chunks
    src = write_csv(HEADER + "\n" + "\n".join(rows) + "\n")
    seen: list[tuple[int, int]] = []
    out, err = tmp_path / "o.csv", tmp_path / "e.csv"
    summary = calculate_files(src, out, err, lambda a, b: seen.append((a, b)), chunk_bytes=2048)
    assert summary.rows_accepted == 500
    errors = _read(err)
    assert [(e["line"], e["column"]) for e in errors] == [("252", "record_id")]
    assert "first occurrence at line 8" in errors[0]["reason"]
    assert seen[-1][0] == seen[-1][1] == src.stat().st_size
    assert len(seen) > 5
    results = _read(out)
    assert [int(r["line"]) for r in results] == sorted(int(r["line"]) for r in results)


def test_unreadable_files(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileError):
        calculate_files(write_csv(""), tmp_path / "o.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes((HEADER + "\nr1,F\xe9,2022-01,fuel,diesel,1,t,,,,,,\n").encode("latin-1"))
    with pytest.raises(InputFileError):
        calculate_files(bad, tmp_path / "o.csv")


def test_results_and_errors_are_spreadsheet_safe(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = (
        "=1+1,F1,2022-01,fuel,diesel,1,t,,,,,,\n"
        "@SUM(A1),F1,2022-01,electricity,CN-SW,2,MWh,,exported,,,,\n"
        "+bad,F1,2022-01,fuel,no-such-fuel,1,t,,,,,,\n"
    )
    summary, results, errors = _run(write_csv, body, tmp_path)
    assert [r["record_id"] for r in results] == ["'=1+1", "'@SUM(A1)"]
    # numbers stay numbers: the exported electricity is still negative, unprefixed
    assert results[1]["emissions_tco2"].startswith("-")
    assert [e["record_id"] for e in errors] == ["'+bad"]
    assert summary.rows_rejected == 1
