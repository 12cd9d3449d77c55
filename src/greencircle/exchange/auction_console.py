"""Console pages of auctions (``/console/auctions``): the list of auctions, one auction
with its bid form, the caller's own bids and, once cleared, the results; for the
market's authority (and the exchange operator) the create, clear and cancel forms and,
after clearing, every bid.

The forms call the same :class:`AuctionService` commands as the HTTP routes of
:mod:`greencircle.exchange.auction_endpoints`, under the book lock and committed before
the redirect (:meth:`BookRegistry.transact`); the outcome code is shown on the page in
its language. Pages live under ``/console/auctions`` (not ``/console/exchange/...``,
whose two-segment paths are the exchange's instrument pages).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from greencircle.api.deps import SessionDep
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import NotFound
from greencircle.exchange.auction_endpoints import AuctionDep
from greencircle.exchange.console import labels, local_when, order_form_context
from greencircle.exchange.models_auctions import AUCTION_STATUSES
from greencircle.exchange.service import OrderAck
from greencircle.exchange.units import display_helpers
from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import CHINA_TZ
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import translate

__all__ = ["KINDS", "ORDER_STATES", "PAGE", "RESULT_CODES", "SIDES", "router"]

router = APIRouter(include_in_schema=False)

PAGE = "/console/auctions"
PAGE_SIZE = 25
KINDS = ("one_way", "call")
PRICINGS = ("uniform", "pay_as_bid")
SIDES = ("buy", "sell")
ORDER_STATES = ("open", "filled", "cancelled")
#: Outcome codes shown on the pages (accepted outcomes and rejections); others: "other".
RESULT_CODES = (
    "created",
    "resting",
    "cancelled",
    "cleared",
    "reserve_issued",
    "reserve_requested",
    "reserve_rejected",
    "auction_not_open",
    "auction_not_closed",
    "auction_finished",
    "order_not_open",
    "below_reserve",
    "above_bidder_cap",
    "below_min_bid",
    "self_trade_prevented",
    "invalid_auction",
    "invalid_schedule",
    "instrument_not_eligible",
    "unknown_market",
    "unknown_instrument",
    "invalid_order",
    "invalid_quantity",
    "lot_size",
    "price_required",
    "malformed_price",
    "non_positive_price",
    "off_tick_price",
    "market_closed",
    "not_eligible",
    "insufficient_funds",
    "insufficient_units",
    "fx_not_supported",
    "fx_rate_unavailable",
    "fx_liquidity",
    "other",
)


def _href(auction_id: str) -> str:
    return f"{PAGE}/{quote(auction_id)}"


def _can_create(actor: Actor) -> bool:
    return Perm.EXCHANGE_AUCTION in actor.perms or Perm.EXCHANGE_OPERATE in actor.perms


def _outcome(lang: str, result: str | None, outcome: str | None) -> dict[str, str] | None:
    if not result:
        return None
    code = result if result in RESULT_CODES else "other"
    ok = outcome == "accepted"
    return {
        "code": code,
        "ok": "1" if ok else "",
        "headline": translate(lang, f"auctions.outcome.{'accepted' if ok else 'rejected'}"),
        "text": translate(lang, f"auctions.code.{code}"),
    }


def _row(lang: str, a: dict[str, Any]) -> dict[str, Any]:
    return {
        **a,
        # the title in the page's language (titles are stored per language, never joined)
        "title": (a.get("titles") or {}).get(lang) or a["title"],
        "href": _href(a["id"]),
        "kind_label": translate(lang, f"auctions.kind.{a['kind']}"),
        "status_label": translate(lang, f"auctions.status.{a['status']}"),
        "pricing_label": translate(lang, f"auctions.pricing.{a['pricing']}"),
        "opens": local_when(a["opens_at"]),
        "closes": local_when(a["closes_at"]),
    }


def _bids(lang: str, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            **b,
            "side_label": translate(lang, f"auctions.side.{b['side']}"),
            "state_label": translate(
                lang, f"auctions.state.{b['status'] if b['status'] in ORDER_STATES else 'open'}"
            ),
            "when": local_when(b.get("created_at")),
        }
        for b in rows or []
    ]


@router.get(PAGE, response_class=HTMLResponse)
def auctions_page(
    request: Request,
    actor: ConsoleActor,
    svc: AuctionDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    result: Annotated[str | None, Query(max_length=40)] = None,
    outcome: Annotated[str | None, Query(pattern="^(accepted|rejected)$")] = None,
) -> HTMLResponse:
    """Every auction, newest first, with a status filter; the create and reserve forms
    for the authority (and, for call auctions, the operator)."""
    actor.require(Perm.EXCHANGE_READ)
    lang = page_lang(request)
    status = status if status in AUCTION_STATUSES else None
    items, total = svc.list_auctions(
        actor, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    markets = sorted(m for m in svc.rules if svc.is_authority(actor, m))
    if Perm.EXCHANGE_OPERATE in actor.perms:
        markets = sorted(svc.rules)
    return render(
        request,
        "exchange/auctions.html",
        **display_helpers(lang),
        actor=actor,
        rows=[_row(lang, a) for a in items],
        total=total,
        page=page,
        pages=pages(total, PAGE_SIZE),
        status=status,
        statuses=labels(lang, "auctions.status.", AUCTION_STATUSES),
        can_create=_can_create(actor) and bool(markets),
        authority_markets=[m for m in markets if svc.is_authority(actor, m)],
        markets=markets,
        kinds=labels(lang, "auctions.kind.", KINDS),
        pricings=labels(lang, "auctions.pricing.", PRICINGS),
        result=_outcome(lang, result, outcome),
        ref=f"console-{new_id()}",
        reserve_requests=(
            svc.reserve_requests(actor, status="pending")[0]
            if Perm.EXCHANGE_AUCTION in actor.perms
            else []
        ),
    )


@router.get(PAGE + "/{auction_id}", response_class=HTMLResponse)
def auction_page(
    request: Request,
    auction_id: str,
    actor: ConsoleActor,
    svc: AuctionDep,
    result: Annotated[str | None, Query(max_length=40)] = None,
    outcome: Annotated[str | None, Query(pattern="^(accepted|rejected)$")] = None,
    order: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """One auction: facts, bid form (traders, while open), own bids, results."""
    actor.require(Perm.EXCHANGE_READ)
    lang = page_lang(request)
    a = svc.get(actor, auction_id)
    awards: list[dict[str, Any]] = []
    if a["status"] == "cleared":
        res = svc.results(actor, auction_id)
        awards = [
            {**w, "side_label": translate(lang, f"auctions.side.{w['side']}")}
            for w in res["my_awards"]
        ]
    sides = ("buy",) if a["kind"] == "one_way" else SIDES
    form: dict[str, Any] = {}
    if Perm.EXCHANGE_TRADE in actor.perms and a["status"] == "open":
        form = order_form_context(
            request, svc.exchange, actor, a["market"], "call" if a["kind"] == "call" else "auction"
        )
    return render(
        request,
        "exchange/auction.html",
        **form,
        **display_helpers(lang),
        actor=actor,
        a=_row(lang, a),
        public=a["result"],
        my_bids=_bids(lang, a["my_bids"]),
        all_bids=_bids(lang, a["all_bids"]) if a["all_bids"] is not None else None,
        awards=awards,
        can_bid=Perm.EXCHANGE_TRADE in actor.perms and a["status"] == "open",
        can_run=a["can_clear"] and a["status"] not in ("cleared", "cancelled"),
        is_authority=a["is_authority"],
        sides=labels(lang, "auctions.side.", sides),
        result=_outcome(lang, result, outcome),
        result_order=order,
        coid=f"console-{new_id()}",
    )


def _back(path: str, ack: OrderAck | None, code: str, ok: bool) -> str:
    params = {"result": code, "outcome": "accepted" if ok else "rejected"}
    if ack is not None and ack.order is not None and "auction_id" in ack.order:
        params["order"] = str(ack.order["id"])
    return f"{path}?{urlencode(params)}#result"


def _local_time(text: str) -> datetime | None:
    """A ``datetime-local`` form value (China time) as an aware datetime."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value


