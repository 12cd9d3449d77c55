"""HTTP routes of the exchange (``/v1/exchange``): order entry, own orders and trades,
public market data (depth, tape, daily bars) and a live feed (server-sent events).

Order commands run under the process-wide book lock and are **committed before the
response is built** (:meth:`BookRegistry.transact`); the unit-of-work middleware then
commits its idempotency record. An ``Idempotency-Key`` is also stored as the order's
``client_order_id`` (unique per organisation), so a retry after a crash between the two
commits returns the first order instead of entering a second one.

Rejections are ``{"error": "exchange.<code>", "detail": ...}``: 422 for orders that cannot
be accepted (``insufficient_funds``, ``off_tick_price``, ``outside_price_band``, ...),
409 ``exchange.order_not_open``, 403 ``permission_denied`` / ``exchange.not_order_owner``,
404 ``exchange.order_not_found``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy.orm import Session

from greencircle.api.deps import CurrentActor, SessionDep, current_actor, get_codec
from greencircle.api.openapi import file_response
from greencircle.audit.keys import LogSigner
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.auth.service import AuthService
from greencircle.errors import Conflict, Forbidden, Invalid
from greencircle.exchange.hours import hours_enforced
from greencircle.exchange.service import BookRegistry, ExchangeService, OrderAck
from greencircle.kit.paging import DEFAULT_LIMIT, Limit, Offset
from greencircle.registry.endpoints import service_for
from greencircle.storage.engine import unit_of_work

__all__ = ["router"]

router = APIRouter(prefix="/v1/exchange", tags=["exchange"])
_INIT_LOCK = threading.Lock()
S = TypeVar("S")
#: Documents bearer authentication of the order commands in OpenAPI (the check itself runs
#: under the book lock, see ``_command``).
bearer_docs = HTTPBearer(auto_error=False)


class OrderRejected(Invalid):
    """The order or command was rejected by a trading rule or the risk check."""

    code = "exchange.rejected"


class OrderNotOpen(Conflict):
    """The order is no longer open (filled or cancelled)."""

    code = "exchange.order_not_open"


def books_of(request: Request) -> BookRegistry:
    """The process-wide book registry (created on first use)."""
    state = request.app.state
    books: BookRegistry | None = getattr(state, "exchange_books", None)
    if books is None:
        with _INIT_LOCK:
            books = getattr(state, "exchange_books", None)
            if books is None:
                books = BookRegistry()
                state.exchange_books = books
    return books


def build_service(cls: Callable[..., S], request: Request, session: Session) -> S:
    """An exchange service ``cls`` (continuous, agreements, auctions) of the request's
    unit of work, on the process-wide books and the app's trading-hours setting."""
    signer: LogSigner = request.app.state.log_signer
    return cls(
        session,
        signer,
        books_of(request),
        registry=service_for(session, signer),
        enforce_hours=hours_enforced(request.app.state.settings, session),
    )


def exchange_service(request: Request, session: SessionDep) -> ExchangeService:
    """The exchange service of the request's unit of work."""
    return build_service(ExchangeService, request, session)


ExchangeDep = Annotated[ExchangeService, Depends(exchange_service)]


#: Rejection codes answered 409: the order, listing, proposal or auction is no longer open.
NOT_OPEN = frozenset(
    {
        "order_not_open",
        "listing_not_open",
        "proposal_not_open",
        "proposal_expired",
        "auction_not_open",
        "auction_not_closed",
        "auction_finished",
        "auction_not_cleared",
    }
)
#: Rejection codes answered 403: the actor is not the party allowed to act.
WRONG_PARTY = frozenset({"not_counterparty", "not_initiator", "not_authority"})


def answer(ack: OrderAck, key: str = "order") -> dict[str, Any]:
    """The JSON of an accepted command (its object under ``key``), or its rejection raised
    as the HTTP error: 409 for :data:`NOT_OPEN`, 403 for :data:`WRONG_PARTY`, 422
    otherwise; the error code is ``exchange.<code>``."""
    if ack.ok:
        out = ack.as_dict()
        if key != "order":
            out[key] = out.pop("order")
        return out
    if ack.code == "order_not_open":
        raise OrderNotOpen(ack.detail)
    code = f"exchange.{ack.code}"
    if ack.code in NOT_OPEN:
        raise Conflict(ack.detail, code=code)
    if ack.code in WRONG_PARTY:
        raise Forbidden(ack.detail, code=code)
    raise OrderRejected(ack.detail, code=code)


