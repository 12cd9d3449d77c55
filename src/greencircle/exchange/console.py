"""Console pages of the exchange: market overview, and per instrument the depth ladder,
trade tape, daily candlestick chart, order entry, own orders (with cancel) and own trades.

Order entry and cancel call the same :class:`ExchangeService` commands as
``POST /v1/exchange/orders`` and ``DELETE /v1/exchange/orders/{id}``, under the book lock
and committed before the redirect (:meth:`BookRegistry.transact`). The outcome (result
code or rejection) is shown on the instrument page in the page's language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from greencircle.api.deps import SessionDep
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import NotFound
from greencircle.exchange.endpoints import ExchangeDep
from greencircle.exchange.fx import load_fx_config
from greencircle.exchange.hours import hours_mode
from greencircle.exchange.hours import status as session_status
from greencircle.exchange.marketdata import vwap_ticks
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.service import ORDER_SORTS, ExchangeService, OrderAck
from greencircle.exchange.units import (
    class_units_text,
    display_helpers,
    instrument_units,
    market_currency,
    unit_fields,
)
from greencircle.kit.fmt import unit_label
from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import to_local
from greencircle.registry.models import RegInstrument
from greencircle.registry.service import CASH_MARKET
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import translate

router = APIRouter(include_in_schema=False)

#: Result codes shown on the page (accepted outcomes and rejections); others are "other".
RESULT_CODES = (
    "resting",
    "filled",
    "cancelled",
    "self_trade_prevented",
    "fok_not_fillable",
    "invalid_order",
    "unknown_market",
    "unknown_instrument",
    "invalid_quantity",
    "lot_size",
    "quantity_too_large",
    "price_required",
    "price_not_allowed",
    "malformed_price",
    "non_positive_price",
    "off_tick_price",
    "outside_price_band",
    "not_eligible",
    "insufficient_funds",
    "insufficient_units",
    "order_not_open",
    "market_closed",
    "resale_restricted",
    "position_limit_exceeded",
    "fx_not_supported",
    "fx_rate_unavailable",
    "fx_liquidity",
    "amend_exceeds_reservation",
    "other",
)
ORDER_STATES = ("open", "filled", "cancelled")
REASONS = (
    "cancelled_by_owner",
    "cancelled_by_operator",
    "expired",
    "ioc_remainder",
    "market_remainder",
    "self_trade_prevented",
    "fok_not_fillable",
)
SIDES = ("buy", "sell")
KINDS = ("limit", "market")
TIFS = ("GTC", "IOC", "FOK")


def short_code(market: str, code: str) -> str:
    """Instrument code without the market prefix (``CQEA:2025``)."""
    prefix = f"{market}:"
    return code[len(prefix) :] if code.startswith(prefix) else code


def labels(lang: str, prefix: str, values: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(value, translated label)`` pairs; the label key is ``prefix + value``."""
    return [(v, translate(lang, f"{prefix}{v}")) for v in values]