def _int_or_none(text: str) -> int | str | None:
    """``None`` for an empty field, an int for digits, else the text (a bad value)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


@router.post(PAGE)
def create_auction(
    request: Request,
    actor: ConsoleActor,
    svc: AuctionDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=8)],
    market: Annotated[str, Form(max_length=24)],
    instrument: Annotated[str, Form(max_length=160)],
    opens_at: Annotated[str, Form(max_length=40)],
    closes_at: Annotated[str, Form(max_length=40)],
    title_zh: Annotated[str, Form(max_length=200)] = "",
    title_en: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    pricing: Annotated[str, Form(max_length=12)] = "uniform",
    offered_quantity: Annotated[str, Form(max_length=20)] = "",
    reserve_price: Annotated[str, Form(max_length=40)] = "",
    max_per_bidder: Annotated[str, Form(max_length=20)] = "",
    min_bid_quantity: Annotated[str, Form(max_length=20)] = "",
    reference_price: Annotated[str, Form(max_length=40)] = "",
    client_ref: Annotated[str, Form(max_length=80)] = "",
) -> RedirectResponse:
    """Create an auction (same service call as ``POST /v1/exchange/auctions``)."""
    check_csrf(request, csrf)
    if not _can_create(actor):
        actor.require(Perm.EXCHANGE_AUCTION)
    opens, closes = _local_time(opens_at), _local_time(closes_at)
    if opens is None or closes is None:
        return RedirectResponse(_back(PAGE, None, "invalid_schedule", False), 303)
    numbers = {
        "offered_quantity": _int_or_none(offered_quantity),
        "max_per_bidder": _int_or_none(max_per_bidder),
        "min_bid_quantity": _int_or_none(min_bid_quantity),
    }
    if any(isinstance(v, str) for v in numbers.values()):
        return RedirectResponse(_back(PAGE, None, "invalid_quantity", False), 303)
    offered = numbers["offered_quantity"]
    cap = numbers["max_per_bidder"]
    min_q = numbers["min_bid_quantity"]
    assert not isinstance(offered, str)
    assert not isinstance(cap, str)
    assert not isinstance(min_q, str)
    titles = {"zh-CN": title_zh.strip(), "en": title_en.strip()}
    fallback = title.strip() or titles[page_lang(request)] or titles["zh-CN"] or titles["en"]
    ack = svc.books.transact(
        session,
        lambda: svc.create(
            actor,
            kind=kind,
            market=market,
            instrument=instrument.strip(),
            title=fallback,
            titles={k: v for k, v in titles.items() if v},
            pricing=pricing,
            offered_quantity=offered or 0,
            reserve_price=reserve_price.strip() or None,
            max_per_bidder=cap,
            min_bid_quantity=min_q,
            reference_price=reference_price.strip() or None,
            opens_at=opens,
            closes_at=closes,
            client_ref=client_ref or None,
        ),
    )
    if ack.ok and ack.order is not None:
        return RedirectResponse(_back(_href(str(ack.order["id"])), None, ack.code, True), 303)
    return RedirectResponse(_back(PAGE, ack, ack.code, False), 303)


@router.post(PAGE + "/reserve")
def request_reserve(
    request: Request,
    actor: ConsoleActor,
    svc: AuctionDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    market: Annotated[str, Form(max_length=24)],
    product: Annotated[str, Form(max_length=24)],
    vintage: Annotated[str, Form(max_length=8)],
    quantity: Annotated[str, Form(max_length=20)],
) -> RedirectResponse:
    """Request units for the authority's auction reserve (a second regulator approves)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_AUCTION)
    q, year = quantity.strip(), vintage.strip()
    if not (q.isdigit() and year.isdigit()) or int(q) <= 0:
        return RedirectResponse(_back(PAGE, None, "invalid_quantity", False), 303)
    svc.books.transact(
        session,
        lambda: svc.request_reserve(
            actor, market=market, product=product.strip(), vintage=int(year), quantity=int(q)
        ),
    )
    return RedirectResponse(_back(PAGE, None, "reserve_requested", True), 303)