class OrderIn(BaseModel):
    """A new order. ``price`` is a decimal string on the market's tick (limit orders)."""

    model_config = ConfigDict(extra="forbid")

    market: str = Field(min_length=1, max_length=24, examples=["CN-CQ"])
    instrument: str = Field(min_length=1, max_length=160, examples=["CQEA:2025"])
    side: Literal["buy", "sell"]
    kind: Literal["limit", "market"] = "limit"
    tif: Literal["GTC", "IOC", "FOK"] = "GTC"
    price: str | None = Field(default=None, max_length=40, examples=["52.30"])
    quantity: StrictInt = Field(description="[t]")
    client_order_id: str | None = Field(default=None, min_length=1, max_length=200)
    funding_currency: str | None = Field(
        default=None,
        pattern="^[A-Z]{3}$",
        description="Buy orders: pay in this currency at the current FX snapshot (KZT, ...)",
    )


class AmendIn(BaseModel):
    """New price and/or new open quantity of a resting order."""

    model_config = ConfigDict(extra="forbid")

    price: str | None = Field(default=None, max_length=40)
    quantity: StrictInt | None = None


def run_command(
    request: Request,
    session: Session,
    books: BookRegistry,
    check: Callable[[Actor], object],
    run: Callable[[Actor], OrderAck],
    key: str = "order",
) -> dict[str, Any]:
    """Authenticate, check and run one order command, all under the book lock; answer
    with :func:`answer` (the command's object under ``key``).

    Authentication reads happen after the lock is taken, so concurrent order requests wait
    on the lock rather than on SQLite's writer lock (whose back-off sleeps dominated the
    tail latency). ``check`` may raise (401, 403, 404) before anything is touched.
    """
    session.commit()  # end any transaction the middleware opened (idempotency lookup)
    with books.lock:
        service = AuthService(
            session,
            get_codec(request),
            max_failures=request.app.state.settings.login_max_failures,
            window_s=request.app.state.settings.login_window_seconds,
        )
        actor = current_actor(request, service)
        check(actor)
        ack = books.run_locked(session, lambda: run(actor))
    books.notify()
    return answer(ack, key)


def may_trade(actor: Actor) -> None:
    """Traders and the exchange operator (who may cancel anyone's order)."""
    if Perm.EXCHANGE_TRADE not in actor.perms and Perm.EXCHANGE_OPERATE not in actor.perms:
        actor.require(Perm.EXCHANGE_TRADE)


@router.post("/orders", status_code=201, dependencies=[Depends(bearer_docs)])
def place_order(
    body: OrderIn, request: Request, svc: ExchangeDep, session: SessionDep
) -> dict[str, Any]:
    """Enter an order; the answer carries the order's state and its trades (settled)."""
    key = body.client_order_id or request.headers.get("idempotency-key")
    return run_command(
        request,
        session,
        svc.books,
        lambda actor: actor.require(Perm.EXCHANGE_TRADE),
        lambda actor: svc.place(
            actor,
            market=body.market,
            instrument=body.instrument,
            side=body.side,
            kind=body.kind,
            tif=body.tif,
            price=body.price,
            quantity=body.quantity,
            client_order_id=key,
            funding_currency=body.funding_currency,
        ),
    )


@router.delete("/orders/{order_id}", dependencies=[Depends(bearer_docs)])
def cancel_order(
    order_id: str, request: Request, svc: ExchangeDep, session: SessionDep
) -> dict[str, Any]:
    """Cancel a resting order (its owner or the exchange operator); releases its hold.
    Another participant's order is 404."""

    def check(actor: Actor) -> None:
        may_trade(actor)
        svc.order(actor, order_id)

    return run_command(
        request, session, svc.books, check, lambda actor: svc.cancel(actor, order_id)
    )


@router.patch("/orders/{order_id}", dependencies=[Depends(bearer_docs)])
def amend_order(
    order_id: str, body: AmendIn, request: Request, svc: ExchangeDep, session: SessionDep
) -> dict[str, Any]:
    """Amend a resting order's price and/or open quantity (within its reservation)."""

    def check(actor: Actor) -> None:
        actor.require(Perm.EXCHANGE_TRADE)
        svc.order(actor, order_id)

    return run_command(
        request,
        session,
        svc.books,
        check,
        lambda actor: svc.amend(actor, order_id, price=body.price, quantity=body.quantity),
    )


