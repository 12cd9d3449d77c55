"""HTTP routes of market surveillance (``/v1/exchange/surveillance``), for regulators and
the exchange operator (permission ``exchange.surveil``).

* ``POST /scan`` ``{market, trade_date}``: compute and store the day's alerts (idempotent:
  a re-scan returns the same alerts, ``new`` false).
* ``GET /alerts``: ``{items, total, limit, offset}``, newest first, filters ``market``,
  ``status``, ``kind``.
* ``POST /alerts/{id}/review`` ``{status, note}``: acknowledge or close.

Errors are ``{"error": code, "detail": ...}``: 403 ``permission_denied`` (enterprises) or
``exchange.out_of_jurisdiction``, 404 ``exchange.unknown_market`` /
``exchange.alert_not_found``, 422 ``exchange.invalid_trade_date`` /
``exchange.invalid_review`` / ``exchange.invalid_filter``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from greencircle.api.deps import CurrentActor, SessionDep
from greencircle.audit.keys import LogSigner
from greencircle.exchange.surveillance import SurveillanceService
from greencircle.kit.paging import DEFAULT_LIMIT, Limit, Offset
from greencircle.registry.endpoints import service_for

__all__ = ["SurveillanceDep", "router", "surveillance_service"]

router = APIRouter(prefix="/v1/exchange/surveillance", tags=["exchange"])

AlertKind = Literal[
    "large_holding",
    "band_breach_attempts",
    "volume_concentration",
    "round_trip",
    "high_cancel_ratio",
    "close_near_band_limit",
    "end_of_day_ramp",
]


def surveillance_service(request: Request, session: SessionDep) -> SurveillanceService:
    """The surveillance service of the request's unit of work."""
    signer: LogSigner = request.app.state.log_signer
    return SurveillanceService(session, signer, registry=service_for(session, signer))


SurveillanceDep = Annotated[SurveillanceService, Depends(surveillance_service)]


class ScanIn(BaseModel):
    """A market and a local trading date to scan."""

    model_config = ConfigDict(extra="forbid")

    market: str = Field(min_length=1, max_length=24, examples=["CN-CQ"])
    trade_date: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-03-02"], description="local date"
    )


class ReviewIn(BaseModel):
    """Review outcome of an alert; a note is required to close it."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["acknowledged", "closed"]
    note: str = Field(default="", max_length=1000)


@router.post("/scan")
def scan(body: ScanIn, actor: CurrentActor, svc: SurveillanceDep) -> dict[str, Any]:
    """Scan one market and trading date; returns every alert found (``new`` marks those
    stored by this call)."""
    items = svc.scan(actor, body.market, body.trade_date)
    return {
        "market": body.market,
        "trade_date": body.trade_date,
        "items": items,
        "new": sum(1 for i in items if i["new"]),
    }


@router.get("/alerts")
def list_alerts(
    actor: CurrentActor,
    svc: SurveillanceDep,
    market: Annotated[str | None, Query(max_length=24)] = None,
    status: Annotated[Literal["open", "acknowledged", "closed"] | None, Query()] = None,
    kind: Annotated[AlertKind | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Alerts of the markets the caller surveils, newest first."""
    items, total = svc.alerts(
        actor, market=market, status=status, kind=kind, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: str, actor: CurrentActor, svc: SurveillanceDep) -> dict[str, Any]:
    """One alert."""
    return svc.alert(actor, alert_id)


@router.post("/alerts/{alert_id}/review")
def review_alert(
    alert_id: str, body: ReviewIn, actor: CurrentActor, svc: SurveillanceDep
) -> dict[str, Any]:
    """Acknowledge or close an alert."""
    return svc.review(actor, alert_id, status=body.status, note=body.note)
