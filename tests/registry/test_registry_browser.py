"""The registry console in a real browser: holdings, then a retirement certificate.

A real server (uvicorn in a subprocess) serves a copy of the registry demo database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from greencircle.demo.registry import BENEFICIARY
from greencircle.web.i18n import catalog
from tests_support import DEMO_PASSWORD, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(registry_template, tmp_path_factory) -> Iterator[str]:
    path, var = registry_template
    dest = tmp_path_factory.mktemp("registry-browser") / "registry.sqlite"
    shutil.copy(path, dest)
    with running_server(f"sqlite:///{dest}", var) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()


def test_holdings_and_a_retirement_certificate_in_both_languages(server, page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/console")
    page.get_by_label("用户名").fill("cq-alu-01")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{server}/console")
    zh = catalog("zh-CN")
    page.get_by_role("navigation", name=zh["nav.label"]).get_by_role(
        "link", name=zh["nav.registry"]
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(zh["registry.holdings.title"])
    holdings = page.get_by_test_id("holdings")
    expect(holdings).to_contain_text("CN-CQ.CQ-ALU-01")
    expect(holdings).to_contain_text("CN-CQ:CQEA:2025")
    expect(page.get_by_test_id("retire-form")).to_be_visible()

    page.get_by_role("link", name=zh["registry.tab.retirements"]).click()
    expect(page.get_by_test_id("retirements")).to_contain_text(BENEFICIARY)
    with page.context.expect_page() as popup_info:
        page.get_by_test_id("cert-zh-html").first.click(modifiers=["Control"])
    cert = popup_info.value
    cert.wait_for_load_state()
    expect(cert.get_by_role("heading", level=1)).to_have_text("碳减排量注销证明")
    expect(cert.locator("ul.serials li").first).to_contain_text("CN-CQ-CQEA-2025-AL2025-CN-CQ-")
    proof = cert.locator("a[href*='/v1/audit/bundle/']")
    expect(proof).to_have_count(1)
    cert.close()

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    en = catalog("en")
    expect(page.get_by_role("heading", level=1)).to_have_text(en["registry.retirements.title"])
    href = page.get_by_test_id("cert-en-html").first.get_attribute("href")
    assert href
    page.goto(f"{server}{href}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of Retirement")
    expect(page.get_by_text(BENEFICIARY)).to_be_visible()
    assert errors == []


def test_a_power_plant_surrenders_from_the_compliance_page(server, page):
    """The journey of the issue: a national-market plant sees one obligation (not the
    Chongqing pilot's), surrenders part of it from the console and sees it counted."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/console/lang/en?next=/console/login")
    page.get_by_label("Username").fill("cq-pow-03")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    en = catalog("en")
    page.goto(f"{server}/console/registry/compliance?year=2025")
    cards = page.get_by_test_id("own-status")
    expect(cards).to_have_count(1)
    expect(cards).to_have_attribute("data-market", "CN-NATIONAL")
    remaining = cards.locator("dd").nth(5)
    before = int(remaining.inner_text().split()[0].replace(",", ""))
    form = page.get_by_test_id("surrender-form")
    form.get_by_label(en["registry.form.quantity"]).fill("250")
    form.get_by_test_id("surrender-submit").click()
    expect(page.get_by_test_id("done")).to_have_text(en["registry.done.surrendered"])
    after = int(
        page.get_by_test_id("own-status")
        .locator("dd")
        .nth(5)
        .inner_text()
        .split()[0]
        .replace(",", "")
    )
    assert after == before - 250
    form = page.get_by_test_id("surrender-form")
    form.get_by_label(en["registry.form.quantity"]).fill(str(after + 1))
    form.get_by_test_id("surrender-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text(
        en["registry.error.surrender_exceeds_obligation"]
    )
    assert errors == []
