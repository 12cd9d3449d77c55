"""Settlement console page: the Kazakh buyer's statement, the bank's report, rate form."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from greencircle.demo.crossborder import load_crossborder_demo
from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from tests_support import Api, console_login, visible_text

from .ex_support import demo_api

PAGE = "/console/exchange/settlement"


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


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_kazakh_buyer_sees_its_kzt_statement_and_the_rate_used(xapi: Api, lang: str) -> None:
    console_login(xapi, "kz-ent-01", lang)
    page = xapi.client.get(PAGE)
    assert page.status_code == 200
    text = visible_text(page.text)
    assert 'value="2026-07-08"' in page.text  # defaults to the buyer's last trading day
    assert 'data-testid="fx-trades"' in page.text and "KZT" in text
    assert "0.0139" in text  # the demo snapshot
    assert ("<h1>结算</h1>" if lang == "zh-CN" else "<h1>Settlement</h1>") in page.text
    # the page shows the KZT the statement says were paid, in major units
    r = xapi.client.get("/v1/exchange/settlement/statement", params={"trade_date": "2026-07-08"})
    (kzt,) = [ln for ln in r.json()["lines"] if ln["currency"] == "KZT"]
    paid = kzt["debit_minor"]
    assert paid > 0 and kzt["net_minor"] == -paid
    major, cents = divmod(paid, 100)
    # both locales group thousands with a comma (CLDR en and zh)
    assert f"{major:,}.{cents:02d}" in text


def test_bank_sees_the_report_and_records_a_rate(xapi: Api) -> None:
    console_login(xapi, "settle-01", "en")
    page = xapi.client.get(PAGE, params={"trade_date": "2026-07-08"})
    assert page.status_code == 200
    assert 'data-testid="group-KZT"' in page.text and 'data-testid="group-CNY"' in page.text
    csrf = re.search(r'name="csrf" value="(\w+)"', page.text)
    assert csrf is not None
    r = xapi.client.post(
        f"{PAGE}/rates",
        data={
            "csrf": csrf.group(1),
            "base": "UZS",
            "rate": "0.000566",
            "source": "console test",
            "valid_from": "2026-07-09T08:00",
            "valid_until": "2026-07-10T08:00",
        },
    )
    assert r.status_code == 200 and "done=rate" in str(r.url)
    assert "0.000566" in r.text


def test_enterprise_cannot_record_rates_nor_see_the_banks_report(xapi: Api) -> None:
    console_login(xapi, "cq-ste-01", "en")
    page = xapi.client.get(PAGE, params={"trade_date": "2026-07-08"})
    assert page.status_code == 200
    assert 'data-testid="rate-form"' not in page.text and "group-KZT" not in page.text
    csrf = re.search(r'name="csrf" value="(\w+)"', page.text)
    assert csrf is not None
    r = xapi.client.post(
        f"{PAGE}/rates",
        data={
            "csrf": csrf.group(1),
            "base": "KZT",
            "rate": "1",
            "source": "x",
            "valid_from": "2026-07-09T08:00",
            "valid_until": "2026-07-10T08:00",
        },
    )
    assert r.status_code == 403


def test_an_active_rate_past_its_validity_reads_expired() -> None:
    from datetime import timedelta

    from greencircle.exchange.settlement_console import _rate_row
    from greencircle.kit.timeutil import utcnow
    from greencircle.web.i18n import catalog

    now = utcnow()
    base = {"state": "active", "status": "estimate", "valid_from": "2026-07-08T00:00:00+00:00"}
    past = _rate_row(base | {"valid_until": (now - timedelta(minutes=1)).isoformat()}, "zh-CN")
    live = _rate_row(base | {"valid_until": (now + timedelta(days=1)).isoformat()}, "en")
    assert past["state"] == "expired"
    assert past["state_label"] == catalog("zh-CN")["settlement.state.expired"]
    assert past["status"] == catalog("zh-CN")["settlement.fact.estimate"]
    assert (
        live["state"] == "active"
        and live["state_label"] == catalog("en")["settlement.state.active"]
    )
    assert past["valid_from"] == "2026-07-08 08:00"  # Beijing time
