"""Console pages of listed agreement (挂牌协议) and block agreement (大宗协议) trading.

* ``/console/exchange/listed/{market}/{instrument}``: the listing board (best five price
  levels per side, each listing with a "take" form for traders), a new-listing form, the
  organisation's listings (with cancel) and the recent agreement trades;
* ``/console/exchange/block``: incoming proposals (confirm / reject), outgoing proposals
  (withdraw) and a new-proposal form.

Forms call the same :class:`AgreementService` commands as the HTTP routes, under the book
lock and committed before the redirect (:meth:`BookRegistry.transact`); the outcome code
is shown on the page in the page's language.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from greencircle.api.deps import SessionDep
from greencircle.auth.roles import Perm
from greencircle.exchange.agreement_endpoints import AgreementDep
from greencircle.exchange.console import (
    book_href,
    can_trade,
    local_when,
    order_form_context,
    short_code,
)
from greencircle.exchange.hours import hours_mode
from greencircle.exchange.hours import status as session_status
from greencircle.exchange.service import OrderAck
from greencircle.exchange.units import display_helpers, instrument_units
from greencircle.kit.ids import new_id
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, render
from greencircle.web.i18n import translate

router = APIRouter(include_in_schema=False)

BLOCK_PAGE = "/console/exchange/block"

#: Outcome codes shown on the pages (accepted outcomes and rejections); others: "other".
RESULT_CODES = (
    "listed",
    "filled",
    "cancelled",
    "amended",
    "proposed",
    "confirmed",
    "rejected",
    "withdrawn",
    "market_closed",
    "unknown_market",
    "unknown_instrument",
    "invalid_order",
    "invalid_quantity",
    "lot_size",
    "quantity_too_large",
    "price_required",
    "malformed_price",
    "non_positive_price",
    "off_tick_price",
    "outside_price_band",
    "not_eligible",
    "insufficient_funds",
    "insufficient_units",
    "resale_restricted",
    "fx_not_supported",
    "fx_rate_unavailable",
    "fx_liquidity",
    "listing_not_open",
    "self_trade",
    "quantity_exceeds_listing",
    "listing_not_in_best_levels",
    "amend_exceeds_reservation",
    "unknown_counterparty",
    "below_block_minimum",
    "outside_block_band",
    "invalid_expiry",
    "not_counterparty",
    "not_initiator",
    "proposal_not_open",
    "proposal_expired",
    "other",
)
OUTCOMES = ("accepted", "rejected")
PROPOSAL_STATES = ("proposed", "confirmed", "rejected", "withdrawn", "expired")
TRADE_MODES = ("listed", "block")
SIDES = ("buy", "sell")
_SECONDS = "%Y-%m-%d %H:%M:%S"


def _listed_href(market: str, instrument: str) -> str:
    short = quote(short_code(market, instrument), safe=":")
    return f"/console/exchange/listed/{quote(market)}/{short}"


def _result(lang: str, result: str | None, outcome: str | None) -> dict[str, str] | None:
    """The outcome banner of the last command, translated here (codes are data)."""
    if not result:
        return None
    code = result if result in RESULT_CODES else "other"
    out = {"code": code, "text": translate(lang, f"agreements.code.{code}"), "outcome": ""}
    if outcome in OUTCOMES:
        out["outcome"] = outcome
        out["label"] = translate(lang, f"agreements.outcome.{outcome}")
    else:
        out["label"] = ""
    return out


def _back(path: str, ack: OrderAck | None, code: str, ok: bool) -> str:
    params = {"result": code, "outcome": "accepted" if ok else "rejected"}
    if ack is not None and ack.order is not None:
        params["ref"] = str(ack.order["id"])
    return f"{path}?{urlencode(params)}#result"


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


# ==========================================================================================
# listed agreement
# ==========================================================================================
@router.get("/console/exchange/listed/{market}/{instrument}", response_class=HTMLResponse)
def listed_page(
    request: Request,
    market: str,
    instrument: str,
    actor: ConsoleActor,
    svc: AgreementDep,
    result: Annotated[str | None, Query(max_length=40)] = None,
    outcome: Annotated[str | None, Query(pattern="^(accepted|rejected)$")] = None,
    ref: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The listing board of one instrument, listing entry and own listings."""
    actor.require(Perm.EXCHANGE_READ)
    lang = page_lang(request)
    board = svc.board(market, instrument)
    code = board["instrument"]
    trades = svc.trades(market, instrument, limit=20)
    for tr in trades:
        tr["when"] = local_when(tr.get("executed_at"), _SECONDS)
        tr["mode_label"] = translate(lang, f"agreements.mode.{tr['mode']}")
    ctx: dict[str, Any] = {
        "units": instrument_units(code),
        **display_helpers(lang),
        "market": market,
        "code": code,
        "href": _listed_href(market, code),
        "book_href": book_href(market, code),
        "board": board,
        "asks": list(reversed(board["asks"])),
        "bids": board["bids"],
        "trades": trades,
        "can_trade": can_trade(actor),
        "result": _result(lang, result, outcome),
        "ref": ref,
        "sides": SIDES,
        "mine": set(),
        "listings": [],
    }
    if ctx["can_trade"]:
        rows, _ = svc.my_listings(actor, market=market, instrument=code, limit=25)
        for r in rows:
            r["when"] = local_when(r.get("created_at"), _SECONDS)
        ctx["listings"] = rows
        ctx["mine"] = {r["id"] for r in rows if r["status"] == "open"}
        ctx["coid"] = f"console-{new_id()}"
        ctx |= order_form_context(request, svc.exchange, actor, market, "listed")
    return render(request, "exchange/listed.html", actor=actor, **ctx)


