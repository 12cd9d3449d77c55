"""HTTP routes of auctions (``/v1/exchange/auctions``): one-way sealed-bid auctions of an
authority and call auctions of pollutant-discharge rights.

Commands (create, bid, withdraw, clear, cancel) authenticate and run under the book lock
and are committed before the response is built, as the order commands of
:mod:`greencircle.exchange.endpoints`. An ``Idempotency-Key`` is stored as the bid's
``client_order_id`` (or the auction's ``client_ref``), so a retry returns the first
answer.

Rejections are ``{"error": "exchange.<code>", "detail": ...}``: 422 for a command that
cannot be accepted (``below_reserve``, ``above_bidder_cap``, ``insufficient_funds``, ...),
409 for a state conflict (``auction_not_open``, ``auction_not_closed``,
``auction_finished``, ``order_not_open``, ``auction_not_cleared``), 403
``permission_denied`` / ``exchange.not_authority``, 404 ``exchange.auction_not_found`` /
``exchange.order_not_found``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from greencircle.api.deps import CurrentActor, SessionDep
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.exchange.auctions import AuctionService
from greencircle.exchange.endpoints import bearer_docs, build_service, run_command
from greencircle.kit.paging import DEFAULT_LIMIT, Limit, Offset
from greencircle.kit.timeutil import IsoDateTime

__all__ = ["auction_service", "router"]

router = APIRouter(prefix="/v1/exchange/auctions", tags=["exchange auctions"])


def auction_service(request: Request, session: SessionDep) -> AuctionService:
    """The auction service of the request's unit of work."""
    return build_service(AuctionService, request, session)


AuctionDep = Annotated[AuctionService, Depends(auction_service)]


class AuctionIn(BaseModel):
    """A new auction. Prices are decimal strings on the market's tick; times are ISO 8601
    with a zone. One-way: ``offered_quantity``, ``reserve_price``, ``pricing``,
    ``max_per_bidder`` (optional). Call: ``reference_price``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["one_way", "call"] = "one_way"
    market: str = Field(min_length=1, max_length=24, examples=["CN-CQ"])
    instrument: str = Field(min_length=1, max_length=160, examples=["CQEA:2025"])
    title: str = Field(min_length=1, max_length=200)
    titles: dict[Literal["en", "zh-CN"], Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, description="The title per console language, shown instead of `title`."
    )
    pricing: Literal["uniform", "pay_as_bid"] = "uniform"
    offered_quantity: StrictInt = Field(default=0, description="[t]")
    reserve_price: str | None = Field(default=None, max_length=40, examples=["40.00"])
    max_per_bidder: StrictInt | None = Field(default=None, description="[t]")
    min_bid_quantity: StrictInt | None = Field(default=None, description="[t]")
    reference_price: str | None = Field(default=None, max_length=40)
    opens_at: IsoDateTime
    closes_at: IsoDateTime
    client_ref: str | None = Field(default=None, min_length=1, max_length=200)


class BidIn(BaseModel):
    """A sealed bid (one-way: ``side='buy'``) or a call-auction order."""

    model_config = ConfigDict(extra="forbid")

    side: Literal["buy", "sell"] = "buy"
    price: str = Field(min_length=1, max_length=40, examples=["42.00"])
    quantity: StrictInt = Field(description="[t]")
    client_order_id: str | None = Field(default=None, min_length=1, max_length=200)
    funding_currency: str | None = Field(default=None, min_length=3, max_length=3)


class ClearIn(BaseModel):
    """``close_now``: the authority closes the auction early and clears it."""

    model_config = ConfigDict(extra="forbid")

    close_now: bool = False


class ReserveIn(BaseModel):
    """New units for the authority's auction reserve account."""

    model_config = ConfigDict(extra="forbid")

    market: str = Field(min_length=1, max_length=24)
    product: str = Field(min_length=1, max_length=24)
    vintage: StrictInt
    quantity: StrictInt = Field(description="[t]")
    project_id: str | None = Field(default=None, max_length=60)
    region: str | None = Field(default=None, max_length=60)
    pollutant: str | None = Field(default=None, max_length=16)


@router.post("", status_code=201, dependencies=[Depends(bearer_docs)])
def create_auction(
    body: AuctionIn, request: Request, svc: AuctionDep, session: SessionDep
) -> dict[str, Any]:
    """Create an auction (one-way: the market's authority; call: also the operator)."""
    ref = body.client_ref or request.headers.get("idempotency-key")
    fields = body.model_dump(exclude={"client_ref"})
    return run_command(
        request,
        session,
        svc.books,
        lambda actor: None,
        lambda actor: svc.create(actor, client_ref=ref, **fields),
        key="auction",
    )


