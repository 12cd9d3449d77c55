"""``greencircle exchange``: the matching engine and end-of-day operations.

``fx-rate`` (settlement bank: record a rate snapshot), ``settlement`` (end-of-day report
per settlement bank and currency, or one's own statement) and ``surveil`` (surveillance
scan of a market and day) run the same services as the HTTP API, ``--as`` a user.

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
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from greencircle.audit.keys import signer_from
from greencircle.auth.roles import Perm
from greencircle.cli.common import (
    actor_for,
    cli_session,
    console,
    err_console,
    handle_errors,
    print_json,
)
from greencircle.config import get_settings
from greencircle.exchange import make_book
from greencircle.exchange.errors import PriceInvalid, ReplayFileUnreadable
from greencircle.exchange.fx import FxError, FxService
from greencircle.exchange.prices import PriceScale
from greencircle.exchange.replay import ReplayStats, replay
from greencircle.exchange.surveillance import SurveillanceService

app = typer.Typer(
    help="Exchange: order book matching, FX snapshots, settlement reports, surveillance.",
    no_args_is_help=True,
)

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


# ==========================================================================================
# end-of-day operations (settlement banks, the exchange operator, regulators)
# ==========================================================================================
AsUser = Annotated[str, typer.Option("--as", help="act as this platform user")]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FxError(
            f"{text!r} is not an ISO 8601 time", code="exchange.fx_bad_validity"
        ) from None
    if value.tzinfo is None:
        raise FxError(f"{text!r} needs a UTC offset", code="exchange.fx_bad_validity")
    return value


@app.command("fx-rate")
@handle_errors
def fx_rate(
    as_user: AsUser,
    base: Annotated[str, typer.Option("--base", help="funding currency, e.g. KZT")],
    rate: Annotated[str, typer.Option("--rate", help="quote currency per 1 base (decimal)")],
    source: Annotated[str, typer.Option("--source", help="where the rate comes from")],
    valid_from: Annotated[str, typer.Option("--valid-from", help="ISO 8601 with offset")],
    valid_until: Annotated[str, typer.Option("--valid-until", help="ISO 8601 with offset")],
    quote: Annotated[str, typer.Option("--quote")] = "CNY",
    status: Annotated[str, typer.Option("--status")] = "confirmed",
    reason: Annotated[str | None, typer.Option("--reason", help="why the rate moved")] = None,
    as_json: Json = False,
) -> None:
    """Record an FX rate snapshot (settlement bank; logged, immutable). A rate outside the
    plausibility band (fx.toml) is pending until a second user runs ``fx-decide``."""
    with cli_session() as session:
        row = FxService(session, signer_from(get_settings())).record_rate(
            actor_for(session, as_user),
            base=base.upper(),
            quote=quote.upper(),
            rate=rate,
            source=source,
            status=status,
            valid_from=_when(valid_from),
            valid_until=_when(valid_until),
            reason=reason,
        )
    _print_rate(row, as_json)


def _print_rate(row: dict[str, object], as_json: bool) -> None:
    if as_json:
        print_json(row)
    else:
        console.print(
            f"{row['base']}/{row['quote']} {row['rate']} valid {row['valid_from']} – "
            f"{row['valid_until']} [{row['state']}] (id {row['id']}, log leaf "
            f"{row['leaf_index']})",
            highlight=False,
        )


@app.command("fx-decide")
@handle_errors
def fx_decide(
    as_user: AsUser,
    rate_id: Annotated[str, typer.Option("--id", help="the pending rate's id")],
    reason: Annotated[str, typer.Option("--reason", help="why it is approved or rejected")],
    reject: Annotated[bool, typer.Option("--reject", help="reject instead of approve")] = False,
    as_json: Json = False,
) -> None:
    """Approve (default) or reject a pending FX rate: a second user of the recording bank."""
    with cli_session() as session:
        row = FxService(session, signer_from(get_settings())).decide(
            actor_for(session, as_user), rate_id, approve=not reject, reason=reason
        )
    _print_rate(row, as_json)


@app.command("settlement")
@handle_errors
def settlement(
    as_user: AsUser,
    trade_date: Annotated[str, typer.Option("--date", help="trading date YYYY-MM-DD")],
    market: Annotated[str | None, typer.Option("--market")] = None,
    gross: Annotated[bool, typer.Option("--gross", help="gross lines only, no netting")] = False,
    as_json: Json = False,
) -> None:
    """End-of-day settlement report per settlement bank and currency (banks, operator);
    other users get their own statement."""
    with cli_session() as session:
        svc = FxService(session, signer_from(get_settings()))
        actor = actor_for(session, as_user)
        banker = Perm.EXCHANGE_FX in actor.perms or Perm.EXCHANGE_OPERATE in actor.perms
        data = (
            svc.settlement_report(actor, trade_date, market=market, netted=not gross)
            if banker
            else svc.statement(actor, trade_date)
        )
    if as_json:
        print_json(data)
        return
    groups = data.get("groups") or [
        {"settlement_bank": "", "currency": "", "participants": data["lines"]}
    ]
    table = Table(title=f"settlement {trade_date} (minor units)")
    for col in ("bank", "currency", "participant", "debit", "credit", "net"):
        table.add_column(col, justify="right" if col in ("debit", "credit", "net") else "left")
    for g in groups:
        for p in g["participants"]:
            table.add_row(
                g["settlement_bank"],
                g["currency"] or p.get("currency", ""),
                p.get("org_code", ""),
                str(p["debit_minor"]),
                str(p["credit_minor"]),
                str(p.get("net_minor", "")),
            )
    console.print(table)


@app.command("surveil")
@handle_errors
def surveil(
    as_user: AsUser,
    market: Annotated[str, typer.Option("--market")],
    trade_date: Annotated[str, typer.Option("--date", help="trading date YYYY-MM-DD")],
    as_json: Json = False,
) -> None:
    """Run the end-of-day surveillance scan of a market (operator, regulators)."""
    with cli_session() as session:
        items = SurveillanceService(session, signer_from(get_settings())).scan(
            actor_for(session, as_user), market, trade_date
        )
    if as_json:
        print_json(items)
        return
    table = Table(title=f"surveillance {market} {trade_date}: {len(items)} alert(s)")
    for col in ("kind", "severity", "participant", "new", "message"):
        table.add_column(col)
    for a in items:
        table.add_row(
            a["kind"], a["severity"], a.get("org_code") or "", str(a["new"]), a["message"]
        )
    console.print(table)