@router.post(PAGE + "/reserve/{request_id}/{decision}")
def decide_reserve(
    request: Request,
    request_id: str,
    decision: str,
    actor: ConsoleActor,
    svc: AuctionDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=400)] = "",
) -> RedirectResponse:
    """Approve (issue the units) or reject a reserve request: another regulator than the
    requester (same calls as ``POST /v1/exchange/auctions/reserve/{id}/approve|reject``)."""
    check_csrf(request, csrf)
    if decision == "approve":
        svc.books.transact(session, lambda: svc.approve_reserve(actor, request_id))
        return RedirectResponse(_back(PAGE, None, "reserve_issued", True), 303)
    if decision == "reject":
        note = reason.strip() or "rejected in the console"
        svc.books.transact(session, lambda: svc.reject_reserve(actor, request_id, note))
        return RedirectResponse(_back(PAGE, None, "reserve_rejected", True), 303)
    raise NotFound(f"no reserve decision {decision!r}", code="not_found")


@router.post(PAGE + "/{auction_id}/bids")
def place_bid(
    request: Request,
    auction_id: str,
    actor: ConsoleActor,
    svc: AuctionDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    price: Annotated[str, Form(max_length=40)],
    quantity: Annotated[str, Form(max_length=20)],
    side: Annotated[str, Form(max_length=8)] = "buy",
    client_order_id: Annotated[str, Form(max_length=80)] = "",
    funding_currency: Annotated[str, Form(max_length=3)] = "",
) -> RedirectResponse:
    """Enter a bid (same service call as ``POST /v1/exchange/auctions/{id}/bids``)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    path = _href(auction_id)
    text = quantity.strip()
    if not text.isdigit():
        return RedirectResponse(_back(path, None, "invalid_quantity", False), 303)
    ack = svc.books.transact(
        session,
        lambda: svc.bid(
            actor,
            auction_id,
            side=side,
            price=price.strip(),
            quantity=int(text),
            client_order_id=client_order_id or None,
            funding_currency=(funding_currency.strip().upper() or None) if side == "buy" else None,
        ),
    )
    return RedirectResponse(_back(path, ack, ack.code, ack.ok), 303)


@router.post(PAGE + "/{auction_id}/bids/{order_id}/withdraw")
def withdraw_bid(
    request: Request,
    auction_id: str,
    order_id: str,
    actor: ConsoleActor,
    svc: AuctionDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Withdraw an own bid while the auction is open."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    svc.own_bid(actor, order_id)  # another organisation's bid: 404
    ack = svc.books.transact(session, lambda: svc.withdraw_bid(actor, order_id))
    return RedirectResponse(_back(_href(auction_id), ack, ack.code, ack.ok), 303)


@router.post(PAGE + "/{auction_id}/clear")
def clear_auction(
    request: Request,
    auction_id: str,
    actor: ConsoleActor,
    svc: AuctionDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    close_now: Annotated[str, Form(max_length=8)] = "",
) -> RedirectResponse:
    """Clear (the authority may first close early) and settle the auction."""
    check_csrf(request, csrf)
    svc.check_exists(auction_id)
    ack = svc.books.transact(
        session, lambda: svc.clear(actor, auction_id, close_now=bool(close_now))
    )
    return RedirectResponse(_back(_href(auction_id), None, ack.code, ack.ok), 303)


@router.post(PAGE + "/{auction_id}/cancel")
def cancel_auction(
    request: Request,
    auction_id: str,
    actor: ConsoleActor,
    svc: AuctionDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Cancel an auction before clearing; every hold is released."""
    check_csrf(request, csrf)
    svc.check_exists(auction_id)
    ack = svc.books.transact(session, lambda: svc.cancel(actor, auction_id))
    return RedirectResponse(_back(_href(auction_id), None, ack.code, ack.ok), 303)
