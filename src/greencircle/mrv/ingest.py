"""Reading activity CSV files in chunks, with exact 1-based line numbers.

Line numbers are physical lines of the file (header = line 1); a record whose quoted field
spans several lines is reported at the line where it starts. Empty lines are skipped but
counted. Structural problems (wrong number of fields) and repeated ``record_id`` values
(the first occurrence is kept) are detected here because they need the raw record; all
other validation is relational, in :mod:`greencircle.mrv.engine`.

The file is read in blocks. Record boundaries, start lines and field counts of a block are
found with numpy (a newline ends a record when the number of quotes before it is even,
RFC 4180), and well-formed blocks are parsed by Arrow's CSV reader. A block with anything
unusual (stray quotes, a record with the wrong number of fields) is parsed record by record
with the standard library ``csv`` module instead; both paths give the same records.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from greencircle.mrv.errors import InputFileError

__all__ = [
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "CsvChunk",
    "RowError",
    "duplicate_reason",
    "read_activity_csv",
]

REQUIRED_COLUMNS = (
    "record_id",
    "facility_id",
    "period",
    "category",
    "item",
    "quantity",
    "unit",
)
OPTIONAL_COLUMNS = (
    "factor_year",
    "direction",
    "ncv",
    "ncv_unit",
    "carbon_content_tc_per_tj",
    "oxidation_rate",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

_QUOTE, _COMMA, _LF, _CR = 34, 44, 10, 13


def duplicate_reason(first_line: int) -> str:
    """Reason text for a repeated record_id (shared with the SQL engine)."""
    return f"duplicate record_id; the first occurrence at line {first_line} is kept"


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected record: 1-based ``line`` (header = 1), ``record_id``, ``column``, ``reason``."""

    line: int
    record_id: str
    column: str
    reason: str


@dataclass(slots=True)
class CsvChunk:
    """A chunk of parsed records plus the rows rejected while reading them.

    Attributes
    ----------
    table : pyarrow.Table
        String columns of the header that the engine knows, plus ``line`` (int64).
    errors : list of RowError
        Structural and duplicate-id rejections of this chunk.
    rows_read : int
        Records read in this chunk (accepted into ``table`` or rejected here).
    bytes_read : int
        File position after the chunk (for progress).
    """

    table: pa.Table
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0
    bytes_read: int = 0


class _Header:
    def __init__(self, names: list[str]):
        self.names = names
        self.width = len(names)
        self.wanted = [(i, n) for i, n in enumerate(names) if n in COLUMNS]
        self.rid = names.index("record_id") if "record_id" in names else None


def _parse_header(raw: bytes, path: Path) -> _Header:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 ({exc.reason})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InputFileError(f"{path}: empty file (no header row)")
    names = [h.strip() for h in rows[0]]
    dupes = {n for n in names if n and names.count(n) > 1}
    if dupes:
        raise InputFileError(f"{path}: header repeats column(s) {', '.join(sorted(dupes))}")
    return _Header(names)


def _terminators(buf: np.ndarray) -> np.ndarray:
    """Positions of newlines that end a record (an even number of quotes before them)."""
    nl = np.flatnonzero(buf == _LF)
    qpos = np.flatnonzero(buf == _QUOTE)
    if qpos.size == 0:
        return nl
    terms: np.ndarray = nl[(np.searchsorted(qpos, nl) & 1) == 0]
    return terms


def _well_quoted(buf: np.ndarray) -> bool:
    """True when every quote opens/closes a field the RFC 4180 way (fast path is safe)."""
    pos = np.flatnonzero(buf == _QUOTE)
    if pos.size == 0:
        return True
    opening = (np.arange(pos.size) & 1) == 0  # 1st, 3rd, ... quote opens
    prev = np.where(pos > 0, buf[np.maximum(pos - 1, 0)], _LF)
    nxt = np.where(pos + 1 < buf.size, buf[np.minimum(pos + 1, buf.size - 1)], _LF)
    ok_open = np.isin(prev[opening], (_COMMA, _LF, _QUOTE))
    ok_close = np.isin(nxt[~opening], (_COMMA, _LF, _CR, _QUOTE))
    return bool(ok_open.all() and ok_close.all())


class _Dedup:
    """First-occurrence bookkeeping of record ids across the whole file."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def check(self, rid: str, line: int) -> int | None:
        """Line of the first occurrence if ``rid`` was seen, else None (and remember it)."""
        if not rid or rid.isspace():
            return None
        first = self.seen.get(rid)
        if first is None:
            self.seen[rid] = line
        return first


def _slow_block(
    text: str, first_line: int, header: _Header, dedup: _Dedup
) -> tuple[pa.Table, list[RowError], int]:
    """Parse a block record by record with the csv module (exact for any input)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    cols: list[list[str]] = [[] for _ in header.wanted]
    lines: list[int] = []
    errors: list[RowError] = []
    count = 0
    prev = 0
    for row in reader:
        start = first_line + prev
        prev = reader.line_num
        if not row:
            continue
        count += 1
        rid = row[header.rid] if header.rid is not None and header.rid < len(row) else ""
        if len(row) != header.width:
            col = header.names[len(row)] if len(row) < header.width else ""
            reason = f"record has {len(row)} fields, the header has {header.width}"
            errors.append(RowError(start, rid.strip(), col, reason))
            continue
        first = dedup.check(rid, start)
        if first is not None:
            errors.append(RowError(start, rid, "record_id", duplicate_reason(first)))
            continue
        lines.append(start)
        for k, (i, _) in enumerate(header.wanted):
            cols[k].append(row[i])
    arrays = {n: pa.array(cols[k], pa.string()) for k, (_, n) in enumerate(header.wanted)}
    arrays["line"] = pa.array(np.asarray(lines, dtype=np.int64))
    return pa.table(arrays), errors, count


