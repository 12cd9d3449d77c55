"""``greencircle registry ...``: the registry from the command line.

Every command acts ``--as`` a platform user (the same permission and scope checks as the
API), takes organisations by code (``CQ-CEM-01``) or id and instruments by code
(``CN-CQ:CQEA:2025``) or id, prints a table or, with ``--json``, the same records as the
API. A rejected operation prints ``error: <code>: <detail>`` on stderr and exits 1
(``insufficient_available``, ``units_pledged``, ``offset_cap_exceeded``,
``wrong_market``, ``jurisdiction_not_eligible``, ``after_deadline``, ...).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from greencircle.audit.keys import signer_from
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.cli.common import actor_for, cli_session, console, handle_errors, print_json
from greencircle.config import get_settings
from greencircle.errors import Invalid, NotFound, PlatformError
from greencircle.kit import fmt
from greencircle.registry.endpoints import market_dict, org_scope, service_for
from greencircle.registry.markets import default_catalog
from greencircle.registry.results import Record
from greencircle.registry.service import AllocationInput, RegistryService

app = typer.Typer(
    help="Registry of environmental rights: holdings, allocation, transfers, compliance, "
    "retirement, pledges, freezes.",
    no_args_is_help=True,
)
plan_app = typer.Typer(help="Allocation plans (four-eyes).", no_args_is_help=True)
transfer_app = typer.Typer(help="Transfers between holding accounts.", no_args_is_help=True)
cash_app = typer.Typer(
    help="Cash deposits and withdrawals (settlement bank).", no_args_is_help=True
)
compliance_app = typer.Typer(help="Compliance status, regions, shortfalls.", no_args_is_help=True)
retirement_app = typer.Typer(help="Retirements, certificates, proofs.", no_args_is_help=True)
pledge_app = typer.Typer(help="Pledges and the pledge register.", no_args_is_help=True)
freeze_app = typer.Typer(help="Freezes by regulators.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(transfer_app, name="transfer")
app.add_typer(cash_app, name="cash")
app.add_typer(compliance_app, name="compliance")
app.add_typer(retirement_app, name="retirement")
app.add_typer(pledge_app, name="pledge")
app.add_typer(freeze_app, name="freeze")

R = TypeVar("R")

AsUser = Annotated[str, typer.Option("--as", help="act as this platform user")]
Json = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
OrgOpt = Annotated[
    str | None, typer.Option("--org", help="organisation code or id (default: your own)")
]
Market = Annotated[str, typer.Option("--market", help="market code: CN-CQ, CN-NATIONAL...")]
YearOpt = Annotated[int, typer.Option("--year", min=2000, max=2200, help="compliance year")]


def org_id(session: Session, ref: str) -> str:
    """The id of an organisation given by code or id (``unknown_organisation``)."""
    found = session.scalar(
        select(Organisation.id).where(or_(Organisation.code == ref, Organisation.id == ref))
    )
    if found is None:
        raise NotFound(f"no organisation {ref!r}", code="unknown_organisation")
    return str(found)


def run(as_user: str, fn: Callable[[Session, RegistryService, Actor], R]) -> R:
    """Run ``fn`` in one unit of work as ``as_user`` (committed when it succeeds)."""
    with cli_session() as session:
        svc = service_for(session, signer_from(get_settings()))
        return fn(session, svc, actor_for(session, as_user))


def plain(value: Any) -> Any:
    """JSON-friendly form of a result record, a list of them, or plain data."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


#: Fields holding a quantity in the row's ``unit`` (minor units at the row's ``scale``).
QUANTITY_FIELDS = frozenset(
    {
        "posted",
        "available",
        "held",
        "pledged",
        "frozen",
        "encumbered",
        "quantity",
        "amount",
        "posted_amount",
        "voided_amount",
        "remaining",
        "obligation",
        "allocation_owed",
        "surrendered_allowances",
        "surrendered_offsets",
        "offset_cap",
        "surrendered",
        "total_quantity",
        "shortfall",
        "deduction_units",
        "credit",
        "debit",
        "balance",
        "closing",
    }
)
#: Fields holding money in minor units of the row's ``currency`` (at its ``scale``).
MONEY_FIELDS = frozenset({"amount_minor", "balance_minor", "fine_min_minor", "fine_max_minor"})


