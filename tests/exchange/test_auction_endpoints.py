"""HTTP routes of auctions: codes, sealed bids, who may create and run auctions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests_support import Api

from .ex_support import funded_api

A = "/v1/exchange/auctions"
BIDDERS = ("CQ-STE-01", "CQ-POW-01", "SC-CEM-01")


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from funded_api(
        databases, tmp_path, units={}, cash_minor=dict.fromkeys(BIDDERS, 10_000_000)
    )


def _window(hours: int = 1) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "opens_at": (now - timedelta(hours=hours)).isoformat(),
        "closes_at": (now + timedelta(hours=hours)).isoformat(),
    }


def one_way(**kw: Any) -> dict[str, Any]:
    body = {
        "market": "CN-CQ",
        "instrument": "CQEA:2025",
        "title": "CQEA 2025 auction",
        "offered_quantity": 100,
        "reserve_price": "40.00",
        "max_per_bidder": 80,
    }
    return body | _window() | kw


def _reserve(xapi: Api, user: str = "cq-eeb", quantity: int = 500) -> Any:
    """Request reserve units as ``user``; if accepted, approve as the second regulator."""
    body = {"market": "CN-CQ", "product": "CQEA", "vintage": 2025, "quantity": quantity}
    r = xapi.post(f"{A}/reserve", user, json=body)
    if r.status_code != 201:
        return r
    assert r.json()["status"] == "pending"
    same = xapi.post(f"{A}/reserve/{r.json()['id']}/approve", user)
    assert (same.status_code, same.json()["error"]) == (403, "four_eyes_required")
    return xapi.post(f"{A}/reserve/{r.json()['id']}/approve", "cq-eeb-2")


def test_create_permissions_by_jurisdiction(xapi: Api) -> None:
    r = _reserve(xapi, "sc-eed")
    assert (r.status_code, r.json()["error"]) == (403, "exchange.not_authority")
    r = _reserve(xapi)
    assert r.status_code == 200, r.text
    assert (r.json()["account"], r.json()["status"]) == ("CN-CQ.CQ-EEB", "issued")
    listed = xapi.get(f"{A}/reserve?status=issued", "cq-eeb").json()
    assert listed["total"] == 1 and listed["items"][0]["quantity"] == 500
    assert xapi.get(f"{A}/reserve", "cq-ste-01").status_code == 403
    r = xapi.post(A, "sc-eed", json=one_way())
    assert (r.status_code, r.json()["error"]) == (403, "exchange.not_authority")
    r = xapi.post(A, "cq-ste-01", json=one_way())
    assert (r.status_code, r.json()["error"]) == (403, "permission_denied")
    r = xapi.post(A, "ncm-operator", json=one_way())
    assert (r.status_code, r.json()["error"]) == (403, "permission_denied")
    r = xapi.post(A, "cq-eeb", json=one_way())
    assert r.status_code == 201, r.text
    assert r.json()["auction"]["status"] == "open"
    r = xapi.post(A, "cq-eeb", json=one_way(reserve_price="40.001"))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.off_tick_price")
    r = xapi.post(A, "cq-eeb", json=one_way(offered_quantity=5_000))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.insufficient_units")
    r = xapi.post(A, "cq-eeb", json=one_way(opens_at="2025-01-01T00:00:00"))
    assert r.status_code == 422  # a time without a zone
    assert xapi.post(A, json=one_way()).status_code == 401
    # Idempotency-Key: a replay returns the first auction
    h = {"Idempotency-Key": "auction-1"}
    small = one_way(offered_quantity=10)
    first = xapi.post(A, "cq-eeb", json=small, headers=h)
    again = xapi.post(A, "cq-eeb", json=small, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json()["auction"]["id"] == again.json()["auction"]["id"]
    listed = xapi.get(f"{A}?status=open&limit=1", "cq-ste-01").json()
    assert (listed["total"], len(listed["items"]), listed["limit"]) == (2, 1, 1)
    assert xapi.get(f"{A}?status=cleared", "cq-ste-01").json()["total"] == 0
    assert xapi.get(f"{A}?status=bogus", "cq-ste-01").status_code == 422


def test_bids_are_sealed_and_clearing_over_http(xapi: Api) -> None:
    assert _reserve(xapi).status_code == 200
    aid = xapi.post(A, "cq-eeb", json=one_way()).json()["auction"]["id"]
    bid = {"price": "45.00", "quantity": 60}
    r = xapi.post(f"{A}/{aid}/bids", "cq-ste-01", json=bid, headers={"Idempotency-Key": "b-1"})
    assert r.status_code == 201, r.text
    mine = r.json()["order"]
    assert (mine["client_order_id"], mine["status"]) == ("b-1", "open")
    replay = xapi.post(f"{A}/{aid}/bids", "cq-ste-01", json=bid, headers={"Idempotency-Key": "b-1"})
    assert replay.json()["order"]["id"] == mine["id"]
    r = xapi.post(f"{A}/{aid}/bids", "sc-cem-01", json={"price": "41.00", "quantity": 60})
    assert r.status_code == 201, r.text
    other = r.json()["order"]["id"]
    codes = [
        ({"price": "39.00", "quantity": 10}, 422, "exchange.below_reserve"),
        ({"price": "45.00", "quantity": 30}, 422, "exchange.above_bidder_cap"),
        ({"price": "45.001", "quantity": 10}, 422, "exchange.off_tick_price"),
        ({"price": "45.00", "quantity": 10, "side": "sell"}, 422, "exchange.invalid_order"),
    ]
    for body, status, code in codes:
        r = xapi.post(f"{A}/{aid}/bids", "cq-ste-01", json=body)
        assert (r.status_code, r.json()["error"]) == (status, code), body
    assert xapi.post(f"{A}/{aid}/bids", "cq-eeb", json=bid).status_code == 403
    assert xapi.post(f"{A}/NOPE/bids", "cq-ste-01", json=bid).status_code == 404
    # sealed: another enterprise sees only its own bids and cannot touch others'
    view = xapi.get(f"{A}/{aid}", "cq-pow-01").json()
    assert (view["my_bids"], view["all_bids"]) == ([], None)
    assert [b["id"] for b in xapi.get(f"{A}/{aid}", "sc-cem-01").json()["my_bids"]] == [other]
    assert xapi.delete(f"{A}/bids/{mine['id']}", "sc-cem-01").status_code == 404
    assert xapi.get(f"{A}/{aid}", "cq-eeb").json()["all_bids"] is None
    r = xapi.get(f"{A}/{aid}/results", "cq-ste-01")
    assert (r.status_code, r.json()["error"]) == (409, "exchange.auction_not_cleared")
    r = xapi.post(f"{A}/{aid}/clear", "cq-eeb", json={})
    assert (r.status_code, r.json()["error"]) == (409, "exchange.auction_not_closed")
    assert xapi.post(f"{A}/{aid}/clear", "sc-eed", json={"close_now": True}).status_code == 403
    assert xapi.post(f"{A}/{aid}/clear", "cq-ste-01", json={}).status_code == 403
    # withdraw, then clear early as the authority
    r = xapi.delete(f"{A}/bids/{other}", "sc-cem-01")
    assert (r.status_code, r.json()["order"]["status"]) == (200, "cancelled")
    r = xapi.delete(f"{A}/bids/{other}", "sc-cem-01")
    assert (r.status_code, r.json()["error"]) == (409, "exchange.order_not_open")
    r = xapi.post(f"{A}/{aid}/clear", "cq-eeb", json={"close_now": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["auction"]["status"] == "cleared"
    assert body["auction"]["result"]["clearing_price"] == "45.00"
    assert [(t["price"], t["quantity"]) for t in body["trades"]] == [("45.00", 60)]
    r = xapi.post(f"{A}/{aid}/clear", "cq-eeb", json={})
    assert (r.status_code, r.json()["error"]) == (409, "exchange.auction_finished")
    r = xapi.post(f"{A}/{aid}/bids", "cq-pow-01", json=bid)
    assert (r.status_code, r.json()["error"]) == (409, "exchange.auction_not_open")
    public = xapi.get(f"{A}/{aid}/results", "cq-pow-01").json()
    assert (public["public"]["sold"], public["public"]["unsold"]) == (60, 40)
    assert public["my_awards"] == [] and public["all_bids"] is None
    own = xapi.get(f"{A}/{aid}/results", "cq-ste-01").json()
    assert [(w["quantity"], w["price"]) for w in own["my_awards"]] == [(60, "45.00")]
    full = xapi.get(f"{A}/{aid}/results", "cq-eeb").json()
    assert {(b["org"], b["awarded"]) for b in full["all_bids"]} == {
        ("CQ-STE-01", 60),
        ("SC-CEM-01", 0),
    }
    assert len(xapi.get(f"{A}/{aid}", "cq-eeb").json()["all_bids"]) == 2
    units = xapi.get("/v1/exchange/trades", "cq-ste-01").json()["items"]
    assert [(t["price"], t["quantity"], t["side"]) for t in units] == [("45.00", 60, "buy")]


def test_call_auction_over_http(xapi: Api) -> None:
    pdr = {
        "market_code": "CN-CQ",
        "product": "CQ-PDR",
        "vintage": 2025,
        "region": "Yangtze-CQ",
        "pollutant": "NOx",
        "to_org_id": xapi.org_id("CQ-POW-01"),
        "quantity": 500,
    }
    assert xapi.post("/v1/registry/issuances", "cq-eeb", json=pdr).status_code == 201
    body = {
        "kind": "call",
        "market": "CN-CQ",
        "instrument": "CQ-PDR:2025:Yangtze-CQ:NOx",
        "title": "NOx call",
        "reference_price": "12.00",
    } | _window()
    r = xapi.post(A, "ncm-operator", json=body)
    assert r.status_code == 201, r.text
    aid = r.json()["auction"]["id"]
    r = xapi.post(A, "sc-eed", json=body)
    assert (r.status_code, r.json()["error"]) == (403, "exchange.not_authority")
    sell = {"side": "sell", "price": "11.00", "quantity": 200}
    assert xapi.post(f"{A}/{aid}/bids", "cq-pow-01", json=sell).status_code == 201
    buy = {"side": "buy", "price": "12.50", "quantity": 150}
    assert xapi.post(f"{A}/{aid}/bids", "cq-ste-01", json=buy).status_code == 201
    r = xapi.post(f"{A}/{aid}/clear", "ncm-operator", json={"close_now": True})
    assert (r.status_code, r.json()["error"]) == (403, "exchange.not_authority")
    r = xapi.post(f"{A}/{aid}/clear", "cq-eeb", json={"close_now": True})
    assert r.status_code == 200, r.text
    # Candidate prices are the order prices. At 11.00 and at 12.50 alike 150 t execute
    # with an imbalance of 50 t; the reference 12.00 breaks the tie: 12.50 is 0.50 away,
    # 11.00 is 1.00 away, so 12.50.
    res = r.json()["auction"]["result"]
    assert (res["clearing_price"], res["volume"], res["imbalance"]) == ("12.50", 150, 50)
