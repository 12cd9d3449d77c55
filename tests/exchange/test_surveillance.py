"""Market surveillance: large-holding limit, each alert kind just above and just below its
threshold, idempotent re-scans, log leaves, regulator scoping and the HTTP routes.

Thresholds are read from ``surveillance.toml`` (they are estimates and may change); the
scenarios are built from them and the expected figures are computed here by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from greencircle.audit.keys import signer_from
from greencircle.audit.models import LogLeaf
from greencircle.errors import Forbidden, Invalid, NotFound
from greencircle.exchange.models_surveillance import ExAlert, ExRejection
from greencircle.exchange.surveillance import (
    SurveillanceService,
    check_position,
    issued_units,
    load_thresholds,
    position_limit,
    record_rejection,
)
from greencircle.registry.models import RegInstrument
from greencircle.storage.engine import unit_of_work
from tests_support import Api, make_api, make_settings

from .ex_support import INSTRUMENT, SIGNER, Market, fund

TH = load_thresholds()["CN-CQ"]
A, B, C, D, E = "CQ-CEM-01", "CQ-STE-01", "CQ-POW-01", "CQ-POW-02", "CQ-CHE-01"
USER = {code: code.lower() for code in (A, B, C, D, E)}
CASH = 200_000_000  # fen each


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """UTC instant on 2026-03-<day> (local = UTC+8)."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def world(url: str, units: dict[str, int]) -> Market:
    fund(url, SIGNER, units=units, cash_minor=dict.fromkeys((A, B, C, D, E), CASH))
    return Market(url)


#: A large holder that never trades: it keeps every trader's holding far below the
#: large-holding limit, so buys pass the exchange's pre-trade position check.
BIG = "CQ-ALU-01"
UNITS = {A: 2500, B: 2500, C: 2500, D: 2500, BIG: 20_000}


@pytest.fixture
def mkt(databases) -> Iterator[Market]:
    m = world(databases.new("sqlite", "demo"), UNITS)
    yield m
    m.close()


def trade(m: Market, seller: str, buyer: str, price: str, qty: int, when: datetime) -> None:
    m.now = when
    s = m.place(USER[seller], side="sell", price=price, quantity=qty)
    assert s.code == "resting", s
    b = m.place(USER[buyer], side="buy", price=price, quantity=qty)
    assert b.code == "filled", b


def scan(m: Market, day: str, user: str = "cq-eeb", market: str = "CN-CQ") -> list[dict[str, Any]]:
    with unit_of_work(m.factory) as s:
        return SurveillanceService(s, SIGNER).scan(m.actor(user), market, day)


def of_kind(alerts: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["kind"] == kind]


def instrument_row(m: Market) -> tuple[str, int]:
    with unit_of_work(m.factory) as s:
        inst = s.scalar(select(RegInstrument).where(RegInstrument.code == INSTRUMENT))
        assert inst is not None
        return inst.id, int(inst.scale)


# ------------------------------------------------------------------------------------------
# large holdings (SQLite and PostgreSQL)
# ------------------------------------------------------------------------------------------
def test_large_holding_limit_check_and_alert(databases, backend) -> None:
    share = TH.position_limits["allowance"].share_pct
    assert share is not None
    issued_t = 10_000
    limit_t = int(issued_t * share / 100)  # share % of 10,000 t
    # B holds one tonne more than the limit (allocated: no trade needed); C could buy up to
    # the limit exactly
    units = {B: limit_t + 1, C: 2000, D: issued_t - limit_t - 1 - 2000}
    m = world(databases.new(backend, "demo"), units)
    try:
        inst_id, scale = instrument_row(m)
        unit = 10**scale
        c_id = m.org(C)
        with unit_of_work(m.factory) as s:
            inst = s.get(RegInstrument, inst_id)
            assert inst is not None
            assert issued_units(s, inst) == issued_t * unit
            assert position_limit(s, "CN-CQ", inst_id) == limit_t * unit
            kw: dict[str, Any] = {"org_id": c_id, "market": "CN-CQ", "instrument_id": inst_id}
            room = (limit_t - 2000) * unit
            assert check_position(s, **kw, extra_units=room) is None  # at the limit: fine
            msg = check_position(s, **kw, extra_units=room + unit)
            assert msg is not None and f"{limit_t + 1:,} t" in msg and f"{limit_t:,} t" in msg
            with pytest.raises(NotFound):
                position_limit(s, "CN-SC", inst_id)
        found = of_kind(scan(m, "2026-03-02"), "large_holding")
        assert [(a["org_code"], a["instrument"]) for a in found] == [(B, INSTRUMENT)]
        assert found[0]["metrics"]["holding_units"] == (limit_t + 1) * unit
        assert found[0]["metrics"]["limit_units"] == limit_t * unit
        assert found[0]["metrics"]["issued_units"] == issued_t * unit
        assert found[0]["severity"] == TH.severity["large_holding"]
        assert found[0]["status"] == "open" and found[0]["new"] is True
    finally:
        m.close()


