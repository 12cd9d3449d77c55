"""CSV reader: the vectorised fast path and the record-by-record path agree exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from greencircle.mrv.ingest import (
    _Dedup,
    _fast_block,
    _Header,
    _slow_block,
    read_activity_csv,
)

NAMES = ["record_id", "facility_id", "note", "quantity"]
field_text = st.text(alphabet=st.sampled_from(list('ab1 ,"\n\r.é')), max_size=6)


@st.composite
def blocks(draw: st.DrawFn) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["ok", "ok", "ok", "blank", "short", "dup"]))
        if kind == "blank":
            out.write("\n")
            continue
        n = 3 if kind == "short" else 4
        row = [draw(st.sampled_from(["r1", "r2", "r3", "r4", ""]))]
        row += [draw(field_text) for _ in range(n - 1)]
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(blocks())
def test_fast_path_equals_slow_path(data: bytes) -> None:
    header = _Header(NAMES)
    buf = np.frombuffer(data, dtype=np.uint8)
    fast = _fast_block(data, buf, 2, header, _Dedup())
    slow = _slow_block(data.decode("utf-8"), 2, header, _Dedup())
    if fast is None:  # fast path declined: fine, the slow path is the reference
        return
    assert fast[0].to_pylist() == slow[0].to_pylist()
    assert fast[1] == slow[1]
    assert fast[2] == slow[2]


def test_chunks_cut_at_record_boundaries(tmp_path: Path) -> None:
    rows = ["record_id,facility_id,note,quantity"]
    for i in range(300):
        note = f'"multi\nline {i}"' if i % 7 == 0 else f"n{i}"
        rows.append(f"r{i},F,{note},{i}")
    path = tmp_path / "a.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = []
    for chunk in read_activity_csv(path, chunk_bytes=97):
        lines += chunk.table.column("line").to_pylist()
    expected, line = [], 2
    for i in range(300):
        expected.append(line)
        line += 2 if i % 7 == 0 else 1
    assert lines == expected


def test_fast_path_taken_for_ordinary_blocks() -> None:
    data = b'r1,F,"a ""q"", b\nc",1\r\n\r\nr2,F,x,2\n'
    header = _Header(NAMES)
    fast = _fast_block(data, np.frombuffer(data, dtype=np.uint8), 2, header, _Dedup())
    assert fast is not None
    table, errors, count = fast
    assert table.column("line").to_pylist() == [2, 5]
    assert table.column("record_id").to_pylist() == ["r1", "r2"]
    assert errors == [] and count == 2
