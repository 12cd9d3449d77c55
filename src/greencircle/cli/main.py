"""The ``greencircle`` command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from greencircle import __version__
from greencircle.audit import cli as audit_cli
from greencircle.audit.keys import signer_from
from greencircle.audit.service import AuditLog
from greencircle.auth.service import DirectoryService
from greencircle.cli.common import actor_for, cli_session, console, handle_errors, print_json
from greencircle.config import get_settings
from greencircle.demo.crossborder import load_crossborder_demo
from greencircle.demo.energy import load_energy_demo
from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.exchange_modes import load_exchange_modes_demo, scan_demo_days
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from greencircle.demo.scenario import DEMO_PASSWORD, demo_organisations, load_demo, username_for
from greencircle.energy import cli as energy_cli
from greencircle.exchange import cli as exchange_cli
from greencircle.mrv import cli as mrv_cli
from greencircle.mrv.service import publish_factor_sets
from greencircle.registry import cli as registry_cli
from greencircle.storage import migrate

app = typer.Typer(
    name="greencircle",
    help="greencircle: open platform for regional green development.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema: migrations.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo scenario.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations (directory).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(org_app, name="org")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(energy_cli.app, name="energy")
app.add_typer(exchange_cli.app, name="exchange")
app.add_typer(mrv_cli.app, name="mrv")
app.add_typer(registry_cli.app, name="registry")


@app.command()
def version() -> None:
    """Print the package version."""
    console.print(__version__)


@db_app.command("upgrade")
@handle_errors
def db_upgrade(revision: str = "heads") -> None:
    """Apply migrations up to REVISION (default: every branch's head)."""
    settings = get_settings()
    migrate.upgrade(settings.database_url, revision)
    if revision in {"head", "heads"}:
        with cli_session() as session:
            AuditLog(session, signer_from(settings)).ensure_initialised()
            publish_factor_sets(session, signer_from(settings))
    console.print(f"database at revision {revision}")


@db_app.command("downgrade")
@handle_errors
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(get_settings().database_url, revision)
    console.print(f"database at revision {revision}")


@db_app.command("current")
@handle_errors
def db_current() -> None:
    """Print the schema revision of the database."""
    with cli_session() as session:
        console.print(migrate.current_revision(session.connection()) or "(empty)")


@demo_app.command("load")
@handle_errors
def demo_load() -> None:
    """Build the demo scenario (idempotent): regions, organisations, users, facilities."""
    db_upgrade("heads")
    specs = demo_organisations()
    with Progress(
        TextColumn("[bold]demo[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("organisations", total=len(specs))
        with cli_session() as session:
            counts = load_demo(session, lambda code: progress.advance(task))
        task = progress.add_task("MRV 2025: data, reports, verification", total=30)
        with cli_session() as session:
            counts.update(
                load_mrv_demo(
                    session, signer_from(get_settings()), lambda code: progress.advance(task)
                )
            )
    status = console.status("demo: Chongqing industrial-park microgrid studies (8,760 h)")
    with status, cli_session() as session:
        counts.update(load_energy_demo(session, signer_from(get_settings())))
    # After MRV (verified 2025 reports are the compliance obligations).
    status = console.status("demo: registry 2025 compliance cycle (CN-CQ, CN-NATIONAL)")
    with status, cli_session() as session:
        counts.update(load_registry_demo(session, signer_from(get_settings())))
    # After the registry (the traders' units and cash).
    status = console.status("demo: exchange trading days (CN-CQ, CQEA 2025)")
    with status, cli_session() as session:
        counts.update(load_exchange_demo(session, signer_from(get_settings())))
    status = console.status("demo: auction, listed, block and call-auction trades (CN-CQ)")
    with status, cli_session() as session:
        counts.update(load_exchange_modes_demo(session, signer_from(get_settings())))
    status = console.status("demo: cross-border trade (SCO ITMOs bought in KZT)")
    with status, cli_session() as session:
        counts.update(load_crossborder_demo(session, signer_from(get_settings())))
    status = console.status("demo: end-of-day surveillance scans")
    with status, cli_session() as session:
        counts.update(scan_demo_days(session, signer_from(get_settings())))
    console.print(f"added: {counts}")


@demo_app.command("logins")
def demo_logins() -> None:
    """Print the demo users and the shared demo password."""
    table = Table(title=f"demo logins (password: {DEMO_PASSWORD})")
    table.add_column("username")
    table.add_column("organisation")
    table.add_column("roles")
    for spec in demo_organisations():
        table.add_row(username_for(spec.code), spec.name_en, ", ".join(r.value for r in spec.roles))
    console.print(table)


@org_app.command("list")
@handle_errors
def org_list(
    as_user: Annotated[str, typer.Option("--as", help="act as this user")],
    org_type: Annotated[str | None, typer.Option("--type")] = None,
    limit: int = 50,
    offset: int = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the organisations visible to a user."""
    with cli_session() as session:
        actor = actor_for(session, as_user)
        page = DirectoryService(session).orgs.search(
            actor, org_type=org_type, limit=limit, offset=offset
        )
        rows = [
            {
                "code": o.code,
                "type": o.org_type,
                "name_en": o.name_en,
                "jurisdiction": o.jurisdiction_code,
            }
            for o in page.items
        ]
    if as_json:
        print_json({"items": rows, "total": page.total})
        return
    table = Table(title=f"{page.total} organisations")
    for col in ("code", "type", "name_en", "jurisdiction"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(r[c]) for c in ("code", "type", "name_en", "jurisdiction")))
    console.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
) -> None:
    """Serve the API and console (uvicorn)."""
    import uvicorn

    from greencircle.api.app import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


if __name__ == "__main__":  # pragma: no cover
    app()