@router.post("/markets/{market}/instruments/{instrument}/expire")
def expire_book(
    market: str, instrument: str, actor: CurrentActor, svc: ExchangeDep, session: SessionDep
) -> dict[str, Any]:
    """End of day (exchange operator): cancel every resting order of the book."""
    actor.require(Perm.EXCHANGE_OPERATE)
    ids = svc.books.transact(session, lambda: svc.expire(actor, market, instrument))
    return {"expired": len(ids), "order_ids": ids}


@router.get("/orders")
def list_orders(
    actor: CurrentActor,
    svc: ExchangeDep,
    status: Annotated[str | None, Query(pattern="^(open|filled|cancelled)$")] = None,
    market: Annotated[str | None, Query(max_length=24)] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    instrument: Annotated[str | None, Query(max_length=160)] = None,
    mode: Annotated[str | None, Query(max_length=12)] = None,
    sort: Annotated[str, Query(max_length=16)] = "newest",
) -> dict[str, Any]:
    """Own organisation's orders across instruments (default newest first); each carries
    its ``unit``, ``currency`` and ``price_unit``."""
    items, total = svc.my_orders(
        actor,
        status=status,
        market=market,
        limit=limit,
        offset=offset,
        instrument=instrument,
        mode=mode,
        sort=sort,
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/orders/{order_id}")
def get_order(order_id: str, actor: CurrentActor, svc: ExchangeDep) -> dict[str, Any]:
    """One own order."""
    return svc.order(actor, order_id)


@router.get("/trades")
def list_trades(
    actor: CurrentActor,
    svc: ExchangeDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Own organisation's trades (either side), newest first."""
    items, total = svc.my_trades(actor, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _levels(levels: str) -> int | None:
    if levels == "all":
        return None
    if levels.isdigit() and 1 <= int(levels) <= 1000:
        return int(levels)
    raise Invalid("levels is a number 1..1000 or 'all'", code="invalid_levels")


@router.get("/markets/{market}/instruments/{instrument}/depth")
def depth(
    market: str,
    instrument: str,
    svc: ExchangeDep,
    levels: Annotated[str, Query(max_length=5)] = "5",
) -> dict[str, Any]:
    """Aggregated order book: best ``levels`` price levels per side (public)."""
    n = _levels(levels)
    with svc.books.lock:
        return svc.depth(market, instrument, n)


@router.get("/markets/{market}/instruments/{instrument}/trades")
def tape(
    market: str,
    instrument: str,
    svc: ExchangeDep,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Public trade tape, newest first (no participants)."""
    return {"items": svc.tape(market, instrument, limit=limit)}


@router.get("/markets/{market}/instruments/{instrument}/ohlc")
def ohlc(
    market: str,
    instrument: str,
    svc: ExchangeDep,
    interval: Annotated[Literal["1d"], Query()] = "1d",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Daily bars; ``close`` is the VWAP of the day's continuous trades."""
    return svc.ohlc(market, instrument, days=days)


@router.get(
    "/stream", responses=file_response("text/event-stream", description="server-sent events")
)
async def stream(
    request: Request,
    market: Annotated[str, Query(min_length=1, max_length=24)],
    instrument: Annotated[str, Query(min_length=1, max_length=160)],
    once: bool = False,
    max_seconds: Annotated[float, Query(gt=0, le=300)] = 30.0,
    levels: Annotated[int, Query(ge=1, le=50)] = 5,
) -> Response:
    """Live feed (``text/event-stream``): a ``snapshot`` event (depth + recent trades), then
    an ``update`` event each time the book changes, until ``max_seconds`` (then ``end``).
    ``once=true`` sends the snapshot and closes."""
    books = books_of(request)
    factory = request.app.state.session_factory
    signer: LogSigner = request.app.state.log_signer

    def take() -> dict[str, Any]:
        with unit_of_work(factory) as session, books.lock:
            svc = ExchangeService(session, signer, books)
            return svc.depth(market, instrument, levels)

    first = await anyio.to_thread.run_sync(take)  # errors (404) before streaming starts

    async def events() -> AsyncIterator[bytes]:
        yield _sse("snapshot", first)
        if once:
            return
        seen = (books.generation, first["version"])
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            await anyio.sleep(0.1)
            if await request.is_disconnected():
                return
            if books.generation == seen[0]:
                continue
            snap = await anyio.to_thread.run_sync(take)
            now = (books.generation, snap["version"])
            if snap["version"] != seen[1]:
                yield _sse("update", snap)
            seen = now
        yield _sse("end", {"reason": "max_seconds"})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
