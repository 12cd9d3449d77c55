"""``greencircle exchange``: the matching engine from the command line.

Contract::

    greencircle exchange replay ORDERS.jsonl --out TRADES.jsonl

runs the continuous-book matching engine alone (no funds checks, no price bands, no
self-trade prevention, no trading hours) over ORDERS (one JSON event per line) and writes
one JSON line per trade to TRADES, in execution order (see
:mod:`greencircle.exchange.replay` for the formats). Exit 0 on success, with a one-line
summary on stderr (stdout stays empty). Exit 1 with
``error: <code>: <detail>`` on stderr, and no TRADES file written, when ORDERS cannot be
read (``exchange.replay_file_unreadable``), a line is not a valid event
(``exchange.replay_line_invalid``, detail ``line N: reason``) unless ``--skip-invalid``
is given (then each skipped line is reported on stderr), or the tick size is invalid
(``exchange.tick_invalid``).
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from greencircle.cli.common import err_console, handle_errors
from greencircle.exchange import make_book
from greencircle.exchange.errors import PriceInvalid, ReplayFileUnreadable
from greencircle.exchange.prices import PriceScale
from greencircle.exchange.replay import ReplayStats, replay

app = typer.Typer(help="Exchange: order book matching.", no_args_is_help=True)

#: Show a progress bar (on a terminal) for ORDERS files at least this big [bytes].
PROGRESS_MIN_BYTES = 8 << 20
#: Skipped lines reported one by one on stderr before only counting.
MAX_REPORTED_SKIPS = 20


class Engine(StrEnum):
    """Order book implementation."""

    fast = "fast"
    reference = "reference"


def _scale(tick_size: str) -> PriceScale:
    try:
        tick = Decimal(tick_size)
    except (InvalidOperation, ValueError):
        raise PriceInvalid(
            f"tick size {tick_size!r} must be a positive decimal", code="exchange.tick_invalid"
        ) from None
    return PriceScale(tick)


def _run(
    orders: Path, out: Path, engine: Engine, scale: PriceScale, skip_invalid: bool
) -> ReplayStats:
    try:
        src = orders.open("rb")
        size = os.fstat(src.fileno()).st_size
    except OSError as exc:
        raise ReplayFileUnreadable(f"cannot read {orders}: {exc.strerror}") from None
    skips = 0

    def on_skip(lineno: int, reason: str) -> None:
        nonlocal skips
        skips += 1
        if skips <= MAX_REPORTED_SKIPS:
            err_console.print(f"warning: line {lineno} skipped: {reason}", highlight=False)

    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=out.resolve().parent, prefix=f".{out.name}.", suffix=".tmp"
        )
    except OSError as exc:
        src.close()
        raise ReplayFileUnreadable(f"cannot write {out}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    progress = Progress(
        TextColumn("[bold]replay[/bold]"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=size < PROGRESS_MIN_BYTES or not err_console.is_terminal,
    )
    try:
        with src, os.fdopen(fd, "w", encoding="utf-8", newline="\n") as sink, progress:
            task = progress.add_task("replay", total=size)
            stats = replay(
                src,
                sink,
                make_book(engine.value),
                scale=scale,
                skip_invalid=skip_invalid,
                on_skip=on_skip,
                on_progress=lambda n: progress.update(task, completed=n),
            )
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if skips > MAX_REPORTED_SKIPS:
        err_console.print(
            f"warning: {skips - MAX_REPORTED_SKIPS} more lines skipped", highlight=False
        )
    return stats


@app.command("replay")
@handle_errors
def replay_command(
    orders: Annotated[Path, typer.Argument(help="ORDERS.jsonl: one event per line.")],
    out: Annotated[Path, typer.Option("--out", help="TRADES.jsonl to write.")],
    engine: Annotated[
        Engine, typer.Option(help="Order book implementation.", case_sensitive=False)
    ] = Engine.fast,
    tick_size: Annotated[
        str, typer.Option("--tick-size", help="Price tick [currency per lot].")
    ] = "0.01",
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="Report and skip invalid lines instead of failing."),
    ] = False,
) -> None:
    """Replay ORDERS through the matching engine alone and write the TRADES.

    No funds checks, price bands, self-trade prevention or trading hours: the continuous
    book only (price-time priority; trades print at the resting order's price).
    """
    stats = _run(orders, out, engine, _scale(tick_size), skip_invalid)
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items()))
    err_console.print(
        f"replay: {stats.events} events ({outcomes}); {stats.trades} trades, "
        f"{stats.traded_quantity} lots; {len(stats.skipped)} lines skipped -> {out}",
        highlight=False,
        soft_wrap=True,
    )
