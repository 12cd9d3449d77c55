"""``greencircle mrv ...``: the calculation contract, intake, factors and reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from greencircle.audit.keys import signer_from
from greencircle.cli.common import (
    actor_for,
    cli_session,
    console,
    err_console,
    handle_errors,
    print_json,
)
from greencircle.config import get_settings
from greencircle.errors import Invalid
from greencircle.mrv.cli_core import calculate_files
from greencircle.mrv.endpoints import ingest_out, report_out
from greencircle.mrv.errors import MrvError
from greencircle.mrv.factors import search
from greencircle.mrv.models import EmissionReport
from greencircle.mrv.service import MrvService
from greencircle.mrv.template import build_template

app = typer.Typer(help="MRV: emissions calculation, activity data, reports.", no_args_is_help=True)
report_app = typer.Typer(help="Annual reports and verification.", no_args_is_help=True)
app.add_typer(report_app, name="report")

AsUser = Annotated[str, typer.Option("--as", help="act as this user")]


@app.command()
def calculate(
    activity: Annotated[Path, typer.Argument(help="ACTIVITY.csv", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="RESULTS.csv to write")],
    errors: Annotated[Path | None, typer.Option("--errors", help="ERRORS.csv to write")] = None,
) -> None:
    """Compute emissions for ACTIVITY.csv into RESULTS.csv (exit 1 if any row is rejected)."""
    try:
        with Progress(
            TextColumn("[bold]mrv[/bold] calculating"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("calc", total=activity.stat().st_size or 1)
            summary = calculate_files(
                activity,
                out,
                errors,
                lambda done, total: bar.update(task, completed=done, total=total or 1),
            )
    except MrvError as exc:
        err_console.print(f"[red]error: {exc.code}[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    err_console.print(
        f"{summary.rows_accepted} rows accepted, {summary.rows_output} output rows accepted, "
        f"{summary.rows_rejected} rejected; "
        f"total {summary.total_emissions_tco2} tCO2 ({summary.seconds:.1f} s)",
        highlight=False,
    )
    for e in summary.first_errors[:10]:
        err_console.print(
            f"  line {e.line} [{e.column}] {e.record_id}: {e.reason}", highlight=False
        )
    raise typer.Exit(summary.exit_code)


@app.command()
def factors(
    q: Annotated[str | None, typer.Argument(help="text to search for")] = None,
    method: str | None = None,
    region: str | None = None,
    year: int | None = None,
    status: str | None = None,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search the emission factor library."""
    page = search(q, method=method, region=region, year=year, status=status, limit=limit)
    if as_json:
        from greencircle.mrv.endpoints import factor_out

        print_json({"items": [factor_out(f) for f in page.items], "total": page.total})
        return
    table = Table(title=f"{page.total} factors")
    for col in ("factor_id", "value", "unit", "years", "status", "source"):
        table.add_column(col, overflow="fold")
    for f in page.items:
        table.add_row(
            f.factor_id, str(f.value), f"{f.unit}/{f.per_unit}", f.years, f.status, f.source[:60]
        )
    console.print(table)


@app.command()
def template(out: Annotated[Path, typer.Argument(help="XLSX file to write")]) -> None:
    """Write the monthly reporting template (MEE-style) to fill and upload."""
    out.write_bytes(build_template())
    console.print(f"wrote {out}")


@app.command()
@handle_errors
def upload(
    file: Annotated[
        Path, typer.Argument(help="CSV, XLSX template or JSON", exists=True, dir_okay=False)
    ],
    org: Annotated[str, typer.Option(help="enterprise code or id")],
    as_user: AsUser,
) -> None:
    """Store monthly activity data for an enterprise (all rows valid, or nothing stored)."""
    fmt = file.suffix.lower().lstrip(".")
    if fmt not in {"csv", "xlsx", "json"}:
        raise Invalid("file must end in .csv, .xlsx or .json", code="mrv.format")
    with Progress(
        TextColumn("[bold]upload[/bold] {task.description}"),
        BarColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=1.0)
        with cli_session() as session:
            svc = MrvService(session, actor_for(session, as_user), signer_from(get_settings()))
            result = svc.ingest(
                org,
                file.name,
                file.read_bytes(),
                fmt,
                lambda f, msg: bar.update(task, completed=f, description=msg),
            )
            data = ingest_out(result)
    print_json(data)


@report_app.command("create")
@handle_errors
def report_create(
    org: Annotated[str, typer.Option()], year: Annotated[int, typer.Option()], as_user: AsUser
) -> None:
    """Open the draft annual report of an enterprise."""
    with cli_session() as session:
        svc = MrvService(session, actor_for(session, as_user), signer_from(get_settings()))
        print_json(report_out(svc.create_report(org, year)))


@report_app.command("list")
@handle_errors
def report_list(as_user: AsUser, year: int | None = None, status: str | None = None) -> None:
    """Reports visible to a user."""
    with cli_session() as session:
        svc = MrvService(session, actor_for(session, as_user))
        print_json([report_out(r) for r in svc.reports(year=year, status=status)])


@report_app.command("submit")
@handle_errors
def report_submit(report_id: str, as_user: AsUser, comment: str = "") -> None:
    """Submit a report for verification."""
    _transition(as_user, lambda s: s.submit(report_id, comment))


@report_app.command("assign")
@handle_errors
def report_assign(
    report_id: str, verifier: Annotated[str, typer.Option()], as_user: AsUser
) -> None:
    """Assign a verification body (regulator)."""
    _transition(as_user, lambda s: s.assign(report_id, verifier))


@report_app.command("verify")
@handle_errors
def report_verify(report_id: str, as_user: AsUser, comment: str = "") -> None:
    """Confirm a report (assigned verifier)."""
    _transition(as_user, lambda s: s.verify(report_id, comment))


@report_app.command("return")
@handle_errors
def report_return(report_id: str, as_user: AsUser, comment: Annotated[str, typer.Option()]) -> None:
    """Return a report with comments (assigned verifier)."""
    _transition(as_user, lambda s: s.return_report(report_id, comment))


@report_app.command("lock")
@handle_errors
def report_lock(report_id: str, as_user: AsUser, comment: str = "") -> None:
    """Lock a verified report (regulator)."""
    _transition(as_user, lambda s: s.lock(report_id, comment))


def _transition(as_user: str, op: Callable[[MrvService], EmissionReport]) -> None:
    with cli_session() as session:
        svc = MrvService(session, actor_for(session, as_user), signer_from(get_settings()))
        print_json(report_out(op(svc)))
