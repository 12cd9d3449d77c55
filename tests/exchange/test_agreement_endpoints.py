"""HTTP routes of listed and block agreement trading: flows, status codes, access."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests_support import Api

from .ex_support import BUYER, SELLER, funded_api

LISTED = "/v1/exchange/listed"
BLOCK = "/v1/exchange/block"
BOARD = f"{LISTED}/markets/CN-CQ/instruments/CQEA:2025/board"
SELLER_U, BUYER_U, THIRD_U = "cq-cem-01", "cq-ste-01", "cq-ste-02"


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from funded_api(
        databases,
        tmp_path,
        units={SELLER: 300_000, BUYER: 1_000},
        cash_minor={BUYER: 2_000_000_000, SELLER: 10_000_000},
    )


def listing(side: str, price: str, quantity: int, **kw: Any) -> dict[str, Any]:
    body = {"market": "CN-CQ", "instrument": "CQEA:2025", "side": side}
    return body | {"price": price, "quantity": quantity} | kw


def proposal(**kw: Any) -> dict[str, Any]:
    body = {
        "market": "CN-CQ",
        "instrument": "CQEA:2025",
        "side": "sell",
        "counterparty": BUYER,
        "price": "45.00",
        "quantity": 100_000,
    }
    return body | kw


def test_listed_flow_over_http(xapi: Api) -> None:
    r = xapi.post(f"{LISTED}/listings", SELLER_U, json=listing("sell", "50.00", 100))
    assert r.status_code == 201, r.text
    lid = r.json()["order"]["id"]
    assert r.json()["code"] == "listed"
    board = xapi.get(BOARD).json()  # public, anonymous
    assert board["asks"][0]["listings"] == [{"id": lid, "price": "50.00", "quantity": 100}]
    assert "org_id" not in str(board)
    r = xapi.post(f"{LISTED}/listings/{lid}/take", BUYER_U, json={"quantity": 40})
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "filled"
    assert r.json()["trades"][0]["price"] == "50.00"
    r = xapi.patch(f"{LISTED}/listings/{lid}", SELLER_U, json={"price": "50.50"})
    assert (r.status_code, r.json()["order"]["price"]) == (200, "50.50")
    mine = xapi.get(f"{LISTED}/listings", SELLER_U).json()
    assert (mine["total"], mine["items"][0]["open_quantity"]) == (1, 60)
    assert xapi.get(f"{LISTED}/listings/{lid}", SELLER_U).status_code == 200
    trades = xapi.get(f"{LISTED}/markets/CN-CQ/instruments/CQEA:2025/trades").json()["items"]
    assert [(t["mode"], t["quantity"]) for t in trades] == [("listed", 40)]
    r = xapi.delete(f"{LISTED}/listings/{lid}", SELLER_U)
    assert (r.status_code, r.json()["code"]) == (200, "cancelled")
    r = xapi.delete(f"{LISTED}/listings/{lid}", SELLER_U)
    assert (r.status_code, r.json()["error"]) == (409, "exchange.listing_not_open")
    r = xapi.post(f"{LISTED}/listings/{lid}/take", BUYER_U, json={"quantity": 1})
    assert (r.status_code, r.json()["error"]) == (409, "exchange.listing_not_open")


def test_listed_rejections_access_and_idempotency(xapi: Api) -> None:
    r = xapi.post(f"{LISTED}/listings", BUYER_U, json=listing("buy", "50.001", 1))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.off_tick_price")
    r = xapi.post(f"{LISTED}/listings", BUYER_U, json=listing("buy", "99999.00", 90_000))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.insufficient_funds")
    r = xapi.post(f"{LISTED}/listings", "cq-eeb", json=listing("buy", "50.00", 1))
    assert (r.status_code, r.json()["error"]) == (403, "permission_denied")
    assert xapi.post(f"{LISTED}/listings", json=listing("buy", "50.00", 1)).status_code == 401
    h = {"Idempotency-Key": "lk-1"}
    a = xapi.post(f"{LISTED}/listings", SELLER_U, json=listing("sell", "50.00", 5), headers=h)
    b = xapi.post(f"{LISTED}/listings", SELLER_U, json=listing("sell", "50.00", 5), headers=h)
    assert a.status_code == b.status_code == 201
    lid = a.json()["order"]["id"]
    assert b.json()["order"]["id"] == lid
    assert a.json()["order"]["client_order_id"] == "lk-1"
    assert xapi.get(f"{LISTED}/listings", SELLER_U).json()["total"] == 1
    # another enterprise cannot see, amend or cancel it (404: not disclosed)
    assert xapi.get(f"{LISTED}/listings/{lid}", THIRD_U).status_code == 404
    r = xapi.delete(f"{LISTED}/listings/{lid}", THIRD_U)
    assert (r.status_code, r.json()["error"]) == (404, "exchange.listing_not_found")
    assert xapi.patch(f"{LISTED}/listings/{lid}", THIRD_U, json={"price": "1"}).status_code == 404
    assert xapi.get(f"{LISTED}/listings", THIRD_U).json()["total"] == 0
    r = xapi.post(f"{LISTED}/listings/{lid}/take", SELLER_U, json={"quantity": 1})
    assert (r.status_code, r.json()["error"]) == (422, "exchange.self_trade")
    r = xapi.post(f"{LISTED}/listings/{lid}/take", BUYER_U, json={"quantity": 6})
    assert (r.status_code, r.json()["error"]) == (422, "exchange.quantity_exceeds_listing")
    r = xapi.post(f"{LISTED}/listings/NOSUCH/take", BUYER_U, json={"quantity": 1})
    assert (r.status_code, r.json()["error"]) == (404, "exchange.listing_not_found")
    assert xapi.get(f"{LISTED}/markets/CN-CQ/instruments/NOPE:1/board").status_code == 404
    # the operator may withdraw any listing
    r = xapi.delete(f"{LISTED}/listings/{lid}", "ncm-operator")
    assert (r.status_code, r.json()["order"]["reason"]) == (200, "cancelled_by_operator")


def test_block_flow_over_http(xapi: Api) -> None:
    h = {"Idempotency-Key": "bk-1"}
    r = xapi.post(f"{BLOCK}/proposals", SELLER_U, json=proposal(note="Q3"), headers=h)
    assert r.status_code == 201, r.text
    pid = r.json()["order"]["id"]
    again = xapi.post(f"{BLOCK}/proposals", SELLER_U, json=proposal(note="Q3"), headers=h)
    assert again.json()["order"]["id"] == pid
    assert xapi.get(f"{BLOCK}/proposals?role=outgoing", SELLER_U).json()["total"] == 1
    incoming = xapi.get(f"{BLOCK}/proposals?role=incoming", BUYER_U).json()
    assert (incoming["total"], incoming["items"][0]["initiator"]) == (1, SELLER)
    # a third enterprise neither sees nor answers it
    assert xapi.get(f"{BLOCK}/proposals", THIRD_U).json()["total"] == 0
    r = xapi.get(f"{BLOCK}/proposals/{pid}", THIRD_U)
    assert (r.status_code, r.json()["error"]) == (404, "exchange.proposal_not_found")
    r = xapi.post(f"{BLOCK}/proposals/{pid}/confirm", THIRD_U)
    assert (r.status_code, r.json()["error"]) == (404, "exchange.proposal_not_found")
    r = xapi.post(f"{BLOCK}/proposals/{pid}/confirm", SELLER_U)
    assert (r.status_code, r.json()["error"]) == (403, "exchange.not_counterparty")
    r = xapi.post(f"{BLOCK}/proposals/{pid}/withdraw", BUYER_U)
    assert (r.status_code, r.json()["error"]) == (403, "exchange.not_initiator")
    r = xapi.post(f"{BLOCK}/proposals/{pid}/confirm", BUYER_U, json={})
    assert r.status_code == 200, r.text
    assert (r.json()["code"], r.json()["trades"][0]["quantity"]) == ("confirmed", 100_000)
    r = xapi.post(f"{BLOCK}/proposals/{pid}/reject", BUYER_U)
    assert (r.status_code, r.json()["error"]) == (409, "exchange.proposal_not_open")
    assert xapi.get(f"{BLOCK}/proposals/{pid}", SELLER_U).json()["status"] == "confirmed"


def test_block_rejections_and_operator_expiry_over_http(xapi: Api) -> None:
    r = xapi.post(f"{BLOCK}/proposals", SELLER_U, json=proposal(quantity=99_999))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.below_block_minimum")
    r = xapi.post(f"{BLOCK}/proposals", SELLER_U, json=proposal(counterparty="NOPE"))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.unknown_counterparty")
    r = xapi.post(f"{BLOCK}/proposals", SELLER_U, json=proposal(expires_at="2025-01-01T00:00"))
    assert r.status_code == 422  # a naive time is refused by validation
    r = xapi.post(f"{BLOCK}/proposals", "cq-eeb", json=proposal())
    assert (r.status_code, r.json()["error"]) == (403, "permission_denied")
    r = xapi.post(f"{BLOCK}/proposals", SELLER_U, json=proposal())
    pid = r.json()["order"]["id"]
    r = xapi.post(f"{BLOCK}/proposals/{pid}/reject", BUYER_U, json={"reason": "price"})
    assert (r.status_code, r.json()["order"]["status"]) == (200, "rejected")
    assert xapi.post(f"{BLOCK}/expire", SELLER_U).status_code == 403
    r = xapi.post(f"{BLOCK}/expire?market=CN-CQ", "ncm-operator")
    assert (r.status_code, r.json()["expired"]) == (200, 0)