@router.post("/reserve", status_code=201)
def request_reserve(
    body: ReserveIn, actor: CurrentActor, svc: AuctionDep, session: SessionDep
) -> dict[str, Any]:
    """Request new units for the authority's auction reserve account (a regulator of the
    market's authority); a second regulator approves before anything is issued."""
    return svc.books.transact(session, lambda: svc.request_reserve(actor, **body.model_dump()))


@router.get("/reserve")
def reserve_requests(
    actor: CurrentActor,
    svc: AuctionDep,
    status: Annotated[str | None, Query(pattern="^(pending|issued|rejected)$")] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Reserve requests of the caller's markets, newest first."""
    items, total = svc.reserve_requests(actor, status=status, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/reserve/{request_id}/approve")
def approve_reserve(
    request_id: str, actor: CurrentActor, svc: AuctionDep, session: SessionDep
) -> dict[str, Any]:
    """Approve a reserve request (a regulator other than the requester): issue the units."""
    return svc.books.transact(session, lambda: svc.approve_reserve(actor, request_id))


class ReserveRejectIn(BaseModel):
    """Why a reserve request is rejected."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=400)


@router.post("/reserve/{request_id}/reject")
def reject_reserve(
    request_id: str,
    body: ReserveRejectIn,
    actor: CurrentActor,
    svc: AuctionDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Reject a reserve request (a regulator other than the requester)."""
    return svc.books.transact(session, lambda: svc.reject_reserve(actor, request_id, body.reason))


@router.get("")
def list_auctions(
    actor: CurrentActor,
    svc: AuctionDep,
    status: Annotated[
        str | None, Query(pattern="^(scheduled|open|closed|cleared|cancelled)$")
    ] = None,
    market: Annotated[str | None, Query(max_length=24)] = None,
    kind: Annotated[str | None, Query(pattern="^(one_way|call)$")] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Auctions (public information), newest first."""
    items, total = svc.list_auctions(
        actor, status=status, market=market, kind=kind, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/{auction_id}")
def get_auction(auction_id: str, actor: CurrentActor, svc: AuctionDep) -> dict[str, Any]:
    """One auction with the caller's own bids (sealed: nobody sees others' bids before
    clearing; the authority and the operator see every bid after)."""
    return svc.get(actor, auction_id)


@router.get("/{auction_id}/results")
def auction_results(auction_id: str, actor: CurrentActor, svc: AuctionDep) -> dict[str, Any]:
    """Result of a cleared auction: public figures, own awards, (authority) every bid."""
    return svc.results(actor, auction_id)


@router.post("/{auction_id}/bids", status_code=201, dependencies=[Depends(bearer_docs)])
def place_bid(
    auction_id: str, body: BidIn, request: Request, svc: AuctionDep, session: SessionDep
) -> dict[str, Any]:
    """Enter a bid (reserves money or units at once)."""
    key = body.client_order_id or request.headers.get("idempotency-key")

    def check(actor: Actor) -> None:
        actor.require(Perm.EXCHANGE_TRADE)
        svc.check_exists(auction_id)

    return run_command(
        request,
        session,
        svc.books,
        check,
        lambda actor: svc.bid(
            actor,
            auction_id,
            side=body.side,
            price=body.price,
            quantity=body.quantity,
            client_order_id=key,
            funding_currency=body.funding_currency,
        ),
    )


@router.delete("/bids/{order_id}", dependencies=[Depends(bearer_docs)])
def withdraw_bid(
    order_id: str, request: Request, svc: AuctionDep, session: SessionDep
) -> dict[str, Any]:
    """Withdraw an own bid while the auction is open; another organisation's bid is 404."""

    def check(actor: Actor) -> None:
        actor.require(Perm.EXCHANGE_TRADE)
        svc.own_bid(actor, order_id)

    return run_command(
        request, session, svc.books, check, lambda actor: svc.withdraw_bid(actor, order_id)
    )


@router.post("/{auction_id}/clear", dependencies=[Depends(bearer_docs)])
def clear_auction(
    auction_id: str,
    request: Request,
    svc: AuctionDep,
    session: SessionDep,
    body: ClearIn | None = None,
) -> dict[str, Any]:
    """Clear a closed auction and settle it (the authority or the operator); the
    authority may ``close_now``."""
    close_now = body.close_now if body is not None else False
    return run_command(
        request,
        session,
        svc.books,
        lambda actor: svc.check_exists(auction_id),
        lambda actor: svc.clear(actor, auction_id, close_now=close_now),
        key="auction",
    )


@router.post("/{auction_id}/cancel", dependencies=[Depends(bearer_docs)])
def cancel_auction(
    auction_id: str, request: Request, svc: AuctionDep, session: SessionDep
) -> dict[str, Any]:
    """Cancel an auction before it is cleared (the authority or the operator); every
    hold is released."""
    return run_command(
        request,
        session,
        svc.books,
        lambda actor: svc.check_exists(auction_id),
        lambda actor: svc.cancel(actor, auction_id),
        key="auction",
    )
