"""Shared helpers for MRV tests."""

from __future__ import annotations

from pathlib import Path

import pytest

HEADER = (
    "record_id,facility_id,period,category,item,quantity,unit,"
    "factor_year,direction,ncv,ncv_unit,carbon_content_tc_per_tj,oxidation_rate"
)


@pytest.fixture
def write_csv(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write CSV text (header + lines) to a temp file and return its path."""

    def _write(text: str, name: str = "activity.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8"))
        return path

    return _write
