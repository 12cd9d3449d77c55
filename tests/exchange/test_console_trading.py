"""Order forms as users meet them: trading hours (enforced, relaxed on the demo database),
the funding currency of SCO participants, and the order history across instruments."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from greencircle.config import Settings
from greencircle.demo.crossborder import load_crossborder_demo
from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.exchange_modes import load_exchange_modes_demo
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from greencircle.exchange.calendar import load_calendar
from greencircle.exchange.hours import hours_enforced, hours_mode, relax_for_demo
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.kit.timeutil import utcnow
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
from tests_support import TEST_SECRET, Api, console_login, visible_text

from .ex_support import SIGNER, csrf_of, demo_api, fund, load_actor

SATURDAY = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 11:00 Shanghai, a Saturday
ITMO = "/console/exchange/SCO/SCO-ITMO:2025:ITMO-CQ-FOR-0001"


def _settings(url: str, tmp_path, **explicit: bool) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        var_dir=tmp_path,
        secret_key=TEST_SECRET,
        **explicit,
    )


def _place(session, enforce: bool) -> str:
    svc = ExchangeService(
        session, SIGNER, BookRegistry(), clock=lambda: SATURDAY, enforce_hours=enforce
    )
    ack = svc.place(
        load_actor(session, "cq-ste-01"),
        market="CN-CQ",
        instrument="CQEA:2025",
        side="buy",
        price="38.00",
        quantity=1,
    )
    session.rollback()
    return ack.code


def test_hours_are_enforced_unless_the_database_is_the_demos(databases, tmp_path) -> None:
    assert load_calendar().session("CN-CQ", "continuous", SATURDAY).code == "closed_weekend"
    url = databases.new("sqlite", "demo")
    fund(url, SIGNER, units={"CQ-CEM-01": 100}, cash_minor={"CQ-STE-01": 1_000_000})
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as s:
            plain = _settings(str(engine.url), tmp_path)
            assert hours_mode(plain, s) == "enforced"
            assert _place(s, hours_enforced(plain, s)) == "market_closed"
        with unit_of_work(factory) as s:
            relax_for_demo(s)
        with unit_of_work(factory) as s:
            assert hours_mode(plain, s) == "relaxed_demo"
            assert _place(s, hours_enforced(plain, s)) == "resting"
            # an explicit setting wins either way
            strict = _settings(str(engine.url), tmp_path, exchange_enforce_hours=True)
            assert hours_mode(strict, s) == "enforced"
            assert _place(s, hours_enforced(strict, s)) == "market_closed"
            loose = _settings(str(engine.url), tmp_path, exchange_enforce_hours=False)
            assert hours_mode(loose, s) == "relaxed"
    finally:
        engine.dispose()


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from demo_api(
        databases,
        tmp_path,
        load_mrv_demo,
        load_registry_demo,
        load_exchange_demo,
        load_exchange_modes_demo,
        load_crossborder_demo,
    )


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_order_forms_show_the_session_and_demo_relaxed_hours(xapi: Api, lang: str) -> None:
    app = xapi.client.app
    # the demo server: no explicit hours setting, the demo database relaxes them
    app.state.settings = _settings(str(app.state.settings.database_url), app.state.settings.var_dir)
    console_login(xapi, "cq-ste-02", lang)
    open_now = load_calendar().session("CN-CQ", "continuous", utcnow()).open
    for path in ("/console/exchange/CN-CQ/CQEA:2025", "/console/exchange/listed/CN-CQ/CQEA:2025"):
        page = xapi.client.get(path)
        assert page.status_code == 200
        m = re.search(
            r'data-testid="session-status" data-open="(\w+)" data-hours="(\w+)"', page.text
        )
        assert m is not None, path
        assert m.groups() == ("true" if open_now else "false", "relaxed_demo")
        relaxed = "hours relaxed (demo)" if lang == "en" else "演示环境已放宽交易时间"
        assert relaxed in visible_text(page.text)


def test_kazakh_enterprise_buys_in_kzt_from_the_console_on_any_day(xapi: Api) -> None:
    console_login(xapi, "kz-ent-01", "en")
    page = xapi.client.get(ITMO)
    assert page.status_code == 200
    assert re.search(r'<option value="KZT" selected>KZT</option>', page.text)
    form = {
        "csrf": csrf_of(page.text),
        "side": "buy",
        "kind": "limit",
        "tif": "GTC",
        "price": "61.00",
        "quantity": "10",
        "funding_currency": "KZT",
    }
    r = xapi.client.post(f"{ITMO}/orders", data=form)
    assert r.status_code == 200 and r.url.params["result"] == "filled", r.url
    order = xapi.get(f"/v1/exchange/orders/{r.url.params['order']}", "kz-ent-01").json()
    assert (order["funding_currency"], order["unit"]) == ("KZT", "tCO2e")
    rate = xapi.get("/v1/exchange/fx/rates/current?base=KZT", "kz-ent-01").json()
    # paid: CNY 610.00 + 5 bp fee (rounded down) at the current rate, rounded up
    cny_fen = 61_000 + 61_000 * 5 // 10_000
    assert order["paid_minor"] == math.ceil(Fraction(cny_fen) / Fraction(rate["rate"]))
    # without a funding currency the enterprise (KZT only) has no CNY: rejected
    r = xapi.client.post(f"{ITMO}/orders", data=form | {"funding_currency": ""})
    assert r.url.params["result"] == "insufficient_funds"


def test_order_history_filters_sorts_and_pages(xapi: Api) -> None:
    user = "cq-ste-02"
    every = xapi.get("/v1/exchange/orders?limit=500", user).json()
    assert every["total"] > 1
    assert len({o["instrument"] for o in every["items"]} | {o["mode"] for o in every["items"]}) > 2
    desc = xapi.get("/v1/exchange/orders?limit=500&sort=price_high", user).json()["items"]
    priced = [Fraction(o["price"]) for o in desc if o["price"] is not None]
    assert priced == sorted(priced, reverse=True)
    bad = xapi.get("/v1/exchange/orders?sort=cheapest", user)
    assert (bad.status_code, bad.json()["error"]) == (422, "exchange.bad_sort")

    console_login(xapi, user, "en")
    code = "CN-CQ:CQEA:2025"
    filled = [o for o in every["items"] if o["status"] == "filled" and o["instrument"] == code]
    page = xapi.client.get(
        "/console/exchange/orders",
        params={"status": "filled", "instrument": code, "sort": "quantity_high"},
    )
    assert page.status_code == 200
    rows = re.findall(
        r'<tr data-order-id="(\w+)" data-status="(\w+)" data-instrument="([^"]+)"', page.text
    )
    assert len(rows) == min(25, len(filled)) > 0
    assert {(s, i) for _id, s, i in rows} == {("filled", code)}
    by_id = {o["id"]: o["quantity"] for o in filled}
    shown = [by_id[i] for i, _s, _c in rows]
    assert shown == sorted(shown, reverse=True)
    assert f"{len(filled)} orders" in visible_text(page.text)
    # paging: 25 a page, the remainder on the next one
    total = every["total"]
    if total > 25:
        second = xapi.client.get("/console/exchange/orders", params={"page": 2})
        assert len(re.findall(r"<tr data-order-id=", second.text)) == min(25, total - 25)
    # a regulator has no order history (no trading permission)
    console_login(xapi, "cq-eeb", "en")
    assert xapi.client.get("/console/exchange/orders").status_code == 403
