"""Spreadsheet-safe export cells (CSV and XLSX).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
as a formula by Excel, LibreOffice and Google Sheets (CSV injection). Every export writes
its cells through :func:`safe_cell`, which prefixes such text with an apostrophe, as the
OWASP guidance recommends; numbers, dates and ``None`` pass unchanged, so amounts stay
numeric in the sheet.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

#: Leading characters that make a spreadsheet read a cell as a formula (OWASP), plus their
#: full-width forms, which some spreadsheet applications normalise.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """Return ``value`` unchanged unless it is text a spreadsheet would run as a formula.

    Parameters
    ----------
    value
        A cell value. Only ``str`` values are changed.

    Returns
    -------
    Any
        ``"'" + value`` for text starting with a formula trigger, else ``value``.

    Examples
    --------
    >>> safe_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> safe_cell(-5)
    -5
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """:func:`safe_cell` over a row."""
    return [safe_cell(v) for v in values]


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """An RFC 4180 CSV document (CRLF line ends), every cell through :func:`safe_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
    return buf.getvalue()
