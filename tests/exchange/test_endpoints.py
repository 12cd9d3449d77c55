"""HTTP routes of the exchange: order entry, access control, market data, live feed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests_support import Api

from .ex_support import BUYER, SELLER, funded_api

BOOK = "/v1/exchange/markets/CN-CQ/instruments/CQEA:2025"


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from funded_api(
        databases,
        tmp_path,
        units={SELLER: 10_000, BUYER: 1_000},
        cash_minor={BUYER: 10_000_000, SELLER: 100_000},
    )


def order(side: str, price: str | None, quantity: int, **kw: Any) -> dict[str, Any]:
    body = {"market": "CN-CQ", "instrument": "CQEA:2025", "side": side, "quantity": quantity}
    if price is not None:
        body["price"] = price
    return body | kw


def test_order_entry_trades_and_market_data(xapi: Api) -> None:
    r = xapi.post("/v1/exchange/orders", "cq-cem-01", json=order("sell", "50.00", 100))
    assert r.status_code == 201, r.text
    sell_id = r.json()["order"]["id"]
    r = xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "50.50", 30))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["code"] == "filled"
    assert body["trades"][0]["sell_order_id"] == sell_id
    mine = xapi.get("/v1/exchange/orders", "cq-cem-01").json()
    assert (mine["total"], mine["items"][0]["open_quantity"]) == (1, 70)
    trades = xapi.get("/v1/exchange/trades", "cq-ste-01").json()
    assert (trades["total"], trades["items"][0]["side"]) == (1, "buy")
    depth = xapi.get(f"{BOOK}/depth?levels=all").json()
    assert depth["asks"] == [{"price": "50.00", "quantity": 70, "orders": 1}]
    assert depth["bids"] == []
    assert xapi.get(f"{BOOK}/depth?levels=x").status_code == 422
    tape = xapi.get(f"{BOOK}/trades").json()["items"]
    assert [(t["price"], t["quantity"]) for t in tape] == [("50.00", 30)]
    assert "buy_order_id" not in tape[0]
    bars = xapi.get(f"{BOOK}/ohlc?interval=1d").json()
    assert bars["bars"][0]["close"] == "50.00"
    assert xapi.get("/v1/exchange/markets/CN-CQ/instruments/NOPE:1/depth").status_code == 404


def test_rejections_and_idempotency(xapi: Api) -> None:
    r = xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "50.001", 1))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.off_tick_price")
    r = xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "999.00", 5_000))
    assert (r.status_code, r.json()["error"]) == (422, "exchange.insufficient_funds")
    r = xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "50", 1.5))
    assert r.status_code == 422
    h = {"Idempotency-Key": "k-1"}
    a = xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "49.00", 2), headers=h)
    b = xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "49.00", 2), headers=h)
    assert a.status_code == b.status_code == 201
    assert a.json()["order"]["id"] == b.json()["order"]["id"]
    assert a.json()["order"]["client_order_id"] == "k-1"
    assert xapi.get("/v1/exchange/orders", "cq-ste-01").json()["total"] == 1


def test_access_control_over_http(xapi: Api) -> None:
    oid = xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "49.00", 2)).json()[
        "order"
    ]["id"]
    for user in ("cq-eeb", "citizen-01", "settle-01"):
        r = xapi.post("/v1/exchange/orders", user, json=order("buy", "49.00", 1))
        assert (r.status_code, r.json()["error"]) == (403, "permission_denied"), user
    assert xapi.delete(f"/v1/exchange/orders/{oid}", "cq-cem-01").status_code == 404
    assert (
        xapi.patch(f"/v1/exchange/orders/{oid}", "cq-cem-01", json={"quantity": 1}).status_code
        == 404
    )
    assert xapi.get(f"/v1/exchange/orders/{oid}", "cq-cem-01").status_code == 404
    assert xapi.post("/v1/exchange/orders", json=order("buy", "49.00", 1)).status_code == 401
    r = xapi.patch(f"/v1/exchange/orders/{oid}", "cq-ste-01", json={"quantity": 1})
    assert (r.status_code, r.json()["order"]["open_quantity"]) == (200, 1)
    r = xapi.delete(f"/v1/exchange/orders/{oid}", "cq-ste-01")
    assert (r.status_code, r.json()["order"]["status"]) == (200, "cancelled")
    r = xapi.delete(f"/v1/exchange/orders/{oid}", "cq-ste-01")
    assert (r.status_code, r.json()["error"]) == (409, "exchange.order_not_open")
    xapi.post("/v1/exchange/orders", "cq-ste-01", json=order("buy", "49.00", 2))
    assert xapi.post(f"{BOOK}/expire", "cq-ste-01").status_code == 403
    r = xapi.post(f"{BOOK}/expire", "ncm-operator")
    assert (r.status_code, r.json()["expired"]) == (200, 1)


def test_stream_snapshot_and_bounded_updates(xapi: Api) -> None:
    xapi.post("/v1/exchange/orders", "cq-cem-01", json=order("sell", "50.00", 5))
    r = xapi.get("/v1/exchange/stream?market=CN-CQ&instrument=CQEA:2025&once=true")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.startswith("event: snapshot\ndata: ")
    assert '"asks":[{"price":"50.00","quantity":5,"orders":1}]' in r.text
    r = xapi.get("/v1/exchange/stream?market=CN-CQ&instrument=CQEA:2025&max_seconds=0.3")
    events = [line for line in r.text.splitlines() if line.startswith("event: ")]
    assert events == ["event: snapshot", "event: end"]
    assert xapi.get("/v1/exchange/stream?market=CN-CQ&instrument=X:1&once=true").status_code == 404


def test_stream_pushes_an_update_when_the_book_changes(xapi: Api) -> None:
    import threading
    import time

    def later() -> None:
        time.sleep(0.5)
        xapi.post("/v1/exchange/orders", "cq-cem-01", json=order("sell", "51.00", 3))

    t = threading.Thread(target=later)
    t.start()
    r = xapi.get("/v1/exchange/stream?market=CN-CQ&instrument=CQEA:2025&max_seconds=1.5")
    t.join()
    events = [line for line in r.text.splitlines() if line.startswith("event: ")]
    assert events == ["event: snapshot", "event: update", "event: end"]
    assert '"asks":[{"price":"51.00","quantity":3,"orders":1}]' in r.text
