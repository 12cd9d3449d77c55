"""HTTP routes of cross-border settlement (``/v1/exchange/fx``, ``/v1/exchange/settlement``).

* ``POST /v1/exchange/fx/rates`` records an FX rate snapshot (settlement bank, exchange
  operator: ``exchange.fx``); ``GET`` lists snapshots (any signed-in user). A rate outside
  the plausibility band is ``pending`` until ``POST .../{id}/approve`` (or ``/reject``) by
  a second user of the same bank, with a reason.
* ``GET /v1/exchange/settlement/report`` is the end-of-day report per settlement bank and
  currency, gross and netted (``exchange.fx`` or ``exchange.operate``).
* ``GET /v1/exchange/settlement/statement`` is a participant's own lines of a day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from greencircle.api.deps import CurrentActor, SessionDep
from greencircle.exchange.fx import FxService
from greencircle.kit.paging import DEFAULT_LIMIT, Limit, Offset
from greencircle.kit.timeutil import IsoDate, IsoDateTime

__all__ = ["router"]

router = APIRouter(tags=["exchange"])


class RateIn(BaseModel):
    """A rate snapshot: ``rate`` units of ``quote`` per 1 ``base`` (exact decimal text)."""

    model_config = ConfigDict(extra="forbid")

    base: str = Field(pattern="^[A-Z]{3}$", examples=["KZT"])
    quote: str = Field(pattern="^[A-Z]{3}$", examples=["CNY"])
    rate: str = Field(min_length=1, max_length=40, examples=["0.0139"])
    source: str = Field(min_length=1, max_length=200, examples=["National Bank of Kazakhstan"])
    source_ref: str | None = Field(default=None, max_length=200)
    status: Literal["confirmed", "recall", "estimate"] = "confirmed"
    observed_at: IsoDateTime | None = None
    valid_from: IsoDateTime
    valid_until: IsoDateTime
    reason: str | None = Field(
        default=None,
        max_length=400,
        description="Why the rate moved (a rate outside the band waits for a second user).",
    )


class DecisionIn(BaseModel):
    """A second user's decision on a pending rate, with its reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=400)


def _fx(request: Request, session: SessionDep) -> FxService:
    return FxService(session, request.app.state.log_signer)


@router.post("/v1/exchange/fx/rates", status_code=201)
def record_rate(
    body: RateIn, request: Request, actor: CurrentActor, session: SessionDep
) -> dict[str, Any]:
    """Record an immutable FX rate snapshot (appended to the transparency log)."""
    return _fx(request, session).record_rate(
        actor,
        base=body.base,
        quote=body.quote,
        rate=body.rate,
        source=body.source,
        source_ref=body.source_ref,
        status=body.status,
        observed_at=body.observed_at,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        reason=body.reason,
    )


@router.post("/v1/exchange/fx/rates/{rate_id}/approve")
def approve_rate(
    rate_id: str, body: DecisionIn, request: Request, actor: CurrentActor, session: SessionDep
) -> dict[str, Any]:
    """A second user of the recording bank approves a pending (out-of-band) rate."""
    return _fx(request, session).decide(actor, rate_id, approve=True, reason=body.reason)


@router.post("/v1/exchange/fx/rates/{rate_id}/reject")
def reject_rate(
    rate_id: str, body: DecisionIn, request: Request, actor: CurrentActor, session: SessionDep
) -> dict[str, Any]:
    """A second user of the recording bank rejects a pending (out-of-band) rate."""
    return _fx(request, session).decide(actor, rate_id, approve=False, reason=body.reason)


@router.get("/v1/exchange/fx/rates")
def list_rates(
    request: Request,
    actor: CurrentActor,
    session: SessionDep,
    base: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    quote: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Rate snapshots, newest validity first."""
    items = _fx(request, session).rates(base=base, quote=quote, limit=limit, offset=offset)
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/v1/exchange/fx/rates/current")
def current_rate(
    request: Request,
    actor: CurrentActor,
    session: SessionDep,
    base: Annotated[str, Query(pattern="^[A-Z]{3}$")],
    quote: Annotated[str, Query(pattern="^[A-Z]{3}$")] = "CNY",
    at: IsoDateTime | None = None,
) -> dict[str, Any]:
    """The snapshot valid at ``at`` (default now), or ``{"rate": null}``."""
    svc = _fx(request, session)
    row = svc.current(base, quote, at or datetime.now().astimezone())
    return svc.view(row) if row is not None else {"base": base, "quote": quote, "rate": None}


@router.get("/v1/exchange/settlement/report")
def settlement_report(
    request: Request,
    actor: CurrentActor,
    session: SessionDep,
    trade_date: IsoDate,
    market: Annotated[str | None, Query(max_length=24)] = None,
    netted: bool = True,
) -> dict[str, Any]:
    """End-of-day settlement per settlement bank and currency (gross, optionally netted)."""
    return _fx(request, session).settlement_report(
        actor, trade_date.isoformat(), market=market, netted=netted
    )


@router.get("/v1/exchange/settlement/statement")
def settlement_statement(
    request: Request, actor: CurrentActor, session: SessionDep, trade_date: IsoDate
) -> dict[str, Any]:
    """The caller organisation's settlement lines of a day, per currency."""
    return _fx(request, session).statement(actor, trade_date.isoformat())