@router.post("/console/exchange/listed/{market}/{instrument}/listings")
def post_listing(
    request: Request,
    market: str,
    instrument: str,
    actor: ConsoleActor,
    svc: AgreementDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    side: Annotated[str, Form(max_length=8)],
    price: Annotated[str, Form(max_length=40)],
    quantity: Annotated[str, Form(max_length=20)],
    client_order_id: Annotated[str, Form(max_length=80)] = "",
    funding_currency: Annotated[str, Form(max_length=3)] = "",
) -> RedirectResponse:
    """Post a listing (same service call as ``POST /v1/exchange/listed/listings``)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    path = _listed_href(market, instrument)
    qty = _int(quantity)
    if qty is None:
        return RedirectResponse(_back(path, None, "invalid_quantity", False), 303)
    ack = svc.books.transact(
        session,
        lambda: svc.post_listing(
            actor,
            market=market,
            instrument=instrument,
            side=side,
            price=price.strip() or None,
            quantity=qty,
            client_order_id=client_order_id or None,
            funding_currency=_funding(side, funding_currency),
        ),
    )
    return RedirectResponse(_back(path, ack, ack.code, ack.ok), 303)


def _funding(side: str, currency: str) -> str | None:
    """The form's funding currency of a buy (``None``: the market's currency)."""
    return (currency.strip().upper() or None) if side == "buy" else None


@router.post("/console/exchange/listed/{market}/{instrument}/listings/{listing_id}/take")
def take_listing(
    request: Request,
    market: str,
    instrument: str,
    listing_id: str,
    actor: ConsoleActor,
    svc: AgreementDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    quantity: Annotated[str, Form(max_length=20)],
    client_order_id: Annotated[str, Form(max_length=80)] = "",
    funding_currency: Annotated[str, Form(max_length=3)] = "",
) -> RedirectResponse:
    """Take a listing (same service call as ``POST .../listings/{id}/take``)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    listed = svc.board_listing(listing_id)  # unknown listing: 404
    path = _listed_href(market, instrument)
    qty = _int(quantity)
    if qty is None:
        return RedirectResponse(_back(path, None, "invalid_quantity", False), 303)
    ack = svc.books.transact(
        session,
        lambda: svc.take_listing(
            actor,
            listing_id,
            quantity=qty,
            client_order_id=client_order_id or None,
            funding_currency=_funding(
                "buy" if listed.get("side") == "sell" else "sell", funding_currency
            ),
        ),
    )
    return RedirectResponse(_back(path, ack, ack.code, ack.ok), 303)


