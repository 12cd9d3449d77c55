"""End to end: ``greencircle demo load`` (with the exchange demo), a real server, and
Chromium: a trader opens the Chongqing allowance book, sees the candlestick chart, places a
limit order through the form, finds it in "my orders" and cancels it; the Kazakh
enterprise buys ITMOs paying in KZT on whatever day the test runs (not the demo's July
2026 day), and finds the order in its order history."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests_support import DEMO_PASSWORD, demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    with demo_server(tmp_path_factory.mktemp("exchange-e2e")) as (base, out):
        assert "exchange_trades" in out
        yield base


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, errors


def test_trader_places_and_cancels_a_limit_order(server: str, page: Page) -> None:
    page.goto(f"{server}/console/login")
    page.get_by_label("用户名").fill("cq-ste-02")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{server}/console")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="交易所").click()
    page.get_by_test_id("instruments").get_by_role("link", name="CN-CQ:CQEA:2025").click()
    expect(page.locator("#chart-exchange-ohlc canvas")).to_have_count(1)
    expect(page.get_by_test_id("depth-asks").locator("tbody tr")).to_have_count(5)

    form = page.get_by_test_id("order-form")
    form.get_by_label("买卖方向").select_option("buy")
    form.get_by_label("委托类型").select_option("limit")
    form.get_by_label("价格（CNY/tCO₂e）").fill("38.95")
    form.get_by_label("数量（tCO₂e）").fill("12")
    page.get_by_test_id("order-submit").click()
    result = page.get_by_test_id("order-result")
    expect(result).to_have_attribute("data-code", "resting")
    expect(result).to_contain_text("委托已挂入买卖盘")
    row = page.get_by_test_id("my-orders").locator("tbody tr", has_text="38.95")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "open")
    expect(page.get_by_test_id("depth-bids")).to_contain_text("38.95")

    row.get_by_role("button", name="撤销委托：买入 12 tCO₂e").click()
    expect(page.get_by_test_id("order-result")).to_have_attribute("data-code", "cancelled")
    row = page.get_by_test_id("my-orders").locator("tbody tr", has_text="38.95")
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row).to_contain_text("已撤销")
    expect(page.get_by_test_id("depth-bids")).not_to_contain_text("38.95")
    expect(page.locator("#chart-exchange-ohlc canvas")).to_have_count(1)
    if os.environ.get("GREENCIRCLE_SCREENSHOTS"):
        page.wait_for_timeout(500)
        page.screenshot(
            path=os.path.join(os.environ["GREENCIRCLE_SCREENSHOTS"], "exchange-zh.png"),
            full_page=True,
        )


def test_kazakh_enterprise_buys_itmos_in_kzt_from_the_console(server: str, page: Page) -> None:
    page.goto(f"{server}/console/login")
    page.get_by_label("用户名").fill("kz-ent-01")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{server}/console")
    page.goto(f"{server}/console/exchange/SCO/SCO-ITMO:2025:ITMO-CQ-FOR-0001")
    expect(page.get_by_test_id("session-status")).to_be_visible()
    form = page.get_by_test_id("order-form")
    # the user's own language (English); the enterprise holds KZT only: preselected
    expect(form.get_by_label("Pay in")).to_have_value("KZT")
    form.get_by_label("Side").select_option("buy")
    form.get_by_label("Price (CNY/tCO₂e)").fill("61.00")
    form.get_by_label("Quantity (tCO₂e)").fill("10")
    page.get_by_test_id("order-submit").click()
    result = page.get_by_test_id("order-result")
    expect(result).to_have_attribute("data-code", "filled")
    page.get_by_test_id("exchange-tabs").get_by_role("link", name="Order history").click()
    row = page.get_by_test_id("order-history").locator("tbody tr").first
    expect(row).to_have_attribute("data-status", "filled")
    expect(row).to_contain_text("KZT")
    expect(row).to_contain_text("10 tCO₂e")