def readable(row: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """A record for people (tables, key-value lines): quantities with their unit and money
    with its currency, grouped (:mod:`greencircle.kit.fmt`). ``--json`` keeps exact values."""
    currencies = default_catalog().currencies
    unit, scale = row.get("unit"), row.get("scale")
    currency = row.get("currency")
    out = dict(row)
    for k, v in row.items():
        if not isinstance(v, int) or isinstance(v, bool):
            continue
        if k in MONEY_FIELDS and currency in currencies:
            out[k] = fmt.money(v, str(currency), currencies[str(currency)].scale, lang)
        elif k in QUANTITY_FIELDS and unit in currencies:  # a cash balance
            out[k] = fmt.money(v, str(unit), currencies[str(unit)].scale, lang)
        elif k in QUANTITY_FIELDS and unit:
            s = scale if isinstance(scale, int) else 0
            out[k] = fmt.quantity(Decimal(v).scaleb(-s), str(unit), lang, places=s)
    return out


def emit(data: Any, as_json: bool, columns: Sequence[str] | None = None, title: str = "") -> None:
    """Print ``data`` as JSON or as a table (lists) / key-value lines (records); tables
    show quantities with their unit and money with its currency."""
    data = plain(data)
    if as_json:
        print_json(data)
        return
    if isinstance(data, list):
        data = [readable(r) if isinstance(r, dict) else r for r in data]
        cols = list(columns or (data[0].keys() if data else []))
        table = Table(title=title or f"{len(data)} rows")
        for c in cols:
            table.add_column(c, no_wrap=True)
        cells = [[_cell(row.get(c)) for c in cols] for row in data]
        for row in cells:
            table.add_row(*row)
        # Never crop codes: the table is as wide as its widest cells need.
        need = sum(max([len(c), *(len(r[i]) for r in cells)]) + 3 for i, c in enumerate(cols))
        Console(width=max(console.width, need + 1), highlight=False).print(table)
        return
    if isinstance(data, dict):
        data = readable(data)
        keys = columns or list(data)
        for k in keys:
            console.print(f"[bold]{k}[/bold]: {_cell(data.get(k))}", highlight=False)
        return
    console.print(str(data))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"cannot read {path}: {exc}", code="invalid_file") from None


