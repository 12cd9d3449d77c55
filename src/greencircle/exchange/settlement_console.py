"""Console page of settlement (``/console/exchange/settlement``).

* Participants see their own settlement statement of a trading day (debits, credits and
  net per currency) and their trades funded in another currency with the FX snapshot used.
* Settlement banks and the exchange operator see the end-of-day report per settlement bank
  and currency (gross and netted); settlement banks record FX rate snapshots (CSRF form).

Same :class:`~greencircle.exchange.fx.FxService` calls as ``/v1/exchange/settlement/*``
and ``/v1/exchange/fx/rates``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, or_, select

from greencircle.api.deps import SessionDep
from greencircle.auth.models import Organisation
from greencircle.auth.roles import Perm
from greencircle.errors import Invalid, NotFound
from greencircle.exchange.console import local_when
from greencircle.exchange.fx import FxService
from greencircle.exchange.models import ExTrade
from greencircle.exchange.units import display_helpers, instrument_units
from greencircle.kit import fmt
from greencircle.kit.timeutil import as_utc, to_local, utcnow
from greencircle.registry.markets import default_catalog
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, render
from greencircle.web.i18n import translate

__all__ = ["PAGE", "router"]

router = APIRouter(include_in_schema=False)

PAGE = "/console/exchange/settlement"
#: Outcomes of the rate forms shown after the redirect.
DONE = ("rate", "pending", "approved", "rejected")


def _money_in(lang: str) -> Callable[[int, str], str]:
    """Money [minor units] of a currency as people read it in ``lang`` (kit/fmt.py)."""

    def money(amount: int, currency: str) -> str:
        return fmt.minor(amount, default_catalog().currency(currency).scale, lang)

    return money


def _default_day(svc: FxService, org_id: str | None) -> str | None:
    q = select(func.max(ExTrade.trade_date))
    if org_id is not None:
        q = q.where(or_(ExTrade.buyer_org_id == org_id, ExTrade.seller_org_id == org_id))
    day = svc.session.scalar(q)
    return str(day) if day else None


@router.get(PAGE, response_class=HTMLResponse)
def settlement_page(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    trade_date: Annotated[date | None, Query()] = None,
    netted: Annotated[bool, Query()] = True,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """The caller's settlement statement, or the banks' report, of a trading day."""
    if Perm.EXCHANGE_FX not in actor.perms:
        actor.require(Perm.EXCHANGE_READ)
    svc = FxService(session, request.app.state.log_signer)
    lang = page_lang(request)
    _money = _money_in(lang)
    banker = Perm.EXCHANGE_FX in actor.perms or Perm.EXCHANGE_OPERATE in actor.perms
    day = (
        trade_date.isoformat()
        if trade_date
        else _default_day(svc, None if banker else actor.org_id)
    )
    report: dict[str, Any] | None = None
    statement: list[dict[str, Any]] = []
    fx_trades: list[dict[str, Any]] = []
    if day and banker:
        report = svc.settlement_report(actor, day, netted=netted)
        names = {
            str(o.code): o
            for o in session.scalars(
                select(Organisation).where(
                    Organisation.code.in_([g["settlement_bank"] for g in report["groups"]])
                )
            )
        }
        for g in report["groups"]:
            cur = g["currency"]
            bank = names.get(g["settlement_bank"])
            # the bank's name in the page's language in the heading (its code stays below)
            g["bank_org"] = bank
            g["gross_text"] = _money(g["gross_total_minor"], cur)
            g["netted_text"] = _money(g.get("netted_total_minor", 0), cur)
            for p in g["participants"]:
                p["debit_text"] = _money(p["debit_minor"], cur)
                p["credit_text"] = _money(p["credit_minor"], cur)
                if "net_minor" in p:
                    p["net_text"] = _money(p["net_minor"], cur)
    elif day and Perm.EXCHANGE_READ in actor.perms:
        for line in svc.statement(actor, day)["lines"]:
            cur = line["currency"]
            statement.append(
                line
                | {
                    "debit_text": _money(line["debit_minor"], cur),
                    "credit_text": _money(line["credit_minor"], cur),
                    "net_text": _money(line["net_minor"], cur),
                }
            )
        rows = session.scalars(
            select(ExTrade)
            .where(
                ExTrade.trade_date == day,
                ExTrade.buyer_org_id == actor.org_id,
                ExTrade.fx_rate_id.is_not(None),
            )
            .order_by(ExTrade.seq, ExTrade.id)
        )
        for t in rows:
            rate = svc.get(str(t.fx_rate_id))
            cur = default_catalog().market(t.market_code).currency.value
            fx_trades.append(
                {
                    "id": t.id,
                    "instrument": t.instrument_code,
                    "quantity": int(t.quantity),
                    "unit": instrument_units(t.instrument_code)["unit"],
                    "cost": _money(int(t.notional_minor) + int(t.buyer_fee_minor), cur),
                    "currency": cur,
                    "paid": _money(int(t.buyer_paid_minor or 0), str(t.buyer_currency)),
                    "paid_currency": t.buyer_currency,
                    "rate": rate.rate,
                    "rate_id": rate.id,
                    "rate_source": rate.source,
                    "rate_status": rate.status,
                }
            )
    return render(
        request,
        "exchange/settlement.html",
        actor=actor,
        day=day or "",
        netted=netted,
        banker=banker,
        report=report,
        statement=statement,
        fx_trades=fx_trades,
        rates=[_rate_row(r, lang) for r in svc.rates(limit=10)],
        current=_current_rates(svc),
        pending=svc.pending(actor) if Perm.EXCHANGE_FX in actor.perms else [],
        band=svc.config.facts["band_pct"],
        band_status=translate(lang, f"settlement.fact.{svc.config.facts['band_pct']['status']}"),
        decisions=[(d, translate(lang, f"settlement.{d}")) for d in ("approve", "reject")],
        done_text=translate(lang, f"settlement.done.{done}") if done in DONE else "",
        can_record=Perm.EXCHANGE_FX in actor.perms,
        done=done if done in DONE else None,
        **display_helpers(lang),
    )


def _rate_row(r: dict[str, Any], lang: str) -> dict[str, Any]:
    """A recorded rate for the table: an active rate past its validity reads "expired",
    validity in Beijing time, the source status translated."""
    until = as_utc(datetime.fromisoformat(r["valid_until"]))
    state = "expired" if r["state"] == "active" and until <= utcnow() else r["state"]
    return r | {
        "state": state,
        "state_label": translate(lang, f"settlement.state.{state}"),
        "valid_from": local_when(r["valid_from"]),
        "valid_until": local_when(r["valid_until"]),
        "status": translate(lang, f"settlement.fact.{r['status']}"),
    }


def _current_rates(svc: FxService) -> list[dict[str, Any]]:
    """Per funding currency (against each market currency used): the latest active
    snapshot, when it expires and whether it is valid now."""
    now = utcnow()
    quotes = sorted({m.currency.value for m in svc.catalog.markets.values()})
    out: list[dict[str, Any]] = []
    for base in sorted(svc.config.fx_provider):
        for quote in quotes:
            if base == quote:
                continue
            row = svc.latest(base, quote)
            if row is None:
                continue
            until = as_utc(row.valid_until)
            out.append(
                {
                    "base": base,
                    "quote": quote,
                    "rate": row.rate,
                    "expires": to_local(until).strftime("%Y-%m-%d %H:%M"),
                    "valid": as_utc(row.valid_from) <= now < until,
                    "expired": until <= now,
                }
            )
    return out


@router.post(f"{PAGE}/rates")
def record_rate_form(
    request: Request,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    base: Annotated[str, Form(max_length=3)],
    rate: Annotated[str, Form(max_length=40)],
    source: Annotated[str, Form(max_length=200)],
    valid_from: Annotated[str, Form(max_length=40)],
    valid_until: Annotated[str, Form(max_length=40)],
    quote: Annotated[str, Form(max_length=3)] = "CNY",
    reason: Annotated[str, Form(max_length=400)] = "",
) -> RedirectResponse:
    """Record a rate snapshot (same call as ``POST /v1/exchange/fx/rates``).

    Times are local (Asia/Shanghai) ``YYYY-MM-DDTHH:MM`` from the form's inputs.
    """
    check_csrf(request, csrf)
    try:
        start = datetime.fromisoformat(f"{valid_from}+08:00")
        end = datetime.fromisoformat(f"{valid_until}+08:00")
    except ValueError:
        raise Invalid(
            "validity times must be YYYY-MM-DDTHH:MM", code="exchange.fx_bad_validity"
        ) from None
    got = FxService(session, request.app.state.log_signer).record_rate(
        actor,
        base=base.strip().upper(),
        quote=quote.strip().upper(),
        rate=rate.strip(),
        source=source.strip(),
        valid_from=start,
        valid_until=end,
        reason=reason,
    )
    done = "pending" if got["state"] == "pending" else "rate"
    return RedirectResponse(f"{PAGE}?done={done}", status_code=303)


@router.post(PAGE + "/rates/{rate_id}/{decision}")
def decide_rate_form(
    request: Request,
    rate_id: str,
    decision: str,
    actor: ConsoleActor,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=400)] = "",
) -> RedirectResponse:
    """A second user of the bank approves or rejects a pending rate, with a reason (same
    call as ``POST /v1/exchange/fx/rates/{id}/approve`` and ``/reject``)."""
    check_csrf(request, csrf)
    if decision not in ("approve", "reject"):
        raise NotFound(f"no action {decision!r}", code="exchange.unknown_action")
    FxService(session, request.app.state.log_signer).decide(
        actor, rate_id, approve=decision == "approve", reason=reason
    )
    done = "approved" if decision == "approve" else "rejected"
    return RedirectResponse(f"{PAGE}?done={done}", status_code=303)
