"""Console pages of the exchange: both languages, trader vs regulator, order forms."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from greencircle.web.i18n import catalog
from tests_support import Api, console_login, visible_text

from .ex_support import csrf_of, demo_api

PAGE = "/console/exchange/CN-CQ/CQEA:2025"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from demo_api(databases, tmp_path, load_mrv_demo, load_registry_demo, load_exchange_demo)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_pages_for_trader_and_regulator_in_both_languages(xapi: Api, lang: str) -> None:
    for user, trader in (("cq-ste-02", True), ("cq-eeb", False)):
        console_login(xapi, user, lang)
        home = xapi.client.get("/console")
        assert 'href="/console/exchange"' in home.text, user
        overview = xapi.client.get("/console/exchange")
        assert overview.status_code == 200
        assert 'href="/console/exchange/CN-CQ/CQEA:2025"' in overview.text
        assert "39.10" in overview.text  # last price of the demo
        page = xapi.client.get(PAGE)
        assert page.status_code == 200
        assert page.text.count('class="ask"') == 5 and page.text.count('class="bid"') == 5
        assert 'data-testid="tape"' in page.text
        chart = json.loads(
            re.search(r'id="exchange-chart-data">(.*?)</script>', page.text, re.S).group(1)
        )
        assert len(chart["dates"]) == 5 and len(chart["candles"][0]) == 4
        assert ('data-testid="order-form"' in page.text) is trader, user
        assert ('data-testid="my-orders"' in page.text) is trader, user
        assert ('data-testid="read-only"' in page.text) is not trader, user
        for html in (overview.text, page.text):
            text = visible_text(html)
            if lang == "en":
                # organisation names are data; the language switch names Chinese in Chinese
                text = text.replace(catalog("en")["lang.zh-CN"], "")
                assert not CJK.findall(text), (user, CJK.findall(text)[:10])
                assert '<html lang="en">' in html
            else:
                en = catalog("en")
                for key in ("exchange.title", "exchange.depth", "exchange.tape", "exchange.bids"):
                    assert en[key] not in text, key
                for key in ("exchange.order.submit", "exchange.my_orders", "exchange.read_only"):
                    assert en[key] not in text, key
                assert "Buy" not in text and "Sell" not in text


def test_place_reject_and_cancel_through_the_console(xapi: Api) -> None:
    console_login(xapi, "cq-ste-02", "en")
    page = xapi.client.get(PAGE)
    form = {"csrf": csrf_of(page.text), "side": "buy", "kind": "limit", "tif": "GTC"}
    r = xapi.client.post(f"{PAGE}/orders", data=form | {"price": "37.00", "quantity": "10"})
    assert r.status_code == 200 and r.url.params["result"] == "resting"
    assert "the order rests in the book." in r.text
    order_id = r.url.params["order"]
    mine = xapi.get("/v1/exchange/orders?status=open", "cq-ste-02").json()["items"]
    placed = [o for o in mine if o["id"] == order_id]
    assert placed and (placed[0]["price"], placed[0]["open_quantity"]) == ("37.00", 10)
    assert f'data-testid="cancel-{order_id}"' in r.text

    # rejections are shown in the page language, nothing is stored
    console_login(xapi, "cq-ste-02", "zh-CN")
    page = xapi.client.get(PAGE)
    form["csrf"] = csrf_of(page.text)
    r = xapi.client.post(f"{PAGE}/orders", data=form | {"price": "10.00", "quantity": "5"})
    assert r.url.params["result"] == "outside_price_band"
    assert r.url.params["outcome"] == "rejected"
    assert catalog("zh-CN")["exchange.code.outside_price_band"] in r.text
    r = xapi.client.post(f"{PAGE}/orders", data=form | {"price": "37.00", "quantity": "x"})
    assert r.url.params["result"] == "invalid_quantity"
    r = xapi.client.post(f"{PAGE}/orders", data=form | {"price": "37.001", "quantity": "1"})
    assert r.url.params["result"] == "off_tick_price"
    total = xapi.get("/v1/exchange/orders?status=open", "cq-ste-02").json()["total"]
    assert total == len(mine)
    # a forged form is refused
    r = xapi.client.post(f"{PAGE}/orders", data=form | {"csrf": "x", "quantity": "1"})
    assert r.status_code == 403

    r = xapi.client.post(f"{PAGE}/orders/{order_id}/cancel", data={"csrf": form["csrf"]})
    assert r.status_code == 200 and r.url.params["result"] == "cancelled"
    got = xapi.get(f"/v1/exchange/orders/{order_id}", "cq-ste-02").json()
    assert (got["status"], got["reason"]) == ("cancelled", "cancelled_by_owner")
    r = xapi.client.post(f"{PAGE}/orders/{order_id}/cancel", data={"csrf": form["csrf"]})
    assert r.url.params["result"] == "order_not_open"

    # another participant cannot cancel it (404), a regulator cannot trade (403)
    console_login(xapi, "cq-ste-01", "en")
    csrf = csrf_of(xapi.client.get(PAGE).text)
    r = xapi.client.post(f"{PAGE}/orders/{order_id}/cancel", data={"csrf": csrf})
    assert r.status_code == 404
    console_login(xapi, "cq-eeb", "en")
    csrf = csrf_of(xapi.client.get("/console").text)
    r = xapi.client.post(f"{PAGE}/orders", data=form | {"csrf": csrf, "quantity": "1"})
    assert r.status_code == 403
