"""``greencircle audit ...``: initialise the log, verify bundles offline, show the head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from greencircle.audit.keys import signer_from
from greencircle.audit.service import AuditLog
from greencircle.audit.verify import verify_bundle
from greencircle.cli.common import cli_session, console, handle_errors, print_json
from greencircle.config import get_settings

app = typer.Typer(
    help="Transparency log: checkpoints, proofs, offline verification.", no_args_is_help=True
)


@app.command("init")
@handle_errors
def init() -> None:
    """Create the signing key (0600 file in the var directory) and the empty log."""
    with cli_session() as session:
        log = AuditLog(session, signer_from(get_settings()))
        log.ensure_initialised()
        cp = log.checkpoint()
    console.print(f"log {cp.origin} at size {cp.tree_size}")


@app.command("checkpoint")
@handle_errors
def checkpoint() -> None:
    """Print the latest signed checkpoint as JSON."""
    with cli_session() as session:
        print_json(AuditLog(session, signer_from(get_settings())).checkpoint().to_dict())


@app.command("verify")
def verify(
    bundle: Annotated[
        Path, typer.Argument(help="receipt bundle JSON file", exists=True, dir_okay=False)
    ],
    public_key: Annotated[
        str | None,
        typer.Option(help="trusted log public key (base64), e.g. from GET /v1/audit/public-key"),
    ] = None,
) -> None:
    """Check a receipt bundle offline; exit 0 only if everything holds."""
    try:
        data = json.loads(bundle.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        console.print(f"[red]error: invalid_bundle[/red]: not JSON ({exc})")
        raise typer.Exit(1) from exc
    report = verify_bundle(data, public_key)
    for check in report.checks:
        mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
        console.print(f"{mark} {check.name}: {check.message}", highlight=False)
    console.print("[bold green]VALID[/bold green]" if report.ok else "[bold red]INVALID[/bold red]")
    raise typer.Exit(0 if report.ok else 1)
