"""``greencircle energy``: microgrid optimisation from the command line.

Contract::

    greencircle energy microgrid optimize SPEC.json --out RESULT.json

reads the SPEC, sizes and dispatches the microgrid and writes the RESULT (JSON). Exit 0
when a RESULT was produced (``status`` optimal, feasible, or infeasible with its
``explanation``); exit 1 with ``error: <code>: <detail>`` on stderr for an unreadable or
invalid SPEC (``energy.spec_invalid``), an invalid weather CSV
(``energy.weather_csv_invalid``), an unknown grid (``energy.grid_factor_not_found``), or
a solver failure (``energy.solver_failed``, RESULT still written). No database and no
login are needed, unless the run is saved as a study with ``--site ... --as ...``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from greencircle.cli.common import err_console, handle_errors
from greencircle.energy import optimize_spec
from greencircle.energy.errors import MicrogridSpecInvalid
from greencircle.energy.grid_factors import resolve_grid_factor
from greencircle.energy.spec import check_spec
from greencircle.errors import PlatformError
from greencircle.kit import fmt

app = typer.Typer(help="Energy: microgrid sizing and dispatch.", no_args_is_help=True)
microgrid_app = typer.Typer(help="Microgrids (PV + battery + grid).", no_args_is_help=True)
app.add_typer(microgrid_app, name="microgrid")

#: Solver outcomes for which no usable RESULT exists (exit 1).
FAILED_STATUSES = frozenset({"error", "no_solution", "unbounded"})


def read_spec(path: Path) -> dict[str, Any]:
    """Read a SPEC file; unreadable or non-JSON content is ``energy.spec_invalid``."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise MicrogridSpecInvalid(
            [{"loc": "", "message": f"cannot read {path}: {reason}"}]
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MicrogridSpecInvalid(
            [{"loc": "", "message": f"not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"}]
        ) from None
    if not isinstance(data, dict):
        raise MicrogridSpecInvalid([{"loc": "", "message": "the SPEC must be a JSON object"}])
    return data


def _save_as_study(
    spec: dict[str, Any],
    *,
    site_id: str,
    username: str,
    label: str | None,
    time_limit_s: float,
    mip_rel_gap: float,
    progress: Any,
) -> dict[str, Any]:
    from greencircle.audit.keys import signer_from
    from greencircle.cli.common import actor_for, cli_session
    from greencircle.config import get_settings
    from greencircle.energy.service import EnergyService

    signer = signer_from(get_settings())
    with cli_session() as session:
        service = EnergyService(session, actor_for(session, username))
        site = service.site_for_run(site_id)
        return service.run(
            service.effective_spec(spec, site),
            signer=signer,
            site=site,
            label=label,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            progress=progress,
        )


@microgrid_app.command("optimize")
@handle_errors
def optimize(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.json", help="the SPEC (JSON)")],
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="RESULT.json", help="RESULT file (default: stdout)"),
    ] = None,
    time_limit_s: Annotated[float, typer.Option("--time-limit", min=1.0, help="[s]")] = 600.0,
    mip_gap: Annotated[float, typer.Option("--mip-gap", min=0.0, max=1.0)] = 1e-3,
    site_id: Annotated[
        str | None, typer.Option("--site", help="save the run as a study of this site id")
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="platform user saving the study (with --site)")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="study label")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Size and dispatch a microgrid: read SPEC.json, write RESULT.json."""
    if (site_id is None) != (as_user is None):
        raise PlatformError("--site and --as go together", code="usage_error")
    spec = read_spec(spec_path)
    check_spec(spec)  # report an invalid SPEC before any progress output
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]microgrid[/bold] {task.description:<26}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    ) as bar:
        task = bar.add_task("reading spec", total=1.0)

        def progress(stage: str, fraction: float) -> None:
            bar.update(task, completed=fraction, description=stage)

        if site_id is not None and as_user is not None:
            result = _save_as_study(
                spec,
                site_id=site_id,
                username=as_user,
                label=label,
                time_limit_s=time_limit_s,
                mip_rel_gap=mip_gap,
                progress=progress,
            )
        else:
            result = optimize_spec(
                spec,
                time_limit_s=time_limit_s,
                mip_rel_gap=mip_gap,
                base_dir=spec_path.parent,
                progress=progress,
            )
        bar.update(task, completed=1.0, description=f"done: {result['status']}")
    text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        try:
            out.write_text(text, "utf-8")
        except OSError as exc:
            raise PlatformError(
                f"cannot write {out}: {exc.strerror}", code="energy.result_unwritable"
            ) from None
    status = str(result["status"])
    if not quiet:
        err_console.print(
            f"status {status}: " + summary_line(result) + (f" -> {out}" if out else ""),
            highlight=False,
        )
    if status in FAILED_STATUSES:
        raise PlatformError(
            f"the solver returned {status} ({result.get('model_status')})",
            code="energy.solver_failed",
        )


def summary_line(result: dict[str, object]) -> str:
    """One line of headline figures, as people read them (kit/fmt, units on each)."""
    kpis = result.get("kpis") if isinstance(result.get("kpis"), dict) else {}
    assert isinstance(kpis, dict)

    def q(value: object, unit: str, places: int, scale: float = 1.0) -> str:
        if not isinstance(value, int | float):
            return "–"
        return fmt.quantity(value / scale, unit, "en", places=places)

    return ", ".join(
        [
            f"PV {q(result.get('pv_kwp'), 'kWp', 0)}",
            f"battery {q(result.get('battery_kwh'), 'kWh', 0)} / "
            f"{q(result.get('battery_kw'), 'kW', 0)}",
            f"import {q(result.get('import_kwh'), 'MWh/yr', 1, 1000.0)}",
            f"export {q(result.get('export_kwh'), 'MWh/yr', 1, 1000.0)}",
            f"cost {q(result.get('objective_cny'), 'CNY/yr', 0)}",
            f"savings {q(kpis.get('annual_savings_cny'), 'CNY/yr', 0)}",
            f"avoided {q(kpis.get('avoided_emissions_tco2'), 'tCO2/yr', 1)}",
            f"payback {q(kpis.get('simple_payback_years'), 'years', 1)}",
        ]
    )


@app.command("grid-factor")
@handle_errors
def grid_factor(
    grid_code: Annotated[str, typer.Argument(help="CN-SW, CN-51, CN-CQ, CN-CQ-500115 ...")],
    year: Annotated[int, typer.Argument(min=1990, max=2100)],
) -> None:
    """Show the grid emission factor a study would use, with its source and fallbacks."""
    factor = resolve_grid_factor(grid_code, year)
    sys.stdout.write(json.dumps(factor.to_dict(), ensure_ascii=False, indent=2) + "\n")