def local_when(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO 8601 time in the platform's local time zone (``""`` for none)."""
    if not value:
        return ""
    return to_local(datetime.fromisoformat(value)).strftime(fmt)


def book_href(market: str, code: str) -> str:
    """The console page of an instrument's continuous book."""
    return f"/console/exchange/{quote(market)}/{quote(short_code(market, code), safe=':')}"


def funding_choices(svc: ExchangeService, actor: Actor, market: str) -> tuple[list[str], str]:
    """Currencies ``actor`` may fund a buy on ``market`` with, and the preselected one.

    The market's currency and every currency with an FX provider (``data/fx.toml``). The
    preselected one is the market currency when the organisation holds some of it, else
    the first foreign currency (by code) it holds some of (``KZ-ENT-01`` holds KZT only:
    KZT).
    """
    currency = market_currency(market)
    offered = [currency, *sorted(c for c in load_fx_config().fx_provider if c != currency)]
    available: dict[str, int] = {}
    for b in svc.registry.balances(actor, actor.org_id):
        if b.instrument_code.startswith(f"{CASH_MARKET}:") and b.unit in offered:
            available[b.unit] = available.get(b.unit, 0) + int(b.available)
    if available.get(currency, 0) > 0 or not any(available.values()):
        return offered, currency
    return offered, min(c for c, amount in available.items() if amount > 0)


def order_form_context(
    request: Request, svc: ExchangeService, actor: Actor, market: str, mode: str
) -> dict[str, Any]:
    """What every order form shows: the session status (open / closed, next session,
    "hours relaxed (demo)") and the funding currencies of buy orders."""
    lang = page_lang(request)
    hours = hours_mode(request.app.state.settings, svc.session)
    offered, chosen = funding_choices(svc, actor, market)
    return {
        "session": session_status(market, mode, lang, hours, svc.clock()),
        "funding": offered,
        "funding_default": chosen,
    }


def can_trade(actor: Actor) -> bool:
    """Whether ``actor`` may enter orders (the trade forms are shown)."""
    return Perm.EXCHANGE_TRADE in actor.perms


def _instruments(svc: ExchangeService) -> list[dict[str, Any]]:
    """Tradable instruments of every market with a continuous book, with their last
    price, close (VWAP of the last trading day) and that day's volume."""
    markets = sorted(svc.rules)
    rows = svc.session.scalars(
        select(RegInstrument)
        .where(RegInstrument.market_code.in_(markets), RegInstrument.instrument_class != "cash")
        .order_by(RegInstrument.market_code, RegInstrument.code)
    ).all()
    out: list[dict[str, Any]] = []
    for inst in rows:
        fmt = svc.rules[inst.market_code].scale.format
        conds = (
            ExTrade.market_code == inst.market_code,
            ExTrade.instrument_code == inst.code,
            ExTrade.sets_close.is_(True),
        )
        last_day = svc.session.scalar(select(func.max(ExTrade.trade_date)).where(*conds))
        item: dict[str, Any] = {
            "market": inst.market_code,
            "code": inst.code,
            **unit_fields(inst.market_code, inst.instrument_class),
            "href": book_href(inst.market_code, inst.code),
            "listed_href": book_href(inst.market_code, inst.code).replace(
                "/console/exchange/", "/console/exchange/listed/", 1
            ),
            "last": None,
            "close": None,
            "volume": 0,
            "date": last_day,
        }
        if last_day is not None:
            last = svc.session.scalar(
                select(ExTrade.price_ticks)
                .where(*conds)
                .order_by(ExTrade.seq.desc(), ExTrade.id.desc())
                .limit(1)
            )
            day = [
                (int(p), int(q))
                for p, q in svc.session.execute(
                    select(ExTrade.price_ticks, ExTrade.quantity).where(
                        *conds, ExTrade.trade_date == last_day
                    )
                )
            ]
            close = vwap_ticks(day)
            item |= {
                "last": fmt(int(last)) if last is not None else None,
                "close": fmt(close) if close is not None else None,
                "volume": sum(q for _, q in day),
            }
        out.append(item)
    out.sort(key=lambda i: (i["date"] is None, i["market"], i["code"]))
    return out


@router.get("/console/exchange", response_class=HTMLResponse)
def overview(request: Request, actor: ConsoleActor, svc: ExchangeDep) -> HTMLResponse:
    """Market overview: every tradable instrument with last price, close and volume."""
    actor.require(Perm.EXCHANGE_READ)
    return render(
        request,
        "exchange/overview.html",
        actor=actor,
        instruments=_instruments(svc),
        can_trade=can_trade(actor),
        class_units=class_units_text(page_lang(request)),
        **display_helpers(page_lang(request)),
    )


ORDERS_PAGE = "/console/exchange/orders"
ORDERS_PAGE_SIZE = 25
MODES = ("continuous", "listed", "block", "auction", "call")


@router.get(ORDERS_PAGE, response_class=HTMLResponse)
def orders_page(
    request: Request,
    actor: ConsoleActor,
    svc: ExchangeDep,
    status: Annotated[str | None, Query(pattern="^(|open|filled|cancelled)$")] = None,
    instrument: Annotated[str | None, Query(max_length=160)] = None,
    sort: Annotated[str, Query(max_length=16)] = "newest",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Order history of the caller's organisation across instruments and modes: paginated,
    sortable, filterable by status and instrument (same call as ``GET /v1/exchange/orders``).
    """
    actor.require(Perm.EXCHANGE_TRADE)
    lang = page_lang(request)
    sort = sort if sort in ORDER_SORTS else "newest"
    rows, total = svc.my_orders(
        actor,
        status=status or None,
        instrument=instrument or None,
        sort=sort,
        limit=ORDERS_PAGE_SIZE,
        offset=(page - 1) * ORDERS_PAGE_SIZE,
    )
    for o in _with_time(rows, "created_at"):
        o["href"] = book_href(o["market"], o["instrument"])
        o["mode_label"] = (
            translate(lang, f"exchange.mode.{o['mode']}") if o["mode"] in MODES else o["mode"]
        )
    traded = svc.session.scalars(
        select(ExOrder.instrument_code)
        .where(ExOrder.org_id == actor.org_id)
        .group_by(ExOrder.instrument_code)
        .order_by(ExOrder.instrument_code)
    ).all()
    return render(
        request,
        "exchange/orders.html",
        actor=actor,
        rows=rows,
        total=total,
        page=page,
        pages=pages(total, ORDERS_PAGE_SIZE),
        status=status or "",
        instrument=instrument or "",
        sort=sort,
        instruments=list(traded),
        statuses=labels(lang, "exchange.state.", ORDER_STATES),
        sorts=labels(lang, "exchange.sort.", tuple(ORDER_SORTS)),
        reasons=REASONS,
        **display_helpers(lang),
    )


def _with_time(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Add ``when``: the row's ``key`` timestamp in China time (UTC+8)."""
    for row in rows:
        value = row.get(key)
        row["when"] = (
            to_local(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M:%S")
            if value
            else row.get("trade_date", "")
        )
    return rows


def _chart(ohlc: dict[str, Any], lang: str, units: dict[str, str]) -> dict[str, Any]:
    bars = ohlc["bars"]
    return {
        "dates": [b["date"] for b in bars],
        # ECharts candlestick order: open, close (last trade of the day), low, high
        "candles": [[float(b[k]) for k in ("open", "last", "low", "high")] for b in bars],
        "vwap": [float(b["close"]) for b in bars],
        "volume": [b["volume"] for b in bars],
        "labels": {k: translate(lang, f"exchange.chart.{k}") for k in ("price", "vwap", "volume")}
        | {
            "unit": f"{units['currency']}/{unit_label(units['unit'])}",
            "qty": unit_label(units["unit"]),
        },
    }


@router.get("/console/exchange/{market}/{instrument}", response_class=HTMLResponse)
def instrument_page(
    request: Request,
    market: str,
    instrument: str,
    actor: ConsoleActor,
    svc: ExchangeDep,
    result: Annotated[str | None, Query(max_length=40)] = None,
    outcome: Annotated[str | None, Query(pattern="^(accepted|rejected)$")] = None,
    order: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """One instrument: depth, tape, daily chart; order entry and own orders for traders."""
    actor.require(Perm.EXCHANGE_READ)
    if market not in svc.rules:
        raise NotFound(f"market {market!r} has no continuous book", code="exchange.unknown_market")
    with svc.books.lock:
        depth = svc.depth(market, instrument, 5)
    code = depth["instrument"]
    ohlc = svc.ohlc(market, instrument, days=60)
    units = instrument_units(code)
    lang = page_lang(request)
    ctx: dict[str, Any] = {
        "units": units,
        **display_helpers(lang),
        "market": market,
        "code": code,
        "short": short_code(market, code),
        "href": book_href(market, code),
        "bids": depth["bids"],
        "asks": list(reversed(depth["asks"])),
        "tape": _with_time(svc.tape(market, instrument, limit=20), "executed_at"),
        "ohlc": ohlc,
        "chart": _chart(ohlc, lang, units),
        "can_trade": can_trade(actor),
        "result": (result if result in RESULT_CODES else "other") if result else None,
        "outcome": outcome,
        "result_order": order,
        "sides": SIDES,
        "kinds": KINDS,
        "tifs": TIFS,
        "reasons": REASONS,
    }
    if ctx["can_trade"]:
        orders, _ = svc.my_orders(actor, market=market, limit=200)
        trades, _ = svc.my_trades(actor, limit=200)
        ctx["orders"] = _with_time(
            [o for o in orders if o["instrument"] == code][:25], "created_at"
        )
        ctx["trades"] = _with_time(
            [t for t in trades if t["instrument"] == code][:25], "executed_at"
        )
        ctx["coid"] = f"console-{new_id()}"
        ctx |= order_form_context(request, svc, actor, market, "continuous")
    return render(request, "exchange/instrument.html", actor=actor, **ctx)


def _back(market: str, instrument: str, ack: OrderAck | None, code: str, ok: bool) -> str:
    params = {"result": code, "outcome": "accepted" if ok else "rejected"}
    if ack is not None and ack.order is not None:
        params["order"] = str(ack.order["id"])
    path = f"/console/exchange/{quote(market)}/{quote(instrument, safe=':')}"
    return f"{path}?{urlencode(params)}#result"


@router.post("/console/exchange/{market}/{instrument}/orders")
def place_order(
    request: Request,
    market: str,
    instrument: str,
    actor: ConsoleActor,
    svc: ExchangeDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
    side: Annotated[str, Form(max_length=8)],
    quantity: Annotated[str, Form(max_length=20)],
    kind: Annotated[str, Form(max_length=8)] = "limit",
    tif: Annotated[str, Form(max_length=4)] = "GTC",
    price: Annotated[str, Form(max_length=40)] = "",
    client_order_id: Annotated[str, Form(max_length=80)] = "",
    funding_currency: Annotated[str, Form(max_length=3)] = "",
) -> RedirectResponse:
    """Order entry from the console (same service call as ``POST /v1/exchange/orders``)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    text = quantity.strip()
    qty = int(text) if text.isdigit() else None
    if qty is None:
        return RedirectResponse(_back(market, instrument, None, "invalid_quantity", False), 303)
    ack = svc.books.transact(
        session,
        lambda: svc.place(
            actor,
            market=market,
            instrument=instrument,
            side=side,
            kind=kind,
            tif=tif,
            price=price.strip() or None,
            quantity=qty,
            client_order_id=client_order_id or None,
            funding_currency=(funding_currency.strip().upper() or None) if side == "buy" else None,
        ),
    )
    return RedirectResponse(_back(market, instrument, ack, ack.code, ack.ok), 303)


@router.post("/console/exchange/{market}/{instrument}/orders/{order_id}/cancel")
def cancel_order(
    request: Request,
    market: str,
    instrument: str,
    order_id: str,
    actor: ConsoleActor,
    svc: ExchangeDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Cancel an own resting order (same service call as ``DELETE /v1/exchange/orders``)."""
    check_csrf(request, csrf)
    actor.require(Perm.EXCHANGE_TRADE)
    svc.order(actor, order_id)  # another participant's order: 404
    ack = svc.books.transact(session, lambda: svc.cancel(actor, order_id))
    return RedirectResponse(_back(market, instrument, ack, ack.code, ack.ok), 303)
