"""HTTP routes of listed agreement (``/v1/exchange/listed``) and block agreement
(``/v1/exchange/block``) trading.

Commands authenticate and run under the process-wide book lock and are committed before
the response is built, as the continuous order routes (:mod:`.endpoints`). An
``Idempotency-Key`` is stored as the listing's or taker order's ``client_order_id``, as the
proposal's ``client_ref`` and as the confirming side's ``client_order_id``, so a retry
after a crash between the two commits returns the first answer.

Rejections are ``{"error": "exchange.<code>", "detail": ...}``: 422 for commands a rule
refuses (``insufficient_funds``, ``outside_price_band``, ``listing_not_in_best_levels``,
``below_block_minimum``, ``outside_block_band``, ``market_closed``, ...), 409
``exchange.listing_not_open`` / ``exchange.proposal_not_open`` /
``exchange.proposal_expired``, 403 ``permission_denied`` / ``exchange.not_counterparty`` /
``exchange.not_initiator``, 404 ``exchange.listing_not_found`` /
``exchange.proposal_not_found`` (also for another participant's listing or proposal).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from greencircle.api.deps import CurrentActor, SessionDep
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.exchange.agreements import BEST_LEVELS, AgreementService
from greencircle.exchange.endpoints import bearer_docs, build_service, may_trade, run_command
from greencircle.kit.paging import DEFAULT_LIMIT, Limit, Offset
from greencircle.kit.timeutil import IsoDateTime

__all__ = ["router"]

router = APIRouter(prefix="/v1/exchange", tags=["exchange agreements"])


def agreement_service(request: Request, session: SessionDep) -> AgreementService:
    """The agreement service of the request's unit of work."""
    return build_service(AgreementService, request, session)


AgreementDep = Annotated[AgreementService, Depends(agreement_service)]


# ==========================================================================================
# listed agreement
# ==========================================================================================
class ListingIn(BaseModel):
    """A new listing; ``price`` is a decimal string on the market's tick."""

    model_config = ConfigDict(extra="forbid")

    market: str = Field(min_length=1, max_length=24, examples=["CN-CQ"])
    instrument: str = Field(min_length=1, max_length=160, examples=["CQEA:2025"])
    side: Literal["buy", "sell"]
    price: str = Field(max_length=40, examples=["52.30"])
    quantity: StrictInt = Field(description="[t]")
    funding_currency: str | None = Field(default=None, min_length=3, max_length=3)
    client_order_id: str | None = Field(default=None, min_length=1, max_length=200)


class TakeIn(BaseModel):
    """Take (part of) a listing at its price."""

    model_config = ConfigDict(extra="forbid")

    quantity: StrictInt = Field(description="[t]")
    funding_currency: str | None = Field(default=None, min_length=3, max_length=3)
    client_order_id: str | None = Field(default=None, min_length=1, max_length=200)


class ListingAmendIn(BaseModel):
    """A listing's new price."""

    model_config = ConfigDict(extra="forbid")

    price: str = Field(max_length=40)


@router.get("/listed/markets/{market}/instruments/{instrument}/board")
def board(
    market: str,
    instrument: str,
    svc: AgreementDep,
    levels: Annotated[int, Query(ge=1, le=BEST_LEVELS)] = BEST_LEVELS,
) -> dict[str, Any]:
    """Listing board (public): per side the best ``levels`` price levels and their
    listings (id, price, open quantity; no participant), previous close and band."""
    return svc.board(market, instrument, levels)


