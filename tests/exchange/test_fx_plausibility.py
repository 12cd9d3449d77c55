"""FX rate plausibility: absurd rates are refused (422), rates outside the band around the
pair's previous rate wait for a second user of the bank (four eyes) and a reason.

Issue #10 item 12: a bank's ``1e400`` was accepted right after ``0.0139`` and a KZT buyer
then paid 0.01 KZT for one ITMO.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from greencircle.demo.crossborder import SECOND_BANKER, load_crossborder_demo
from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from greencircle.exchange.fx import load_fx_config, outside_band
from greencircle.exchange.models import ExFxRate
from greencircle.kit.timeutil import to_local, utcnow
from tests_support import Api, console_login

from .ex_support import csrf_of, demo_api

INST = "SCO-ITMO:2025:ITMO-CQ-FOR-0001"


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from demo_api(
        databases,
        tmp_path,
        load_mrv_demo,
        load_registry_demo,
        load_exchange_demo,
        load_crossborder_demo,
    )


def _rate(value: str, **extra: str) -> dict[str, str]:
    now = utcnow()
    return {
        "base": "KZT",
        "quote": "CNY",
        "rate": value,
        "source": "test fixing",
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=1)).isoformat(),
        **extra,
    }


def _count(api: Api) -> int:
    session = api.client.app.state.session_factory()
    try:
        return int(session.scalar(select(func.count()).select_from(ExFxRate)) or 0)
    finally:
        session.close()


def test_band_is_a_relative_move_from_the_previous_rate() -> None:
    band = load_fx_config().band_pct
    prev = Decimal("0.0139")
    for new in ("0.0139", "0.0145", "0.0146", "0.0132", "0.0131", "1e400", "0.00000139"):
        moved = abs(Fraction(Decimal(new)) - Fraction(prev)) / Fraction(prev) * 100
        assert outside_band(Decimal(new), prev, band) is (moved > Fraction(band)), new


def test_absurd_rates_are_refused_and_nothing_is_stored(xapi: Api) -> None:
    before = _count(xapi)
    for bad in ("1e400", "NaN", "Infinity", "-0.0139", "0", "1e-12", "abc", "0x10"):
        r = xapi.post("/v1/exchange/fx/rates", "settle-01", json=_rate(bad))
        assert (r.status_code, r.json()["error"]) == (422, "exchange.fx_bad_rate"), bad
    assert _count(xapi) == before


def test_out_of_band_rate_waits_for_a_second_bank_user_with_a_reason(xapi: Api) -> None:
    current = xapi.get("/v1/exchange/fx/rates/current?base=KZT", "kz-ent-01").json()
    assert current["rate"] == "0.0139"  # the demo keeps a current rate
    # within 5 % of 0.0139: in use at once
    ok = xapi.post("/v1/exchange/fx/rates", "settle-01", json=_rate("0.0142"))
    assert ok.status_code == 201 and ok.json()["state"] == "active"
    # 0.0142 -> 0.0200 is +40.8 %: pending, not used
    jump = xapi.post(
        "/v1/exchange/fx/rates", "settle-01", json=_rate("0.0200", reason="devaluation")
    )
    assert jump.status_code == 201
    body = jump.json()
    assert (body["state"], body["reason"]) == ("pending", "devaluation")
    rid = body["id"]
    current = xapi.get("/v1/exchange/fx/rates/current?base=KZT", "kz-ent-01").json()
    assert current["rate"] == "0.0142"
    # the recorder cannot approve, nor another organisation; a reason is required
    same = xapi.post(f"/v1/exchange/fx/rates/{rid}/approve", "settle-01", json={"reason": "ok"})
    assert (same.status_code, same.json()["error"]) == (403, "exchange.fx_same_user")
    other = xapi.post(f"/v1/exchange/fx/rates/{rid}/approve", "kz-ent-01", json={"reason": "x"})
    assert other.status_code == 403
    empty = xapi.post(f"/v1/exchange/fx/rates/{rid}/approve", SECOND_BANKER, json={"reason": " "})
    assert (empty.status_code, empty.json()["error"]) == (422, "exchange.fx_reason_required")
    done = xapi.post(
        f"/v1/exchange/fx/rates/{rid}/approve",
        SECOND_BANKER,
        json={"reason": "NBK devaluation notice checked"},
    )
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["decision_reason"]) == (
        "active",
        "NBK devaluation notice checked",
    )
    again = xapi.post(f"/v1/exchange/fx/rates/{rid}/reject", SECOND_BANKER, json={"reason": "x"})
    assert (again.status_code, again.json()["error"]) == (409, "exchange.fx_not_pending")
    current = xapi.get("/v1/exchange/fx/rates/current?base=KZT", "kz-ent-01").json()
    assert current["rate"] == "0.0200"


def test_a_rejected_jump_never_prices_a_kzt_purchase(xapi: Api) -> None:
    jump = xapi.post("/v1/exchange/fx/rates", "settle-01", json=_rate("0.0000139"))
    assert jump.json()["state"] == "pending"
    no = xapi.post(
        f"/v1/exchange/fx/rates/{jump.json()['id']}/reject",
        SECOND_BANKER,
        json={"reason": "typo: three zeros too many"},
    )
    assert no.json()["state"] == "rejected"
    r = xapi.post(
        "/v1/exchange/orders",
        "kz-ent-01",
        json={
            "market": "SCO",
            "instrument": INST,
            "side": "buy",
            "price": "61.00",
            "quantity": 10,
            "funding_currency": "KZT",
        },
    )
    assert r.status_code == 201, r.text
    (trade,) = r.json()["trades"]
    cny_fen = int(trade["notional_minor"]) + int(trade["buyer_fee_minor"])
    # 10 ITMO at CNY 61.00 + 5 bp fee (rounded down) = CNY 610.30 at 0.0139 CNY/KZT
    assert cny_fen == 61_000 + 61_000 * 5 // 10_000
    assert trade["buyer_paid_minor"] == math.ceil(Fraction(cny_fen) / Fraction("0.0139"))
    assert trade["buyer_paid_minor"] > 4_000_000  # about KZT 43,900, not 0.01 KZT


def test_console_pending_rate_and_second_user_approval(xapi: Api) -> None:
    page_url = "/console/exchange/settlement"
    console_login(xapi, "settle-01", "en")
    page = xapi.client.get(page_url)
    assert 'data-testid="current-rates"' in page.text
    assert re.search(r'data-pair="KZT/CNY" data-valid="true"', page.text)
    assert "valid until" in page.text
    assert "Western Settlement Bank · CNY" in page.text  # the bank's name, page language
    form = {
        "csrf": csrf_of(page.text),
        "base": "KZT",
        "rate": "1e400",
        "source": "console",
        "valid_from": to_local(utcnow() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "valid_until": to_local(utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    r = xapi.client.post(f"{page_url}/rates", data=form)
    assert r.status_code == 422 and "exchange.fx_bad_rate" in r.text
    r = xapi.client.post(f"{page_url}/rates", data=form | {"rate": "0.03", "reason": "test"})
    assert r.status_code == 200 and "done=pending" in str(r.url)
    assert 'data-testid="pending-rates"' in r.text and "waiting for a second user" in r.text
    rid = re.search(r'data-testid="pending-rates">.*?data-rate-id="(\w+)"', r.text, re.S)
    assert rid is not None
    console_login(xapi, SECOND_BANKER, "zh-CN")
    page = xapi.client.get(page_url)
    assert f'data-testid="approve-{rid.group(1)}"' in page.text
    assert "西部结算银行 · CNY" in page.text
    r = xapi.client.post(
        f"{page_url}/rates/{rid.group(1)}/approve",
        data={"csrf": csrf_of(page.text), "reason": "核对无误"},
    )
    assert r.status_code == 200 and "done=approved" in str(r.url)
    got = xapi.get("/v1/exchange/fx/rates/current?base=KZT", "kz-ent-01").json()
    assert got["rate"] == "0.03"  # China-time form inputs are compared as UTC instants