def _fast_block(
    data: bytes, buf: np.ndarray, first_line: int, header: _Header, dedup: _Dedup
) -> tuple[pa.Table, list[RowError], int] | None:
    """Vectorised parse of a block; None when the block needs the exact slow path."""
    if not _well_quoted(buf):
        return None
    cr = np.flatnonzero(buf == _CR)
    if cr.size and (cr[-1] + 1 >= buf.size or np.any(buf[cr + 1] != _LF)):
        return None  # bare CR: the csv module treats it as a line break; let it decide
    terms = _terminators(buf)
    if terms.size == 0 or terms[-1] != buf.size - 1:
        terms = np.append(terms, buf.size)
    starts = np.concatenate(([0], terms[:-1] + 1))
    ends = terms.copy()
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CR)
    ends = ends - has_cr
    blank = ends <= starts
    nl = np.flatnonzero(buf == _LF)
    start_lines = first_line + np.searchsorted(nl, starts)
    keep = ~blank
    # field counts are checked by Arrow: a record with the wrong number of fields raises,
    # and the block then goes to the exact record-by-record path
    rec_lines = start_lines[keep]
    n = int(rec_lines.size)
    if n == 0:
        return _empty(header), [], 0
    opts = pacsv.ReadOptions(column_names=header.names, autogenerate_column_names=False)
    parse = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header.names},
        include_columns=[name for _, name in header.wanted],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(
            io.BytesIO(data), read_options=opts, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if table.num_rows != n:
        return None
    table = table.append_column("line", pa.array(rec_lines.astype(np.int64)))
    errors: list[RowError] = []
    if header.rid is not None:
        rid_col = table.column("record_id")
        ids = rid_col.to_pylist()
        setdefault = dedup.seen.setdefault
        line_list = rec_lines.tolist()
        firsts = np.array(
            [setdefault(r, ln) for r, ln in zip(ids, line_list, strict=True)], dtype=np.int64
        )
        blank = pc.equal(pc.utf8_trim_whitespace(rid_col), "").to_numpy(zero_copy_only=False)
        dup = (firsts != rec_lines) & ~blank
        if dup.any():
            for i in np.flatnonzero(dup).tolist():
                reason = duplicate_reason(int(firsts[i]))
                errors.append(RowError(line_list[i], ids[i], "record_id", reason))
            table = table.filter(pa.array(~dup))
    return table, errors, n


def _empty(header: _Header) -> pa.Table:
    arrays = {n: pa.array([], pa.string()) for _, n in header.wanted}
    arrays["line"] = pa.array([], pa.int64())
    return pa.table(arrays)


def read_activity_csv(
    path: str | Path, *, chunk_bytes: int = 32 * 1024 * 1024
) -> Iterator[CsvChunk]:
    """Stream an activity CSV as Arrow chunks.

    Parameters
    ----------
    path : str or Path
        UTF-8 CSV (a BOM is accepted) with a one-line header; unknown columns are ignored.
    chunk_bytes : int
        Approximate bytes per chunk (a chunk always ends at a record boundary).

    Yields
    ------
    CsvChunk

    Raises
    ------
    InputFileError
        Empty file, undecodable bytes, duplicate header names.
    """
    p = Path(path)
    dedup = _Dedup()
    with open(p, "rb") as f:
        head = f.readline()
        if not head.strip(b"\r\n\xef\xbb\xbf \t"):
            raise InputFileError(f"{p}: empty file (no header row)")
        header = _parse_header(head, p)
        line = 2
        carry = b""
        while True:
            block = f.read(chunk_bytes)
            eof = not block
            data = carry + block
            if not data:
                break
            buf = np.frombuffer(data, dtype=np.uint8)
            if not eof:
                terms = _terminators(buf)
                if terms.size == 0:
                    carry = data
                    continue
                cut = int(terms[-1]) + 1
                data, carry = data[:cut], data[cut:]
                buf = buf[:cut]
            else:
                carry = b""
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad_line = line + data[: exc.start].count(b"\n")
                raise InputFileError(f"{p}: not UTF-8 at line {bad_line} ({exc.reason})") from None
            fast = _fast_block(data, buf, line, header, dedup)
            table, errors, count = (
                fast if fast is not None else _slow_block(text, line, header, dedup)
            )
            line += int(np.count_nonzero(buf == _LF))
            yield CsvChunk(table, errors, count, f.tell() - len(carry))
            if eof:
                break