@router.get("/listed/markets/{market}/instruments/{instrument}/trades")
def agreement_trades(
    market: str,
    instrument: str,
    svc: AgreementDep,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Listed and block trades of the instrument (public, no participants), newest first."""
    return {"items": svc.trades(market, instrument, limit=limit)}


@router.post("/listed/listings", status_code=201, dependencies=[Depends(bearer_docs)])
def post_listing(
    body: ListingIn, request: Request, svc: AgreementDep, session: SessionDep
) -> dict[str, Any]:
    """Post a listing; its cash (buy, fee included) or units (sell) are reserved."""
    key = body.client_order_id or request.headers.get("idempotency-key")
    return run_command(
        request,
        session,
        svc.books,
        lambda actor: actor.require(Perm.EXCHANGE_TRADE),
        lambda actor: svc.post_listing(
            actor,
            market=body.market,
            instrument=body.instrument,
            side=body.side,
            price=body.price,
            quantity=body.quantity,
            client_order_id=key,
            funding_currency=body.funding_currency,
        ),
    )


@router.get("/listed/listings")
def my_listings(
    actor: CurrentActor,
    svc: AgreementDep,
    status: Annotated[str | None, Query(pattern="^(open|filled|cancelled)$")] = None,
    market: Annotated[str | None, Query(max_length=24)] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Own organisation's listings, newest first."""
    items, total = svc.my_listings(actor, status=status, market=market, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/listed/listings/{listing_id}")
def get_listing(listing_id: str, actor: CurrentActor, svc: AgreementDep) -> dict[str, Any]:
    """One own listing (another participant's: 404)."""
    return svc.listing(actor, listing_id)


@router.post(
    "/listed/listings/{listing_id}/take", status_code=201, dependencies=[Depends(bearer_docs)]
)
def take_listing(
    listing_id: str, body: TakeIn, request: Request, svc: AgreementDep, session: SessionDep
) -> dict[str, Any]:
    """Trade against a listing among the best five price levels, at its price."""
    key = body.client_order_id or request.headers.get("idempotency-key")

    def check(actor: Actor) -> None:
        actor.require(Perm.EXCHANGE_TRADE)
        svc.board_listing(listing_id)

    return run_command(
        request,
        session,
        svc.books,
        check,
        lambda actor: svc.take_listing(
            actor,
            listing_id,
            quantity=body.quantity,
            client_order_id=key,
            funding_currency=body.funding_currency,
        ),
    )


@router.delete("/listed/listings/{listing_id}", dependencies=[Depends(bearer_docs)])
def cancel_listing(
    listing_id: str, request: Request, svc: AgreementDep, session: SessionDep
) -> dict[str, Any]:
    """Withdraw a listing (its owner or the exchange operator); releases its hold."""

    def check(actor: Actor) -> None:
        may_trade(actor)
        svc.listing(actor, listing_id)

    return run_command(
        request, session, svc.books, check, lambda actor: svc.cancel_listing(actor, listing_id)
    )


@router.patch("/listed/listings/{listing_id}", dependencies=[Depends(bearer_docs)])
def amend_listing(
    listing_id: str,
    body: ListingAmendIn,
    request: Request,
    svc: AgreementDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Re-price an own open listing (band re-checked; the hold follows the price)."""

    def check(actor: Actor) -> None:
        actor.require(Perm.EXCHANGE_TRADE)
        svc.listing(actor, listing_id)

    return run_command(
        request,
        session,
        svc.books,
        check,
        lambda actor: svc.amend_listing(actor, listing_id, price=body.price),
    )


# ==========================================================================================
# block agreement
# ==========================================================================================
class ProposalIn(BaseModel):
    """A block trade proposed to a named counterparty (organisation code)."""

    model_config = ConfigDict(extra="forbid")

    market: str = Field(min_length=1, max_length=24, examples=["CN-CQ"])
    instrument: str = Field(min_length=1, max_length=160, examples=["CQEA:2025"])
    side: Literal["buy", "sell"] = Field(description="the initiator's side")
    counterparty: str = Field(min_length=1, max_length=64, examples=["CQ-STE-01"])
    price: str = Field(max_length=40, examples=["45.00"])
    quantity: StrictInt = Field(description="[t]")
    expires_at: IsoDateTime | None = None
    note: str | None = Field(default=None, max_length=500)
    funding_currency: str | None = Field(default=None, min_length=3, max_length=3)
    client_ref: str | None = Field(default=None, min_length=1, max_length=200)


class ConfirmIn(BaseModel):
    """The counterparty's confirmation (optional funding currency for a buyer)."""

    model_config = ConfigDict(extra="forbid")

    funding_currency: str | None = Field(default=None, min_length=3, max_length=3)
    client_order_id: str | None = Field(default=None, min_length=1, max_length=200)


class RejectIn(BaseModel):
    """The counterparty's refusal, with an optional reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=150)


@router.post("/block/proposals", status_code=201, dependencies=[Depends(bearer_docs)])
def propose(
    body: ProposalIn, request: Request, svc: AgreementDep, session: SessionDep
) -> dict[str, Any]:
    """Propose a block trade; the initiator's side is reserved until it is answered."""
    key = body.client_ref or request.headers.get("idempotency-key")
    expires: datetime | None = body.expires_at
    return run_command(
        request,
        session,
        svc.books,
        lambda actor: actor.require(Perm.EXCHANGE_TRADE),
        lambda actor: svc.propose(
            actor,
            market=body.market,
            instrument=body.instrument,
            side=body.side,
            counterparty=body.counterparty,
            price=body.price,
            quantity=body.quantity,
            expires_at=expires,
            note=body.note,
            client_ref=key,
            funding_currency=body.funding_currency,
        ),
    )


@router.get("/block/proposals")
def list_proposals(
    actor: CurrentActor,
    svc: AgreementDep,
    session: SessionDep,
    role: Annotated[Literal["incoming", "outgoing"] | None, Query()] = None,
    status: Annotated[
        str | None, Query(pattern="^(proposed|confirmed|rejected|withdrawn|expired)$")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Proposals the own organisation initiated (``outgoing``) or received
    (``incoming``); due proposals are expired first."""
    actor.require(Perm.EXCHANGE_READ)
    items, total = svc.books.transact(
        session,
        lambda: svc.proposals(actor, role=role, status=status, limit=limit, offset=offset),
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/block/proposals/{proposal_id}")
def get_proposal(
    proposal_id: str, actor: CurrentActor, svc: AgreementDep, session: SessionDep
) -> dict[str, Any]:
    """One proposal of the own organisation (either party; others: 404)."""
    actor.require(Perm.EXCHANGE_READ)
    svc.check_proposal(actor, proposal_id)
    return svc.books.transact(session, lambda: svc.proposal(actor, proposal_id))


def _party(svc: AgreementService, proposal_id: str) -> Callable[[Actor], None]:
    def check(actor: Actor) -> None:
        actor.require(Perm.EXCHANGE_TRADE)
        svc.check_proposal(actor, proposal_id)

    return check


@router.post("/block/proposals/{proposal_id}/confirm", dependencies=[Depends(bearer_docs)])
def confirm(
    proposal_id: str,
    request: Request,
    svc: AgreementDep,
    session: SessionDep,
    body: ConfirmIn | None = None,
) -> dict[str, Any]:
    """The named counterparty confirms: its side reserves and the trade settles."""
    body = body or ConfirmIn()
    key = body.client_order_id or request.headers.get("idempotency-key")
    funding = body.funding_currency
    return run_command(
        request,
        session,
        svc.books,
        _party(svc, proposal_id),
        lambda actor: svc.confirm(
            actor, proposal_id, client_order_id=key, funding_currency=funding
        ),
    )


@router.post("/block/proposals/{proposal_id}/reject", dependencies=[Depends(bearer_docs)])
def reject(
    proposal_id: str,
    request: Request,
    svc: AgreementDep,
    session: SessionDep,
    body: RejectIn | None = None,
) -> dict[str, Any]:
    """The named counterparty declines; the initiator's holds are released."""
    reason = body.reason if body else None
    return run_command(
        request,
        session,
        svc.books,
        _party(svc, proposal_id),
        lambda actor: svc.reject(actor, proposal_id, reason=reason),
    )


@router.post("/block/proposals/{proposal_id}/withdraw", dependencies=[Depends(bearer_docs)])
def withdraw(
    proposal_id: str, request: Request, svc: AgreementDep, session: SessionDep
) -> dict[str, Any]:
    """The initiator withdraws its open proposal; its holds are released."""
    return run_command(
        request,
        session,
        svc.books,
        _party(svc, proposal_id),
        lambda actor: svc.withdraw(actor, proposal_id),
    )


@router.post("/block/expire")
def expire(
    actor: CurrentActor,
    svc: AgreementDep,
    session: SessionDep,
    market: Annotated[str | None, Query(max_length=24)] = None,
) -> dict[str, Any]:
    """Exchange operator: expire every open proposal past its expiry."""
    actor.require(Perm.EXCHANGE_OPERATE)
    ids = svc.books.transact(session, lambda: svc.expire(actor, market=market))
    return {"expired": len(ids), "proposal_ids": ids}