@router.post("/console/exchange/listed/{market}/{instrument}/listings/{listing_id}/cancel")
def cancel_listing(
    request: Request,
    market: str,
    instrument: str,
    listing_id: str,
    actor: ConsoleActor,
    svc: AgreementDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Withdraw an own listing (same service call as ``DELETE .../listings/{id}``)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    svc.listing(actor, listing_id)  # another participant's listing: 404
    ack = svc.books.transact(session, lambda: svc.cancel_listing(actor, listing_id))
    return RedirectResponse(_back(_listed_href(market, instrument), ack, ack.code, ack.ok), 303)


# ==========================================================================================
# block agreement
# ==========================================================================================
@router.get(BLOCK_PAGE, response_class=HTMLResponse)
def block_page(
    request: Request,
    actor: ConsoleActor,
    svc: AgreementDep,
    session: SessionDep,
    result: Annotated[str | None, Query(max_length=40)] = None,
    outcome: Annotated[str | None, Query(pattern="^(accepted|rejected)$")] = None,
    ref: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Incoming and outgoing block proposals of the organisation, and a new proposal."""
    actor.require(Perm.EXCHANGE_READ)
    lang = page_lang(request)

    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        incoming, _ = svc.proposals(actor, role="incoming", limit=50)
        outgoing, _ = svc.proposals(actor, role="outgoing", limit=50)
        return incoming, outgoing

    incoming, outgoing = svc.books.transact(session, load)
    for p in (*incoming, *outgoing):
        p["status_label"] = translate(lang, f"agreements.status.{p['status']}")
        p["expires"] = local_when(p["expires_at"], _SECONDS)
    rules = svc.block_rules
    ref_market = "CN-CQ" if "CN-CQ" in rules else sorted(rules)[0]
    return render(
        request,
        "exchange/block.html",
        actor=actor,
        incoming=incoming,
        outgoing=outgoing,
        markets=sorted(m for m in rules if m in svc.rules),
        min_quantity=rules[ref_market].min_quantity,
        band_pct=rules[ref_market].band_pct,
        can_trade=can_trade(actor),
        result=_result(lang, result, outcome),
        ref=ref,
        sides=SIDES,
        cref=f"console-{new_id()}",
        session=session_status(
            ref_market, "block", lang, hours_mode(request.app.state.settings, session)
        ),
        **display_helpers(lang),
    )


@router.post(f"{BLOCK_PAGE}/proposals")
def propose(
    request: Request,
    actor: ConsoleActor,
    svc: AgreementDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    market: Annotated[str, Form(max_length=24)],
    instrument: Annotated[str, Form(max_length=160)],
    side: Annotated[str, Form(max_length=8)],
    counterparty: Annotated[str, Form(max_length=64)],
    price: Annotated[str, Form(max_length=40)],
    quantity: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=500)] = "",
    client_ref: Annotated[str, Form(max_length=80)] = "",
) -> RedirectResponse:
    """Propose a block trade (same service call as ``POST /v1/exchange/block/proposals``)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    qty = _int(quantity)
    if qty is None:
        return RedirectResponse(_back(BLOCK_PAGE, None, "invalid_quantity", False), 303)
    ack = svc.books.transact(
        session,
        lambda: svc.propose(
            actor,
            market=market.strip(),
            instrument=instrument.strip(),
            side=side,
            counterparty=counterparty.strip(),
            price=price.strip() or None,
            quantity=qty,
            note=note.strip() or None,
            client_ref=client_ref or None,
        ),
    )
    return RedirectResponse(_back(BLOCK_PAGE, ack, ack.code, ack.ok), 303)


@router.post(f"{BLOCK_PAGE}/proposals/{{proposal_id}}/{{action}}")
def answer_proposal(
    request: Request,
    proposal_id: str,
    action: str,
    actor: ConsoleActor,
    svc: AgreementDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Confirm, reject (counterparty) or withdraw (initiator) a proposal."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    svc.check_proposal(actor, proposal_id)  # not a party: 404
    commands = {
        "confirm": lambda: svc.confirm(actor, proposal_id),
        "reject": lambda: svc.reject(actor, proposal_id),
        "withdraw": lambda: svc.withdraw(actor, proposal_id),
    }
    run = commands.get(action)
    if run is None:
        return RedirectResponse(_back(BLOCK_PAGE, None, "other", False), 303)
    ack = svc.books.transact(session, run)
    return RedirectResponse(_back(BLOCK_PAGE, ack, ack.code, ack.ok), 303)
