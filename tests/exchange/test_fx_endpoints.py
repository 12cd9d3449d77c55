"""HTTP routes of cross-border settlement: rate snapshots, KZT-funded orders, reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from greencircle.audit.keys import signer_from
from greencircle.kit.timeutil import utcnow
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
from tests_support import Api, make_api, make_settings

from .ex_support import SELLER, fund, issue_itmo

PROJECT = "ITMO-CQ-0009"


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[tuple[Api, str]]:
    url = databases.new("sqlite", "demo")
    signer = signer_from(make_settings(url, tmp_path))
    fund(url, signer, units={SELLER: 100}, cash_minor={SELLER: 100_000})
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            inst = issue_itmo(s, signer, to=SELLER, project=PROJECT, quantity=1_000)
    finally:
        engine.dispose()
    for api in make_api(url, tmp_path):
        yield api, inst


def test_rate_snapshot_kzt_order_report_and_statement(xapi: tuple[Api, str]) -> None:
    api, inst = xapi
    now = utcnow()
    rate = {
        "base": "KZT",
        "quote": "CNY",
        "rate": "0.0139",
        "source": "treasury fixing",
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + timedelta(hours=1)).isoformat(),
    }
    assert api.post("/v1/exchange/fx/rates", "kz-ent-01", json=rate).status_code == 403
    bad = api.post("/v1/exchange/fx/rates", "settle-01", json=rate | {"rate": "0"})
    assert (bad.status_code, bad.json()["error"]) == (422, "exchange.fx_bad_rate")
    naive = api.post(
        "/v1/exchange/fx/rates", "settle-01", json=rate | {"valid_from": "2026-07-01T00:00"}
    )
    assert naive.status_code == 422
    r = api.post("/v1/exchange/fx/rates", "settle-01", json=rate)
    assert r.status_code == 201, r.text
    snap = r.json()
    assert snap["leaf_index"] is not None
    cur = api.get("/v1/exchange/fx/rates/current?base=KZT", "kz-ent-01").json()
    assert (cur["id"], cur["rate"]) == (snap["id"], "0.0139")
    kz, settle = api.org_id("KZ-ENT-01"), api.org_id("SETTLE-01")
    for org, ccy, amount in ((kz, "KZT", 50_000_000), (settle, "CNY", 1_000_000)):
        dep = {"org_id": org, "currency": ccy, "amount_minor": amount, "reference": "funding"}
        assert api.post("/v1/registry/cash/deposits", "settle-01", json=dep).status_code == 201
    sell = {"market": "SCO", "instrument": inst, "side": "sell", "price": "70.00", "quantity": 50}
    assert api.post("/v1/exchange/orders", "cq-cem-01", json=sell).status_code == 201
    buy = sell | {"side": "buy", "funding_currency": "KZT"}
    r = api.post("/v1/exchange/orders", "kz-ent-01", json=buy)
    assert r.status_code == 201, r.text
    (trade,) = r.json()["trades"]
    cny = 7000 * 50 + 7000 * 50 * 5 // 10_000
    assert trade["buyer_paid_minor"] == -(-cny * 10_000 // 139)
    assert (trade["buyer_currency"], trade["fx_rate_id"]) == ("KZT", snap["id"])
    # a Kazakh enterprise is not admitted to the Chongqing allowance market
    cq = {"market": "CN-CQ", "instrument": "CQEA:2025", "side": "buy", "price": "50.00"}
    r = api.post("/v1/exchange/orders", "kz-ent-01", json=cq | {"quantity": 1})
    assert (r.status_code, r.json()["error"]) == (422, "exchange.not_eligible")
    r = api.post("/v1/exchange/orders", "kz-ent-01", json=buy | {"funding_currency": "UZS"})
    assert (r.status_code, r.json()["error"]) == (422, "exchange.fx_rate_unavailable")
    day = now.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    q = f"/v1/exchange/settlement/report?trade_date={day}"
    assert api.get(q, "kz-ent-01").status_code == 403
    rep = api.get(q, "settle-01").json()
    kzt = next(g for g in rep["groups"] if g["currency"] == "KZT")
    assert {p["org_code"]: p["net_minor"] for p in kzt["participants"]} == {
        "KZ-ENT-01": -trade["buyer_paid_minor"],
        "SETTLE-01": trade["buyer_paid_minor"],
    }
    st = api.get(f"/v1/exchange/settlement/statement?trade_date={day}", "kz-ent-01").json()
    assert st["lines"] == [
        {
            "currency": "KZT",
            "debit_minor": trade["buyer_paid_minor"],
            "credit_minor": 0,
            "net_minor": -trade["buyer_paid_minor"],
        }
    ]