# ------------------------------------------------------------------------------------------
# volume concentration and round trips
# ------------------------------------------------------------------------------------------
def test_volume_concentration_just_below_and_at_the_threshold(mkt: Market) -> None:
    vol = 1000
    assert vol >= TH.volume_min_t
    big = int(vol * TH.volume_share_pct / 100)  # 600 t: share = 60 % exactly
    trade(mkt, A, B, "50.00", big - 10, at(2, 2))  # 590 t: 59 %
    trade(mkt, C, D, "50.00", vol - big + 10, at(2, 2, 5))
    assert of_kind(scan(mkt, "2026-03-02"), "volume_concentration") == []
    trade(mkt, A, B, "50.00", big, at(3, 2))
    trade(mkt, C, D, "50.00", vol - big, at(3, 2, 5))
    found = of_kind(scan(mkt, "2026-03-03"), "volume_concentration")
    assert sorted(a["org_code"] for a in found) == [A, B]
    share = f"{100 * big / vol:.2f}"
    assert {a["metrics"]["share_pct"] for a in found} == {share}
    assert {a["metrics"]["volume_t"] for a in found} == {vol}
    assert of_kind(scan(mkt, "2026-03-03"), "round_trip") == []


def test_round_trip_just_below_and_at_the_threshold(mkt: Market) -> None:
    n = TH.round_trip_t
    assert n <= 2500  # B can only sell what it holds
    trade(mkt, A, B, "50.00", n - 1, at(2, 2))
    trade(mkt, B, C, "50.00", n - 1, at(2, 2, 5))
    assert of_kind(scan(mkt, "2026-03-02"), "round_trip") == []
    trade(mkt, A, B, "50.00", n, at(3, 2))
    trade(mkt, B, C, "50.00", n, at(3, 2, 5))
    found = of_kind(scan(mkt, "2026-03-03"), "round_trip")
    assert [(a["org_code"], a["metrics"]["round_trip_t"]) for a in found] == [(B, n)]
    # each side is exactly half of the day's volume: no concentration at 60 %
    assert of_kind(scan(mkt, "2026-03-03"), "volume_concentration") == []


# ------------------------------------------------------------------------------------------
# cancellations and band-breach attempts
# ------------------------------------------------------------------------------------------
def _orders_then_cancel(m: Market, code: str, n: int, cancel: int, when: datetime) -> None:
    m.now = when
    ids = []
    for _ in range(n):
        ack = m.place(USER[code], side="buy", price="40.00", quantity=1)
        assert ack.code == "resting", ack
        ids.append(ack.order["id"])
    for oid in ids[:cancel]:
        assert m.run(lambda svc, oid=oid: svc.cancel(m.actor(USER[code]), oid)).ok


