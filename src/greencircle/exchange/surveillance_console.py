"""Console page of market surveillance (``/console/exchange/surveillance``) for regulators
and the exchange operator: the alerts of the markets they surveil (filters, pages), a scan
form and a review form per alert (CSRF-protected).

The forms call the same :class:`SurveillanceService` methods as
``POST /v1/exchange/surveillance/scan`` and ``POST /v1/exchange/surveillance/alerts/{id}/
review``. Alert messages are data (English, with figures); labels are translated.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from greencircle.auth.roles import Perm
from greencircle.exchange.console import labels, local_when
from greencircle.exchange.models_surveillance import ALERT_STATUSES
from greencircle.exchange.surveillance import ALERT_KINDS, REVIEW_STATUSES
from greencircle.exchange.surveillance_endpoints import SurveillanceDep
from greencircle.kit.timeutil import to_local, utcnow
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import translate

__all__ = ["PAGE", "PAGE_SIZE", "router"]

router = APIRouter(include_in_schema=False)

PAGE = "/console/exchange/surveillance"
PAGE_SIZE = 25
SEVERITIES = ("low", "medium", "high")
DONE = ("reviewed", "scanned")


@router.get(PAGE, response_class=HTMLResponse)
def surveillance_page(
    request: Request,
    actor: ConsoleActor,
    svc: SurveillanceDep,
    market: Annotated[str | None, Query(max_length=24)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    done: Annotated[str | None, Query(max_length=16)] = None,
    found: Annotated[int, Query(ge=0)] = 0,
    new: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Alerts of the caller's markets, newest first, with scan and review forms."""
    actor.require(Perm.EXCHANGE_SURVEIL)
    lang = page_lang(request)
    markets = svc.visible_markets(actor)
    market = market if market in markets else None
    status = status if status in ALERT_STATUSES else None
    kind = kind if kind in ALERT_KINDS else None
    items, total = svc.alerts(
        actor,
        market=market,
        status=status,
        kind=kind,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    kinds = dict(labels(lang, "surveillance.kind.", ALERT_KINDS))
    statuses = dict(labels(lang, "surveillance.status.", ALERT_STATUSES))
    severities = dict(labels(lang, "surveillance.severity.", SEVERITIES))
    rows = [
        {
            **a,
            "kind_label": kinds[a["kind"]],
            "status_label": statuses.get(a["status"], a["status"]),
            "severity_label": severities.get(a["severity"], a["severity"]),
            "created": local_when(a["created_at"]),
            "reviewed": local_when(a["reviewed_at"]),
        }
        for a in items
    ]
    done_text = None
    if done == "reviewed":
        done_text = translate(lang, "surveillance.done.reviewed")
    elif done == "scanned":
        done_text = translate(lang, "surveillance.done.scanned", found=found, new=new)
    return render(
        request,
        "exchange/surveillance.html",
        actor=actor,
        rows=rows,
        total=total,
        page=page,
        pages=pages(total, PAGE_SIZE),
        markets=markets,
        market=market or "",
        status=status or "",
        kind=kind or "",
        kinds=list(kinds.items()),
        statuses=list(statuses.items()),
        review_statuses=labels(lang, "surveillance.status.", REVIEW_STATUSES),
        done_text=done_text,
        today=to_local(utcnow()).date().isoformat(),
    )


@router.post(f"{PAGE}/scan")
def scan_form(
    request: Request,
    actor: ConsoleActor,
    svc: SurveillanceDep,
    csrf: Annotated[str, Form(max_length=64)],
    market: Annotated[str, Form(max_length=24)],
    trade_date: Annotated[str, Form(max_length=10)],
) -> RedirectResponse:
    """Scan a market and day (same call as ``POST /v1/exchange/surveillance/scan``)."""
    check_csrf(request, csrf)
    items = svc.scan(actor, market, trade_date.strip())
    params = {
        "done": "scanned",
        "found": len(items),
        "new": sum(1 for i in items if i["new"]),
        "market": market,
    }
    return RedirectResponse(f"{PAGE}?{urlencode(params)}", status_code=303)


@router.post(f"{PAGE}/alerts/{{alert_id}}/review")
def review_form(
    request: Request,
    alert_id: str,
    actor: ConsoleActor,
    svc: SurveillanceDep,
    csrf: Annotated[str, Form(max_length=64)],
    status: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    """Acknowledge or close an alert (same call as ``POST .../alerts/{id}/review``)."""
    check_csrf(request, csrf)
    svc.review(actor, alert_id, status=status, note=note)
    return RedirectResponse(f"{PAGE}?done=reviewed", status_code=303)