def _dec(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Invalid(
            f"{what} must be a decimal number: {value!r}", code="invalid_number"
        ) from None


BALANCE_COLS: tuple[str, ...] = (
    "account_number",
    "instrument_code",
    "posted",
    "available",
    "held",
    "pledged",
)
BALANCE_COLS += ("frozen",)


# ==========================================================================================
# reference data, accounts, balances, serials
# ==========================================================================================
@app.command("markets")
@handle_errors
def markets(as_json: Json = False) -> None:
    """Markets with their products and rules (each rule with status and source)."""
    from greencircle.registry.markets import default_catalog

    data = [market_dict(m) for m in default_catalog().markets.values()]
    emit(data, as_json, ("code", "name_en", "compliance_enabled", "authority_jurisdiction"))


@app.command("instruments")
@handle_errors
def instruments(
    market: Annotated[str | None, typer.Option("--market")] = None, as_json: Json = False
) -> None:
    """Instrument series issued so far."""
    with cli_session() as session:
        data = service_for(session, signer_from(get_settings())).instruments(market_code=market)
    emit(data, as_json, ("code", "instrument_class", "unit", "issued", "id"))


@app.command("accounts")
@handle_errors
def accounts(as_user: AsUser, org: OrgOpt = None, as_json: Json = False) -> None:
    """Accounts of my organisation (regulators: --org in their jurisdiction)."""
    data = run(
        as_user,
        lambda s, svc, a: svc.accounts(a, org_scope(a, svc, org_id(s, org) if org else None)),
    )
    emit(data, as_json, ("number", "kind", "market_code", "currency"))


@app.command("open-account")
@handle_errors
def open_account(
    market: Annotated[str, typer.Argument(help="market code")],
    as_user: AsUser,
    org: OrgOpt = None,
    as_json: Json = False,
) -> None:
    """Open (or show) a holding account on a market."""
    data = run(
        as_user,
        lambda s, svc, a: svc.open_holding_account(a, org_id(s, org) if org else a.org_id, market),
    )
    emit(data, as_json)


@app.command("balances")
@handle_errors
def balances(
    as_user: AsUser,
    org: OrgOpt = None,
    market: Annotated[str | None, typer.Option("--market")] = None,
    as_json: Json = False,
) -> None:
    """Balances: posted = available + held + pledged + frozen (minor units)."""

    def fn(s: Session, svc: RegistryService, a: Actor) -> list[Any]:
        rows = svc.balances(a, org_scope(a, svc, org_id(s, org) if org else None))
        return [b for b in rows if not market or b.account_number.startswith(f"{market}.")]

    emit(run(as_user, fn), as_json, BALANCE_COLS)


@app.command("blocks")
@handle_errors
def blocks(
    account: Annotated[str, typer.Argument(help="account number, e.g. CN-CQ.CQ-CEM-01")],
    as_user: AsUser,
    instrument: Annotated[str | None, typer.Option("--instrument")] = None,
    as_json: Json = False,
) -> None:
    """Current serial blocks of an account."""
    data = run(
        as_user,
        lambda s, svc, a: svc.serial_blocks(
            a, account, svc.resolve_instrument(instrument).id if instrument else None
        ),
    )
    emit(data, as_json, ("instrument_code", "start", "end", "quantity", "serials"))


@app.command("serials")
@handle_errors
def serials(
    instrument: Annotated[str, typer.Argument(help="instrument code or id")],
    start: Annotated[int, typer.Argument()],
    end: Annotated[int, typer.Argument()],
    as_user: AsUser,
    as_json: Json = False,
) -> None:
    """Where each unit of [START, END] is now, and its whole history."""
    result = run(
        as_user,
        lambda s, svc, a: svc.serial_search(a, svc.resolve_instrument(instrument).id, start, end),
    )
    if as_json:
        print_json(result.to_dict())
        return
    emit([{"serials": r, "account": acc} for r, acc in result.current], False, title="now")
    emit(
        [h.to_dict() for h in result.history],
        False,
        ("at", "kind", "serials", "from_account", "to_account", "leaf_index"),
        title="history",
    )


@app.command("proofs")
@handle_errors
def proofs(
    account: Annotated[str, typer.Argument(help="account number")],
    instrument: Annotated[str, typer.Argument(help="instrument code or id")],
    as_user: AsUser,
    out: Annotated[Path | None, typer.Option("--out", help="write the bundles here")] = None,
) -> None:
    """Receipt bundles proving how the holding's serial blocks arrived (JSON list)."""
    bundles = run(
        as_user,
        lambda s, svc, a: svc.holding_proofs(a, account, svc.resolve_instrument(instrument).id),
    )
    _write_json(bundles, out)


def _write_json(data: Any, out: Path | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text, "utf-8")
        console.print(f"written {out}")


@app.command("trust")
@handle_errors
def trust(
    account: Annotated[str, typer.Argument(help="account to trust")],
    as_user: AsUser,
    as_json: Json = False,
) -> None:
    """Trust an account: transfers to it need no second approval."""
    emit(run(as_user, lambda s, svc, a: svc.add_trusted_account(a, account)), as_json)


# ==========================================================================================
# issuance
# ==========================================================================================
@app.command("issue")
@handle_errors
def issue(
    as_user: AsUser,
    market: Market,
    product: Annotated[str, typer.Option("--product")],
    vintage: Annotated[int, typer.Option("--vintage")],
    to: Annotated[str, typer.Option("--to", help="receiving organisation (code or id)")],
    quantity: Annotated[int, typer.Option("--quantity", help="(minor units)")],
    project: Annotated[str | None, typer.Option("--project")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    pollutant: Annotated[str | None, typer.Option("--pollutant")] = None,
    reference: Annotated[str | None, typer.Option("--reference")] = None,
    as_json: Json = False,
) -> None:
    """Issue offsets or other rights to a holder (regulator)."""
    tx = run(
        as_user,
        lambda s, svc, a: svc.issue(
            a,
            market_code=market,
            product=product,
            vintage=vintage,
            to_org_id=org_id(s, to),
            quantity=quantity,
            project_id=project,
            region=region,
            pollutant=pollutant,
            reference=reference,
        ),
    )
    emit(tx, as_json, ("tx_id", "kind", "leaf_index", "legs"))


@app.command("cancel")
@handle_errors
def cancel(
    account: Annotated[str, typer.Argument()],
    instrument: Annotated[str, typer.Argument()],
    quantity: Annotated[int, typer.Argument()],
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason")],
    as_json: Json = False,
) -> None:
    """Cancel available units of a holding with a reason (regulator)."""
    tx = run(
        as_user,
        lambda s, svc, a: svc.cancel(
            a,
            account_number=account,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=quantity,
            reason=reason,
        ),
    )
    emit(tx, as_json, ("tx_id", "kind", "leaf_index", "legs"))


# ==========================================================================================
# allocation plans
# ==========================================================================================
PLAN_COLS: tuple[str, ...] = (
    "plan_id",
    "market_code",
    "year",
    "jurisdiction_code",
    "status",
    "total_quantity",
)


@plan_app.command("list")
@handle_errors
def plan_list(
    as_user: AsUser,
    market: Annotated[str | None, typer.Option("--market")] = None,
    year: Annotated[int | None, typer.Option("--year")] = None,
    as_json: Json = False,
) -> None:
    """Allocation plans of my jurisdiction."""
    data = run(as_user, lambda s, svc, a: svc.allocation_plans(a, market_code=market, year=year))
    emit(data, as_json, PLAN_COLS)


@plan_app.command("show")
@handle_errors
def plan_show(plan_id: str, as_user: AsUser, as_json: Json = False) -> None:
    """One plan with its lines."""
    emit(run(as_user, lambda s, svc, a: svc.allocation_plan(a, plan_id)), as_json)


@plan_app.command("create")
@handle_errors
def plan_create(
    as_user: AsUser,
    market: Market,
    year: YearOpt,
    product: Annotated[str, typer.Option("--product")],
    lines: Annotated[
        Path,
        typer.Option(
            "--lines",
            help='JSON list of {"org", "method": benchmark|grandfathering, "activity", '
            '"factor", "sector", "benchmark_key"}',
        ),
    ],
    pre_share_bp: Annotated[int, typer.Option("--pre-share-bp")] = 10_000,
    as_json: Json = False,
) -> None:
    """Draft an allocation plan (a second regulator approves it)."""
    raw = _read_json(lines)
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise Invalid("--lines must be a JSON list of objects", code="invalid_file")

    def fn(s: Session, svc: RegistryService, a: Actor) -> Any:
        specs = [
            AllocationInput(
                org_id(s, str(x.get("org") or x.get("org_id") or "")),
                str(x.get("method", "")),
                _dec(x.get("activity"), "activity"),
                _dec(x.get("factor", 1), "factor"),
                x.get("sector"),
                x.get("benchmark_key"),
            )
            for x in raw
        ]
        return svc.create_allocation_plan(
            a,
            market_code=market,
            year=year,
            product=product,
            lines=specs,
            pre_share_bp=pre_share_bp,
        )

    emit(run(as_user, fn), as_json, PLAN_COLS)


@plan_app.command("approve")
@handle_errors
def plan_approve(plan_id: str, as_user: AsUser, as_json: Json = False) -> None:
    """Approve a draft plan (not its author: four-eyes)."""
    emit(
        run(as_user, lambda s, svc, a: svc.approve_allocation_plan(a, plan_id)), as_json, PLAN_COLS
    )


@plan_app.command("issue")
@handle_errors
def plan_issue(plan_id: str, as_user: AsUser, as_json: Json = False) -> None:
    """Issue the pre-allocation of an approved plan."""
    emit(run(as_user, lambda s, svc, a: svc.issue_allocation(a, plan_id)), as_json, PLAN_COLS)


@plan_app.command("true-up")
@handle_errors
def plan_true_up(
    plan_id: str,
    as_user: AsUser,
    activities: Annotated[
        Path | None, typer.Option("--activities", help='JSON {"ORG": activity, ...}')
    ] = None,
    as_json: Json = False,
) -> None:
    """Propose final allocations from verified activity."""
    raw = _read_json(activities) if activities else {}
    if not isinstance(raw, dict):
        raise Invalid("--activities must be a JSON object", code="invalid_file")

    def fn(s: Session, svc: RegistryService, a: Actor) -> Any:
        acts = {org_id(s, k): _dec(v, "activity") for k, v in raw.items()}
        return svc.submit_true_up(a, plan_id, acts)

    emit(run(as_user, fn), as_json, PLAN_COLS)


@plan_app.command("approve-true-up")
@handle_errors
def plan_approve_true_up(plan_id: str, as_user: AsUser, as_json: Json = False) -> None:
    """Approve the true-up (second regulator); the difference is issued or owed."""
    emit(run(as_user, lambda s, svc, a: svc.approve_true_up(a, plan_id)), as_json, PLAN_COLS)


# ==========================================================================================
# transfers
# ==========================================================================================
TRANSFER_COLS: tuple[str, ...] = (
    "transfer_id",
    "status",
    "from_account",
    "to_account",
    "instrument_code",
)
TRANSFER_COLS += ("quantity",)


@transfer_app.command("create")
@handle_errors
def transfer_create(
    from_account: Annotated[str, typer.Argument(help="sending account")],
    to_account: Annotated[str, typer.Argument(help="receiving account")],
    instrument: Annotated[str, typer.Argument(help="instrument code or id")],
    quantity: Annotated[int, typer.Argument(help="(minor units)")],
    as_user: AsUser,
    note: Annotated[str | None, typer.Option("--note")] = None,
    key: Annotated[str | None, typer.Option("--idempotency-key")] = None,
    as_json: Json = False,
) -> None:
    """Transfer units (pending a second approver at or above the four-eyes threshold)."""
    data = run(
        as_user,
        lambda s, svc, a: svc.transfer(
            a,
            from_account=from_account,
            to_account=to_account,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=quantity,
            note=note,
            idempotency_key=key,
        ),
    )
    emit(data, as_json, TRANSFER_COLS)


@transfer_app.command("list")
@handle_errors
def transfer_list(
    as_user: AsUser,
    status: Annotated[str | None, typer.Option("--status")] = None,
    as_json: Json = False,
) -> None:
    """Transfers sent or received by my organisation (supervisors: in jurisdiction)."""
    emit(run(as_user, lambda s, svc, a: svc.transfers(a, status=status)), as_json, TRANSFER_COLS)


@transfer_app.command("show")
@handle_errors
def transfer_show(transfer_id: str, as_user: AsUser, as_json: Json = False) -> None:
    """One transfer."""
    emit(run(as_user, lambda s, svc, a: svc.transfer_status(a, transfer_id)), as_json)


@transfer_app.command("approve")
@handle_errors
def transfer_approve(transfer_id: str, as_user: AsUser, as_json: Json = False) -> None:
    """Approve a pending transfer (a second user of the sender)."""
    data = run(as_user, lambda s, svc, a: svc.approve_transfer(a, transfer_id))
    emit(data, as_json, TRANSFER_COLS)


@transfer_app.command("reject")
@handle_errors
def transfer_reject(
    transfer_id: str,
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason")] = "",
    as_json: Json = False,
) -> None:
    """Reject (second user) or cancel (initiator) a pending transfer."""
    data = run(as_user, lambda s, svc, a: svc.reject_transfer(a, transfer_id, reason))
    emit(data, as_json, TRANSFER_COLS)


# ==========================================================================================
# cash
# ==========================================================================================
def _cash(deposit: bool, as_user: str, org: str, amount: int, currency: str, ref: str) -> Any:
    def fn(s: Session, svc: RegistryService, a: Actor) -> Any:
        move = svc.deposit if deposit else svc.withdraw
        return move(a, org_id=org_id(s, org), currency=currency, amount_minor=amount, reference=ref)

    return run(as_user, fn)


CASH_COLS: tuple[str, ...] = ("account_number", "currency", "amount_minor", "balance_minor")


@cash_app.command("deposit")
@handle_errors
def cash_deposit(
    org: Annotated[str, typer.Argument(help="organisation code or id")],
    amount_minor: Annotated[int, typer.Argument(help="(minor units, CNY: fen)")],
    as_user: AsUser,
    reference: Annotated[str, typer.Option("--reference")],
    currency: Annotated[str, typer.Option("--currency")] = "CNY",
    as_json: Json = False,
) -> None:
    """Book money received for a participant (settlement bank)."""
    emit(_cash(True, as_user, org, amount_minor, currency, reference), as_json, CASH_COLS)


@cash_app.command("withdraw")
@handle_errors
def cash_withdraw(
    org: Annotated[str, typer.Argument(help="organisation code or id")],
    amount_minor: Annotated[int, typer.Argument(help="(minor units, CNY: fen)")],
    as_user: AsUser,
    reference: Annotated[str, typer.Option("--reference")],
    currency: Annotated[str, typer.Option("--currency")] = "CNY",
    as_json: Json = False,
) -> None:
    """Book money paid out to a participant (settlement bank)."""
    emit(_cash(False, as_user, org, amount_minor, currency, reference), as_json, CASH_COLS)


# ==========================================================================================
# compliance
# ==========================================================================================
STATUS_COLS: tuple[str, ...] = ("org_code", "status", "obligation", "surrendered_allowances")
STATUS_COLS += ("surrendered_offsets", "offset_cap", "remaining")


@app.command("surrender")
@handle_errors
def surrender(
    instrument: Annotated[str, typer.Argument(help="instrument code or id")],
    quantity: Annotated[int, typer.Argument(help="(minor units)")],
    as_user: AsUser,
    market: Market,
    year: YearOpt,
    as_json: Json = False,
) -> None:
    """Surrender allowances or offsets for a compliance year (my organisation)."""
    result = run(
        as_user,
        lambda s, svc, a: svc.surrender(
            a,
            org_id=a.org_id,
            market_code=market,
            year=year,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=quantity,
        ),
    )
    if as_json:
        print_json(result.to_dict())
        return
    emit(result.status, False, STATUS_COLS)


@compliance_app.command("status")
@handle_errors
def compliance_status(
    as_user: AsUser, market: Market, year: YearOpt, org: OrgOpt = None, as_json: Json = False
) -> None:
    """Obligation, surrenders and status of an organisation."""
    data = run(
        as_user,
        lambda s, svc, a: svc.compliance_status(
            a, org_id(s, org) if org else a.org_id, market, year
        ),
    )
    emit(data, as_json, None if as_json else (*STATUS_COLS, "deadline"))


@compliance_app.command("region")
@handle_errors
def compliance_region(
    jurisdiction: Annotated[str, typer.Argument(help="jurisdiction code, e.g. CN-CQ")],
    as_user: AsUser,
    market: Market,
    year: YearOpt,
    as_json: Json = False,
) -> None:
    """Compliance of the covered organisations of a region (regulators)."""
    data = run(as_user, lambda s, svc, a: svc.region_compliance(a, market, year, jurisdiction))
    if as_json:
        print_json(data.to_dict())
        return
    summary = {k: v for k, v in data.to_dict().items() if k != "items"}
    emit(summary, False)
    emit(data.items, False, STATUS_COLS)


@compliance_app.command("shortfalls")
@handle_errors
def compliance_shortfalls(
    as_user: AsUser, market: Market, year: YearOpt, as_json: Json = False
) -> None:
    """Shortfalls after the deadline and the penalty of the market's rule (regulators)."""
    data = run(as_user, lambda s, svc, a: svc.shortfall_report(a, market, year))
    if as_json:
        print_json(data.to_dict())
        return
    cols = ("org_code", "shortfall", "fine_min_minor", "fine_max_minor", "deduction_units")
    emit(data.lines, False, (*cols, "rule_status", "note"), title=f"deadline {data.deadline}")


@compliance_app.command("surrenders")
@handle_errors
def compliance_surrenders(
    as_user: AsUser,
    org: OrgOpt = None,
    market: Annotated[str | None, typer.Option("--market")] = None,
    year: Annotated[int | None, typer.Option("--year")] = None,
    as_json: Json = False,
) -> None:
    """Past surrenders of an organisation."""
    data = run(
        as_user,
        lambda s, svc, a: svc.surrenders(
            a, org_id=org_id(s, org) if org else a.org_id, market_code=market, year=year
        ),
    )
    cols = ("created_at", "market_code", "compliance_year", "instrument_code", "kind")
    emit(data, as_json, (*cols, "quantity"))


# ==========================================================================================
# retirement
# ==========================================================================================
RETIRE_COLS: tuple[str, ...] = (
    "retirement_id",
    "instrument_code",
    "quantity",
    "beneficiary",
    "leaf_index",
)


@app.command("retire")
@handle_errors
def retire(
    account: Annotated[str, typer.Argument(help="holding account")],
    instrument: Annotated[str, typer.Argument(help="instrument code or id")],
    quantity: Annotated[int, typer.Argument(help="(minor units)")],
    as_user: AsUser,
    beneficiary: Annotated[str, typer.Option("--beneficiary")],
    purpose: Annotated[str, typer.Option("--purpose")],
    period_start: Annotated[str, typer.Option("--from", help="period start, YYYY-MM-DD")],
    period_end: Annotated[str, typer.Option("--to", help="period end, YYYY-MM-DD")],
    as_json: Json = False,
) -> None:
    """Retire units irreversibly for a named beneficiary, purpose and period."""
    data = run(
        as_user,
        lambda s, svc, a: svc.retire(
            a,
            account_number=account,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=quantity,
            beneficiary=beneficiary,
            purpose=purpose,
            period_start=period_start,
            period_end=period_end,
        ),
    )
    emit(data, as_json, None if as_json else (*RETIRE_COLS, "serials"))


@retirement_app.command("list")
@handle_errors
def retirement_list(as_user: AsUser, org: OrgOpt = None, as_json: Json = False) -> None:
    """Retirements of my organisation (supervisors: in jurisdiction)."""
    data = run(
        as_user, lambda s, svc, a: svc.retirements(a, org_id=org_id(s, org) if org else None)
    )
    emit(data, as_json, RETIRE_COLS)


@retirement_app.command("show")
@handle_errors
def retirement_show(retirement_id: str, as_user: AsUser, as_json: Json = False) -> None:
    """One retirement."""
    emit(run(as_user, lambda s, svc, a: svc.retirement(a, retirement_id)), as_json)


@retirement_app.command("certificate")
@handle_errors
def retirement_certificate(
    retirement_id: str,
    as_user: AsUser,
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    fmt: Annotated[str, typer.Option("--format", help="html or pdf")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="file (default: stdout, html)")] = None,
) -> None:
    """The retirement certificate (HTML or PDF, zh or en) citing serials and the proof."""
    if fmt == "pdf" and out is None:
        raise PlatformError("a PDF needs --out FILE", code="usage_error")
    cert = run(
        as_user,
        lambda s, svc, a: svc.retirement_certificate(a, retirement_id, lang=lang, fmt=fmt),
    )
    if out is None:
        sys.stdout.write(cert.content.decode("utf-8"))
        return
    out.write_bytes(cert.content)
    console.print(f"written {out} ({cert.media_type}, {len(cert.content)} bytes)")


@retirement_app.command("proof")
@handle_errors
def retirement_proof(
    retirement_id: str,
    as_user: AsUser,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """The receipt bundle of a retirement (verify with ``greencircle audit verify``)."""
    _write_json(run(as_user, lambda s, svc, a: svc.retirement_proof(a, retirement_id)), out)


# ==========================================================================================
# pledges
# ==========================================================================================
PLEDGE_COLS: tuple[str, ...] = (
    "pledge_id",
    "account_number",
    "instrument_code",
    "quantity",
    "status",
)
PLEDGE_COLS += ("reference", "release_requested")


@pledge_app.command("create")
@handle_errors
def pledge_create(
    account: Annotated[str, typer.Argument(help="holding account")],
    instrument: Annotated[str, typer.Argument(help="instrument code or id")],
    quantity: Annotated[int, typer.Argument(help="(minor units)")],
    as_user: AsUser,
    pledgee: Annotated[str, typer.Option("--pledgee", help="financial institution")],
    reference: Annotated[str, typer.Option("--reference", help="loan reference")],
    as_json: Json = False,
) -> None:
    """Pledge units to a financial institution."""
    data = run(
        as_user,
        lambda s, svc, a: svc.pledge(
            a,
            account_number=account,
            instrument_id=svc.resolve_instrument(instrument).id,
            quantity=quantity,
            pledgee_org_id=org_id(s, pledgee),
            reference=reference,
        ),
    )
    emit(data, as_json, PLEDGE_COLS)


@pledge_app.command("list")
@handle_errors
def pledge_list(
    as_user: AsUser,
    status: Annotated[str | None, typer.Option("--status")] = None,
    as_json: Json = False,
) -> None:
    """The pledge register visible to me."""
    emit(
        run(as_user, lambda s, svc, a: svc.pledge_register(a, status=status)), as_json, PLEDGE_COLS
    )


def _pledge_action(name: str) -> Callable[..., None]:
    def command(pledge_id: str, as_user: AsUser, as_json: Json = False) -> None:
        def fn(s: Session, svc: RegistryService, a: Actor) -> Any:
            action = {
                "request-release": svc.request_pledge_release,
                "release": svc.release_pledge,
                "enforce": svc.enforce_pledge,
            }[name]
            return action(a, pledge_id)

        emit(run(as_user, fn), as_json, PLEDGE_COLS)

    return command


pledge_app.command("request-release", help="The pledgor asks the pledgee to release a pledge.")(
    handle_errors(_pledge_action("request-release"))
)
pledge_app.command("release", help="The pledgee releases a pledge.")(
    handle_errors(_pledge_action("release"))
)
pledge_app.command("enforce", help="The pledgee enforces: units move to its account.")(
    handle_errors(_pledge_action("enforce"))
)


# ==========================================================================================
# freezes
# ==========================================================================================
FREEZE_COLS: tuple[str, ...] = (
    "freeze_id",
    "account_number",
    "instrument_code",
    "quantity",
    "status",
    "reason",
)


@freeze_app.command("create")
@handle_errors
def freeze_create(
    account: Annotated[str, typer.Argument(help="account number")],
    instrument: Annotated[str, typer.Argument(help="instrument code or id")],
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason")],
    quantity: Annotated[
        int | None, typer.Option("--quantity", help="default: all available")
    ] = None,
    as_json: Json = False,
) -> None:
    """Freeze units of an account in my jurisdiction (regulator)."""
    data = run(
        as_user,
        lambda s, svc, a: svc.freeze(
            a,
            account_number=account,
            instrument_id=svc.resolve_instrument(instrument).id,
            reason=reason,
            quantity=quantity,
        ),
    )
    emit(data, as_json, FREEZE_COLS)


@freeze_app.command("list")
@handle_errors
def freeze_list(
    as_user: AsUser,
    status: Annotated[str | None, typer.Option("--status")] = None,
    as_json: Json = False,
) -> None:
    """Freezes visible to me."""
    emit(run(as_user, lambda s, svc, a: svc.freezes(a, status=status)), as_json, FREEZE_COLS)


@freeze_app.command("lift")
@handle_errors
def freeze_lift(
    freeze_id: str,
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason")],
    as_json: Json = False,
) -> None:
    """Lift a freeze with a reason (regulator)."""
    emit(run(as_user, lambda s, svc, a: svc.unfreeze(a, freeze_id, reason)), as_json, FREEZE_COLS)
