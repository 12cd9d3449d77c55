"""Console page of market surveillance (``/console/exchange/surveillance``) for regulators
and the exchange operator: the alerts of the markets they surveil (filters, pages), a scan
form and a review form per alert (CSRF-protected).

The forms call the same :class:`SurveillanceService` methods as
``POST /v1/exchange/surveillance/scan`` and ``POST /v1/exchange/surveillance/alerts/{id}/
review``. Alert messages are rebuilt in the page language from the alert's kind and its
stored metrics (``surveillance.msg.<kind>``); the API keeps the English text of the scan.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from greencircle.auth.roles import Perm
from greencircle.exchange.console import labels, local_when
from greencircle.exchange.models_surveillance import ALERT_STATUSES
from greencircle.exchange.surveillance import ALERT_KINDS, REVIEW_STATUSES
from greencircle.exchange.surveillance_endpoints import SurveillanceDep
from greencircle.exchange.units import instrument_units
from greencircle.kit import fmt
from greencircle.kit.timeutil import to_local, utcnow
from greencircle.web.console import ConsoleActor, check_csrf, page_lang, pages, render
from greencircle.web.i18n import translate

__all__ = ["PAGE", "PAGE_SIZE", "router"]

router = APIRouter(include_in_schema=False)

PAGE = "/console/exchange/surveillance"
PAGE_SIZE = 25
SEVERITIES = ("low", "medium", "high")
DONE = ("reviewed", "scanned")


def alert_message(lang: str, alert: dict[str, Any]) -> str:
    """The alert's message in ``lang``, from its kind and metrics (numbers by locale).

    Parameters
    ----------
    lang
        Page language.
    alert
        One item of :meth:`SurveillanceService.alerts` (``kind``, ``metrics``, codes).

    Returns
    -------
    str
        The catalog's ``surveillance.msg.<kind>`` filled in; the stored English text when
        the metrics lack a figure the message needs (alerts of an older scan).
    """
    m = alert.get("metrics") or {}
    inst = alert.get("instrument")
    units = instrument_units(inst) if inst else {}

    def n(value: Any, places: int = 2) -> str:
        return fmt.number(Decimal(str(value)), lang, places=places)

    def price(value: Any) -> str:
        if not units:
            return n(value)
        return f"{n(value)} {units['currency']}/{fmt.unit_label(units['unit'])}"

    unit = fmt.unit_label(str(m.get("unit") or units.get("unit", "")))
    values: dict[str, Any] = {
        "participant": alert.get("org_code") or "–",
        "instrument": inst or "–",
        "date": alert.get("trade_date") or "",
        "unit": unit,
        "threshold": m.get("threshold_pct", m.get("threshold_t", m.get("threshold", ""))),
    }
    try:
        kind = alert["kind"]
        if kind == "large_holding":
            scale = int(m["scale"])
            values |= {
                "holding": fmt.minor(int(m["holding_units"]), scale, lang),
                "limit": fmt.minor(int(m["limit_units"]), scale, lang),
            }
        elif kind == "band_breach_attempts":
            values |= {"attempts": n(m["attempts"], 0), "threshold": n(m["threshold"], 0)}
        elif kind in ("volume_concentration", "round_trip"):
            values |= {
                "volume": n(m.get("volume_t", 0), 0),
                "bought": n(m["bought_t"], 0),
                "sold": n(m["sold_t"], 0),
                "round_trip": n(m.get("round_trip_t", 0), 0),
                "share": n(m.get("share_pct", 0)),
                "threshold": n(values["threshold"], 2 if kind == "volume_concentration" else 0),
            }
        elif kind == "high_cancel_ratio":
            values |= {
                "orders": n(m["orders"], 0),
                "cancelled": n(m["cancelled_by_owner"], 0),
                "ratio": n(m["ratio_pct"]),
                "threshold": n(m["threshold_pct"]),
                "min_orders": n(m["min_orders"], 0),
            }
        elif kind == "close_near_band_limit":
            values |= {
                "close": price(m["close"]),
                "previous": price(m["previous_close"]),
                "low": price(m["band_low"]),
                "high": price(m["band_high"]),
                "fraction": n(m["band_fraction_pct"]),
                "threshold": n(m["threshold_pct"]),
            }
        elif kind == "end_of_day_ramp":
            values |= {
                "move": n(m["move_pct"]),
                "reference": price(m["reference_price"]),
                "last": price(m["last_price"]),
                "window": m["window_local"],
                "threshold": n(m["threshold_pct"]),
            }
        return translate(lang, f"surveillance.msg.{kind}", **values)
    except (KeyError, ValueError, ArithmeticError):
        return str(alert.get("message", ""))


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
            "message": alert_message(lang, a),
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