def test_cancel_ratio_alert(mkt: Market) -> None:
    n = TH.cancel_min_orders
    need = -(-n * TH.cancel_ratio_pct // 100)  # ceil(80 % of 10) = 8
    _orders_then_cancel(mkt, E, n, int(need), at(2, 2))  # 8 of 10: 80 %
    _orders_then_cancel(mkt, D, n, int(need) - 1, at(2, 2, 10))  # 7 of 10: 70 %
    _orders_then_cancel(mkt, C, n - 1, n - 1, at(2, 2, 20))  # 9 of 9, too few orders
    _orders_then_cancel(mkt, B, n, n, at(3, 2))  # another day
    found = of_kind(scan(mkt, "2026-03-02"), "high_cancel_ratio")
    assert [(a["org_code"], a["metrics"]["orders"], a["metrics"]["ratio_pct"]) for a in found] == [
        (E, n, f"{100 * int(need) / n:.2f}")
    ]
    assert found[0]["instrument"] is None


def test_band_breach_attempts_count_the_local_day(mkt: Market) -> None:
    n = TH.band_breach_attempts
    b, c = mkt.org(B), mkt.org(C)
    with unit_of_work(mkt.factory) as s:

        def reject(org: str, when: datetime, code: str = "outside_price_band") -> None:
            record_rejection(
                s,
                market="CN-CQ",
                instrument=INSTRUMENT,
                org_id=org,
                user_id="u",
                code=code,
                detail="price 99.00 is outside the band",
                side="buy",
                price_ticks=9900,
                quantity=1,
                at=when,
            )

        for _ in range(n - 1):
            reject(b, at(2, 2))
            reject(c, at(2, 2))
        reject(b, at(1, 16))  # 2026-03-02 00:00 local: the same trading date
        reject(c, at(2, 16))  # 2026-03-03 00:00 local: the next one
        reject(c, at(2, 3), code="position_limit_exceeded")  # not a band breach
    with unit_of_work(mkt.factory) as s:
        assert s.scalar(select(func.count()).select_from(ExRejection)) == 2 * n + 1
    found = of_kind(scan(mkt, "2026-03-02"), "band_breach_attempts")
    assert [(a["org_code"], a["metrics"]["attempts"]) for a in found] == [(B, n)]
    assert found[0]["instrument"] == INSTRUMENT


# ------------------------------------------------------------------------------------------
# close near the band limit and the end-of-day ramp
# ------------------------------------------------------------------------------------------
def test_close_near_band_limit_and_end_of_day_ramp(mkt: Market) -> None:
    assert TH.close_band_fraction_pct == 80 and TH.ramp_move_pct == 3  # figures below
    assert TH.ramp_window_minutes == 30
    trade(mkt, A, B, "50.00", 100, at(2, 2))  # close 50.00; band 45.00-55.00
    # day 2: close 54.00 = 80 % of the way from 50.00 to 55.00
    trade(mkt, A, B, "54.00", 100, at(3, 2))
    got = of_kind(scan(mkt, "2026-03-03"), "close_near_band_limit")
    assert [(a["metrics"]["close"], a["metrics"]["band_fraction_pct"]) for a in got] == [
        ("54.00", "80.00")
    ]
    # day 3: band high floor(5400 x 1.1) = 5940, room 540 ticks; 58.31 moved 431 = 79.81 %
    trade(mkt, A, B, "58.31", 100, at(4, 2))
    assert of_kind(scan(mkt, "2026-03-04"), "close_near_band_limit") == []
    # day 4: 58.31 in the morning, 60.06 at 14:40 local: +175 ticks = 3.0012 % of 5831
    trade(mkt, A, B, "58.31", 100, at(5, 2))
    trade(mkt, A, B, "60.06", 1, at(5, 6, 40))
    ramp = of_kind(scan(mkt, "2026-03-05"), "end_of_day_ramp")
    assert [(a["metrics"]["reference_price"], a["metrics"]["move_pct"]) for a in ramp] == [
        ("58.31", "3.00")
    ]
    assert ramp[0]["metrics"]["window_local"] == "14:30–15:00"
    assert of_kind(scan(mkt, "2026-03-05"), "close_near_band_limit") == []
    # day 5: previous close = round((5831 x 100 + 6006) / 101) = 5833; the window move from
    # 58.33 to 60.07 is 174 / 5833 = 2.98 %: no alert.
    trade(mkt, A, B, "58.33", 10, at(6, 2))
    trade(mkt, A, B, "60.07", 1, at(6, 6, 45))
    assert of_kind(scan(mkt, "2026-03-06"), "end_of_day_ramp") == []


# ------------------------------------------------------------------------------------------
# idempotency, log, review, scoping
# ------------------------------------------------------------------------------------------
def _leaves(m: Market, kind: str) -> int:
    with unit_of_work(m.factory) as s:
        return int(
            s.scalar(select(func.count()).select_from(LogLeaf).where(LogLeaf.event_type == kind))
            or 0
        )


def test_rescan_is_idempotent_and_logs_each_alert_once(mkt: Market) -> None:
    trade(mkt, A, B, "50.00", TH.round_trip_t, at(2, 2))
    trade(mkt, B, C, "50.00", TH.round_trip_t, at(2, 2, 5))
    first = scan(mkt, "2026-03-02")
    assert first and all(a["new"] for a in first)
    assert _leaves(mkt, "exchange.alert") == len(first)
    again = scan(mkt, "2026-03-02")
    assert [a["id"] for a in again] == [a["id"] for a in first]
    assert not any(a["new"] for a in again)
    assert _leaves(mkt, "exchange.alert") == len(first)
    b = mkt.org(B)
    with unit_of_work(mkt.factory) as s:
        assert s.scalar(select(func.count()).select_from(ExAlert)) == len(first)
        leaf = s.scalar(select(LogLeaf).where(LogLeaf.event_type == "exchange.alert"))
        assert leaf is not None and leaf.org_id is None
        assert b not in leaf.data  # participants are behind the digest


def test_review_flow_and_scoping_in_the_service(mkt: Market) -> None:
    trade(mkt, A, B, "50.00", TH.round_trip_t, at(2, 2))
    trade(mkt, B, C, "50.00", TH.round_trip_t, at(2, 2, 5))
    alert = of_kind(scan(mkt, "2026-03-02"), "round_trip")[0]
    sc, cq, op = mkt.actor("sc-eed"), mkt.actor("cq-eeb"), mkt.actor("ncm-operator")
    trader = mkt.actor(USER[B])
    with unit_of_work(mkt.factory) as s:
        svc = SurveillanceService(s, SIGNER)
        assert svc.alerts(sc) == ([], 0)
        assert svc.alerts(sc, market="CN-CQ") == ([], 0)
        assert svc.alerts(cq)[1] == svc.alerts(op)[1] > 0
        with pytest.raises(Forbidden) as out:
            svc.scan(sc, "CN-CQ", "2026-03-02")
        assert out.value.code == "exchange.out_of_jurisdiction"
        with pytest.raises(Forbidden):
            svc.scan(cq, "CN-NATIONAL", "2026-03-02")  # authority CN: above CN-CQ
        assert svc.scan(op, "CN-NATIONAL", "2026-03-02") == []
        with pytest.raises(Forbidden):
            svc.alerts(trader)
        with pytest.raises(NotFound) as nf:
            svc.review(sc, alert["id"], status="acknowledged", note="")
        assert nf.value.code == "exchange.alert_not_found"
        got = svc.review(cq, alert["id"], status="acknowledged", note="looking")
        assert (got["status"], got["note"]) == ("acknowledged", "looking")
        for status, note in (("acknowledged", "x"), ("closed", " "), ("open", "x")):
            with pytest.raises(Invalid) as bad:
                svc.review(cq, alert["id"], status=status, note=note)
            assert bad.value.code == "exchange.invalid_review"
        done = svc.review(op, alert["id"], status="closed", note="hedging, explained")
        assert done["status"] == "closed" and done["reviewed_at"]
        with pytest.raises(Invalid):
            svc.review(cq, alert["id"], status="closed", note="again")
        assert svc.alerts(cq, status="closed")[1] == 1
        assert svc.alerts(cq, kind="large_holding", status="closed")[1] == 0
        with pytest.raises(Invalid):
            svc.scan(cq, "CN-CQ", "2026-13-01")
        with pytest.raises(NotFound):
            svc.scan(op, "XX", "2026-03-02")
    assert _leaves(mkt, "exchange.alert.reviewed") == 2


# ------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------
@pytest.fixture
def sapi(databases, tmp_path) -> Iterator[Api]:
    url = databases.new("sqlite", "demo")
    signer = signer_from(make_settings(url, tmp_path))
    fund(url, signer, units=UNITS, cash_minor={B: CASH, C: CASH})
    m = Market(url, signer=signer)
    try:
        trade(m, A, B, "50.00", TH.round_trip_t, at(2, 2))
        trade(m, B, C, "50.00", TH.round_trip_t, at(2, 2, 5))
    finally:
        m.close()
    yield from make_api(url, tmp_path)


SURV = "/v1/exchange/surveillance"


def test_http_scan_list_review_and_access(sapi: Api) -> None:
    body = {"market": "CN-CQ", "trade_date": "2026-03-02"}
    r = sapi.post(f"{SURV}/scan", "cq-eeb", json=body)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["new"] == len(first["items"]) > 0
    again = sapi.post(f"{SURV}/scan", "ncm-operator", json=body).json()
    assert again["new"] == 0 and len(again["items"]) == len(first["items"])
    total = len(first["items"])
    listing = sapi.get(f"{SURV}/alerts", "cq-eeb").json()
    assert listing["total"] == total
    page = sapi.get(f"{SURV}/alerts?limit=1&offset=1", "cq-eeb").json()
    assert (len(page["items"]), page["total"], page["offset"]) == (min(1, total - 1), total, 1)
    assert sapi.get(f"{SURV}/alerts?kind=round_trip", "cq-eeb").json()["total"] == 1
    assert sapi.get(f"{SURV}/alerts?kind=nope", "cq-eeb").status_code == 422
    # a Sichuan regulator sees no Chongqing alert and may not scan Chongqing
    assert sapi.get(f"{SURV}/alerts", "sc-eed").json()["total"] == 0
    assert sapi.get(f"{SURV}/alerts?market=CN-CQ", "sc-eed").json()["total"] == 0
    r = sapi.post(f"{SURV}/scan", "sc-eed", json=body)
    assert (r.status_code, r.json()["error"]) == (403, "exchange.out_of_jurisdiction")
    for user in ("cq-ste-01", "cq-cem-01"):
        r = sapi.get(f"{SURV}/alerts", user)
        assert (r.status_code, r.json()["error"]) == (403, "permission_denied")
        assert sapi.post(f"{SURV}/scan", user, json=body).status_code == 403
    assert sapi.get(f"{SURV}/alerts").status_code == 401
    r = sapi.post(f"{SURV}/scan", "cq-eeb", json={"market": "XX", "trade_date": "2026-03-02"})
    assert (r.status_code, r.json()["error"]) == (404, "exchange.unknown_market")
    r = sapi.post(f"{SURV}/scan", "cq-eeb", json={"market": "CN-CQ", "trade_date": "2026-02-30"})
    assert (r.status_code, r.json()["error"]) == (422, "exchange.invalid_trade_date")
    assert sapi.post(f"{SURV}/scan", "cq-eeb", json=body | {"x": 1}).status_code == 422
    # review
    aid = next(a["id"] for a in first["items"] if a["kind"] == "round_trip")
    url = f"{SURV}/alerts/{aid}/review"
    r = sapi.post(url, "sc-eed", json={"status": "acknowledged"})
    assert (r.status_code, r.json()["error"]) == (404, "exchange.alert_not_found")
    r = sapi.post(url, "cq-eeb", json={"status": "acknowledged", "note": "asked the member"})
    assert (r.status_code, r.json()["status"]) == (200, "acknowledged")
    r = sapi.post(url, "cq-eeb", json={"status": "closed"})
    assert (r.status_code, r.json()["error"]) == (422, "exchange.invalid_review")
    r = sapi.post(url, "cq-eeb", json={"status": "closed", "note": "explained by hedging"})
    assert (r.status_code, r.json()["status"], r.json()["note"]) == (
        200,
        "closed",
        "explained by hedging",
    )
    assert sapi.get(f"{SURV}/alerts/{aid}", "cq-eeb").json()["status"] == "closed"
    r = sapi.post(f"{SURV}/alerts/NOPE/review", "cq-eeb", json={"status": "closed", "note": "x"})
    assert (r.status_code, r.json()["error"]) == (404, "exchange.alert_not_found")
    assert sapi.get(f"{SURV}/alerts?status=closed", "ncm-operator").json()["total"] == 1
